//! Decimal chunks (`block/dchunk.md`): bit-exact round trips of decimal and non-decimal series
//! (falling back to XOR), edge values, golden bytes of the layout, and a decoder that reports
//! every truncation or corruption as an error instead of panicking.

use cairn_format::block::chunks::ENCODING_XOR;
use cairn_format::block::dchunk::{
    BlockChunkError, DChunkError, ENCODING_DECIMAL, decimal_num_samples, decode_block_chunk, decode_decimal,
    encode_block_chunk, encode_decimal, encode_near_decimal,
};
use cairn_format::{STALE_NAN_BITS, Sample};
use proptest::prelude::*;

fn roundtrip(samples: &[Sample]) -> u8 {
    let mut buf = Vec::new();
    let enc = encode_block_chunk(samples, &mut buf);
    let mut back = Vec::new();
    decode_block_chunk(enc, &buf, &mut back).unwrap();
    assert_eq!(back.len(), samples.len());
    for (a, b) in back.iter().zip(samples) {
        assert!(a.same_bits(b), "{a:?} != {b:?} (encoding {enc})");
    }
    enc
}

fn regular(vals: &[f64]) -> Vec<Sample> {
    vals.iter().enumerate().map(|(i, &v)| Sample::new(1_700_000_000_000 + 15_000 * i as i64, v)).collect()
}

#[test]
fn decimal_values_use_the_decimal_encoding() {
    assert_eq!(roundtrip(&regular(&[1.5, 2.25, 3.0, 100.01, -7.77])), ENCODING_DECIMAL);
    assert_eq!(roundtrip(&regular(&[0.0, 0.0, 0.0])), ENCODING_DECIMAL);
    assert_eq!(roundtrip(&regular(&[1e300])), ENCODING_XOR, "1e300 needs more than 53 bits of mantissa");
    assert_eq!(roundtrip(&regular(&[4e9, 8.2e9, 1.6e10])), ENCODING_DECIMAL);
    assert_eq!(roundtrip(&regular(&[1e22, 2e22])), ENCODING_DECIMAL);
    assert_eq!(roundtrip(&regular(&[0.1, 0.2, 0.3])), ENCODING_DECIMAL);
    // 17 digits: the nearest 2-place decimal plus a residual of 1 ulp.
    assert_eq!(roundtrip(&regular(&[0.1, 0.30000000000000004])), ENCODING_DECIMAL);
    assert!(!encode_decimal(&regular(&[0.1, 0.30000000000000004]), &mut Vec::new()));
    // Any double whose shortest decimal has at most 15 digits (and some with 16) is decimal
    // exactly, though with PI's 16-digit mantissas the XOR chunk is smaller and is kept.
    assert!(encode_decimal(&regular(&[std::f64::consts::PI, 3.0, 2.0]), &mut Vec::new()));
    assert_eq!(roundtrip(&regular(&[std::f64::consts::PI, 3.0, 2.0])), ENCODING_XOR);
    let max = (1u64 << 53) as f64 - 1.0;
    assert!(encode_decimal(&regular(&[max, -max, 0.0]), &mut Vec::new()));
    roundtrip(&regular(&[max, -max, 0.0]));
    assert_eq!(
        roundtrip(&regular(&[(1u64 << 53) as f64])),
        ENCODING_XOR,
        "2^53 has no trailing decimal zero"
    );
    assert!(encode_decimal(&regular(&[9_007_199_254_740_990.0]), &mut Vec::new()), "trailing zero: m·10^1");
    assert!(!encode_decimal(&regular(&[(1u64 << 53) as f64]), &mut Vec::new()));
    assert_eq!(roundtrip(&regular(&[1e-22, 5e-22])), ENCODING_DECIMAL);
}

#[test]
fn non_finite_values_fall_back_to_xor_bit_exactly() {
    let stale = f64::from_bits(STALE_NAN_BITS);
    let payload = f64::from_bits(0x7ff8_dead_beef_0001);
    for vals in [
        vec![1.0, stale, 2.0],
        vec![f64::NAN],
        vec![payload, 1.0],
        vec![f64::INFINITY, f64::NEG_INFINITY],
        vec![f64::MAX],
    ] {
        assert_eq!(roundtrip(&regular(&vals)), ENCODING_XOR, "{vals:?}");
    }
    // Finite values that are not decimals round-trip either way (the smaller encoding wins).
    for vals in [
        vec![1.0, -0.0, 2.0],
        vec![f64::from_bits(std::f64::consts::PI.to_bits() + 1), 1.0],
        vec![f64::MIN_POSITIVE],
        vec![-f64::MIN_POSITIVE / 4.0, 5e-324],
    ] {
        roundtrip(&regular(&vals));
    }
    let mut buf = Vec::new();
    assert!(!encode_decimal(&regular(&[1.0, -0.0]), &mut buf), "-0.0 is not m·10^e");
    assert!(buf.is_empty());
}

/// A counter summed in floating point drifts off the decimals by a few ulps
/// (0.1 + 0.2 = 0.30000000000000004): stored as decimals plus small residuals, far below XOR.
#[test]
fn near_decimal_values_use_residuals() {
    let mut v = 1000.0f64;
    let mut vals = Vec::new();
    for i in 0..120 {
        v += f64::from(100 + (i * 37) % 50) / 100.0;
        vals.push(v);
    }
    let s = regular(&vals);
    let mut exact = Vec::new();
    assert!(!encode_decimal(&s, &mut exact), "the float sums are not all exact decimals");
    let mut near = Vec::new();
    assert!(encode_near_decimal(&s, &mut near));
    let mut back = Vec::new();
    decode_decimal(&near, &mut back).unwrap();
    assert!(back.iter().zip(&s).all(|(a, b)| a.same_bits(b)));
    let mut xor = cairn_format::XorEncoder::new();
    for x in &s {
        xor.append(x.t, x.v);
    }
    assert!(near.len() * 3 < xor.bytes().len(), "near {} vs xor {}", near.len(), xor.bytes().len());
    assert_eq!(roundtrip(&s), ENCODING_DECIMAL);
}

#[test]
fn single_samples_irregular_and_negative_deltas_round_trip() {
    assert_eq!(roundtrip(&[Sample::new(0, 1.25)]), ENCODING_DECIMAL);
    assert_eq!(roundtrip(&[Sample::new(i64::MIN, 0.5)]), ENCODING_DECIMAL);
    assert_eq!(roundtrip(&[Sample::new(i64::MAX, -3.0), Sample::new(i64::MIN, 2.0)]), ENCODING_DECIMAL);
    let s = [Sample::new(1000, 1.0), Sample::new(900, 2.0), Sample::new(5000, 3.0), Sample::new(4999, 4.5)];
    assert_eq!(roundtrip(&s), ENCODING_DECIMAL);
    let jitter: Vec<Sample> =
        (0..120).map(|i| Sample::new(i * 15_000 + (i * 7919) % 23 - 11, (i * i) as f64 / 100.0)).collect();
    assert_eq!(roundtrip(&jitter), ENCODING_DECIMAL);
}

#[test]
fn regular_counters_pack_small() {
    // A counter with 2-decimal increments, 15 s apart: timestamps take 0 bits after the first two.
    let mut v = 123_456.0f64;
    let mut vals = Vec::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut incs = Vec::new();
    for _ in 0..120 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let inc = 100 + (x >> 33) % 50;
        incs.push(inc);
        v = ((v * 100.0).round() + inc as f64) / 100.0;
        vals.push(v);
    }
    let (lo, hi) = (incs[1..].iter().min().unwrap(), incs[1..].iter().max().unwrap());
    assert!(hi - lo >= 32, "the test data spans 6 bits");
    let s = regular(&vals);
    let mut buf = Vec::new();
    assert!(encode_decimal(&s, &mut buf));
    // Header: n 1, t0 6, td1 3, tw 1, e 1, rw 1, m0 4, mode 1, base 2, step 1, width 1 = 22
    // bytes; the increments 1.00..=1.49 are 100..=149 hundredths: 6 bits each above the base.
    assert_eq!(buf.len(), 22 + (119 * 6usize).div_ceil(8), "{} bytes", buf.len());
}

/// The layout of `dchunk.md`, byte for byte.
#[test]
fn golden_bytes() {
    let s =
        [Sample::new(1000, 1.5), Sample::new(16000, 1.75), Sample::new(31000, 2.0), Sample::new(46005, 2.5)];
    let mut buf = Vec::new();
    assert!(encode_decimal(&s, &mut buf));
    // n=4; t0=1000 (zigzag 2000 = d0 0f); td1=15000 (zigzag 30000 = b0 ea 01); tw=4 (dods 0, 5
    // → zigzag 0, 10); e=-2 (0xfe); rw=0 (exact decimals, no residuals); m0=150 (zigzag 300 =
    // ac 02); mantissas 150 175 200 250 → deltas 25 25 50: Δ with base 25 and step 25 packs
    // 0 0 1 in 1 bit each (3 bits + 2 header bytes), Δ² (0, 25) would take 2 bits + 3 bytes
    // → mode 1, base 25 (zigzag 50 = 32), step 25 (19), width 1; tbits: 0000|1010 → a0;
    // vbits: 0, 0, 1 at bits 0, 1, 2 → 04.
    let want = [
        0x04, 0xd0, 0x0f, 0xb0, 0xea, 0x01, 0x04, 0xfe, 0x00, 0xac, 0x02, 0x01, 0x32, 0x19, 0x01, 0xa0, 0x04,
    ];
    assert_eq!(buf, want, "got {buf:02x?}");
    let mut back = Vec::new();
    decode_decimal(&want, &mut back).unwrap();
    assert_eq!(back, s);
    // Δ² mode: integers 0 10 1030 3060 6100 10150 15210 21280 at t = 0, 10, … 70 → tw=0, e=1,
    // rw=0, mantissas 0 1 103 306 610 1015 1521 2128, deltas 1 102 203 … 607, Δ² all 101:
    // 0 bits each after vd1=1 (02), base 101 (zigzag 202 = ca 01) and step 1 (01).
    let vals = [0.0, 10.0, 1030.0, 3060.0, 6100.0, 10150.0, 15210.0, 21280.0];
    let s: Vec<Sample> = vals.iter().enumerate().map(|(i, &v)| Sample::new(10 * i as i64, v)).collect();
    let mut buf = Vec::new();
    assert!(encode_decimal(&s, &mut buf));
    let want = [0x08, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0xca, 0x01, 0x01, 0x00];
    assert_eq!(buf, want, "got {buf:02x?}");
    let mut back = Vec::new();
    decode_decimal(&want, &mut back).unwrap();
    assert_eq!(back, s);
    // A common step: page-sized gauges move by multiples of 4096 → packed in units of 4096.
    let s = regular(&[8192.0 * 1000.0, 8192.0 * 1003.0, 8192.0 * 1001.0, 8192.0 * 1002.0]);
    let mut buf = Vec::new();
    assert!(encode_decimal(&s, &mut buf));
    let mut back = Vec::new();
    decode_decimal(&buf, &mut back).unwrap();
    assert_eq!(back, s);
    // Deltas 24576 −16384 8192 → base −16384, step 8192, packed 5 0 3 in 3 bits each: 26
    // bytes (n 1, t0 6, td1 3, tw 1, e 1, rw 1, m0 4, mode 1, base 3, step 2, vw 1, vbits 2);
    // without the step the deltas would take 16 bits each.
    assert_eq!(buf.len(), 26, "{} bytes", buf.len());
}

#[test]
fn truncations_and_bad_fields_are_errors() {
    let s = regular(&[1.5, 2.25, 3.0, 100.01, -7.77, 8.0]);
    let mut buf = Vec::new();
    assert!(encode_decimal(&s, &mut buf));
    for cut in 0..buf.len() {
        let mut out = Vec::new();
        assert!(decode_decimal(&buf[..cut], &mut out).is_err(), "cut at {cut} decoded");
    }
    let mut longer = buf.clone();
    longer.push(0);
    assert!(matches!(decode_decimal(&longer, &mut Vec::new()), Err(DChunkError::PackedLength { .. })));
    // Sample count 0 and above the cap.
    assert!(matches!(decimal_num_samples(&[0x00]), Err(DChunkError::OutOfRange { .. })));
    assert!(matches!(decimal_num_samples(&[0x81, 0x80, 0x04]), Err(DChunkError::OutOfRange { .. })));
    // Exponent out of range: one sample, t0 = 0, e = 23.
    assert!(matches!(
        decode_decimal(&[0x01, 0x00, 23, 0x00], &mut Vec::new()),
        Err(DChunkError::OutOfRange { field: "exponent", offset: 2, .. })
    ));
    assert!(matches!(
        decode_block_chunk(0x7f, &buf, &mut Vec::new()),
        Err(BlockChunkError::UnknownEncoding(0x7f))
    ));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for len in 0..200usize {
        for _ in 0..50 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let mut out = Vec::new();
            let _ = decode_decimal(&bytes, &mut out);
            assert!(out.len() <= 1 << 16);
        }
    }
}

fn decimal_series() -> impl Strategy<Value = Vec<Sample>> {
    (-6i32..=6, prop::collection::vec((any::<i64>(), -(1i64 << 40)..(1i64 << 40)), 1..300), any::<bool>())
        .prop_map(|(e, raw, regular_ts)| {
            let mut t = 1_700_000_000_000i64;
            raw.iter()
                .map(|&(dt, m)| {
                    t = if regular_ts { t + 15_000 } else { t.wrapping_add(dt % 100_000) };
                    let v = if e < 0 { m as f64 / 10f64.powi(-e) } else { m as f64 * 10f64.powi(e) };
                    Sample::new(t, v)
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decimal_series_round_trip(s in decimal_series()) {
        let mut buf = Vec::new();
        // -0.0 cannot arise from m·10^e with m = 0, so every such series is decimal.
        prop_assert!(encode_decimal(&s, &mut buf));
        let mut xor = cairn_format::XorEncoder::new();
        for x in &s {
            xor.append(x.t, x.v);
        }
        let enc = encode_block_chunk(&s, &mut buf);
        // The smaller of the two is kept.
        prop_assert!(buf.len() <= xor.bytes().len());
        if enc == ENCODING_XOR {
            prop_assert_eq!(&buf[..], xor.bytes());
        }
        let mut back = Vec::new();
        decode_block_chunk(enc, &buf, &mut back).unwrap();
        prop_assert_eq!(back.len(), s.len());
        for (a, b) in back.iter().zip(&s) {
            prop_assert!(a.same_bits(b));
        }
    }

    #[test]
    fn any_series_round_trips_bit_exactly(
        raw in prop::collection::vec((any::<i64>(), any::<u64>(), 0u8..5), 1..200),
    ) {
        let mut t = 0i64;
        let mut acc = 0.0f64;
        let s: Vec<Sample> = raw
            .iter()
            .map(|&(dt, bits, kind)| {
                t = t.wrapping_add(dt);
                let v = match kind {
                    0 => f64::from_bits(bits),
                    1 => (bits % 1_000_000) as f64 / 100.0,
                    2 => f64::from_bits(STALE_NAN_BITS),
                    3 => (bits >> 11) as f64,
                    _ => {
                        acc += (bits % 100_000) as f64 / 100.0;
                        acc
                    }
                };
                Sample::new(t, v)
            })
            .collect();
        let mut buf = Vec::new();
        let enc = encode_block_chunk(&s, &mut buf);
        let mut back = Vec::new();
        decode_block_chunk(enc, &buf, &mut back).unwrap();
        prop_assert_eq!(back.len(), s.len());
        for (a, b) in back.iter().zip(&s) {
            prop_assert!(a.same_bits(b), "{:?} != {:?}", a, b);
        }
    }

    #[test]
    fn mutated_chunks_never_panic(s in decimal_series(), at in any::<usize>(), xor in 1u8..=255) {
        let mut buf = Vec::new();
        prop_assert!(encode_decimal(&s, &mut buf));
        let i = at % buf.len();
        buf[i] ^= xor;
        let mut out = Vec::new();
        let _ = decode_decimal(&buf, &mut out);
        prop_assert!(out.len() <= 1 << 16);
    }
}
