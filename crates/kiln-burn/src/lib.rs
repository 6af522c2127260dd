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

mod constraint;
mod convert;
mod device;
mod error;
mod ops;
mod optim;
mod plan;
mod session;
mod slot;

pub use device::EngineDevice;
pub use error::EngineError;
pub use plan::Plan;
pub use session::{OptimizerSnapshot, RunMode, Session};
pub use slot::MAX_RANK;
