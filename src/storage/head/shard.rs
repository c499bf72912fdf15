//! One virtual shard of the head: the series table (shard-local id → series), the hash →
//! id map with explicit collision handling, and the postings. Always used behind the shard's
//! lock (see `head/mod.rs`). Owns creation, lookup and removal of series.

use super::packed::PackedLabels;
use super::postings::Postings;
use super::series::MemSeries;
use cairn_format::{Labels, MatchOp, Matcher};
use roaring::RoaringBitmap;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The keys are already xxh3 hashes: hash them again for nothing.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashIndex<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

#[derive(Default)]
pub struct Shard {
    /// Indexed by shard-local id; `None` for removed series (ids are never reused, so a
    /// `SeriesRef` held by a caller can never point at a different series).
    pub series: Vec<Option<Box<MemSeries>>>,
    /// Label hash → id of the first series with that hash.
    by_hash: HashIndex<u32>,
    /// Label hash → ids of further series whose labels differ but hash the same (rare).
    collisions: HashIndex<Vec<u32>>,
    pub postings: Postings,
    pub live: usize,
}

impl Shard {
    /// The id of the series with exactly these (validated) labels.
    pub fn lookup(&self, hash: u64, labels: &Labels) -> Option<u32> {
        let first = *self.by_hash.get(&hash)?;
        let is = |id: u32| self.get(id).is_some_and(|s| s.labels.equals(labels));
        if is(first) {
            return Some(first);
        }
        self.collisions.get(&hash)?.iter().copied().find(|&id| is(id))
    }

    /// The id of the series whose packed labels are exactly `packed` (one byte comparison
    /// per candidate; see `PackedLabels::pack_pairs_into`).
    pub fn lookup_packed(&self, hash: u64, packed: &[u8]) -> Option<u32> {
        let first = *self.by_hash.get(&hash)?;
        let is = |id: u32| self.get(id).is_some_and(|s| s.labels.as_bytes() == packed);
        if is(first) {
            return Some(first);
        }
        self.collisions.get(&hash)?.iter().copied().find(|&id| is(id))
    }

    pub fn get(&self, id: u32) -> Option<&MemSeries> {
        self.series.get(id as usize).and_then(|s| s.as_deref())
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut MemSeries> {
        self.series.get_mut(id as usize).and_then(|s| s.as_deref_mut())
    }

    /// Ids of the series matching every matcher (all series when `matchers` is empty).
    ///
    /// Starts from the most selective kind of matcher (non-empty equality) via postings.
    /// Each further matcher either intersects with its postings or — when the candidates are
    /// fewer than the label's distinct values (a regex over a high-cardinality label) — is
    /// checked directly against each candidate's labels, which avoids matching every value.
    pub fn select(&self, matchers: &[Matcher]) -> RoaringBitmap {
        let mut order: Vec<&Matcher> = matchers.iter().collect();
        order.sort_by_key(|m| match m.op {
            MatchOp::Equal if !m.value.is_empty() => 0,
            MatchOp::RegexMatch if !m.matches_empty() => 1,
            _ => 2,
        });
        let mut it = order.into_iter();
        let Some(first) = it.next() else { return self.postings.all().clone() };
        let mut acc = self.postings.select_one(first);
        for m in it {
            if acc.is_empty() {
                break;
            }
            let cheap_postings = matches!(m.op, MatchOp::Equal) && !m.value.is_empty();
            if !cheap_postings && acc.len() < self.postings.value_count(&m.name) as u64 {
                acc.retain(|id| self.get(id).is_some_and(|s| m.matches(s.labels.get(&m.name).unwrap_or(""))));
            } else {
                acc &= self.postings.select_one(m);
            }
        }
        acc
    }

    /// The id the next created series will get.
    pub fn next_id(&self) -> u32 {
        self.series.len() as u32
    }

    /// Inserts a series under `id` (`next_id()` for new series; the logged id on replay).
    /// The caller has checked that the labels are not present yet.
    pub fn insert(&mut self, id: u32, hash: u64, labels: &Labels) {
        let idx = id as usize;
        if self.series.len() <= idx {
            self.series.resize_with(idx + 1, || None);
        }
        assert!(self.series[idx].is_none(), "series id {id} inserted twice");
        let packed = PackedLabels::pack(labels);
        self.postings.add(id, labels.iter().map(|l| (l.name.as_str(), l.value.as_str())));
        self.series[idx] = Some(Box::new(MemSeries::new(packed)));
        match self.by_hash.entry(hash) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(id);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collisions.entry(hash).or_default().push(id)
            }
        }
        self.live += 1;
    }

    /// Removes series `id` (which must exist) from every structure.
    pub fn remove(&mut self, id: u32) {
        let Some(hash) = self.get(id).map(|s| s.labels.to_labels().stable_hash()) else { return };
        self.remove_hashed(id, hash);
    }

    /// [`remove`](Self::remove) with the label hash already known.
    pub fn remove_hashed(&mut self, id: u32, hash: u64) {
        let Some(s) = self.series.get_mut(id as usize).and_then(Option::take) else { return };
        self.postings.remove(id, s.labels.iter());
        if self.by_hash.get(&hash) == Some(&id) {
            // Promote a colliding series, if any, to the main map.
            match self.collisions.get_mut(&hash).and_then(Vec::pop) {
                Some(other) => {
                    self.by_hash.insert(hash, other);
                }
                None => {
                    self.by_hash.remove(&hash);
                }
            }
        } else if let Some(v) = self.collisions.get_mut(&hash) {
            v.retain(|&x| x != id);
        }
        if self.collisions.get(&hash).is_some_and(Vec::is_empty) {
            self.collisions.remove(&hash);
        }
        self.live -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_agrees_with_brute_force_on_both_strategies() {
        // Many distinct `inst` values so that a regex after an equality filters candidates
        // by labels, while matchers on low-cardinality names go through postings.
        let mut s = Shard::default();
        let mut all = Vec::new();
        for i in 0..300u32 {
            let l = Labels::from_pairs([
                ("__name__", format!("m{}", i % 3)),
                ("inst", format!("h{i}")),
                ("mode", ["a", "b"][(i % 2) as usize].to_string()),
            ]);
            s.insert(i, l.stable_hash(), &l);
            all.push(l);
        }
        let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
        let cases = [
            vec![m(MatchOp::Equal, "__name__", "m1"), m(MatchOp::RegexMatch, "inst", "h1.*")],
            vec![m(MatchOp::Equal, "__name__", "m1"), m(MatchOp::RegexNoMatch, "inst", "h1.*")],
            vec![m(MatchOp::Equal, "__name__", "m2"), m(MatchOp::NotEqual, "inst", "h5")],
            vec![m(MatchOp::Equal, "__name__", "m0"), m(MatchOp::Equal, "nope", "")],
            vec![m(MatchOp::RegexMatch, "inst", "h2."), m(MatchOp::NotEqual, "mode", "a")],
            vec![m(MatchOp::NotEqual, "mode", "a")],
            vec![],
        ];
        for ms in cases {
            let got: Vec<u32> = s.select(&ms).iter().collect();
            let want: Vec<u32> =
                (0..300u32).filter(|&i| ms.iter().all(|m| m.matches_labels(&all[i as usize]))).collect();
            assert_eq!(got, want, "{ms:?}");
        }
    }

    #[test]
    fn hash_collisions_are_handled() {
        let mut s = Shard::default();
        let a = Labels::from_pairs([("a", "1")]);
        let b = Labels::from_pairs([("a", "2")]);
        let c = Labels::from_pairs([("a", "3")]);
        // Force the same hash for all three.
        s.insert(0, 42, &a);
        s.insert(1, 42, &b);
        s.insert(2, 42, &c);
        assert_eq!(s.lookup(42, &a), Some(0));
        assert_eq!(s.lookup(42, &b), Some(1));
        assert_eq!(s.lookup(42, &c), Some(2));
        assert_eq!(s.lookup(42, &Labels::from_pairs([("a", "4")])), None);
        s.remove_hashed(0, 42);
        assert_eq!(s.lookup(42, &a), None);
        assert_eq!(s.lookup(42, &b), Some(1));
        assert_eq!(s.lookup(42, &c), Some(2));
        s.remove_hashed(2, 42);
        assert_eq!(s.lookup(42, &b), Some(1));
        assert_eq!(s.lookup(42, &c), None);
        // Removing uses the real hash; use real hashes for a removal round.
        let mut s = Shard::default();
        s.insert(0, a.stable_hash(), &a);
        s.insert(1, b.stable_hash(), &b);
        s.remove(0);
        assert_eq!(s.lookup(a.stable_hash(), &a), None);
        assert_eq!(s.lookup(b.stable_hash(), &b), Some(1));
        assert_eq!(s.live, 1);
        assert_eq!(s.postings.all().len(), 1);
    }
}
