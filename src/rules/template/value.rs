//! Values a template computes with, mirroring the Go types Prometheus passes around:
//! float64, int, string, bool, maps (label sets, `args`), query results (lists of samples).

use std::collections::BTreeMap;

/// One element of a `query` result: labels (with `__name__` if present) and a value.
#[derive(Clone, Debug, PartialEq)]
pub struct TmplSample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Map(BTreeMap<String, Value>),
    List(Vec<Value>),
    Sample(TmplSample),
}

impl Value {
    /// Go's truth: zero values (false, 0, "", nil, empty collections) are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Sample(_) => true,
        }
    }

    /// A label map as a template map of strings.
    pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), Value::Str(v.to_string()))).collect())
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Map(_) => "map",
            Value::List(_) => "slice",
            Value::Sample(_) => "*template.sample",
        }
    }
}
