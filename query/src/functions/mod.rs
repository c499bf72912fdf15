//! PromQL functions. The query helper owns this module; `kernels` holds the pure numeric parts.

pub mod kernels;
