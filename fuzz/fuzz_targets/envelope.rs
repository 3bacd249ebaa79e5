//! DSSE envelope decoding: any bytes in, an envelope or an error out; a
//! decoded envelope re-encodes canonically and decodes to itself.
#![no_main]

use entente_shared::dsse::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::from_json(data) {
        let again = Envelope::from_json(&env.to_canonical_json()).expect("canonical JSON decodes");
        assert_eq!(again, env);
    }
});
