//! Chunk segment files: round trips, segment cutting, ref packing, and corruption detection
//! (every single-bit flip in a segment is reported, with the segment and offset).

use cairn_format::block::chunks::{
    BlockChunkRef, ChunkFileError, ChunkSegmentReader, ChunkSegmentWriter, ENCODING_XOR, SEGMENT_HEADER_LEN,
    SEGMENT_MAGIC, check_segment_header, frame_len,
};
use cairn_format::{XorEncoder, decode_all};
use proptest::prelude::*;

fn write_all(max: usize, chunks: &[(u8, Vec<u8>)]) -> (Vec<BlockChunkRef>, Vec<Vec<u8>>) {
    let mut w = ChunkSegmentWriter::new(max);
    let refs: Vec<BlockChunkRef> = chunks.iter().map(|(e, d)| w.write_chunk(*e, d).unwrap()).collect();
    let segs: Vec<Vec<u8>> = w.finish().into_iter().map(|(_, s)| s).collect();
    (refs, segs)
}

#[test]
fn ref_packing_rejects_overflow() {
    let r = BlockChunkRef::new(3, 0x1234).unwrap();
    assert_eq!(r.segment(), 3);
    assert_eq!(r.offset(), 0x1234);
    assert_eq!(r.as_u64(), (3 << 32) | 0x1234);
    assert_eq!(BlockChunkRef::from_u64(r.as_u64()), r);
    let max = BlockChunkRef::new(u64::from(u32::MAX), u64::from(u32::MAX)).unwrap();
    assert_eq!(max.as_u64(), u64::MAX);
    assert!(matches!(BlockChunkRef::new(1 << 32, 0), Err(ChunkFileError::RefOverflow { .. })));
    assert!(matches!(BlockChunkRef::new(0, 1 << 32), Err(ChunkFileError::RefOverflow { .. })));
}

#[test]
fn header_layout_and_xor_round_trip() {
    let mut e = XorEncoder::new();
    for i in 0..100 {
        e.append(i * 15_000, i as f64 * 0.5);
    }
    let data = e.into_bytes();
    let (refs, segs) = write_all(1 << 20, &[(ENCODING_XOR, data.clone())]);
    assert_eq!(segs.len(), 1);
    let s = &segs[0];
    assert_eq!(&s[..4], &SEGMENT_MAGIC.to_be_bytes());
    assert_eq!(&s[4..8], &[1, 0, 0, 0]);
    assert_eq!(refs[0], BlockChunkRef::new(0, SEGMENT_HEADER_LEN as u64).unwrap());
    assert_eq!(s.len(), SEGMENT_HEADER_LEN + frame_len(data.len()));
    // Frame: uvarint len, encoding, data, crc32c(encoding ++ data) big-endian.
    let crc = crc32c::crc32c(&[&[ENCODING_XOR][..], &data[..]].concat());
    assert_eq!(&s[s.len() - 4..], &crc.to_be_bytes());
    let r = ChunkSegmentReader::new(vec![s]).unwrap();
    let c = r.chunk(refs[0]).unwrap();
    assert_eq!(c.encoding, ENCODING_XOR);
    assert_eq!(decode_all(c.data).unwrap().len(), 100);
}

/// A segment built by hand from the format page (chunks.md), byte by byte.
#[test]
fn golden_segment_bytes() {
    let (_, segs) = write_all(1 << 20, &[(1, vec![0xAA, 0xBB]), (2, vec![])]);
    let mut want = vec![0x85, 0xBD, 0x40, 0xDD, 0x01, 0, 0, 0];
    want.extend([0x02, 0x01, 0xAA, 0xBB]);
    want.extend(crc32c::crc32c(&[0x01, 0xAA, 0xBB]).to_be_bytes());
    want.extend([0x00, 0x02]);
    want.extend(crc32c::crc32c(&[0x02]).to_be_bytes());
    assert_eq!(segs, vec![want]);
}

#[test]
fn segments_are_cut_at_the_limit() {
    let chunk = vec![7u8; 100];
    let frame = frame_len(100);
    let max = SEGMENT_HEADER_LEN + 3 * frame;
    let chunks: Vec<(u8, Vec<u8>)> = (0..10).map(|_| (1u8, chunk.clone())).collect();
    let (refs, segs) = write_all(max, &chunks);
    assert_eq!(segs.len(), 4);
    for s in &segs {
        assert!(s.len() <= max);
    }
    assert_eq!(refs[3].segment(), 1);
    assert_eq!(refs[3].offset() as usize, SEGMENT_HEADER_LEN);
    let r = ChunkSegmentReader::new(segs.iter().map(Vec::as_slice).collect()).unwrap();
    for rf in &refs {
        assert_eq!(r.chunk(*rf).unwrap().data, &chunk[..]);
    }
    let listed: Vec<_> = (0..4).flat_map(|i| r.iter_segment(i)).map(|x| x.unwrap().0).collect();
    assert_eq!(listed, refs);
}

#[test]
fn oversized_chunk_gets_its_own_segment() {
    let (refs, segs) = write_all(64, &[(1, vec![1; 10]), (1, vec![2; 500]), (1, vec![3; 10])]);
    assert_eq!(segs.len(), 3);
    assert_eq!(refs.iter().map(|r| r.segment()).collect::<Vec<_>>(), vec![0, 1, 2]);
}

#[test]
fn take_completed_streams_segments_with_indexes() {
    let mut w = ChunkSegmentWriter::new(SEGMENT_HEADER_LEN + frame_len(10));
    let mut taken = Vec::new();
    for i in 0..5u8 {
        let r = w.write_chunk(1, &[i; 10]).unwrap();
        assert_eq!(r.segment(), u32::from(i));
        taken.extend(w.take_completed());
    }
    taken.extend(w.finish());
    assert_eq!(taken.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
}

#[test]
fn header_errors() {
    assert_eq!(
        check_segment_header(2, &[0x85, 0xBD]),
        Err(ChunkFileError::SegmentTooShort { segment: 2, len: 2 })
    );
    assert_eq!(
        check_segment_header(0, &[0, 0, 0, 0, 1, 0, 0, 0]),
        Err(ChunkFileError::BadMagic { segment: 0, found: 0 })
    );
    assert_eq!(
        check_segment_header(1, &[0x85, 0xBD, 0x40, 0xDD, 2, 0, 0, 0]),
        Err(ChunkFileError::UnknownVersion { segment: 1, version: 2 })
    );
    let err = ChunkSegmentReader::new(vec![&[0x85, 0xBD, 0x40, 0xDD, 9, 0, 0, 0]]).unwrap_err();
    assert!(err.to_string().contains("unknown format version 9"), "{err}");
}

#[test]
fn bad_refs_are_errors() {
    let (refs, segs) = write_all(1 << 20, &[(1, vec![1, 2, 3])]);
    let r = ChunkSegmentReader::new(vec![&segs[0]]).unwrap();
    assert_eq!(
        r.chunk(BlockChunkRef::new(1, 8).unwrap()),
        Err(ChunkFileError::NoSuchSegment { segment: 1, segments: 1 })
    );
    assert!(matches!(
        r.chunk(BlockChunkRef::new(0, 3).unwrap()),
        Err(ChunkFileError::BadOffset { offset: 3, .. })
    ));
    assert!(matches!(r.chunk(BlockChunkRef::new(0, 10_000).unwrap()), Err(ChunkFileError::BadOffset { .. })));
    // Truncated segment: the claimed length runs past the end.
    let short = &segs[0][..segs[0].len() - 2];
    let r = ChunkSegmentReader::new(vec![short]).unwrap();
    assert!(matches!(r.chunk(refs[0]), Err(ChunkFileError::Truncated { segment: 0, offset: 8, .. })));
}

#[test]
fn every_bit_flip_is_detected() {
    let mut e = XorEncoder::new();
    for i in 0..20 {
        e.append(i * 1000, (i * i) as f64);
    }
    let (refs, segs) = write_all(1 << 20, &[(ENCODING_XOR, e.into_bytes()), (ENCODING_XOR, vec![0, 0])]);
    let clean = segs[0].clone();
    for byte in 0..clean.len() {
        for bit in 0..8 {
            let mut s = clean.clone();
            s[byte] ^= 1 << bit;
            let reader = ChunkSegmentReader::new(vec![&s]);
            let Ok(reader) = reader else {
                // Flips in the magic or version are header errors.
                assert!(byte < 5, "byte {byte}: header error for a flip outside magic/version");
                continue;
            };
            if (5..8).contains(&byte) {
                // Padding is not checked (reserved); the chunks stay readable.
                continue;
            }
            let results: Vec<_> = refs.iter().map(|r| reader.chunk(*r)).collect();
            let errs: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
            assert!(!errs.is_empty(), "flip at byte {byte} bit {bit} not detected");
            for e in errs {
                match e {
                    ChunkFileError::Checksum { segment: 0, offset, .. }
                    | ChunkFileError::Truncated { segment: 0, offset, .. }
                    | ChunkFileError::BadLength { segment: 0, offset } => {
                        assert!(refs.iter().any(|r| r.offset() == *offset), "{e}")
                    }
                    other => panic!("byte {byte} bit {bit}: unexpected {other}"),
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn prop_round_trip(
        chunks in prop::collection::vec((any::<u8>(), prop::collection::vec(any::<u8>(), 0..300)), 0..40),
        max in 9usize..2000,
    ) {
        let (refs, segs) = write_all(max, &chunks);
        let reader = ChunkSegmentReader::new(segs.iter().map(Vec::as_slice).collect()).unwrap();
        for (r, (enc, data)) in refs.iter().zip(&chunks) {
            let c = reader.chunk(*r).unwrap();
            prop_assert_eq!(c.encoding, *enc);
            prop_assert_eq!(c.data, &data[..]);
        }
        for (i, s) in segs.iter().enumerate() {
            // A segment exceeds the limit only when it holds a single oversized chunk.
            let n = reader.iter_segment(i as u32).count();
            prop_assert!(n >= 1);
            prop_assert!(s.len() <= max || n == 1, "segment {} is {} bytes with {} chunks", i, s.len(), n);
        }
    }

    #[test]
    fn prop_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), off in 0u32..300) {
        let mut seg = vec![0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0];
        seg.extend(bytes);
        let r = ChunkSegmentReader::new(vec![&seg]).unwrap();
        let _ = r.chunk(BlockChunkRef::new(0, u64::from(off)).unwrap());
        let n = r.iter_segment(0).take(1000).count();
        prop_assert!(n <= 200);
    }
}
