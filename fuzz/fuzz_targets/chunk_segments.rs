//! Fuzz the chunk segment reader: arbitrary bytes after a valid header, read by walking the
//! segment and by refs taken from the input.
#![no_main]

use cairn_format::block::chunks::{BlockChunkRef, ChunkSegmentReader, SEGMENT_MAGIC};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Raw bytes as a segment (mostly header errors) ...
    if let Ok(r) = ChunkSegmentReader::new(vec![data]) {
        for c in r.iter_segment(0).take(10_000) {
            let _ = c;
        }
    }
    // ... and the same bytes behind a valid header.
    let mut seg = SEGMENT_MAGIC.to_be_bytes().to_vec();
    seg.extend([1, 0, 0, 0]);
    seg.extend_from_slice(data);
    let r = ChunkSegmentReader::new(vec![&seg]).expect("valid header");
    let mut n = 0;
    for c in r.iter_segment(0) {
        n += 1;
        assert!(n <= data.len() + 1, "iteration must make progress");
        if let Ok((rf, chunk)) = c {
            assert_eq!(r.chunk(rf).expect("listed chunk reads"), chunk);
        }
    }
    for w in data.chunks_exact(4).take(64) {
        let off = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) % (seg.len() as u32 + 16);
        let _ = r.chunk(BlockChunkRef::from_u64(u64::from(off)));
    }
});
