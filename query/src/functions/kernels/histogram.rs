//! Classic-bucket histogram_quantile / histogram_fraction kernels (being written).
