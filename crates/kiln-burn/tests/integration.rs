//! kiln-burn's integration tests, one module per file, linked into one binary.

mod deferred;
mod passes;
