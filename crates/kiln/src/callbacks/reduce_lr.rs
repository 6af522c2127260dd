//! `ReduceLROnPlateau`: lowers the learning rate when a quantity stops improving.

use super::{Callback, Logs, Mode};
use crate::error::Result;
use crate::model::Model;

/// Multiplies the learning rate by `factor` when `monitor` has not improved by more than
/// `min_delta` for `patience` epochs, then waits `cooldown` epochs; never below `min_lr`.
/// Adds `learning_rate` to the logs.
///
/// Defaults as Keras: `monitor="val_loss"`, `factor=0.1`, `patience=10`, `mode=Auto`,
/// `min_delta=1e-4`, `cooldown=0`, `min_lr=0`.
#[derive(Clone, Debug)]
pub struct ReduceLrOnPlateau {
    monitor: String,
    factor: f64,
    patience: usize,
    mode: Mode,
    min_delta: f64,
    cooldown: usize,
    min_lr: f64,
    verbose: bool,
    wait: usize,
    cooldown_counter: usize,
    best: f64,
}

impl ReduceLrOnPlateau {
    /// Keras's defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ReduceLrOnPlateau {
            monitor: "val_loss".into(),
            factor: 0.1,
            patience: 10,
            mode: Mode::Auto,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            verbose: false,
            wait: 0,
            cooldown_counter: 0,
            best: f64::INFINITY,
        }
    }
    /// The log entry to watch.
    pub fn monitor(mut self, m: &str) -> Self {
        self.monitor = m.into();
        self
    }
    /// Factor applied to the learning rate (must be below 1).
    pub fn factor(mut self, f: f64) -> Self {
        self.factor = f;
        self
    }
    /// Epochs without improvement before reducing.
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }
    /// Direction of improvement.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// Smallest change that counts as an improvement.
    pub fn min_delta(mut self, d: f64) -> Self {
        self.min_delta = d;
        self
    }
    /// Epochs to wait after a reduction.
    pub fn cooldown(mut self, c: usize) -> Self {
        self.cooldown = c;
        self
    }
    /// Lower bound of the learning rate.
    pub fn min_lr(mut self, m: f64) -> Self {
        self.min_lr = m;
        self
    }
    /// Print a line on each reduction.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }

    fn improved(&self, current: f64) -> bool {
        self.mode.improves(&self.monitor, current, self.best, self.min_delta)
    }
}

impl Callback for ReduceLrOnPlateau {
    /// Decides at the end of each epoch; batch logs are not read.
    fn reads_batch_logs(&self) -> bool {
        false
    }

    fn on_train_begin(&mut self, _model: &mut Model, _logs: &Logs) -> Result<()> {
        self.wait = 0;
        self.cooldown_counter = 0;
        self.best = self.mode.worst(&self.monitor);
        Ok(())
    }

    fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, logs: &mut Logs) -> Result<()> {
        let lr = model.learning_rate()? as f64;
        logs.insert("learning_rate".into(), lr);
        let Some(&current) = logs.get(&self.monitor) else {
            eprintln!(
                "Learning rate reduction is conditioned on metric `{}` which is not available. Available metrics are: {}",
                self.monitor,
                logs.keys().cloned().collect::<Vec<_>>().join(",")
            );
            return Ok(());
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.improved(current) {
            self.best = current;
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            // Compared in f32, the optimizer's precision, as Keras compares them.
            if self.wait >= self.patience && (lr as f32) > (self.min_lr as f32) {
                let new_lr = (lr * self.factor).max(self.min_lr);
                model.set_learning_rate(new_lr as f32)?;
                if self.verbose {
                    println!(
                        "\nEpoch {}: ReduceLROnPlateau reducing learning rate to {new_lr}.",
                        epoch + 1
                    );
                }
                self.cooldown_counter = self.cooldown;
                self.wait = 0;
            }
        }
        Ok(())
    }
}
