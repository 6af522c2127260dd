//! The `kiln` command line's integration tests, one module per file, linked into one binary.

mod bench;
mod cli;
mod common;
mod export;
mod plot_history;
#[cfg(feature = "remote")]
mod remote;
