//! Data-parallel runs whose devices meet in the middle of a plan.
//!
//! A training run of a plan with [`Op::ReplicaMean`](kiln_ir::Op::ReplicaMean) steps
//! (batch normalization's batch statistics) cannot run its parts on their own: each part
//! needs every other part's value at those steps. Such a run goes here, in lockstep on
//! one thread: every part runs up to the next such step, the step's operands are averaged
//! on the main device, weighted by each part's share of the rows, the mean is moved back
//! to every part's device, and all parts go on. The parts stay on one autodiff graph, so
//! one backward pass from the row-weighted sum of their losses gives the whole batch's
//! gradients, the paths through the shared statistics included: the step equals the
//! one-device step up to float rounding.
//!
//! One thread, because Burn's autodiff graphs must not be joined from several threads at
//! once. Engines with a queue (GPUs, remote devices) still compute the parts at the same
//! time; on CPU engines the parts take turns.

use crate::convert::upload_all;
use crate::device::EngineDevice;
use crate::error::EngineError;
use crate::parallel::{Shard, moving};
use crate::plan::{Ctx, Execution, Plan};
use crate::session::{Pass, RunMode, Session, first_loss, guarded};
use crate::slot::{FloatT, Slot};

/// Whether a run of `plan` over `parts` parts must go in lockstep: a training run, split,
/// of a plan whose parts meet.
pub(crate) fn needed(plan: &Plan, mode: RunMode, parts: usize) -> bool {
    mode.training && parts > 1 && !plan.replica_steps().is_empty()
}

/// One device's part of a lockstep run.
struct Part<'a> {
    device: &'a EngineDevice,
    run: Execution<'a>,
    row_offset: usize,
}

/// Each part's share of the batch's rows.
fn shares(shards: &[Shard]) -> Vec<f32> {
    let total: usize = shards.iter().map(|s| s.rows).sum();
    shards.iter().map(|s| s.rows as f32 / total.max(1) as f32).collect()
}

/// The row-weighted sum on `main` of one value per part.
fn weighted_sum(
    values: Vec<FloatT>,
    shares: &[f32],
    devices: &[&EngineDevice],
    main: &EngineDevice,
) -> Result<FloatT, EngineError> {
    let mut sum: Option<FloatT> = None;
    for ((value, &share), device) in values.into_iter().zip(shares).zip(devices) {
        let here = guarded(device, || Ok(value.to_device(main.burn()))).map_err(|e| moving(e, main))?;
        sum = Some(guarded(main, || {
            let part = here.mul_scalar(share);
            Ok(match sum {
                Some(s) => s.add(part),
                None => part,
            })
        })?);
    }
    sum.ok_or_else(|| EngineError::Input("a split batch with no parts".into()))
}

/// Runs every part to the end in lockstep (see the module's documentation); returns each
/// part's outputs and state updates, on its own device.
#[allow(clippy::type_complexity)]
fn run_parts(
    plan: &Plan,
    mut parts: Vec<Part<'_>>,
    shares: &[f32],
    main: &EngineDevice,
    mode: RunMode,
) -> Result<Vec<(Vec<Slot>, Vec<(usize, Slot)>)>, EngineError> {
    let devices: Vec<&EngineDevice> = parts.iter().map(|p| p.device).collect();
    let steps = plan.replica_steps();
    for stop in steps.iter().copied().chain([plan.steps.len()]) {
        for part in &mut parts {
            let ctx = Ctx::new(part.device.burn(), mode, part.row_offset);
            guarded(part.device, || part.run.run_to(stop, &ctx))?;
        }
        if stop == plan.steps.len() {
            break;
        }
        let values = parts
            .iter_mut()
            .map(|part| {
                guarded(part.device, || match part.run.operands(stop)?.pop() {
                    Some(Slot::F(v)) => Ok(v),
                    _ => Err(EngineError::Engine {
                        engine: "burn".into(),
                        message: format!("step {stop} ({}) needs one float operand", plan.steps[stop].op),
                    }),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mean = weighted_sum(values, shares, &devices, main)?;
        for part in &mut parts {
            let here = guarded(part.device, || Ok(mean.clone().to_device(part.device.burn())))?;
            part.run.complete(Slot::F(here));
        }
    }
    parts
        .into_iter()
        .map(|p| guarded(p.device, || p.run.finish()))
        .collect()
}

/// Each shard's run started on its device with the parameters `params(device)` gives;
/// also returns those parameters, per part.
#[allow(clippy::type_complexity)]
fn start_parts<'a>(
    replicas: &'a [EngineDevice],
    plan: &'a Plan,
    shards: Vec<Shard>,
    params: impl Fn(&EngineDevice) -> Vec<FloatT>,
) -> Result<(Vec<Part<'a>>, Vec<Vec<FloatT>>), EngineError> {
    let mut parts = Vec::with_capacity(shards.len());
    let mut leaves = Vec::with_capacity(shards.len());
    for (shard, device) in shards.into_iter().zip(replicas) {
        let (inputs, p) = guarded(device, || Ok((upload_all(shard.inputs, device.burn()), params(device))))?;
        parts.push(Part {
            device,
            run: plan.start(inputs, p.iter().cloned().map(Slot::F).collect()),
            row_offset: shard.row_offset,
        });
        leaves.push(p);
    }
    Ok((parts, leaves))
}

impl Session {
    /// Forward and backward over a split batch in lockstep: each part's outputs, gradients
    /// and state updates, moved to the session's device. The gradients are already those
    /// of the whole batch's loss (the parts' losses weighted by rows), so they are summed
    /// as they are.
    pub(crate) fn forward_backward_lockstep(
        &self,
        replicas: &[EngineDevice],
        plan: &Plan,
        shards: Vec<Shard>,
        mode: RunMode,
    ) -> Result<Vec<Pass>, EngineError> {
        let main = &self.device;
        let shares = shares(&shards);
        let (parts, leaves) = start_parts(replicas, plan, shards, |device| self.tracked_on(device))?;
        let devices: Vec<&EngineDevice> = parts.iter().map(|p| p.device).collect();
        let results = run_parts(plan, parts, &shares, main, mode)?;
        let losses = results
            .iter()
            .zip(&devices)
            .map(|((outs, _), device)| first_loss(outs, device).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        let loss = weighted_sum(losses, &shares, &devices, main)?;
        let grads = guarded(main, || Ok(self.backward(&loss)))?;
        results
            .into_iter()
            .zip(leaves)
            .zip(devices)
            .map(|(((outs, updates), tracked), device)| {
                guarded(device, || {
                    let grads = self.param_grads(&tracked, grads.as_ref());
                    Ok(Pass::detached(outs, grads, updates).into_device(main))
                })
                .map_err(|e| moving(e, main))
            })
            .collect()
    }

    /// Runs `plan` without gradients over a split batch in lockstep: each part's outputs,
    /// on its own device.
    pub(crate) fn run_lockstep(
        &self,
        replicas: &[EngineDevice],
        plan: &Plan,
        shards: Vec<Shard>,
        mode: RunMode,
    ) -> Result<Vec<Vec<Slot>>, EngineError> {
        let shares = shares(&shards);
        let (parts, _) = start_parts(replicas, plan, shards, |device| self.params_on(device))?;
        let results = run_parts(plan, parts, &shares, &self.device, mode)?;
        Ok(results.into_iter().map(|(outs, _)| outs).collect())
    }
}
