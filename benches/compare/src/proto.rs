//! Prometheus remote-write 1.0 wire messages (`prometheus.WriteRequest`), hand-written for prost.
//! Owns only the message shapes the harness sends (labels + float samples); it does not decode
//! responses and knows nothing of series generation (see `load.rs`).
//!
//! Field numbers follow Prometheus's `prompb/remote.proto` and `prompb/types.proto`:
//! `WriteRequest { repeated TimeSeries timeseries = 1; }`,
//! `TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }`,
//! `Label { string name = 1; string value = 2; }`, `Sample { double value = 1; int64 timestamp = 2; }`.

#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}
