//! Fuzz the index reader with arbitrary bytes: open, then exercise every lookup.
#![no_main]

use cairn_format::block::index::{IndexReader, SeriesId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = IndexReader::new(data) else {
        return;
    };
    let _ = r.verify_all();
    let names = r.label_names().unwrap_or_default();
    for n in names.iter().take(16) {
        for v in r.label_values(n).unwrap_or_default().iter().take(16) {
            let _ = r.postings(n, v);
        }
    }
    for i in 0..r.num_series().min(256) {
        let _ = r.series(SeriesId(i));
    }
    for i in 0..r.num_symbols().min(256) {
        if let Ok(s) = r.symbol(i) {
            let _ = r.lookup_symbol(s);
        }
    }
});
