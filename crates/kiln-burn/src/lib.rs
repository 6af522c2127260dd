//! One lowering of Kiln's IR onto Burn's tensor API.
//!
//! A [`Plan`] is compiled once from a [`kiln_ir::Graph`]: its steps, the tensors each step
//! frees after its last use, and checks that every op can run. A [`Session`] holds a model's
//! parameters (and optimizer state) on one [`EngineDevice`] and runs plans on it: inference
//! ([`Session::run`]) or a training step through Burn's autodiff ([`Session::train_step`]).
//! Burn 0.22 dispatches on the device value, so the same plan runs on every engine; the
//! adapter crates only construct devices.
//!
//! Inside, every tensor is held at rank [`MAX_RANK`] with leading axes of size one, so one
//! Burn tensor type carries values of any IR rank and numpy broadcasting falls out of
//! Burn's same-rank broadcasting.
//!
//! Data parallelism splits a batch into [`Shard`]s, one per device, and runs them at once
//! ([`Session::train_step_sharded`], [`Session::run_sharded`]); a plan whose parts share
//! batch statistics runs them in lockstep.

mod constraint;
mod convert;
mod deferred;
mod device;
mod engine;
mod error;
mod lockstep;
pub(crate) mod ops;
mod optim;
mod parallel;
mod plan;
mod precision;
mod session;
mod slot;

pub use deferred::{DeviceOutputs, OutputSums};
pub use device::EngineDevice;

/// The lowering's alternative formulations, for the benchmarks that choose between them
/// and the engines' kernels (`benches/convolution.rs`). Not a stable API.
#[doc(hidden)]
pub mod fast_paths {
    pub use crate::ops::im2col::{Geometry as ConvGeometry, conv2d as conv2d_im2col};
}
pub use error::EngineError;
pub use parallel::{Shard, split_rows};
pub use plan::Plan;
pub use precision::{ComputeDType, LossScale};
pub use session::{OptimizerSnapshot, RunMode, Session};
pub use slot::MAX_RANK;
