//! meta.json: ULID text form, Prometheus field names, version gating.

use cairn_format::block::meta::{
    BlockCompaction, BlockDesc, BlockMeta, BlockStats, MetaError, Ulid, UlidError,
};
use proptest::prelude::*;

/// A meta.json as Prometheus 2.x writes it (tab-indented).
const PROMETHEUS_META: &str = r#"{
	"ulid": "01BKGV7JBM69T2G1BGBGM6KB12",
	"minTime": 1602237600000,
	"maxTime": 1602244800000,
	"stats": {
		"numSamples": 553673232,
		"numSeries": 1346066,
		"numChunks": 4440437
	},
	"compaction": {
		"level": 1,
		"sources": [
			"01BKGV7JBM69T2G1BGBGM6KB12"
		]
	},
	"version": 1
}
"#;

#[test]
fn reads_prometheus_meta() {
    let m = BlockMeta::from_json(PROMETHEUS_META.as_bytes()).unwrap();
    assert_eq!(m.ulid.to_string(), "01BKGV7JBM69T2G1BGBGM6KB12");
    assert_eq!(m.min_time, 1602237600000);
    assert_eq!(m.max_time, 1602244800000);
    assert_eq!(
        m.stats,
        BlockStats { num_samples: 553673232, num_series: 1346066, num_chunks: 4440437, num_tombstones: 0 }
    );
    assert_eq!(m.compaction.level, 1);
    assert_eq!(m.compaction.sources, vec![m.ulid]);
    assert_eq!(m.version, 1);
    let again = BlockMeta::from_json(&m.to_json()).unwrap();
    assert_eq!(again, m);
    let v: serde_json::Value = serde_json::from_slice(&m.to_json()).unwrap();
    let want: serde_json::Value = serde_json::from_str(PROMETHEUS_META).unwrap();
    assert_eq!(v, want, "written JSON has exactly Prometheus's fields");
}

#[test]
fn unknown_fields_are_ignored_and_parents_round_trip() {
    let text = r#"{"ulid":"01BKGV7JBM69T2G1BGBGM6KB12","minTime":0,"maxTime":10,
        "stats":{"numSamples":1,"numSeries":1,"numChunks":1,"numTombstones":2,"numFloatSamples":1},
        "compaction":{"level":2,"sources":["01BKGV7JBM69T2G1BGBGM6KB12"],
        "parents":[{"ulid":"01BKGV7JBM69T2G1BGBGM6KB12","minTime":0,"maxTime":5}],"failed":true},
        "version":1,"thanos":{"labels":{}}}"#;
    let m = BlockMeta::from_json(text.as_bytes()).unwrap();
    assert_eq!(m.stats.num_tombstones, 2);
    assert!(m.compaction.failed);
    assert_eq!(m.compaction.parents.len(), 1);
    assert_eq!(BlockMeta::from_json(&m.to_json()).unwrap(), m);
}

#[test]
fn version_and_range_errors() {
    let v2 = PROMETHEUS_META.replace("\"version\": 1", "\"version\": 2");
    assert!(matches!(BlockMeta::from_json(v2.as_bytes()), Err(MetaError::UnknownVersion { version: 2 })));
    // A future version is reported as such even if its other fields changed shape.
    let odd = r#"{"version": 3, "ulid": 5}"#;
    let e = BlockMeta::from_json(odd.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("unknown version 3"), "{e}");
    let none = r#"{"ulid":"01BKGV7JBM69T2G1BGBGM6KB12"}"#;
    assert!(matches!(BlockMeta::from_json(none.as_bytes()), Err(MetaError::UnknownVersion { version: 0 })));
    let bad_range = PROMETHEUS_META.replace("1602244800000", "1");
    assert!(matches!(BlockMeta::from_json(bad_range.as_bytes()), Err(MetaError::BadTimeRange { .. })));
    let bad_ulid = PROMETHEUS_META.replace("01BKGV7JBM69T2G1BGBGM6KB12", "01BKGV7JBM69T2G1BGBGM6KB1U");
    let e = BlockMeta::from_json(bad_ulid.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("invalid character 'U'"), "{e}");
    assert!(matches!(BlockMeta::from_json(b"{"), Err(MetaError::Json(_))));
}

#[test]
fn ulid_text_form() {
    assert_eq!(Ulid(0).to_string(), "00000000000000000000000000");
    assert_eq!(Ulid(u128::MAX).to_string(), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    assert_eq!("7ZZZZZZZZZZZZZZZZZZZZZZZZZ".parse::<Ulid>(), Ok(Ulid(u128::MAX)));
    assert!(matches!("80000000000000000000000000".parse::<Ulid>(), Err(UlidError::Overflow(_))));
    assert!(matches!("0000".parse::<Ulid>(), Err(UlidError::Length(_))));
    assert_eq!(
        "01bkgv7jbm69t2g1bgbgm6kb12".parse::<Ulid>().unwrap().to_string(),
        "01BKGV7JBM69T2G1BGBGM6KB12"
    );
    let u = Ulid::from_parts(1_469_918_176_385, 0xABCDEF);
    assert_eq!(u.timestamp_ms(), 1_469_918_176_385);
    // The spec's example timestamp prefix.
    assert!(u.to_string().starts_with("01ARYZ6S41"), "{u}");
    assert!(Ulid::from_parts(2, 0) > Ulid::from_parts(1, u128::MAX));
}

fn meta_strategy() -> impl Strategy<Value = BlockMeta> {
    (
        any::<u128>(),
        any::<i64>(),
        0i64..1 << 40,
        any::<[u64; 4]>(),
        1u32..10,
        prop::collection::vec(any::<u128>(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(u, mint, span, st, level, srcs, failed)| BlockMeta {
            ulid: Ulid(u >> 2),
            min_time: mint / 2,
            max_time: mint / 2 + span,
            stats: BlockStats {
                num_samples: st[0],
                num_series: st[1],
                num_chunks: st[2],
                num_tombstones: st[3],
            },
            compaction: BlockCompaction {
                level,
                sources: srcs.iter().map(|x| Ulid(*x >> 2)).collect(),
                parents: srcs
                    .iter()
                    .map(|x| BlockDesc { ulid: Ulid(*x >> 2), min_time: 0, max_time: 1 })
                    .collect(),
                failed,
                deletable: !failed,
            },
            version: 1,
        })
}

proptest! {
    #[test]
    fn prop_meta_round_trip(m in meta_strategy()) {
        prop_assert_eq!(BlockMeta::from_json(&m.to_json()).unwrap(), m);
    }

    #[test]
    fn prop_ulid_round_trip(x in any::<u128>()) {
        let u = Ulid(x >> 2);
        prop_assert_eq!(u.to_string().parse::<Ulid>().unwrap(), u);
        prop_assert_eq!(u.to_string().len(), 26);
    }
}
