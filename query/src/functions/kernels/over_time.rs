//! `*_over_time` kernels (being written; see range.rs for the conventions).
