//! Label sets: the identity of a series. Owns sorting, lookup and the stable 64-bit hash.
//! Does not validate names or values (that is the storage's job at append time; see
//! `cairn::storage::validate`), and knows nothing of postings or interning.

use std::fmt;

/// The label name that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One `name="value"` pair.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    pub name: String,
    pub value: String,
}

impl Label {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Label { name: name.into(), value: value.into() }
    }
}

/// A label set sorted by name. Constructors sort; duplicates are kept so that callers
/// that must reject them (validation) can see them (`has_duplicate_names`).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<Label>);

impl Labels {
    pub fn empty() -> Self {
        Labels(Vec::new())
    }

    /// Builds a set from pairs in any order; sorts by name (stable, so duplicate names keep
    /// their input order).
    pub fn from_pairs<N: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        let mut v: Vec<Label> = pairs.into_iter().map(|(n, val)| Label::new(n, val)).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Labels(v)
    }

    /// Wraps labels that the caller guarantees are sorted by name.
    pub fn from_sorted(v: Vec<Label>) -> Self {
        debug_assert!(v.windows(2).all(|w| w[0].name <= w[1].name), "labels not sorted");
        Labels(v)
    }

    pub fn from_vec(mut v: Vec<Label>) -> Self {
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Labels(v)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.binary_search_by(|l| l.name.as_str().cmp(name)).ok().map(|i| self.0[i].value.as_str())
    }

    /// The metric name (`__name__`), if any.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }

    /// Sets `name` to `value`; an empty value removes the label (Prometheus semantics).
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|l| l.name.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].value = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(i, Label::new(name, value)),
        }
    }

    pub fn remove(&mut self, name: &str) {
        if let Ok(i) = self.0.binary_search_by(|l| l.name.as_str().cmp(name)) {
            self.0.remove(i);
        }
    }

    /// A copy without the metric name.
    pub fn without_metric_name(&self) -> Labels {
        Labels(self.0.iter().filter(|l| l.name != METRIC_NAME).cloned().collect())
    }

    /// Keeps only the named labels (`on(...)`, `by(...)`).
    pub fn keep(&self, names: &[impl AsRef<str>]) -> Labels {
        Labels(self.0.iter().filter(|l| names.iter().any(|n| n.as_ref() == l.name)).cloned().collect())
    }

    /// Drops the named labels (`ignoring(...)`, `without(...)`).
    pub fn drop_names(&self, names: &[impl AsRef<str>]) -> Labels {
        Labels(self.0.iter().filter(|l| !names.iter().any(|n| n.as_ref() == l.name)).cloned().collect())
    }

    pub fn has_duplicate_names(&self) -> bool {
        self.0.windows(2).any(|w| w[0].name == w[1].name)
    }

    /// Stable 64-bit identity hash (xxh3 over `name 0xff value 0xff ...`). Persisted and used
    /// for shard placement: never change it without a data-dir version bump. Collisions are
    /// possible and must be handled by callers (compare the labels).
    pub fn stable_hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in &self.0 {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }
}

/// [`Labels::stable_hash`] of label pairs already sorted by name (the same value for the same
/// labels), hashed in one shot over `scratch` instead of streaming: faster for the short label
/// sets of real series, and usable on borrowed bytes without building a [`Labels`].
pub fn stable_hash_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    scratch: &mut Vec<u8>,
) -> u64 {
    scratch.clear();
    for (n, v) in pairs {
        scratch.extend_from_slice(n);
        scratch.push(0xff);
        scratch.extend_from_slice(v);
        scratch.push(0xff);
    }
    xxhash_rust::xxh3::xxh3_64(scratch)
}

impl fmt::Display for Labels {
    /// Prometheus's text form: `name{a="b", c="d"}` with the name outside the braces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.metric_name() {
            f.write_str(n)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for l in self.0.iter().filter(|l| l.name != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_lookup_set_remove() {
        let mut l = Labels::from_pairs([("job", "a"), ("__name__", "up"), ("instance", "x")]);
        assert_eq!(l.metric_name(), Some("up"));
        assert_eq!(l.get("instance"), Some("x"));
        l.set("zone", "z1");
        l.set("job", "");
        assert_eq!(l.get("job"), None);
        assert_eq!(l.to_string(), r#"up{instance="x", zone="z1"}"#);
        l.remove("instance");
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn hash_is_order_independent_and_separates_pairs() {
        let a = Labels::from_pairs([("a", "1"), ("b", "2")]);
        let b = Labels::from_pairs([("b", "2"), ("a", "1")]);
        let c = Labels::from_pairs([("a", "12"), ("b", "")]);
        assert_eq!(a.stable_hash(), b.stable_hash());
        assert_ne!(a.stable_hash(), c.stable_hash());
    }

    #[test]
    fn pair_hash_equals_stable_hash() {
        let long = "v".repeat(500);
        let sets = [
            Labels::empty(),
            Labels::from_pairs([("a", "1")]),
            Labels::from_pairs([("__name__", "up"), ("instance", "host:9100"), ("job", "node")]),
            Labels::from_pairs([("__name__", "x"), ("big", long.as_str()), ("z", "é")]),
        ];
        let mut scratch = Vec::new();
        for l in &sets {
            let h =
                stable_hash_pairs(l.iter().map(|l| (l.name.as_bytes(), l.value.as_bytes())), &mut scratch);
            assert_eq!(h, l.stable_hash(), "{l}");
        }
    }

    #[test]
    fn duplicates_detected() {
        let l = Labels::from_pairs([("a", "1"), ("a", "2")]);
        assert!(l.has_duplicate_names());
    }
}
