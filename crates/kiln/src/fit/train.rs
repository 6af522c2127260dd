//! The `fit` loop.

use super::compile::Compiled;
use super::data::{Data, batches, check_labels, conform};
use super::options::FitOptions;
use super::progress::ProgressBar;
use crate::callbacks::{Callback, History, Logs};
use crate::distribution::{Replicas, shards};
use crate::error::{KilnError, Result};
use crate::losses::Loss;
use crate::model::{Built, Model};
use kiln_burn::{DeviceOutputs, OutputSums, RunMode, Shard};
use kiln_ir::{HostTensor, Rng};
use std::sync::mpsc;

/// Batches gathered ahead of the training step by the worker thread.
const PREFETCH: usize = 1;

/// The weighted means in `sums`, read back from the device, named by `names`.
pub(crate) fn read_means(sums: &OutputSums, names: &[String]) -> Result<(Vec<f64>, Logs)> {
    let means = sums.means()?;
    let logs = names.iter().cloned().zip(means.iter().copied()).collect();
    Ok((means, logs))
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
    ///
    /// Host synchronisation: the losses and metrics of each step stay on the device,
    /// summed there weighted by batch size (as Keras's metric accumulators), and are read
    /// back — which waits for the device — only when the progress bar redraws (`verbose=1`
    /// on a terminal, at most every 0.05 s as Keras's), at the end of each epoch, and after
    /// every batch while a callback [reads batch logs](crate::callbacks::Callback::reads_batch_logs).
    /// The NaN/infinite-loss check runs on each read-back, so without such a callback an
    /// invalid loss ends the epoch at the next read-back rather than at its own batch
    /// (add [`TerminateOnNaN`](crate::callbacks::TerminateOnNaN) to check every batch).
    /// Each batch's rows are gathered on a worker thread while the previous step runs;
    /// order, shuffling and per-step seeds do not depend on it. Denormal floats are
    /// flushed to zero on the training threads unless
    /// [`set_flush_denormals(false)`](crate::set_flush_denormals).
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
        crate::denormals::apply();
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
        let reads_batch_logs = callbacks.iter().any(|cb| cb.reads_batch_logs());
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
            let mut sums = OutputSums::new();
            // The logs as read back after the last step, if that step was read back.
            let mut fresh: Option<Logs> = None;
            let mut invalid = None;
            let invalid_loss = |batch: usize, loss: f64| {
                format!(
                    "Epoch {}, batch {batch}: invalid loss ({loss}), terminating training",
                    epoch + 1
                )
            };
            std::thread::scope(|scope| -> Result<()> {
                // The worker gathers each batch's rows while the previous step runs; the
                // bounded channel keeps it at most PREFETCH batches ahead and ends it when
                // the loop stops early (the receiver is dropped).
                let (tx, rx) = mpsc::sync_channel::<Vec<Shard>>(PREFETCH);
                let (order, batch_size) = (&order, options.batch_size);
                let parts = self.replica_count();
                scope.spawn(move || {
                    for idx in batches(order, batch_size) {
                        if tx.send(shards(parts, x, Some(y), idx)).is_err() {
                            break;
                        }
                    }
                });
                for batch in 0..steps {
                    for cb in callbacks.iter_mut() {
                        cb.on_batch_begin(self, batch, &empty)?;
                    }
                    let inputs = rx.recv().map_err(|_| {
                        KilnError::Data(format!(
                            "model '{}': the thread gathering batch {batch} stopped",
                            self.name
                        ))
                    })?;
                    let seed = Rng::stream(fit_seed ^ 0xD1B5_4A32_D192_ED03, (epoch * steps + batch) as u64).next_u64();
                    for (outputs, rows) in self.train_batch_deferred(inputs, seed)? {
                        sums.add(&outputs, rows)?;
                    }
                    fresh = None;
                    let draw = bar.due(batch + 1);
                    let logs = if reads_batch_logs || draw {
                        let (means, logs) = read_means(&sums, &log_names)?;
                        if let Some(&loss) = means.first()
                            && !loss.is_finite()
                        {
                            invalid = Some(invalid_loss(batch, loss));
                        }
                        bar.update(batch + 1, &logs);
                        fresh = Some(logs.clone());
                        logs
                    } else {
                        Logs::new()
                    };
                    for cb in callbacks.iter_mut() {
                        cb.on_batch_end(self, batch, &logs)?;
                    }
                    if invalid.is_some() || self.stop_training {
                        break;
                    }
                }
                Ok(())
            })?;
            epoch_logs = match fresh {
                Some(logs) => logs,
                None => {
                    let (means, logs) = read_means(&sums, &log_names)?;
                    if invalid.is_none()
                        && let Some(&loss) = means.first()
                        && !loss.is_finite()
                    {
                        invalid = Some(invalid_loss(sums.added().saturating_sub(1), loss));
                    }
                    logs
                }
            };
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

    /// What a training step needs: the compiled plan and optimizer, and the session that
    /// holds the weights.
    fn training_parts(&mut self) -> Result<(&Compiled, &mut Built, Option<&Replicas>)> {
        let compiled = self
            .compiled
            .as_ref()
            .ok_or_else(|| KilnError::NotCompiled(self.name.clone()))?;
        let built = self
            .built
            .as_mut()
            .ok_or_else(|| KilnError::NotCompiled(self.name.clone()))?;
        Ok((compiled, built, self.replicas.as_ref()))
    }

    /// How many parts each batch is split into: the number of devices.
    pub(crate) fn replica_count(&self) -> usize {
        self.replicas.as_ref().map_or(1, |r| r.engines.len())
    }

    /// One optimizer step on a batch given as one shard per device (one shard on a single
    /// device), its outputs left on the main device, each with its rows.
    fn train_batch_deferred(&mut self, mut shards: Vec<Shard>, seed: u64) -> Result<Vec<(DeviceOutputs, usize)>> {
        let mode = RunMode { training: true, seed };
        let (compiled, built, replicas) = self.training_parts()?;
        let (optimizer, lr) = (&compiled.optimizer.kind, compiled.optimizer.learning_rate);
        match replicas {
            Some(r) => Ok(built
                .session
                .train_step_sharded(&r.engines, &compiled.plan, shards, optimizer, lr, mode)?),
            None => {
                let shard = shards.pop().expect("a batch has rows");
                let outs = built
                    .session
                    .train_step_deferred(&compiled.plan, shard.inputs, optimizer, lr, mode)?;
                Ok(vec![(outs, shard.rows)])
            }
        }
    }

    /// One optimizer step on a batch; returns the values of the training graph's outputs.
    pub(crate) fn train_batch(&mut self, inputs: &[HostTensor], seed: u64) -> Result<Vec<f64>> {
        let (compiled, built, replicas) = self.training_parts()?;
        let mode = RunMode { training: true, seed };
        let (optimizer, lr) = (&compiled.optimizer.kind, compiled.optimizer.learning_rate);
        if replicas.is_none() {
            let outs = built.session.train_step(&compiled.plan, inputs, optimizer, lr, mode)?;
            return Ok(scalars(&outs));
        }
        let data = Data(inputs.to_vec());
        let rows: Vec<usize> = (0..data.len()).collect();
        let shards = shards(self.replica_count(), &data, None, &rows);
        let mut sums = OutputSums::new();
        for (outputs, rows) in self.train_batch_deferred(shards, seed)? {
            sums.add(&outputs, rows)?;
        }
        Ok(sums.means()?)
    }

    /// Runs one training step on a batch of inputs and targets (Keras's
    /// `train_on_batch`); returns the logs computed before the update.
    pub fn train_on_batch(&mut self, x: impl Into<Data>, y: impl Into<Data>) -> Result<Logs> {
        let (x, y) = self.conform_xy(x.into(), y.into())?;
        crate::denormals::apply();
        let mut inputs = x.0;
        inputs.extend(y.0);
        let values = self.train_batch(&inputs, crate::random::next_seed())?;
        let names = &self.compiled()?.log_names;
        Ok(names.iter().cloned().zip(values).collect())
    }
}
