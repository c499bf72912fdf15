//! Fuzz target: the exposition parser in both formats must never panic, must stop after its
//! first error, and every sample it yields must build a label set and iterate its labels.
#![no_main]

use cairn::ingest::exposition::{Entry, Format, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        let mut errors = 0;
        for e in Parser::new(data, format).skip_created_series(data.first() == Some(&b'c')) {
            match e {
                Ok(Entry::Sample(s)) => {
                    let labels = s.to_labels();
                    assert_eq!(labels.metric_name().map(|_| ()), Some(()));
                    assert!(s.labels.iter().count() + 1 >= labels.len());
                    assert!(!cairn_format::is_stale_nan(s.value));
                }
                Ok(_) => {}
                Err(e) => {
                    errors += 1;
                    assert!(e.line >= 1 && e.column >= 1);
                }
            }
        }
        assert!(errors <= 1);
    }
});
