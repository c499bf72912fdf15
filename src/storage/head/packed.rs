//! Compact label storage for head series: one boxed byte buffer per series holding
//! `uvarint(len) name uvarint(len) value` for each label in sorted order. One allocation and
//! no per-label `String`s keeps the per-series footprint small. Owns packing, comparison and
//! unpacking only.

use cairn_format::{Label, Labels};

/// A series' labels packed into one allocation.
#[derive(Clone, PartialEq, Eq)]
pub struct PackedLabels(Box<[u8]>);

fn put_uvarint(out: &mut Vec<u8>, mut x: usize) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Reads a uvarint written by `put_uvarint`; the buffer was produced by `pack`, so it is
/// well formed (a short read ends iteration instead of panicking).
fn get_uvarint(b: &[u8], pos: &mut usize) -> Option<usize> {
    let mut x = 0usize;
    let mut shift = 0;
    loop {
        let c = *b.get(*pos)?;
        *pos += 1;
        x |= ((c & 0x7f) as usize) << shift;
        if c < 0x80 {
            return Some(x);
        }
        shift += 7;
        if shift >= usize::BITS {
            return None;
        }
    }
}

impl PackedLabels {
    /// Packs validated (sorted, unique, non-empty) labels.
    pub fn pack(labels: &Labels) -> Self {
        let len: usize = labels.iter().map(|l| l.name.len() + l.value.len() + 4).sum();
        let mut out = Vec::with_capacity(len);
        for l in labels {
            put_uvarint(&mut out, l.name.len());
            out.extend_from_slice(l.name.as_bytes());
            put_uvarint(&mut out, l.value.len());
            out.extend_from_slice(l.value.as_bytes());
        }
        PackedLabels(out.into_boxed_slice())
    }

    /// Appends the packed form of validated (sorted, unique, non-empty) label pairs to `out`:
    /// the bytes [`pack`](Self::pack) would store, so a lookup can compare them with one
    /// `memcmp` (see [`as_bytes`](Self::as_bytes)).
    pub fn pack_pairs_into<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, out: &mut Vec<u8>) {
        for (n, v) in pairs {
            put_uvarint(out, n.len());
            out.extend_from_slice(n.as_bytes());
            put_uvarint(out, v.len());
            out.extend_from_slice(v.as_bytes());
        }
    }

    /// The packed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Iterates `(name, value)` pairs as byte slices.
    pub fn iter_bytes(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let b = &self.0;
        let mut pos = 0usize;
        std::iter::from_fn(move || {
            if pos >= b.len() {
                return None;
            }
            let n = get_uvarint(b, &mut pos)?;
            let name = b.get(pos..pos + n)?;
            pos += n;
            let m = get_uvarint(b, &mut pos)?;
            let value = b.get(pos..pos + m)?;
            pos += m;
            Some((name, value))
        })
    }

    /// Iterates `(name, value)` pairs. Packed from `String`s, so always valid UTF-8.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.iter_bytes()
            .map(|(n, v)| (std::str::from_utf8(n).unwrap_or(""), std::str::from_utf8(v).unwrap_or("")))
    }

    /// True when these are exactly `labels` (which must be validated).
    pub fn equals(&self, labels: &Labels) -> bool {
        let mut it = self.iter_bytes();
        for l in labels {
            match it.next() {
                Some((n, v)) if n == l.name.as_bytes() && v == l.value.as_bytes() => {}
                _ => return false,
            }
        }
        it.next().is_none()
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn to_labels(&self) -> Labels {
        Labels::from_sorted(self.iter().map(|(n, v)| Label::new(n, v)).collect())
    }

    /// Heap bytes used.
    pub fn heap_bytes(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_compare() {
        let long = "v".repeat(300);
        let l = Labels::from_pairs([("__name__", "up"), ("job", long.as_str()), ("a", "")]);
        let p = PackedLabels::pack(&l);
        assert_eq!(p.to_labels(), l);
        assert!(p.equals(&l));
        assert_eq!(p.get("job"), Some(long.as_str()));
        assert_eq!(p.get("nope"), None);
        assert!(!p.equals(&Labels::from_pairs([("__name__", "up")])));
        assert!(!p.equals(&Labels::from_pairs([("__name__", "up"), ("job", "v"), ("a", ""), ("z", "1")])));
        let mut out = Vec::new();
        PackedLabels::pack_pairs_into(l.iter().map(|l| (l.name.as_str(), l.value.as_str())), &mut out);
        assert_eq!(out, p.as_bytes());
    }
}
