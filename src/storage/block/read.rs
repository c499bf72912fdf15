//! Reading series from one block: matchers → postings → series entries → chunks (read from
//! the mapped segments, CRC-checked) → samples in `[mint, maxt]` minus tombstones. Also label
//! names/values. Owns no merging across blocks or with the head (`querier.rs` does that).

use super::{Block, INDEX_FILE, chunk_err, index_err};
use crate::storage::error::StorageError;
use cairn_format::block::chunks::ChunkSegmentReader;
use cairn_format::block::dchunk::{BlockChunkError, decode_block_chunk};
use cairn_format::block::index::{SeriesEntry, SeriesId};
use cairn_format::block::tombstones::{Interval, Tombstones};
use cairn_format::{Labels, Matcher, Sample, matches_all};
use std::collections::BTreeSet;

impl Block {
    fn ierr(&self, e: cairn_format::block::index::IndexError) -> StorageError {
        index_err(&self.dir.join(INDEX_FILE), e)
    }

    /// Ids of series matching every matcher, ascending (labels checked on the entries).
    pub(crate) fn matching_ids(&self, matchers: &[Matcher]) -> Result<Vec<SeriesId>, StorageError> {
        let ix = self.index();
        // Candidates from the first matcher that cannot match an absent label (its postings
        // are the union over the values it matches); otherwise every series.
        let candidates: Vec<SeriesId> = match matchers.iter().find(|m| !m.matches_empty()) {
            Some(m) => {
                let mut set = BTreeSet::new();
                for v in ix.label_values(&m.name).map_err(|e| self.ierr(e))? {
                    if m.matches(v) {
                        set.extend(ix.postings(&m.name, v).map_err(|e| self.ierr(e))?);
                    }
                }
                set.into_iter().collect()
            }
            None => (0..ix.num_series()).map(SeriesId).collect(),
        };
        if matchers.is_empty() {
            return Ok(candidates);
        }
        let mut out = Vec::with_capacity(candidates.len());
        for id in candidates {
            let e = ix.series(id).map_err(|e| self.ierr(e))?;
            if matches_all(matchers, &e.labels) {
                out.push(id);
            }
        }
        Ok(out)
    }

    pub(crate) fn series_entry(&self, id: SeriesId) -> Result<SeriesEntry, StorageError> {
        self.index().series(id).map_err(|e| self.ierr(e))
    }

    pub fn num_series(&self) -> u32 {
        self.index().num_series()
    }

    /// Samples of entry `id` in `[mint, maxt]`, tombstones applied when `apply_tombstones`.
    pub(crate) fn samples_of(
        &self,
        cr: &ChunkSegmentReader<'_>,
        ts: &Tombstones,
        id: SeriesId,
        e: &SeriesEntry,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Sample>, StorageError> {
        let deleted: &[Interval] = ts.get(u64::from(id.0));
        let mut out = Vec::new();
        for c in &e.chunks {
            if c.maxt < mint || c.mint > maxt {
                continue;
            }
            let bytes = cr.chunk(c.chunk_ref).map_err(|e| chunk_err(&self.dir, e))?;
            let start = out.len();
            decode_block_chunk(bytes.encoding, bytes.data, &mut out)
                .map_err(|x| self.bad_chunk(c.chunk_ref, x))?;
            // Keep the chunk's samples in [mint, maxt] that are not deleted.
            if c.mint < mint || c.maxt > maxt || !deleted.is_empty() {
                let mut w = start;
                for r in start..out.len() {
                    let s = out[r];
                    if s.t >= mint && s.t <= maxt && !deleted.iter().any(|iv| iv.contains(s.t)) {
                        out[w] = s;
                        w += 1;
                    }
                }
                out.truncate(w);
            }
        }
        Ok(out)
    }

    pub(crate) fn bad_chunk(
        &self,
        r: cairn_format::block::chunks::BlockChunkRef,
        e: BlockChunkError,
    ) -> StorageError {
        StorageError::Corrupt {
            file: self.dir.join(super::CHUNKS_DIR).join(super::segment_name(u64::from(r.segment()))),
            offset: u64::from(r.offset()),
            reason: format!("chunk payload does not decode: {e}"),
        }
    }

    /// Series matching `matchers` with their samples in `[mint, maxt]` (tombstones
    /// applied), sorted by labels; series left without samples are omitted.
    pub fn select(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Matcher],
    ) -> Result<Vec<(Labels, Vec<Sample>)>, StorageError> {
        let mut out = Vec::new();
        if mint > maxt || maxt < self.min_time() || mint >= self.max_time() {
            return Ok(out);
        }
        let (cr, ts) = (self.chunk_reader()?, self.tombstones());
        for id in self.matching_ids(matchers)? {
            let e = self.series_entry(id)?;
            let samples = self.samples_of(&cr, &ts, id, &e, mint, maxt)?;
            if !samples.is_empty() {
                out.push((e.labels, samples));
            }
        }
        Ok(out)
    }

    /// Label names of the block (all, without matchers; else of matching series with data
    /// in range).
    pub fn label_names(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Matcher],
    ) -> Result<BTreeSet<String>, StorageError> {
        if matchers.is_empty() {
            let v = self.index().label_names().map_err(|e| self.ierr(e))?;
            return Ok(v.into_iter().map(str::to_owned).collect());
        }
        let mut set = BTreeSet::new();
        for (l, _) in self.select(mint, maxt, matchers)? {
            set.extend(l.iter().map(|x| x.name.clone()));
        }
        Ok(set)
    }

    /// Values of `name` (same filtering as [`label_names`](Self::label_names)).
    pub fn label_values(
        &self,
        mint: i64,
        maxt: i64,
        name: &str,
        matchers: &[Matcher],
    ) -> Result<BTreeSet<String>, StorageError> {
        if matchers.is_empty() {
            let v = self.index().label_values(name).map_err(|e| self.ierr(e))?;
            return Ok(v.into_iter().map(str::to_owned).collect());
        }
        let mut set = BTreeSet::new();
        for (l, _) in self.select(mint, maxt, matchers)? {
            if let Some(v) = l.get(name) {
                set.insert(v.to_owned());
            }
        }
        Ok(set)
    }
}
