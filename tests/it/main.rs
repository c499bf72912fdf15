//! The single integration-test binary: modules named by what they put at risk.

mod promql_diff;
mod support;
