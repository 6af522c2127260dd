//! A model's parameters and optimizer state on one device, and running plans there.

use crate::constraint;
use crate::convert::{download, upload, upload_all};
use crate::deferred::DeviceOutputs;
use crate::device::EngineDevice;
use crate::error::EngineError;
use crate::optim;
use crate::plan::{Ctx, Plan};
use crate::precision::LossScale;
use crate::slot::{FloatT, Slot};
use burn::tensor::Gradients;
use kiln_ir::{Graph, HostTensor, OptimizerKind};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// How a plan runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RunMode {
    /// Training behaviour (dropout active).
    pub training: bool,
    /// Seed for the run's randomness (dropout masks).
    pub seed: u64,
}

/// The optimizer state in host memory.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerSnapshot {
    /// Training steps taken.
    pub iterations: u64,
    /// Per parameter, its slots in the order of `OptimizerKind::slots` (empty when frozen).
    pub slots: Vec<Vec<HostTensor>>,
}

#[derive(Clone)]
struct OptimizerState {
    kind: OptimizerKind,
    iterations: u64,
    /// Per parameter, its slots (empty for frozen parameters).
    slots: Vec<Vec<FloatT>>,
}

/// Parameters (and optimizer state) living on one device.
#[derive(Clone)]
pub struct Session {
    pub(crate) device: EngineDevice,
    pub(crate) params: Vec<FloatT>,
    ranks: Vec<usize>,
    trainable: Vec<bool>,
    constraints: Vec<Option<kiln_ir::Constraint>>,
    optimizer: Option<OptimizerState>,
    /// Dynamic loss scaling (float16 mixed precision), if on.
    loss_scale: Option<LossScale>,
}

fn engine_error(device: &EngineDevice, message: String) -> EngineError {
    EngineError::Engine {
        engine: device.name().to_string(),
        message,
    }
}

/// Runs `f`, turning an engine panic into an error that names the device.
pub(crate) fn guarded<T>(device: &EngineDevice, f: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(engine_error(device, message))
        }
    }
}

/// Downloads a run's outputs, leaving the autodiff graph behind.
fn download_outputs(outs: Vec<Slot>, plan: &Plan) -> Result<Vec<HostTensor>, EngineError> {
    outs.into_iter()
        .zip(plan.output_ranks())
        .map(|(o, r)| {
            let o = match o {
                Slot::F(t) => Slot::F(t.inner()),
                s => s,
            };
            download(o, r)
        })
        .collect()
}

impl Session {
    /// Uploads the initial values of `graph`'s parameters to `device`.
    pub fn new(device: &EngineDevice, graph: &Graph, values: &[HostTensor]) -> Result<Session, EngineError> {
        let params = graph.params();
        if values.len() != params.len() {
            return Err(EngineError::Input(format!(
                "expected {} parameter tensors, received {}",
                params.len(),
                values.len()
            )));
        }
        let mut session = Session {
            device: device.clone(),
            params: Vec::new(),
            ranks: params.iter().map(|p| p.ty.shape.rank()).collect(),
            trainable: params.iter().map(|p| p.trainable).collect(),
            constraints: params.iter().map(|p| p.constraint.clone()).collect(),
            optimizer: None,
            loss_scale: None,
        };
        for (p, v) in params.iter().zip(values) {
            if v.shape() != p.dims().as_slice() {
                return Err(EngineError::Input(format!(
                    "parameter '{}': expected shape {:?}, received {:?}",
                    p.name,
                    p.dims(),
                    v.shape()
                )));
            }
        }
        session.params = guarded(device, || {
            Ok(values
                .iter()
                .map(|v| match upload(&v.cast(kiln_ir::DType::F32), device.burn()) {
                    Slot::F(t) => t,
                    Slot::I(t) => t.float(),
                })
                .collect())
        })?;
        Ok(session)
    }

    /// The device the session lives on.
    pub fn device(&self) -> &EngineDevice {
        &self.device
    }

    /// Downloads every parameter.
    pub fn params_to_host(&self) -> Result<Vec<HostTensor>, EngineError> {
        guarded(&self.device, || {
            self.params
                .iter()
                .zip(&self.ranks)
                .map(|(p, &r)| download(Slot::F(p.clone()), r))
                .collect()
        })
    }

    /// Replaces parameter `index` with `value` (same shape).
    pub fn set_param(&mut self, index: usize, value: &HostTensor) -> Result<(), EngineError> {
        let current = self
            .params
            .get(index)
            .ok_or_else(|| EngineError::Input(format!("no parameter {index}")))?;
        let dims = crate::slot::logical(current.dims(), self.ranks[index]);
        if value.shape() != dims.as_slice() {
            return Err(EngineError::Input(format!(
                "parameter {index}: expected shape {dims:?}, received {:?}",
                value.shape()
            )));
        }
        let t = crate::convert::upload_f32(value.to_f32(), &dims, self.device.burn());
        self.params[index] = t;
        Ok(())
    }

    /// The optimizer's step count (0 before the first training step).
    pub fn iterations(&self) -> u64 {
        self.optimizer.as_ref().map_or(0, |o| o.iterations)
    }

    /// Turns dynamic loss scaling on (with its starting state) or off.
    pub fn set_loss_scaling(&mut self, loss_scale: Option<LossScale>) {
        self.loss_scale = loss_scale;
    }

    /// The loss scaling state, when on.
    pub fn loss_scale(&self) -> Option<LossScale> {
        self.loss_scale
    }

    /// Forgets the optimizer state (the next training step starts fresh).
    pub fn reset_optimizer(&mut self) {
        self.optimizer = None;
    }

    /// Downloads the optimizer state, if a training step has run.
    pub fn optimizer_state_to_host(&self) -> Result<Option<OptimizerSnapshot>, EngineError> {
        let Some(opt) = &self.optimizer else { return Ok(None) };
        guarded(&self.device, || {
            let slots = opt
                .slots
                .iter()
                .zip(&self.ranks)
                .map(|(s, &r)| s.iter().map(|t| download(Slot::F(t.clone()), r)).collect())
                .collect::<Result<_, _>>()?;
            Ok(Some(OptimizerSnapshot {
                iterations: opt.iterations,
                slots,
            }))
        })
    }

    /// Restores optimizer state saved by [`optimizer_state_to_host`](Session::optimizer_state_to_host)
    /// for `kind`: the next [`train_step`](Session::train_step) with the same `kind`
    /// continues from step `snapshot.iterations + 1` with these slots. Every trainable
    /// parameter needs one tensor per slot of `kind` (its own shape), every frozen one
    /// none; anything else is an error naming the parameter and the session is left as it
    /// was.
    pub fn set_optimizer_state(
        &mut self,
        kind: &OptimizerKind,
        snapshot: &OptimizerSnapshot,
    ) -> Result<(), EngineError> {
        let names = kind.slots();
        if snapshot.slots.len() != self.params.len() {
            return Err(EngineError::Input(format!(
                "optimizer state for {} parameters; the session holds {}",
                snapshot.slots.len(),
                self.params.len()
            )));
        }
        for (i, slots) in snapshot.slots.iter().enumerate() {
            let dims = crate::slot::logical(self.params[i].dims(), self.ranks[i]);
            let want = if self.trainable[i] { names.len() } else { 0 };
            if slots.len() != want {
                return Err(EngineError::Input(format!(
                    "parameter {i}: optimizer state has {} slot(s); {} expects {want} ({})",
                    slots.len(),
                    if self.trainable[i] {
                        "this optimizer"
                    } else {
                        "a frozen parameter"
                    },
                    if self.trainable[i] {
                        names.join(", ")
                    } else {
                        "none".into()
                    }
                )));
            }
            for (slot, name) in slots.iter().zip(&names) {
                if slot.shape() != dims.as_slice() {
                    return Err(EngineError::Input(format!(
                        "parameter {i}: optimizer slot '{name}' has shape {:?}; the parameter has {dims:?}",
                        slot.shape()
                    )));
                }
            }
        }
        let device = self.device.clone();
        let slots = guarded(&device, || {
            Ok(snapshot
                .slots
                .iter()
                .zip(&self.params)
                .zip(&self.ranks)
                .map(|((slots, p), &r)| {
                    let dims = crate::slot::logical(p.dims(), r);
                    slots
                        .iter()
                        .map(|s| crate::convert::upload_f32(s.to_f32(), &dims, device.burn()))
                        .collect()
                })
                .collect())
        })?;
        self.optimizer = Some(OptimizerState {
            kind: kind.clone(),
            iterations: snapshot.iterations,
            slots,
        });
        Ok(())
    }

    /// Copies this session to another device: parameters and optimizer state.
    pub fn to_device(&self, device: &EngineDevice) -> Result<Session, EngineError> {
        guarded(device, || {
            let target = device.burn();
            let mv = |t: &FloatT| t.clone().to_device(target);
            Ok(Session {
                device: device.clone(),
                params: self.params.iter().map(mv).collect(),
                ranks: self.ranks.clone(),
                trainable: self.trainable.clone(),
                constraints: self.constraints.clone(),
                optimizer: self.optimizer.as_ref().map(|o| OptimizerState {
                    kind: o.kind.clone(),
                    iterations: o.iterations,
                    slots: o.slots.iter().map(|s| s.iter().map(mv).collect()).collect(),
                }),
                loss_scale: self.loss_scale,
            })
        })
    }

    fn check_plan(&self, plan: &Plan) -> Result<(), EngineError> {
        if plan.param_count() != self.params.len() {
            return Err(EngineError::Input(format!(
                "the plan expects {} parameters, the session holds {}",
                plan.param_count(),
                self.params.len()
            )));
        }
        Ok(())
    }

    /// Runs `plan` without gradients; returns its outputs.
    pub fn run(&self, plan: &Plan, inputs: &[HostTensor], mode: RunMode) -> Result<Vec<HostTensor>, EngineError> {
        self.check_plan(plan)?;
        let inputs = plan.prepare_inputs(inputs)?;
        self.run_and_download(plan, inputs, mode)
    }

    /// [`run`](Session::run) taking the inputs by value: tensors of the right element
    /// type are uploaded without a copy.
    pub fn run_owned(
        &self,
        plan: &Plan,
        inputs: Vec<HostTensor>,
        mode: RunMode,
    ) -> Result<Vec<HostTensor>, EngineError> {
        self.check_plan(plan)?;
        let inputs = plan.prepare_owned_inputs(inputs)?;
        self.run_and_download(plan, inputs, mode)
    }

    /// [`run_owned`](Session::run_owned) leaving the outputs on the device: the first
    /// element of each (losses and metrics are scalars), for
    /// [`OutputSums`](crate::OutputSums) or a later [`DeviceOutputs::to_host`]. Nothing is
    /// read back, so the device need not finish before this returns.
    pub fn run_deferred(
        &self,
        plan: &Plan,
        inputs: Vec<HostTensor>,
        mode: RunMode,
    ) -> Result<DeviceOutputs, EngineError> {
        self.check_plan(plan)?;
        let inputs = plan.prepare_owned_inputs(inputs)?;
        guarded(&self.device, || {
            let outs = self.run_slots(plan, inputs, mode)?;
            Ok(DeviceOutputs::new(&self.device, outs))
        })
    }

    fn run_and_download(
        &self,
        plan: &Plan,
        inputs: Vec<HostTensor>,
        mode: RunMode,
    ) -> Result<Vec<HostTensor>, EngineError> {
        guarded(&self.device, || {
            let outs = self.run_slots(plan, inputs, mode)?;
            outs.into_iter()
                .zip(plan.output_ranks())
                .map(|(o, r)| download(o, r))
                .collect()
        })
    }

    /// Uploads checked inputs and runs `plan` without gradients (call inside `guarded`).
    fn run_slots(&self, plan: &Plan, inputs: Vec<HostTensor>, mode: RunMode) -> Result<Vec<Slot>, EngineError> {
        self.run_on(&self.device, plan, inputs, mode, 0)
    }

    /// Uploads checked inputs to `device` and runs `plan` there without gradients, with
    /// the weights moved to it when it is not the session's own device (call inside
    /// `guarded`). `row_offset` places the inputs in a larger batch (see `Shard`).
    pub(crate) fn run_on(
        &self,
        device: &EngineDevice,
        plan: &Plan,
        inputs: Vec<HostTensor>,
        mode: RunMode,
        row_offset: usize,
    ) -> Result<Vec<Slot>, EngineError> {
        let burn_device = device.burn();
        let params = self.params_on(device).into_iter().map(Slot::F).collect();
        let ctx = Ctx::new(burn_device, mode, row_offset);
        Ok(plan.execute(upload_all(inputs, burn_device), params, &ctx)?.0)
    }

    /// Gradients of `plan`'s first output (a scalar) with respect to every float input and
    /// every trainable parameter, without updating anything. Returns the outputs, then the
    /// input gradients and the parameter gradients (`None` for integer inputs, frozen
    /// parameters and values the output does not depend on).
    #[allow(clippy::type_complexity)]
    pub fn gradients(
        &self,
        plan: &Plan,
        inputs: &[HostTensor],
        mode: RunMode,
    ) -> Result<(Vec<HostTensor>, Vec<Option<HostTensor>>, Vec<Option<HostTensor>>), EngineError> {
        self.check_plan(plan)?;
        let inputs = plan.prepare_inputs(inputs)?;
        guarded(&self.device, || {
            let device = self.device.burn();
            let uploaded: Vec<Slot> = inputs
                .iter()
                .map(|t| match upload(t, device) {
                    Slot::F(t) => Slot::F(t.autodiff().require_grad()),
                    s => s,
                })
                .collect();
            let tracked = self.tracked_on(&self.device);
            let ctx = Ctx::new(device, mode, 0);
            let (outs, _) = plan.execute(uploaded.clone(), tracked.iter().cloned().map(Slot::F).collect(), &ctx)?;
            let Some(Slot::F(loss)) = outs.first() else {
                return Err(engine_error(
                    &self.device,
                    "the first output must be a float scalar".into(),
                ));
            };
            let grads = loss.is_tracked().then(|| loss.backward());
            let grad_of = |t: &FloatT, rank: usize| -> Result<Option<HostTensor>, EngineError> {
                match grads.as_ref().and_then(|g| t.grad(g)) {
                    Some(g) => download(Slot::F(g), rank).map(Some),
                    None => Ok(None),
                }
            };
            let input_grads = uploaded
                .iter()
                .zip(&inputs)
                .map(|(s, h)| match s {
                    Slot::F(t) => grad_of(t, h.shape().len()),
                    Slot::I(_) => Ok(None),
                })
                .collect::<Result<_, _>>()?;
            let param_grads = tracked
                .iter()
                .zip(&self.ranks)
                .zip(&self.trainable)
                .map(|((t, &r), &trainable)| if trainable { grad_of(t, r) } else { Ok(None) })
                .collect::<Result<_, _>>()?;
            let outs = download_outputs(outs, plan)?;
            Ok((outs, input_grads, param_grads))
        })
    }

    /// One training step: runs `plan` with gradients, back-propagates from its first
    /// output (a scalar loss) and updates every trainable parameter with `optimizer` at
    /// learning rate `lr`. Returns all outputs as computed before the update (reading
    /// them back waits for the device; see
    /// [`train_step_deferred`](Session::train_step_deferred)).
    pub fn train_step(
        &mut self,
        plan: &Plan,
        inputs: &[HostTensor],
        optimizer: &OptimizerKind,
        lr: f32,
        mode: RunMode,
    ) -> Result<Vec<HostTensor>, EngineError> {
        self.check_plan(plan)?;
        let inputs = plan.prepare_inputs(inputs)?;
        let outs = self.step(plan, inputs, optimizer, lr, mode)?;
        guarded(&self.device, || download_outputs(outs, plan))
    }

    /// [`train_step`](Session::train_step) taking the inputs by value and leaving the
    /// outputs on the device: nothing is read back, so on an engine with an asynchronous
    /// queue (wgpu) the host goes on to the next step while this one runs. The returned
    /// [`DeviceOutputs`] holds the first element of each output (the loss, per-output
    /// losses and metrics are scalars); sum them with [`OutputSums`](crate::OutputSums)
    /// and read back when needed. Inputs of the right element type are uploaded without
    /// a copy.
    pub fn train_step_deferred(
        &mut self,
        plan: &Plan,
        inputs: Vec<HostTensor>,
        optimizer: &OptimizerKind,
        lr: f32,
        mode: RunMode,
    ) -> Result<DeviceOutputs, EngineError> {
        self.check_plan(plan)?;
        let inputs = plan.prepare_owned_inputs(inputs)?;
        let outs = self.step(plan, inputs, optimizer, lr, mode)?;
        guarded(&self.device, || Ok(DeviceOutputs::new(&self.device, outs)))
    }

    /// The training step on checked inputs; returns the outputs (detached from the
    /// autodiff graph), still on the device.
    fn step(
        &mut self,
        plan: &Plan,
        inputs: Vec<HostTensor>,
        optimizer: &OptimizerKind,
        lr: f32,
        mode: RunMode,
    ) -> Result<Vec<Slot>, EngineError> {
        self.prepare_optimizer(optimizer);
        let device = self.device.clone();
        let pass = self.forward_backward(&device, plan, inputs, mode, 0)?;
        guarded(&device, || {
            self.apply_gradients(pass.grads, pass.updates, lr);
            Ok(pass.outs)
        })
    }

    /// Zeroed optimizer slots for `optimizer`, unless the state already belongs to it.
    pub(crate) fn prepare_optimizer(&mut self, optimizer: &OptimizerKind) {
        if self.optimizer.as_ref().is_some_and(|o| &o.kind == optimizer) {
            return;
        }
        let slots = self
            .params
            .iter()
            .zip(&self.trainable)
            .map(|(p, &t)| {
                if t {
                    optimizer.slots().iter().map(|_| p.zeros_like()).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        self.optimizer = Some(OptimizerState {
            kind: optimizer.clone(),
            iterations: 0,
            slots,
        });
    }

    /// The parameters as `device` sees them: moved there when it is not the session's own.
    pub(crate) fn params_on(&self, device: &EngineDevice) -> Vec<FloatT> {
        if device.burn() == self.device.burn() {
            return self.params.clone();
        }
        self.params.iter().map(|p| p.clone().to_device(device.burn())).collect()
    }

    /// The parameters on `device` on the autodiff decorator, trainable ones requiring
    /// gradients: the leaves of a training pass there.
    pub(crate) fn tracked_on(&self, device: &EngineDevice) -> Vec<FloatT> {
        self.params_on(device)
            .into_iter()
            .zip(&self.trainable)
            .map(|(p, &t)| {
                let p = p.autodiff();
                if t { p.require_grad() } else { p }
            })
            .collect()
    }

    /// Back-propagates from `loss` (multiplied by the loss scale when loss scaling is on,
    /// so that small float16 gradients do not flush to zero); `None` when nothing it
    /// depends on is trained.
    pub(crate) fn backward(&self, loss: &FloatT) -> Option<Gradients> {
        if !loss.is_tracked() {
            return None;
        }
        Some(match self.loss_scale {
            Some(s) => loss.clone().mul_scalar(s.scale).backward(),
            None => loss.backward(),
        })
    }

    /// Each trainable parameter's gradient in `grads` (divided by the loss scale, when
    /// on), where `tracked` are the leaves of the pass ([`tracked_on`](Session::tracked_on)).
    pub(crate) fn param_grads(&self, tracked: &[FloatT], grads: Option<&Gradients>) -> Vec<Option<FloatT>> {
        tracked
            .iter()
            .zip(&self.trainable)
            .map(|(p, &t)| {
                let g = if t { grads.and_then(|g| p.grad(g)) } else { None }?;
                // The scale is a power of two: dividing by it is exact.
                Some(match self.loss_scale {
                    Some(s) => g.div_scalar(s.scale),
                    None => g,
                })
            })
            .collect()
    }

    /// Runs `plan` on `device` with gradients and back-propagates from its first output:
    /// the outputs (detached), each trainable parameter's gradient and the state updates,
    /// all still on `device`. Nothing in the session changes.
    pub(crate) fn forward_backward(
        &self,
        device: &EngineDevice,
        plan: &Plan,
        inputs: Vec<HostTensor>,
        mode: RunMode,
        row_offset: usize,
    ) -> Result<Pass, EngineError> {
        guarded(device, || {
            let burn_device = device.burn();
            let tracked = self.tracked_on(device);
            let ctx = Ctx::new(burn_device, mode, row_offset);
            let params = tracked.iter().cloned().map(Slot::F).collect();
            let (outs, updates) = plan.execute(upload_all(inputs, burn_device), params, &ctx)?;
            let loss = first_loss(&outs, device)?;
            // A model with nothing to train (no weights, or all frozen) computes its loss
            // and updates nothing, as in Keras.
            let grads = self.backward(loss);
            let grads = self.param_grads(&tracked, grads.as_ref());
            Ok(Pass::detached(outs, grads, updates))
        })
    }

    /// One optimizer step from `grads` (per parameter, on the session's device), then the
    /// state updates. Call inside `guarded`, after [`prepare_optimizer`](Session::prepare_optimizer).
    pub(crate) fn apply_gradients(&mut self, grads: Vec<Option<FloatT>>, updates: Vec<(usize, FloatT)>, lr: f32) {
        if let Some(loss_scale) = self.loss_scale.as_mut() {
            let finite = crate::precision::all_finite(&grads);
            if !loss_scale.after_step(finite) {
                return;
            }
        }
        let state = self.optimizer.as_mut().expect("prepare_optimizer runs first");
        state.iterations += 1;
        for (i, g) in grads.into_iter().enumerate() {
            let Some(g) = g else { continue };
            let current = self.params[i].clone();
            let updated = optim::update(&state.kind, current, g, &mut state.slots[i], lr, state.iterations);
            self.params[i] = match &self.constraints[i] {
                Some(c) => constraint::apply(c, updated, self.ranks[i]),
                None => updated,
            };
        }
        for (i, value) in updates {
            self.params[i] = value;
        }
    }
}

/// A training plan's first output, its loss.
pub(crate) fn first_loss<'a>(outs: &'a [Slot], device: &EngineDevice) -> Result<&'a FloatT, EngineError> {
    match outs.first() {
        Some(Slot::F(loss)) => Ok(loss),
        _ => Err(engine_error(
            device,
            "the training graph's first output must be a float loss".into(),
        )),
    }
}

impl Pass {
    /// A pass's results with the outputs and state updates taken off the autodiff graph
    /// (integer updates, which no layer makes, are dropped).
    pub(crate) fn detached(outs: Vec<Slot>, grads: Vec<Option<FloatT>>, updates: Vec<(usize, Slot)>) -> Pass {
        let updates = updates
            .into_iter()
            .filter_map(|(i, v)| match v {
                Slot::F(t) => Some((i, t.inner())),
                Slot::I(_) => None,
            })
            .collect();
        let outs = outs
            .into_iter()
            .map(|o| match o {
                Slot::F(t) => Slot::F(t.inner()),
                s => s,
            })
            .collect();
        Pass { outs, grads, updates }
    }

    /// The same results on `device`.
    pub(crate) fn into_device(self, device: &EngineDevice) -> Pass {
        let target = device.burn();
        Pass {
            outs: self
                .outs
                .into_iter()
                .map(|o| match o {
                    Slot::F(t) => Slot::F(t.to_device(target)),
                    Slot::I(t) => Slot::I(t.to_device(target)),
                })
                .collect(),
            grads: self.grads.into_iter().map(|g| g.map(|g| g.to_device(target))).collect(),
            updates: self
                .updates
                .into_iter()
                .map(|(i, v)| (i, v.to_device(target)))
                .collect(),
        }
    }
}

/// What one forward and backward pass leaves on its device.
pub(crate) struct Pass {
    /// The plan's outputs, detached from the autodiff graph.
    pub outs: Vec<Slot>,
    /// Per parameter, its gradient (`None` when frozen or unused).
    pub grads: Vec<Option<FloatT>>,
    /// `(parameter index, new value)` of each state update.
    pub updates: Vec<(usize, FloatT)>,
}
