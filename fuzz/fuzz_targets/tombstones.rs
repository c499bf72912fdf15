//! Fuzz the tombstones reader; whatever decodes must re-encode to something that decodes equal.
#![no_main]

use cairn_format::block::tombstones::Tombstones;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Tombstones::decode(data) {
        let again = Tombstones::decode(&t.encode()).expect("own bytes decode");
        assert_eq!(again, t);
    }
});
