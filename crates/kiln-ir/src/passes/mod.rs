//! Graph passes: plain functions over `&mut Graph`. Tests verify the graph after each.
//!
//! [`optimize`] runs them in order; `kiln_burn::Plan` calls it on a copy of every graph it
//! compiles, so saved models, summaries and ONNX exports see the graph as layers wrote it.

mod constant_fold;
mod conv_bias;
mod dead_code;
mod pipeline;
mod reshape_chains;
mod rewrite;
mod transpose_sinking;

pub use constant_fold::fold_constants;
pub use conv_bias::fuse_conv_bias;
pub use dead_code::{live_order, remove_dead_nodes};
pub use pipeline::{PassReport, optimize};
pub use reshape_chains::collapse_reshapes;
pub use transpose_sinking::sink_transposes;
