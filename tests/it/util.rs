//! Shared helpers for the integration tests: a tiny seeded RNG and result flattening.

use cairn::storage::Querier;
use cairn_format::{Labels, Matcher};

/// xorshift64*: deterministic, seedable, dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// Every selected series as (labels, [(t, value bits)]).
pub fn select_all(q: &Querier, m: &[Matcher]) -> Vec<(Labels, Vec<(i64, u64)>)> {
    q.select(m)
        .unwrap()
        .map(|s| {
            let v = s.samples().map(|x| (x.t, x.v.to_bits())).collect();
            (s.labels, v)
        })
        .collect()
}
