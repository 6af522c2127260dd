//! `ModelCheckpoint`: saves the model or its weights during `fit`, as Keras 3's
//! `keras.callbacks.ModelCheckpoint` (`keras/src/callbacks/model_checkpoint.py`).

mod path_format;

use super::{Callback, Logs, Mode};
use crate::error::{KilnError, Result};
use crate::model::Model;
use path_format::{Value, format_path};
use std::collections::BTreeMap;
use std::path::Path;

/// When [`ModelCheckpoint`] saves: after every epoch, or after every `n` training batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SaveFreq {
    /// At the end of every epoch (Keras's `save_freq="epoch"`, the default).
    #[default]
    Epoch,
    /// After every `n` training batches, counted across epochs (Keras's integer
    /// `save_freq`); the file path may then use `{batch}` (counted from 1 in its epoch).
    Batches(usize),
}

impl From<usize> for SaveFreq {
    fn from(n: usize) -> Self {
        SaveFreq::Batches(n)
    }
}

/// Saves the model (`model.save`, a `.kiln` or `.keras` file) or only its weights
/// (`model.save_weights`, a `.safetensors` file) during `fit`, every epoch or every `n`
/// batches, optionally only when the monitored quantity improves.
///
/// `filepath` may hold Python format fields filled from `epoch` (counted from 1), `batch`
/// (with a batch frequency) and every log entry: `"ckpt-{epoch:02d}-{val_loss:.2f}.kiln"`.
/// A full-model file is a Kiln model file with its training state, so a checkpoint
/// resumes training exactly (see [`Model::load`]).
///
/// Defaults as Keras: `monitor="val_loss"`, `verbose=0`, `save_best_only=false`,
/// `save_weights_only=false`, `mode=Auto`, `save_freq=Epoch`, no
/// `initial_value_threshold`. The path's extension is checked when training begins:
/// `.kiln` or `.keras` for the model, `.safetensors` (`.weights.safetensors` by
/// convention) for weights only — Keras's `.weights.h5` rule with Kiln's weights format.
///
/// ```no_run
/// use kiln::prelude::*;
/// let checkpoint = ModelCheckpoint::new("checkpoints/best.kiln")
///     .monitor("val_accuracy")
///     .save_best_only(true)
///     .verbose(1);
/// let weights = ModelCheckpoint::new("ckpt-{epoch:02d}.weights.safetensors").save_weights_only(true);
/// # let _ = (checkpoint, weights);
/// ```
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    filepath: String,
    monitor: String,
    verbose: u8,
    save_best_only: bool,
    save_weights_only: bool,
    mode: Mode,
    save_freq: SaveFreq,
    best: Option<f64>,
    batches_since_last_save: usize,
    last_batch_seen: Option<usize>,
    current_epoch: usize,
}

impl ModelCheckpoint {
    /// Saves to `filepath` (a pattern with format fields) with Keras's defaults.
    pub fn new(filepath: impl AsRef<Path>) -> Self {
        ModelCheckpoint {
            filepath: filepath.as_ref().to_string_lossy().into_owned(),
            monitor: "val_loss".into(),
            verbose: 0,
            save_best_only: false,
            save_weights_only: false,
            mode: Mode::Auto,
            save_freq: SaveFreq::Epoch,
            best: None,
            batches_since_last_save: 0,
            last_batch_seen: None,
            current_epoch: 0,
        }
    }
    /// The log entry that decides what is best (`"val_loss"`, `"accuracy"`, …).
    pub fn monitor(mut self, m: &str) -> Self {
        self.monitor = m.into();
        self
    }
    /// 0: silent; 1: a message whenever the callback saves or decides not to.
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }
    /// Saves only when `monitor` improves on the best value seen so far.
    pub fn save_best_only(mut self, b: bool) -> Self {
        self.save_best_only = b;
        self
    }
    /// Saves the weights alone (`save_weights`) instead of the whole model.
    pub fn save_weights_only(mut self, w: bool) -> Self {
        self.save_weights_only = w;
        self
    }
    /// Whether `monitor` should go down, up, or be guessed from its name.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// [`SaveFreq::Epoch`], or a number of batches (`.save_freq(100)`).
    pub fn save_freq(mut self, f: impl Into<SaveFreq>) -> Self {
        self.save_freq = f.into();
        self
    }
    /// The best value to start from: with `save_best_only`, nothing is saved until
    /// `monitor` beats it.
    pub fn initial_value_threshold(mut self, t: f64) -> Self {
        self.best = Some(t);
        self
    }

    /// The best monitored value so far (`None` before the first save with
    /// `save_best_only` and no threshold).
    pub fn best(&self) -> Option<f64> {
        self.best
    }

    fn error(&self, message: String) -> KilnError {
        KilnError::Callback {
            callback: "ModelCheckpoint".into(),
            message,
        }
    }

    /// Checks the arguments as Keras's constructor does.
    fn check(&self) -> Result<()> {
        if self.save_freq == SaveFreq::Batches(0) {
            return Err(self.error(
                "Unrecognized save_freq: 0. Expected save_freq are 'epoch' or a positive number of batches".into(),
            ));
        }
        if self.save_weights_only {
            if !self.filepath.ends_with(".safetensors") {
                return Err(self.error(format!(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in `.weights.safetensors` or `.safetensors` (Kiln weights format). Received: filepath={}",
                    self.filepath
                )));
            }
        } else if !(self.filepath.ends_with(".kiln") || self.filepath.ends_with(".keras")) {
            return Err(self.error(format!(
                "The filepath provided must end in `.kiln` (Kiln model format) or `.keras` (Keras model format). Received: filepath={}",
                self.filepath
            )));
        }
        Ok(())
    }

    /// The file path for `epoch` (from 0) and, with a batch frequency, `batch` (from 0).
    fn file_path(&self, epoch: usize, batch: Option<usize>, logs: &Logs) -> Result<String> {
        let mut values: BTreeMap<String, Value> = logs.iter().map(|(k, v)| (k.clone(), Value::Float(*v))).collect();
        values.insert("epoch".into(), Value::Int(epoch as i64 + 1));
        if let Some(b) = batch
            && !logs.contains_key("batch")
        {
            values.insert("batch".into(), Value::Int(b as i64 + 1));
        }
        format_path(&self.filepath, &values).map_err(|reason| {
            self.error(format!(
                "Failed to format this callback filepath: \"{}\". Reason: {reason}",
                self.filepath
            ))
        })
    }

    /// Whether to save, as Keras's `_should_save_model`, with the messages it prints.
    fn should_save(&mut self, epoch: usize, logs: &Logs, filepath: &str) -> (bool, Vec<String>) {
        if !self.save_best_only {
            return (true, vec![format!("\nEpoch {}: saving model to {filepath}", epoch + 1)]);
        }
        let Some(&current) = logs.get(&self.monitor) else {
            eprintln!("Can save best model only with {} available.", self.monitor);
            return (true, Vec::new());
        };
        let best = self.best.map_or("None".to_string(), fixed5);
        let improved = self
            .best
            .is_none_or(|b| self.mode.improves(&self.monitor, current, b, 0.0));
        if improved {
            self.best = Some(current);
            let message = format!(
                "\nEpoch {}: {} improved from {best} to {}, saving model to {filepath}",
                epoch + 1,
                self.monitor,
                fixed5(current)
            );
            (true, vec![message])
        } else {
            let message = format!("\nEpoch {}: {} did not improve from {best}", epoch + 1, self.monitor);
            (false, vec![message])
        }
    }

    fn save(&mut self, model: &mut Model, epoch: usize, batch: Option<usize>, logs: &Logs) -> Result<()> {
        let filepath = self.file_path(epoch, batch, logs)?;
        let (save, messages) = self.should_save(epoch, logs, &filepath);
        if self.verbose > 0 {
            for m in messages {
                println!("{m}");
            }
        }
        if !save {
            return Ok(());
        }
        let path = Path::new(&filepath);
        if path.is_dir() {
            return Err(self.error(format!(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing directory: {filepath}"
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            std::fs::create_dir_all(dir).map_err(|e| KilnError::Io {
                path: dir.display().to_string(),
                message: format!("cannot create the checkpoint directory: {e}"),
            })?;
        }
        if self.save_weights_only {
            model.save_weights(path)?;
        } else {
            model.save(path)?;
        }
        if self.verbose > 0 {
            println!("\nEpoch {}: finished saving model to {filepath}", epoch + 1);
        }
        Ok(())
    }

    /// Counts a finished batch; whether `save_freq` batches have passed since the last
    /// save (Keras's `_should_save_on_batch`).
    fn batch_due(&mut self, batch: usize) -> bool {
        let SaveFreq::Batches(n) = self.save_freq else {
            return false;
        };
        let added = match self.last_batch_seen {
            Some(last) if batch > last => batch - last,
            _ => batch + 1,
        };
        self.batches_since_last_save += added;
        self.last_batch_seen = Some(batch);
        if self.batches_since_last_save >= n {
            self.batches_since_last_save = 0;
            true
        } else {
            false
        }
    }
}

/// Python's `f"{value:.5f}"`.
fn fixed5(value: f64) -> String {
    match value {
        v if v.is_nan() => "nan".into(),
        v if v.is_infinite() => if v > 0.0 { "inf" } else { "-inf" }.into(),
        v => format!("{v:.5}"),
    }
}

impl Callback for ModelCheckpoint {
    /// Batch logs are read only when saving every few batches.
    fn reads_batch_logs(&self) -> bool {
        self.save_freq != SaveFreq::Epoch
    }

    fn on_train_begin(&mut self, _model: &mut Model, _logs: &Logs) -> Result<()> {
        self.check()
    }

    fn on_epoch_begin(&mut self, _model: &mut Model, epoch: usize, _logs: &Logs) -> Result<()> {
        self.current_epoch = epoch;
        Ok(())
    }

    fn on_batch_end(&mut self, model: &mut Model, batch: usize, logs: &Logs) -> Result<()> {
        if self.batch_due(batch) {
            self.save(model, self.current_epoch, Some(batch), logs)?;
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, logs: &mut Logs) -> Result<()> {
        if self.save_freq == SaveFreq::Epoch {
            self.save(model, epoch, None, logs)?;
        }
        Ok(())
    }
}
