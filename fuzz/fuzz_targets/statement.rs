//! Statement payload decoding: any bytes in, a statement or an error out; a
//! decoded statement re-encodes to a payload that decodes to itself.
#![no_main]

use entente_shared::statement::Statement;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(st) = Statement::decode(data) {
        let again = Statement::decode(&st.encode()).expect("an encoded statement decodes");
        assert_eq!(again, st);
    }
});
