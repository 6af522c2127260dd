//! `TerminateOnNaN`: stops training when the loss becomes NaN or infinite.

use super::{Callback, Logs};
use crate::error::Result;
use crate::model::Model;

/// Stops `fit` at the first batch whose loss is NaN or infinite.
///
/// `fit` always does this too (training on an invalid loss is never useful); the
/// callback exists so Keras code carries over unchanged.
#[derive(Clone, Debug, Default)]
pub struct TerminateOnNaN;

impl TerminateOnNaN {
    /// The callback.
    pub fn new() -> Self {
        TerminateOnNaN
    }
}

impl Callback for TerminateOnNaN {
    fn on_batch_end(&mut self, model: &mut Model, batch: usize, logs: &Logs) -> Result<()> {
        if logs.get("loss").is_some_and(|l| !l.is_finite()) {
            println!("Batch {batch}: Invalid loss, terminating training");
            model.stop_training = true;
        }
        Ok(())
    }
}
