//! `LearningRateScheduler`: sets the learning rate from a function of the epoch.

use super::{Callback, Logs};
use crate::error::Result;
use crate::model::Model;

/// At the start of every epoch sets the learning rate to `schedule(epoch, current_lr)`;
/// adds `learning_rate` to the epoch's logs.
///
/// ```
/// use kiln::callbacks::LearningRateScheduler;
/// // Keep the rate for 10 epochs, then decay it by e^-0.1 per epoch.
/// let s = LearningRateScheduler::new(|epoch, lr| if epoch < 10 { lr } else { lr * (-0.1f64).exp() });
/// ```
pub struct LearningRateScheduler {
    schedule: Box<dyn FnMut(usize, f64) -> f64>,
    verbose: bool,
}

impl LearningRateScheduler {
    /// A scheduler calling `schedule(epoch, lr)`.
    pub fn new(schedule: impl FnMut(usize, f64) -> f64 + 'static) -> Self {
        LearningRateScheduler {
            schedule: Box::new(schedule),
            verbose: false,
        }
    }

    /// Print the new rate each epoch.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }
}

impl Callback for LearningRateScheduler {
    /// Acts at epoch boundaries; batch logs are not read.
    fn reads_batch_logs(&self) -> bool {
        false
    }

    fn on_epoch_begin(&mut self, model: &mut Model, epoch: usize, _logs: &Logs) -> Result<()> {
        let lr = model.learning_rate()? as f64;
        let new_lr = (self.schedule)(epoch, lr);
        if !new_lr.is_finite() {
            return Err(crate::KilnError::Callback {
                callback: "LearningRateScheduler".into(),
                message: format!("the schedule returned {new_lr} for epoch {epoch}; expected a finite number"),
            });
        }
        model.set_learning_rate(new_lr as f32)?;
        if self.verbose {
            println!(
                "\nEpoch {}: LearningRateScheduler setting learning rate to {new_lr}.",
                epoch + 1
            );
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, model: &mut Model, _epoch: usize, logs: &mut Logs) -> Result<()> {
        logs.insert("learning_rate".into(), model.learning_rate()? as f64);
        Ok(())
    }
}
