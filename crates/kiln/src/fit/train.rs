//! The `fit` loop.

use super::data::{Data, batches, check_labels, conform};
use super::options::FitOptions;
use super::progress::ProgressBar;
use crate::callbacks::{Callback, History, Logs};
use crate::error::{KilnError, Result};
use crate::losses::Loss;
use crate::model::Model;
use kiln_burn::RunMode;
use kiln_ir::{HostTensor, Rng};

/// Sums of batch values weighted by batch size, for epoch averages.
#[derive(Default)]
pub(crate) struct Averages {
    sums: Vec<f64>,
    count: usize,
}

impl Averages {
    pub fn add(&mut self, values: &[f64], n: usize) {
        self.sums.resize(values.len(), 0.0);
        for (s, v) in self.sums.iter_mut().zip(values) {
            *s += v * n as f64;
        }
        self.count += n;
    }

    pub fn logs(&self, names: &[String], prefix: &str) -> Logs {
        names
            .iter()
            .zip(&self.sums)
            .map(|(k, s)| (format!("{prefix}{k}"), s / self.count.max(1) as f64))
            .collect()
    }
}

pub(crate) fn scalars(outs: &[HostTensor]) -> Vec<f64> {
    outs.iter()
        .map(|t| t.to_f32().first().copied().unwrap_or(f32::NAN) as f64)
        .collect()
}

impl Model {
    /// Inputs and targets checked against the model, with sparse labels validated.
    pub(crate) fn conform_xy(&self, x: Data, y: Data) -> Result<(Data, Data)> {
        let built = self.built()?;
        let compiled = self.compiled()?;
        let input_names: Vec<String> = built.graph.inputs().iter().map(|i| i.name.clone()).collect();
        let input_types: Vec<_> = built.inputs.iter().map(|t| t.tensor_type().clone()).collect();
        let x = conform(&self.name, "input", &input_names, &input_types, x)?;
        let y = conform(&self.name, "target", &self.output_names(), &compiled.target_types, y)?;
        if x.len() != y.len() {
            return Err(KilnError::Data(format!(
                "model '{}': the inputs have {} samples but the targets have {}; every sample needs a target",
                self.name,
                x.len(),
                y.len()
            )));
        }
        for ((t, loss), (name, out)) in
            y.0.iter()
                .zip(&compiled.losses)
                .zip(self.output_names().iter().zip(&built.outputs))
        {
            if matches!(loss, Loss::SparseCategoricalCrossentropy { .. }) {
                let classes = out.shape().last().flatten().unwrap_or(1);
                check_labels(&self.name, name, t, classes)?;
            }
        }
        Ok((x, y))
    }

    /// Trains the model for `options.epochs` epochs on inputs `x` and targets `y`, as
    /// Keras's `fit`. Returns the [`History`] of every epoch's losses and metrics.
    ///
    /// Training stops early when a callback sets [`stop_training`](Model::stop_training),
    /// and cleanly (with a message, `History::stop_reason` set) when the loss becomes
    /// NaN or infinite.
    pub fn fit(&mut self, x: impl Into<Data>, y: impl Into<Data>, mut options: FitOptions) -> Result<History> {
        let (x, y) = self.conform_xy(x.into(), y.into())?;
        if x.is_empty() {
            return Err(KilnError::Data(format!(
                "model '{}': fit received an empty dataset (0 samples)",
                self.name
            )));
        }
        if !(0.0..1.0).contains(&options.validation_split) {
            return Err(KilnError::Data(format!(
                "validation_split must be in [0, 1). Received: validation_split={}",
                options.validation_split
            )));
        }
        if options.batch_size == 0 {
            return Err(KilnError::Data(
                "batch_size must be a positive integer. Received: batch_size=0".into(),
            ));
        }
        let n = x.len();
        let (train_idx, validation) = match options.validation_data.take() {
            Some((vx, vy)) => {
                let (vx, vy) = self.conform_xy(vx, vy)?;
                ((0..n).collect::<Vec<_>>(), Some((vx, vy)))
            }
            None if options.validation_split > 0.0 => {
                let n_val = ((n as f64) * options.validation_split as f64).floor() as usize;
                let split = n - n_val;
                if split == 0 || n_val == 0 {
                    return Err(KilnError::Data(format!(
                        "validation_split={} of {n} samples leaves {split} for training and {n_val} for validation; both need at least one",
                        options.validation_split
                    )));
                }
                let val: Vec<usize> = (split..n).collect();
                ((0..split).collect(), Some((Data(x.rows(&val)), Data(y.rows(&val)))))
            }
            None => ((0..n).collect(), None),
        };
        let mut callbacks = std::mem::take(&mut options.callbacks);
        let result = self.fit_loop(&x, &y, &train_idx, validation.as_ref(), &options, &mut callbacks);
        options.callbacks = callbacks;
        result
    }

    fn fit_loop(
        &mut self,
        x: &Data,
        y: &Data,
        train_idx: &[usize],
        validation: Option<&(Data, Data)>,
        options: &FitOptions,
        callbacks: &mut [Box<dyn Callback>],
    ) -> Result<History> {
        let mut history = History::default();
        let log_names = self.compiled()?.log_names.clone();
        let steps = train_idx.len().div_ceil(options.batch_size);
        let fit_seed = self.fit_seed(options.initial_epoch)?;
        self.stop_training = false;
        let empty = Logs::new();
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self, &empty)?;
        }
        let mut epoch_logs = Logs::new();
        for epoch in options.initial_epoch..options.epochs {
            for cb in callbacks.iter_mut() {
                cb.on_epoch_begin(self, epoch, &empty)?;
            }
            if options.verbose > 0 && options.epochs > 1 {
                println!("Epoch {}/{}", epoch + 1, options.epochs);
            }
            let mut order = train_idx.to_vec();
            if options.shuffle {
                Rng::stream(fit_seed, epoch as u64).shuffle(&mut order);
            }
            let mut bar = ProgressBar::new(steps, options.verbose);
            let mut averages = Averages::default();
            let mut invalid = None;
            for (batch, idx) in batches(&order, options.batch_size).enumerate() {
                for cb in callbacks.iter_mut() {
                    cb.on_batch_begin(self, batch, &empty)?;
                }
                let mut inputs = x.rows(idx);
                inputs.extend(y.rows(idx));
                let seed = Rng::stream(fit_seed ^ 0xD1B5_4A32_D192_ED03, (epoch * steps + batch) as u64).next_u64();
                let values = self.train_batch(&inputs, seed)?;
                averages.add(&values, idx.len());
                let logs = averages.logs(&log_names, "");
                bar.update(batch + 1, &logs);
                for cb in callbacks.iter_mut() {
                    cb.on_batch_end(self, batch, &logs)?;
                }
                if !values[0].is_finite() {
                    invalid = Some(format!(
                        "Epoch {}, batch {batch}: invalid loss ({}), terminating training",
                        epoch + 1,
                        values[0]
                    ));
                    break;
                }
                if self.stop_training {
                    break;
                }
            }
            epoch_logs = averages.logs(&log_names, "");
            if invalid.is_none()
                && let Some((vx, vy)) = validation
            {
                let val = self.evaluate_data(vx, vy, options.batch_size)?;
                epoch_logs.extend(val.into_iter().map(|(k, v)| (format!("val_{k}"), v)));
            }
            for cb in callbacks.iter_mut() {
                cb.on_epoch_end(self, epoch, &mut epoch_logs)?;
            }
            history.record(epoch, &epoch_logs);
            bar.finish(&epoch_logs);
            if let Some(reason) = invalid {
                println!("{reason}");
                history.stop_reason = Some(reason);
                break;
            }
            if self.stop_training {
                history
                    .stop_reason
                    .get_or_insert_with(|| format!("stopped by a callback after epoch {}", epoch + 1));
                break;
            }
        }
        for cb in callbacks.iter_mut() {
            cb.on_train_end(self, &epoch_logs)?;
        }
        Ok(history)
    }

    /// One optimizer step on a batch; returns the values of the training graph's outputs.
    fn train_batch(&mut self, inputs: &[HostTensor], seed: u64) -> Result<Vec<f64>> {
        let compiled = self
            .compiled
            .as_ref()
            .ok_or_else(|| KilnError::NotCompiled(self.name.clone()))?;
        let built = self
            .built
            .as_mut()
            .ok_or_else(|| KilnError::NotCompiled(self.name.clone()))?;
        let outs = built.session.train_step(
            &compiled.plan,
            inputs,
            &compiled.optimizer.kind,
            compiled.optimizer.learning_rate,
            RunMode { training: true, seed },
        )?;
        Ok(scalars(&outs))
    }

    /// Runs one training step on a batch of inputs and targets (Keras's
    /// `train_on_batch`); returns the logs computed before the update.
    pub fn train_on_batch(&mut self, x: impl Into<Data>, y: impl Into<Data>) -> Result<Logs> {
        let (x, y) = self.conform_xy(x.into(), y.into())?;
        let mut inputs = x.0;
        inputs.extend(y.0);
        let values = self.train_batch(&inputs, crate::random::next_seed())?;
        let names = &self.compiled()?.log_names;
        Ok(names.iter().cloned().zip(values).collect())
    }
}
