//! Checkpoint and signed-note parsing: any text in, never a panic; a body
//! that parses prints back to the same text.
#![no_main]

use entente_shared::checkpoint::Checkpoint;
use entente_shared::note::SignedNote;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cp) = Checkpoint::from_body(text) {
        assert_eq!(cp.to_body(), text, "a parsed checkpoint body prints back unchanged");
    }
    if let Ok(note) = SignedNote::parse(text) {
        let _ = Checkpoint::from_body(&note.text);
        let _ = SignedNote::parse(&note.to_text());
    }
});
