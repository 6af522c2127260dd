//! The parity suite's integration tests, one module per file, linked into one binary.

mod parity;
mod registry;
