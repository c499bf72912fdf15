//! Head truncation: drops samples older than `mint` and series left without samples, and
//! raises the head's minimum valid time so older samples are refused ("out of bounds").
//! Also the full-head walk used to write a WAL checkpoint. Owns no files.

use super::{Head, SeriesRef};
use cairn_format::Labels;
use cairn_format::record::SampleRecord;
use std::sync::atomic::Ordering;

impl Head {
    /// Drops data older than `mint`. A series is removed once every sample it ever had is
    /// gone; series created but never given a sample stay (an appender may still be about to
    /// commit to them). Returns (samples dropped, series removed).
    pub fn truncate(&self, mint: i64) -> (u64, usize) {
        self.min_valid_t.fetch_max(mint, Ordering::Relaxed);
        let (mut samples, mut series) = (0u64, 0usize);
        let (mut new_min, mut any) = (i64::MAX, false);
        for slot in self.shards.iter() {
            let mut shard = slot.0.write();
            let mut empty = Vec::new();
            for (id, s) in shard.series.iter_mut().enumerate() {
                let Some(s) = s else { continue };
                samples += s.truncate(mint) as u64;
                match s.min_time() {
                    Some(t) => {
                        new_min = new_min.min(t);
                        any = true;
                    }
                    None if s.max_t != i64::MIN => empty.push(id as u32),
                    None => {}
                }
            }
            for id in empty {
                shard.remove(id);
                series += 1;
            }
        }
        self.num_series.fetch_sub(series, Ordering::Relaxed);
        self.num_samples.fetch_sub(samples.min(self.num_samples.load(Ordering::Relaxed)), Ordering::Relaxed);
        self.min_t.store(if any { new_min } else { i64::MAX }, Ordering::Relaxed);
        (samples, series)
    }

    /// Every series (shard by shard, read locks) with its ref and labels. Used to write a
    /// checkpoint; the caller keeps writers out meanwhile.
    pub fn dump_series(&self, mut f: impl FnMut(SeriesRef, Labels)) {
        for (si, slot) in self.shards.iter().enumerate() {
            let shard = slot.0.read();
            for (id, s) in shard.series.iter().enumerate() {
                if let Some(s) = s {
                    f(SeriesRef::new(si, id as u32), s.labels.to_labels());
                }
            }
        }
    }

    /// Every series' samples in storage order (closed chunks, open chunk, out-of-order
    /// buffer), one call per series with samples. Used to write a checkpoint.
    pub fn dump_samples(&self, mut f: impl FnMut(&[SampleRecord])) {
        let mut buf = Vec::with_capacity(1024);
        for (si, slot) in self.shards.iter().enumerate() {
            let shard = slot.0.read();
            for (id, s) in shard.series.iter().enumerate() {
                let Some(s) = s else { continue };
                let r = SeriesRef::new(si, id as u32).0;
                buf.clear();
                for x in s.all_samples() {
                    buf.push(SampleRecord { series_ref: r, t: x.t, v: x.v });
                }
                if !buf.is_empty() {
                    f(&buf);
                }
            }
        }
    }
}
