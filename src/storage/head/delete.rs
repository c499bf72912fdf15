//! Deleting time ranges of series (tombstones): matching refs and re-encoding the kept
//! samples. Rare and slow by design; owns no WAL logging (the caller logs first).

use super::{Head, SeriesRef};
use cairn_format::Matcher;
use std::sync::atomic::Ordering;

impl Head {
    /// Refs of every series matching all matchers (regardless of time).
    pub fn matching_refs(&self, matchers: &[Matcher]) -> Vec<SeriesRef> {
        let mut out = Vec::new();
        for (si, slot) in self.shards.iter().enumerate() {
            let shard = slot.0.read();
            out.extend(shard.select(matchers).iter().map(|id| SeriesRef::new(si, id)));
        }
        out
    }

    /// Deletes samples of `r` in `[mint, maxt]`; unknown refs are ignored.
    pub fn delete_range(&self, r: SeriesRef, mint: i64, maxt: i64) {
        let Some(slot) = self.shards.get(r.shard()) else { return };
        let Some(id) = r.local() else { return };
        let mut shard = slot.0.write();
        if let Some(s) = shard.get_mut(id) {
            let n = s.delete_range(mint, maxt, &self.chunk_opts) as u64;
            self.num_samples.fetch_sub(n.min(self.num_samples.load(Ordering::Relaxed)), Ordering::Relaxed);
        }
    }
}
