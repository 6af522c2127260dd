//! Callbacks: code that runs at points of `fit`, as Keras's `keras.callbacks`.
//!
//! A callback implements the hooks it needs of [`Callback`]; each receives the model
//! (to read or change weights, the learning rate, or set
//! [`stop_training`](crate::Model::stop_training)) and the logs: a sorted map from
//! names such as `loss`, `accuracy`, `val_loss` to their current values.
//!
//! ```
//! use kiln::prelude::*;
//! use kiln::callbacks::{Callback, Logs};
//!
//! /// Stops as soon as the training loss falls below a target.
//! struct StopBelow(f64);
//!
//! impl Callback for StopBelow {
//!     fn on_epoch_end(&mut self, model: &mut Model, _epoch: usize, logs: &mut Logs) -> kiln::Result<()> {
//!         if logs.get("loss").is_some_and(|&l| l < self.0) {
//!             model.stop_training = true;
//!         }
//!         Ok(())
//!     }
//! }
//! ```

mod csv_logger;
mod early_stopping;
mod history;
mod lr_scheduler;
mod model_checkpoint;
mod monitor;
mod reduce_lr;
mod tensorboard;
mod terminate_on_nan;

pub use csv_logger::CsvLogger;
pub use early_stopping::EarlyStopping;
pub use history::History;
pub use lr_scheduler::LearningRateScheduler;
pub use model_checkpoint::{ModelCheckpoint, SaveFreq};
pub use monitor::Mode;
pub use reduce_lr::ReduceLrOnPlateau;
pub use tensorboard::{TensorBoard, UpdateFreq};
pub use terminate_on_nan::TerminateOnNaN;

use crate::error::Result;
use crate::model::Model;
use std::collections::BTreeMap;

/// Named values at a point of training (`loss`, `accuracy`, `val_loss`, …), sorted by name
/// as Keras prints them.
pub type Logs = BTreeMap<String, f64>;

/// Hooks into `fit`. Every hook does nothing by default.
pub trait Callback {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _model: &mut Model, _logs: &Logs) -> Result<()> {
        Ok(())
    }
    /// After the last epoch.
    fn on_train_end(&mut self, _model: &mut Model, _logs: &Logs) -> Result<()> {
        Ok(())
    }
    /// Before each epoch (`epoch` counts from 0).
    fn on_epoch_begin(&mut self, _model: &mut Model, _epoch: usize, _logs: &Logs) -> Result<()> {
        Ok(())
    }
    /// After each epoch, with the epoch's training and validation results. Callbacks may
    /// add entries (as `ReduceLROnPlateau` adds `learning_rate`).
    fn on_epoch_end(&mut self, _model: &mut Model, _epoch: usize, _logs: &mut Logs) -> Result<()> {
        Ok(())
    }
    /// Before each training batch (`batch` counts from 0 within the epoch).
    fn on_batch_begin(&mut self, _model: &mut Model, _batch: usize, _logs: &Logs) -> Result<()> {
        Ok(())
    }
    /// After each training batch, with the epoch's running averages — when some callback
    /// [reads batch logs](Callback::reads_batch_logs); otherwise the logs are empty on the
    /// batches where `fit` did not read the values back.
    fn on_batch_end(&mut self, _model: &mut Model, _batch: usize, _logs: &Logs) -> Result<()> {
        Ok(())
    }
    /// Whether [`on_batch_end`](Callback::on_batch_end) reads its logs (Keras 3 asks the
    /// same of a callback through `async_safe` and whether it overrides a batch hook).
    ///
    /// `fit` keeps the losses and metrics on the device and reads them back only when it
    /// must — a read waits for the device, a stall per step on an asynchronous engine such
    /// as wgpu. While any callback answers `true` (the default, so user callbacks get what
    /// they always got) the values are read back after every batch. A callback whose batch
    /// hooks ignore the logs, or that has none, should answer `false`.
    fn reads_batch_logs(&self) -> bool {
        true
    }
}
