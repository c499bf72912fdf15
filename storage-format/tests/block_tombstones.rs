//! Tombstones file: round trips against a model, merging, Prometheus layout, corruption.

use cairn_format::block::tombstones::{Interval, Tombstones, TombstonesError};
use proptest::prelude::*;

#[test]
fn empty_file_is_header_plus_crc() {
    let b = Tombstones::new().encode();
    assert_eq!(b, vec![0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0]);
    assert_eq!(Tombstones::decode(&b).unwrap(), Tombstones::new());
}

#[test]
fn golden_layout() {
    let mut t = Tombstones::new();
    t.add(5, Interval::new(-1, 300));
    let b = t.encode();
    // uvarint 5, zigzag varint -1 = 0x01, 300 -> zigzag 600 = 0xd8 0x04
    let body = [0x05, 0x01, 0xd8, 0x04];
    let mut want = vec![0x01, 0x30, 0xBA, 0x30, 0x01];
    want.extend(body);
    want.extend(crc32c::crc32c(&body).to_be_bytes());
    assert_eq!(b, want);
}

#[test]
fn intervals_merge() {
    let mut t = Tombstones::new();
    t.add(1, Interval::new(10, 20));
    t.add(1, Interval::new(30, 40));
    t.add(1, Interval::new(21, 25)); // adjacent to the first
    t.add(1, Interval::new(5, 8));
    t.add(1, Interval::new(35, 50));
    t.add(1, Interval::new(9, 9)); // bridges 5..8 and 10..25
    t.add(2, Interval::new(i64::MIN, i64::MAX));
    t.add(3, Interval::new(5, 4)); // empty, ignored
    assert_eq!(t.get(1), &[Interval::new(5, 25), Interval::new(30, 50)]);
    assert_eq!(t.get(2), &[Interval::new(i64::MIN, i64::MAX)]);
    assert_eq!(t.get(3), &[]);
    assert_eq!(Tombstones::decode(&t.encode()).unwrap(), t);
}

#[test]
fn errors_name_what_and_where() {
    let mut t = Tombstones::new();
    t.add(7, Interval::new(1, 2));
    t.add(9, Interval::new(100, 200));
    let good = t.encode();
    assert_eq!(Tombstones::decode(&good[..8]), Err(TombstonesError::TooShort { len: 8 }));
    let mut b = good.clone();
    b[0] = 0;
    assert!(matches!(Tombstones::decode(&b), Err(TombstonesError::BadMagic { .. })));
    let mut b = good.clone();
    b[4] = 2;
    assert_eq!(Tombstones::decode(&b), Err(TombstonesError::UnknownVersion { version: 2 }));
    for i in 5..good.len() {
        for bit in 0..8 {
            let mut b = good.clone();
            b[i] ^= 1 << bit;
            let e = Tombstones::decode(&b).unwrap_err();
            assert!(matches!(e, TombstonesError::Checksum { end, .. } if end == good.len() - 4), "{e}");
        }
    }
    // A well-checksummed file with a reversed interval is rejected at the entry's offset.
    let body = [0x01, 0x14, 0x02]; // ref 1, mint 10, maxt 1
    let mut b = vec![0x01, 0x30, 0xBA, 0x30, 0x01];
    b.extend(body);
    b.extend(crc32c::crc32c(&body).to_be_bytes());
    assert_eq!(Tombstones::decode(&b), Err(TombstonesError::BadInterval { offset: 5, mint: 10, maxt: 1 }));
    // Truncated varint with a valid checksum.
    let body = [0x01, 0x80];
    let mut b = vec![0x01, 0x30, 0xBA, 0x30, 0x01];
    b.extend(body);
    b.extend(crc32c::crc32c(&body).to_be_bytes());
    assert_eq!(Tombstones::decode(&b), Err(TombstonesError::BadVarint { field: "mint", offset: 6 }));
}

/// Prometheus writes entries in map order; decoding accepts any order and merges.
#[test]
fn unordered_entries_are_accepted() {
    let body = [0x09, 0x02, 0x04, 0x01, 0x00, 0x02, 0x09, 0x04, 0x08];
    let mut b = vec![0x01, 0x30, 0xBA, 0x30, 0x01];
    b.extend(body);
    b.extend(crc32c::crc32c(&body).to_be_bytes());
    let t = Tombstones::decode(&b).unwrap();
    assert_eq!(t.get(9), &[Interval::new(1, 4)]);
    assert_eq!(t.get(1), &[Interval::new(0, 1)]);
}

proptest! {
    #[test]
    fn prop_round_trip_matches_model(
        adds in prop::collection::vec((0u64..20, -1000i64..1000, 0i64..100), 0..100)
    ) {
        let mut t = Tombstones::new();
        let mut model: std::collections::BTreeMap<u64, std::collections::BTreeSet<i64>> = Default::default();
        for (s, a, len) in adds {
            t.add(s, Interval::new(a, a + len));
            model.entry(s).or_default().extend(a..=a + len);
        }
        let back = Tombstones::decode(&t.encode()).unwrap();
        prop_assert_eq!(&back, &t);
        for (s, points) in &model {
            let ivs = back.get(*s);
            // Sorted, disjoint, non-adjacent.
            for w in ivs.windows(2) {
                prop_assert!(w[0].maxt + 1 < w[1].mint);
            }
            let covered: std::collections::BTreeSet<i64> = ivs.iter().flat_map(|iv| iv.mint..=iv.maxt).collect();
            prop_assert_eq!(&covered, points);
        }
    }

    #[test]
    fn prop_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        let mut b = vec![0x01, 0x30, 0xBA, 0x30, 0x01];
        b.extend(&bytes);
        b.extend(crc32c::crc32c(&bytes).to_be_bytes());
        let _ = Tombstones::decode(&b);
        let _ = Tombstones::decode(&bytes);
    }
}
