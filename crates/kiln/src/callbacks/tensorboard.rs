//! `TensorBoard`: writes training logs for TensorBoard, as Keras's
//! `keras.callbacks.TensorBoard`.

mod proto;
mod writer;

use super::{Callback, Logs};
use crate::error::{KilnError, Result};
use crate::model::Model;
use std::path::PathBuf;
use writer::EventWriter;

/// How often [`TensorBoard`] writes batch-level values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UpdateFreq {
    /// Epoch values only (Keras's `update_freq="epoch"`, the default).
    #[default]
    Epoch,
    /// Every training batch (Keras's `update_freq="batch"`).
    Batch,
    /// Every `n` training batches, counted across epochs (Keras's integer `update_freq`).
    Batches(usize),
}

impl From<usize> for UpdateFreq {
    fn from(n: usize) -> Self {
        UpdateFreq::Batches(n)
    }
}

impl UpdateFreq {
    /// Batches between writes; `None` for epoch values only.
    fn every(self) -> Option<usize> {
        match self {
            UpdateFreq::Epoch => None,
            UpdateFreq::Batch => Some(1),
            UpdateFreq::Batches(n) => Some(n),
        }
    }
}

/// Writes TensorBoard event files under `log_dir`: `train/` gets `epoch_<name>` for every
/// training log (`epoch_loss`, `epoch_accuracy`, …) and the learning rate
/// (`epoch_learning_rate`) at step `epoch`; `validation/` gets the `val_` logs without
/// their prefix (`epoch_loss`, …) and `evaluation_<name>_vs_iterations` at step
/// `optimizer.iterations`. With [`UpdateFreq::Batch`] or [`UpdateFreq::Batches`],
/// `train/` also gets `batch_<name>` (the epoch's running averages, as Keras logs them) at
/// the global batch number, counted from 1. With `histogram_freq(n)`, every `n` epochs
/// (from epoch 0) a histogram of each weight, tagged `<model>/<layer>/<weight>/histogram`
/// (`sequential/dense/kernel/histogram`), 30 equal-width buckets as `tf.summary.histogram`.
///
/// Defaults as Keras: `log_dir="logs"`, `histogram_freq=0`, `update_freq="epoch"`. Each
/// `fit` starts new event files; view them with `tensorboard --logdir logs`. Keras's graph,
/// image, embedding and profiling options are not offered.
///
/// ```
/// use kiln::prelude::*;
/// use kiln::callbacks::UpdateFreq;
/// let tb = TensorBoard::new("logs").update_freq(UpdateFreq::Batch).histogram_freq(1);
/// let options = FitOptions::new().epochs(5).callback(tb); // then model.fit(&x, &y, options)
/// ```
pub struct TensorBoard {
    log_dir: PathBuf,
    histogram_freq: usize,
    update_freq: UpdateFreq,
    train: Option<EventWriter>,
    validation: Option<EventWriter>,
    global_train_batch: usize,
}

impl std::fmt::Debug for TensorBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TensorBoard")
            .field("log_dir", &self.log_dir)
            .field("histogram_freq", &self.histogram_freq)
            .field("update_freq", &self.update_freq)
            .finish()
    }
}

impl TensorBoard {
    /// Writes under `log_dir` (created if needed).
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        TensorBoard {
            log_dir: log_dir.into(),
            histogram_freq: 0,
            update_freq: UpdateFreq::Epoch,
            train: None,
            validation: None,
            global_train_batch: 0,
        }
    }
    /// Weight histograms every `n` epochs; 0 (the default) for none.
    pub fn histogram_freq(mut self, n: usize) -> Self {
        self.histogram_freq = n;
        self
    }
    /// Whether to write batch-level values too, and how often.
    pub fn update_freq(mut self, freq: impl Into<UpdateFreq>) -> Self {
        self.update_freq = freq.into();
        self
    }

    fn validation_writer(&mut self) -> Result<&mut EventWriter> {
        let writer = match self.validation.take() {
            Some(w) => w,
            None => EventWriter::create(&self.log_dir.join("validation"))?,
        };
        Ok(self.validation.insert(writer))
    }

    fn train_writer(&mut self) -> Result<&mut EventWriter> {
        let writer = match self.train.take() {
            Some(w) => w,
            None => EventWriter::create(&self.log_dir.join("train"))?,
        };
        Ok(self.train.insert(writer))
    }

    fn write_histograms(&mut self, model: &Model, epoch: i64) -> Result<()> {
        let names = model.weight_names();
        let weights = model.get_weights()?;
        let writer = self.train_writer()?;
        for (name, weight) in names.iter().zip(&weights) {
            let tag = format!("{}/{}/histogram", model.name(), name.replace(':', "_"));
            writer.histogram(&tag, epoch, &weight.to_f32())?;
        }
        Ok(())
    }
}

impl Callback for TensorBoard {
    /// Batch logs are read only when writing them every few batches.
    fn reads_batch_logs(&self) -> bool {
        self.update_freq.every().is_some()
    }

    fn on_train_begin(&mut self, _model: &mut Model, _logs: &Logs) -> Result<()> {
        if self.update_freq == UpdateFreq::Batches(0) {
            return Err(KilnError::Callback {
                callback: "TensorBoard".into(),
                message: "Unrecognized update_freq: 0. Expected update_freq are 'epoch', 'batch' or a positive number of batches".into(),
            });
        }
        // New event files for every `fit`, as Keras's writers are made anew by `set_model`.
        self.train = None;
        self.validation = None;
        self.global_train_batch = 0;
        self.train_writer()?;
        Ok(())
    }

    fn on_batch_begin(&mut self, _model: &mut Model, _batch: usize, _logs: &Logs) -> Result<()> {
        self.global_train_batch += 1;
        Ok(())
    }

    fn on_batch_end(&mut self, _model: &mut Model, _batch: usize, logs: &Logs) -> Result<()> {
        let Some(every) = self.update_freq.every() else {
            return Ok(());
        };
        let step = self.global_train_batch;
        if !step.is_multiple_of(every) {
            return Ok(());
        }
        let writer = self.train_writer()?;
        for (name, value) in logs {
            writer.scalar(&format!("batch_{name}"), step as i64, *value)?;
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, logs: &mut Logs) -> Result<()> {
        let step = epoch as i64;
        let validation: Vec<(&str, f64)> = logs
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("val_").map(|name| (name, *v)))
            .collect();
        if !validation.is_empty() {
            // Keras writes these when its validation pass (`evaluate`) ends, then the epoch's.
            let iterations = model.optimizer_iterations()? as i64;
            let writer = self.validation_writer()?;
            for (name, value) in &validation {
                writer.scalar(&format!("evaluation_{name}_vs_iterations"), iterations, *value)?;
            }
            for (name, value) in &validation {
                writer.scalar(&format!("epoch_{name}"), step, *value)?;
            }
            writer.flush()?;
        }
        let mut train: Logs = logs
            .iter()
            .filter(|(k, _)| !k.starts_with("val_"))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        train.insert("learning_rate".into(), f64::from(model.learning_rate()?));
        let writer = self.train_writer()?;
        for (name, value) in &train {
            writer.scalar(&format!("epoch_{name}"), step, *value)?;
        }
        if self.histogram_freq > 0 && epoch.is_multiple_of(self.histogram_freq) {
            self.write_histograms(model, step)?;
        }
        self.train_writer()?.flush()
    }

    fn on_train_end(&mut self, _model: &mut Model, _logs: &Logs) -> Result<()> {
        for writer in [self.train.as_mut(), self.validation.as_mut()].into_iter().flatten() {
            writer.flush()?;
        }
        self.train = None;
        self.validation = None;
        Ok(())
    }
}
