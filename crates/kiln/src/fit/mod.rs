//! `compile`, `fit`, `evaluate` and `predict`.

mod compile;
mod data;
mod evaluate;
#[cfg(test)]
mod loop_tests;
mod on_batch;
mod options;
mod progress;
mod train;

pub(crate) use compile::Compiled;
pub use compile::LossArg;
pub use data::Data;
pub use options::{EvaluateOptions, FitOptions, PredictOptions};
pub use progress::ProgressBar;
