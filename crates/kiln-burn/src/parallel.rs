//! Data parallelism: one batch split across several devices, one optimizer step.
//!
//! The session's device is the main device: it holds the weights and the optimizer state.
//! Each step sends the weights to every other device, runs forward and backward on each
//! device's rows of the batch at the same time (one thread per device), gathers the
//! gradients on the main device weighted by each part's share of the rows, and takes one
//! optimizer step there. A loss that is a mean over the batch (Keras's
//! `sum_over_batch_size`) is the row-weighted mean of the parts' losses, so the step
//! equals the one-device step on the whole batch up to float rounding. Burn's all-reduce
//! collectives exist only for its CubeCL CUDA engine, which Kiln does not run on, so the
//! gradients are always gathered on the main device. A plan whose parts share batch
//! statistics (batch normalization) runs them in lockstep instead (`lockstep.rs`).

use crate::convert::download;
use crate::deferred::DeviceOutputs;
use crate::device::EngineDevice;
use crate::error::EngineError;
use crate::plan::Plan;
use crate::session::{Pass, RunMode, Session, guarded};
use crate::slot::{FloatT, Slot};
use kiln_ir::{HostTensor, OptimizerKind};

/// One device's part of a batch.
#[derive(Clone, Debug)]
pub struct Shard {
    /// The part's inputs (and targets, for training and evaluation plans), in plan order.
    pub inputs: Vec<HostTensor>,
    /// Its rows.
    pub rows: usize,
    /// Rows of the whole batch before its first row.
    pub row_offset: usize,
}

/// Splits `rows` rows into at most `parts` contiguous ranges `(start, len)` as even as
/// possible (the first ones one row longer), leaving out empty ranges: a batch of 5
/// on 2 devices is 3 + 2, a batch of 1 on 2 devices runs on the first only.
///
/// ```
/// assert_eq!(kiln_burn::split_rows(5, 2), vec![(0, 3), (3, 2)]);
/// assert_eq!(kiln_burn::split_rows(1, 3), vec![(0, 1)]);
/// ```
pub fn split_rows(rows: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.max(1);
    let (base, extra) = (rows / parts, rows % parts);
    let mut out = Vec::new();
    let mut start = 0;
    for k in 0..parts {
        let len = base + usize::from(k < extra);
        if len > 0 {
            out.push((start, len));
        }
        start += len;
    }
    out
}

/// Runs `work(k, shard)` for every shard on its own thread, each result in shard order.
fn on_each<T: Send>(
    shards: Vec<Shard>,
    work: impl Fn(usize, Shard) -> Result<T, EngineError> + Sync,
) -> Result<Vec<T>, EngineError> {
    if shards.len() == 1 {
        let shard = shards.into_iter().next().expect("one shard");
        return Ok(vec![work(0, shard)?]);
    }
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = shards
            .into_iter()
            .enumerate()
            .map(|(k, shard)| scope.spawn(move || work(k, shard)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(EngineError::Engine {
                        engine: "parallel".into(),
                        message: "a device's thread stopped unexpectedly".into(),
                    })
                })
            })
            .collect()
    })
}

/// `error`, raised while moving a device's results to `main`, saying so.
pub(crate) fn moving(error: EngineError, main: &EngineDevice) -> EngineError {
    match error {
        EngineError::Engine { engine, message } => EngineError::Engine {
            engine,
            message: format!("moving its results to {main}: {message}"),
        },
        other => other,
    }
}

/// `shards` with their inputs checked against `plan`, after checking there is a device
/// for each.
fn prepare(replicas: &[EngineDevice], plan: &Plan, shards: Vec<Shard>) -> Result<Vec<Shard>, EngineError> {
    if shards.is_empty() || shards.len() > replicas.len() {
        return Err(EngineError::Input(format!(
            "{} part(s) of a batch for {} device(s)",
            shards.len(),
            replicas.len()
        )));
    }
    shards
        .into_iter()
        .map(|shard| {
            let inputs = plan.prepare_owned_inputs(shard.inputs)?;
            Ok(Shard { inputs, ..shard })
        })
        .collect()
}

impl Session {
    /// One data-parallel training step: shard `k` runs forward and backward on
    /// `replicas[k]`, the gradients and state updates are averaged on the session's device
    /// weighted by each shard's rows, and one optimizer step is taken there. A plan with
    /// `replica_mean` steps (batch statistics) runs its shards in lockstep on one autodiff
    /// graph instead, with one backward pass over the whole batch's loss. Returns each
    /// shard's outputs (moved to the session's device) with its rows, for
    /// [`OutputSums`](crate::OutputSums). Nothing is read back. When any device fails, the
    /// error names it and the weights and optimizer state are left as they were.
    pub fn train_step_sharded(
        &mut self,
        replicas: &[EngineDevice],
        plan: &Plan,
        shards: Vec<Shard>,
        optimizer: &OptimizerKind,
        lr: f32,
        mode: RunMode,
    ) -> Result<Vec<(DeviceOutputs, usize)>, EngineError> {
        let prepared = prepare(replicas, plan, shards)?;
        let total: usize = prepared.iter().map(|s| s.rows).sum();
        let rows: Vec<usize> = prepared.iter().map(|s| s.rows).collect();
        self.prepare_optimizer(optimizer);
        let main = self.device.clone();
        // In lockstep the gradients come from one backward pass over the whole batch's
        // loss; otherwise each part's are weighted by its rows here.
        let lockstep = crate::lockstep::needed(plan, mode, prepared.len());
        let passes: Vec<Pass> = if lockstep {
            self.forward_backward_lockstep(replicas, plan, prepared, mode)?
        } else {
            let session = &*self;
            // Each device's results are moved to the main device on its own thread, so a
            // device that fails (a server that died) is the one the error names.
            on_each(prepared, |k, shard| {
                let pass = session.forward_backward(&replicas[k], plan, shard.inputs, mode, shard.row_offset)?;
                guarded(&replicas[k], || Ok(pass.into_device(&main))).map_err(|e| moving(e, &main))
            })?
        };
        let (grads, updates, outputs) = guarded(&main, || {
            let share = |k: usize| rows[k] as f32 / total.max(1) as f32;
            let grad_weight = |k: usize| if lockstep { 1.0 } else { share(k) };
            let mut grads: Vec<Option<FloatT>> = vec![None; self.params.len()];
            let mut updates: Vec<(usize, FloatT)> = Vec::new();
            let mut outputs = Vec::with_capacity(passes.len());
            for (k, pass) in passes.into_iter().enumerate() {
                let w = share(k);
                for (sum, g) in grads.iter_mut().zip(pass.grads) {
                    if let Some(g) = g {
                        let g = g.mul_scalar(grad_weight(k));
                        *sum = Some(match sum.take() {
                            Some(s) => s.add(g),
                            None => g,
                        });
                    }
                }
                for (j, (i, v)) in pass.updates.into_iter().enumerate() {
                    let v = v.mul_scalar(w);
                    match updates.get_mut(j) {
                        Some((_, s)) => *s = s.clone().add(v),
                        None => updates.push((i, v)),
                    }
                }
                outputs.push((DeviceOutputs::new(&main, pass.outs), rows[k]));
            }
            Ok((grads, updates, outputs))
        })?;
        guarded(&main, || {
            self.apply_gradients(grads, updates, lr);
            Ok(())
        })?;
        Ok(outputs)
    }

    /// Runs `plan` without gradients with shard `k` on `replicas[k]`; returns each shard's
    /// outputs, read back, in shard order (for predictions, concatenate them by rows).
    pub fn run_sharded(
        &self,
        replicas: &[EngineDevice],
        plan: &Plan,
        shards: Vec<Shard>,
        mode: RunMode,
    ) -> Result<Vec<Vec<HostTensor>>, EngineError> {
        let download_all = |outs: Vec<Slot>| -> Result<Vec<HostTensor>, EngineError> {
            outs.into_iter()
                .zip(plan.output_ranks())
                .map(|(o, r)| download(o, r))
                .collect()
        };
        let prepared = prepare(replicas, plan, shards)?;
        if crate::lockstep::needed(plan, mode, prepared.len()) {
            let outs = self.run_lockstep(replicas, plan, prepared, mode)?;
            return outs
                .into_iter()
                .zip(replicas)
                .map(|(outs, device)| guarded(device, || download_all(outs)))
                .collect();
        }
        on_each(prepared, |k, shard| {
            let device = &replicas[k];
            guarded(device, || {
                download_all(self.run_on(device, plan, shard.inputs, mode, shard.row_offset)?)
            })
        })
    }

    /// [`run_sharded`](Session::run_sharded) leaving the outputs on the session's device as
    /// [`DeviceOutputs`] (their first elements), each with its shard's rows.
    pub fn run_sharded_deferred(
        &self,
        replicas: &[EngineDevice],
        plan: &Plan,
        shards: Vec<Shard>,
        mode: RunMode,
    ) -> Result<Vec<(DeviceOutputs, usize)>, EngineError> {
        let prepared = prepare(replicas, plan, shards)?;
        let main = self.device().clone();
        if crate::lockstep::needed(plan, mode, prepared.len()) {
            let rows: Vec<usize> = prepared.iter().map(|s| s.rows).collect();
            let outs = self.run_lockstep(replicas, plan, prepared, mode)?;
            return outs
                .into_iter()
                .zip(replicas)
                .zip(rows)
                .map(|((outs, device), rows)| {
                    guarded(device, || Ok(DeviceOutputs::new(device, outs).to_device(&main)))
                        .map_err(|e| moving(e, &main))
                        .map(|outs| (outs, rows))
                })
                .collect();
        }
        on_each(prepared, |k, shard| {
            let device = &replicas[k];
            let rows = shard.rows;
            let outs = guarded(device, || {
                let outs = self.run_on(device, plan, shard.inputs, mode, shard.row_offset)?;
                // The first element of each, moved to the main device for the sums.
                Ok(DeviceOutputs::new(device, outs).to_device(&main))
            })
            .map_err(|e| moving(e, &main))?;
            Ok((outs, rows))
        })
    }
}
