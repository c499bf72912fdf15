//! promtool unit-test files.
