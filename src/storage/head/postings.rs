//! The per-shard inverted index: label name → value → set of shard-local series ids, plus
//! the set of all ids. Sets are `roaring` bitmaps, except that a value held by exactly one
//! series (ids, instance names, ...) is stored as a bare id until a second series shares it —
//! that keeps high-cardinality labels cheap. Owns matcher → id-set evaluation; knows nothing
//! of chunks or locks.

use cairn_format::{MatchOp, Matcher};
use foldhash::HashMap;
use roaring::RoaringBitmap;

/// The ids holding one `name=value` pair.
#[derive(Clone, Debug)]
pub enum PostingList {
    One(u32),
    Many(RoaringBitmap),
}

impl PostingList {
    /// Never true: empty lists are removed from the index.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> u64 {
        match self {
            PostingList::One(_) => 1,
            PostingList::Many(b) => b.len(),
        }
    }

    fn or_into(&self, out: &mut RoaringBitmap) {
        match self {
            PostingList::One(id) => {
                out.insert(*id);
            }
            PostingList::Many(b) => *out |= b,
        }
    }

    fn to_bitmap(&self) -> RoaringBitmap {
        match self {
            PostingList::One(id) => RoaringBitmap::from_iter([*id]),
            PostingList::Many(b) => b.clone(),
        }
    }
}

/// Inverted index of one shard.
#[derive(Default)]
pub struct Postings {
    names: HashMap<Box<str>, HashMap<Box<str>, PostingList>>,
    all: RoaringBitmap,
}

impl Postings {
    pub fn add<'a>(&mut self, id: u32, labels: impl Iterator<Item = (&'a str, &'a str)>) {
        self.all.insert(id);
        for (n, v) in labels {
            let values = match self.names.get_mut(n) {
                Some(v) => v,
                None => self.names.entry(n.into()).or_default(),
            };
            match values.get_mut(v) {
                None => {
                    values.insert(v.into(), PostingList::One(id));
                }
                Some(pl) => match pl {
                    PostingList::One(other) => {
                        *pl = PostingList::Many(RoaringBitmap::from_iter([*other, id]));
                    }
                    PostingList::Many(b) => {
                        b.insert(id);
                    }
                },
            }
        }
    }

    pub fn remove<'a>(&mut self, id: u32, labels: impl Iterator<Item = (&'a str, &'a str)>) {
        self.all.remove(id);
        for (n, v) in labels {
            let Some(values) = self.names.get_mut(n) else { continue };
            let drop_value = match values.get_mut(v) {
                Some(PostingList::One(x)) => *x == id,
                Some(PostingList::Many(b)) => {
                    b.remove(id);
                    if b.len() == 1 {
                        let last = b.min().unwrap_or(id);
                        values.insert(v.into(), PostingList::One(last));
                    }
                    false
                }
                None => false,
            };
            if drop_value {
                values.remove(v);
            }
            if values.is_empty() {
                self.names.remove(n);
            }
        }
    }

    /// Number of distinct values of `name` in this shard.
    pub fn value_count(&self, name: &str) -> usize {
        self.names.get(name).map_or(0, |m| m.len())
    }

    pub fn all(&self) -> &RoaringBitmap {
        &self.all
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(|k| &**k)
    }

    pub fn values(&self, name: &str) -> impl Iterator<Item = (&str, &PostingList)> {
        self.names.get(name).into_iter().flat_map(|m| m.iter().map(|(k, v)| (&**k, v)))
    }

    /// Union of the lists of `name`'s values for which `keep(value)` holds.
    fn union_where(&self, name: &str, mut keep: impl FnMut(&str) -> bool) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        for (v, pl) in self.values(name) {
            if keep(v) {
                pl.or_into(&mut out);
            }
        }
        out
    }

    /// Ids matching one matcher (an absent label counts as the empty value).
    pub fn select_one(&self, m: &Matcher) -> RoaringBitmap {
        match m.op {
            MatchOp::Equal if !m.value.is_empty() => self
                .names
                .get(m.name.as_str())
                .and_then(|vals| vals.get(m.value.as_str()))
                .map(PostingList::to_bitmap)
                .unwrap_or_default(),
            MatchOp::NotEqual if m.value.is_empty() => self.union_where(&m.name, |_| true),
            _ => {
                // General case: the matching set is either the union of matching values, or
                // (when the matcher accepts the empty value, i.e. series lacking the label)
                // everything minus the union of non-matching values.
                if m.matches_empty() {
                    let reject = self.union_where(&m.name, |v| !m.matches(v));
                    &self.all - reject
                } else {
                    self.union_where(&m.name, |v| m.matches(v))
                }
            }
        }
    }

    /// Ids matching every matcher; all ids when `matchers` is empty.
    pub fn select(&self, matchers: &[Matcher]) -> RoaringBitmap {
        // Narrow first with the cheapest selective matchers (non-empty equality).
        let mut order: Vec<&Matcher> = matchers.iter().collect();
        order.sort_by_key(|m| match m.op {
            MatchOp::Equal if !m.value.is_empty() => 0,
            MatchOp::RegexMatch if !m.matches_empty() => 1,
            _ => 2,
        });
        let mut acc: Option<RoaringBitmap> = None;
        for m in order {
            if acc.as_ref().is_some_and(RoaringBitmap::is_empty) {
                break;
            }
            let s = self.select_one(m);
            acc = Some(match acc {
                None => s,
                Some(a) => a & s,
            });
        }
        acc.unwrap_or_else(|| self.all.clone())
    }

    /// Approximate heap bytes of the index (for stats).
    pub fn approx_bytes_by_name(&self) -> impl Iterator<Item = (&str, u64)> {
        self.names.iter().map(|(n, vals)| {
            let b: u64 = vals
                .iter()
                .map(|(v, pl)| {
                    v.len() as u64
                        + 48
                        + match pl {
                            PostingList::One(_) => 0,
                            PostingList::Many(b) => b.serialized_size() as u64,
                        }
                })
                .sum();
            (&**n, b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
        Matcher::new(op, n, v).unwrap()
    }

    #[test]
    fn matchers_against_brute_force() {
        let sets: Vec<Vec<(&str, &str)>> = vec![
            vec![("__name__", "up"), ("job", "a")],
            vec![("__name__", "up"), ("job", "b"), ("x", "1")],
            vec![("__name__", "down"), ("x", "2")],
            vec![("__name__", "up")],
        ];
        let mut p = Postings::default();
        for (i, s) in sets.iter().enumerate() {
            p.add(i as u32, s.iter().copied());
        }
        let ms = [
            m(MatchOp::Equal, "__name__", "up"),
            m(MatchOp::Equal, "job", ""),
            m(MatchOp::NotEqual, "job", "a"),
            m(MatchOp::NotEqual, "job", ""),
            m(MatchOp::RegexMatch, "job", "a|b"),
            m(MatchOp::RegexMatch, "x", ".*"),
            m(MatchOp::RegexMatch, "x", "1|"),
            m(MatchOp::RegexNoMatch, "x", "1"),
            m(MatchOp::RegexNoMatch, "x", ".+"),
            m(MatchOp::Equal, "nope", "1"),
        ];
        for a in &ms {
            for b in &ms {
                let got: Vec<u32> = p.select(&[a.clone(), b.clone()]).iter().collect();
                let want: Vec<u32> = (0..sets.len() as u32)
                    .filter(|&i| {
                        let get =
                            |n: &str| sets[i as usize].iter().find(|(k, _)| *k == n).map_or("", |(_, v)| v);
                        a.matches(get(&a.name)) && b.matches(get(&b.name))
                    })
                    .collect();
                assert_eq!(got, want, "{a} {b}");
            }
        }
        p.remove(1, sets[1].iter().copied());
        let got: Vec<u32> = p.select(&[m(MatchOp::Equal, "__name__", "up")]).iter().collect();
        assert_eq!(got, vec![0, 3]);
        assert!(p.values("job").all(|(_, pl)| matches!(pl, PostingList::One(_))));
    }
}
