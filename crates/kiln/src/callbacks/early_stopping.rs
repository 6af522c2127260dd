//! `EarlyStopping`: stops training when a monitored quantity stops improving.

use super::{Callback, Logs, Mode};
use crate::error::Result;
use crate::model::Model;
use kiln_ir::HostTensor;

/// Stops `fit` when `monitor` has not improved by more than `min_delta` for `patience`
/// epochs; with `restore_best_weights`, puts back the weights of the best epoch when
/// training ends.
///
/// Defaults as Keras: `monitor="val_loss"`, `min_delta=0`, `patience=0`, `mode=Auto`,
/// `restore_best_weights=false`, `start_from_epoch=0`.
///
/// ```
/// use kiln::callbacks::EarlyStopping;
/// let es = EarlyStopping::new().monitor("val_loss").patience(3).restore_best_weights(true);
/// ```
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    monitor: String,
    min_delta: f64,
    patience: usize,
    mode: Mode,
    baseline: Option<f64>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    verbose: bool,
    wait: usize,
    best: f64,
    best_weights: Option<Vec<HostTensor>>,
    best_epoch: usize,
    stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Keras's defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        EarlyStopping {
            monitor: "val_loss".into(),
            min_delta: 0.0,
            patience: 0,
            mode: Mode::Auto,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            verbose: false,
            wait: 0,
            best: f64::INFINITY,
            best_weights: None,
            best_epoch: 0,
            stopped_epoch: None,
        }
    }
    /// The log entry to watch.
    pub fn monitor(mut self, m: &str) -> Self {
        self.monitor = m.into();
        self
    }
    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, d: f64) -> Self {
        self.min_delta = d.abs();
        self
    }
    /// Epochs without improvement before stopping.
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }
    /// Direction of improvement.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// A value the quantity must beat.
    pub fn baseline(mut self, b: f64) -> Self {
        self.baseline = Some(b);
        self
    }
    /// Restore the best epoch's weights when stopping.
    pub fn restore_best_weights(mut self, r: bool) -> Self {
        self.restore_best_weights = r;
        self
    }
    /// Epochs to wait before watching.
    pub fn start_from_epoch(mut self, e: usize) -> Self {
        self.start_from_epoch = e;
        self
    }
    /// Print a line when stopping.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }

    /// The epoch at which training was stopped, if it was.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    fn is_improvement(&self, value: f64, reference: f64) -> bool {
        self.mode.improves(&self.monitor, value, reference, self.min_delta)
    }
}

impl Callback for EarlyStopping {
    /// Decides at the end of each epoch; batch logs are not read.
    fn reads_batch_logs(&self) -> bool {
        false
    }

    fn on_train_begin(&mut self, _model: &mut Model, _logs: &Logs) -> Result<()> {
        self.wait = 0;
        self.stopped_epoch = None;
        self.best = self.mode.worst(&self.monitor);
        self.best_weights = None;
        self.best_epoch = 0;
        Ok(())
    }

    fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, logs: &mut Logs) -> Result<()> {
        let Some(&current) = logs.get(&self.monitor) else {
            eprintln!(
                "Early stopping conditioned on metric `{}` which is not available. Available metrics are: {}",
                self.monitor,
                logs.keys().cloned().collect::<Vec<_>>().join(",")
            );
            return Ok(());
        };
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(model.get_weights()?);
        }
        self.wait += 1;
        if self.is_improvement(current, self.best) {
            self.best = current;
            self.best_epoch = epoch;
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights()?);
            }
            if self.baseline.is_none_or(|b| self.is_improvement(current, b)) {
                self.wait = 0;
                return Ok(());
            }
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            model.stop_training = true;
        }
        Ok(())
    }

    /// Reports the stop and, with `restore_best_weights`, restores the best epoch's
    /// weights whether or not training stopped early (as Keras 3 does).
    fn on_train_end(&mut self, model: &mut Model, _logs: &Logs) -> Result<()> {
        if let Some(e) = self.stopped_epoch
            && self.verbose
        {
            println!("Epoch {}: early stopping", e + 1);
        }
        if self.restore_best_weights
            && let Some(w) = self.best_weights.take()
        {
            if self.verbose {
                println!(
                    "Restoring model weights from the end of the best epoch: {}.",
                    self.best_epoch + 1
                );
            }
            model.set_weights(&w)?;
        }
        Ok(())
    }
}
