//! Compiling a graph once into an executable plan.

use crate::error::EngineError;
use crate::ops;
use crate::slot::{MAX_RANK, Slot};
use burn::tensor::Device;
use kiln_ir::{Graph, HostTensor, NodeId, Op, TensorType, ValueDef, verify};

/// One step: an op, where its operands and result live, and which operands it consumes.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub op: Op,
    pub args: Vec<usize>,
    pub arg_ranks: Vec<usize>,
    /// `true` where this step is the operand's last use: the tensor is moved into the op
    /// and released with it.
    pub take: Vec<bool>,
    pub out: usize,
    pub label: String,
    /// Mixed into the run's seed for this step's random numbers: the node's position in
    /// the graph as written, so graph passes never change dropout masks or noise.
    pub seed_index: u64,
    /// The 16-bit type this step computes in under mixed precision, if any.
    pub compute: Option<crate::precision::ComputeDType>,
}

/// What a step needs from the run: the device for new tensors, the mode and a seed.
pub(crate) struct Ctx<'a> {
    pub device: &'a Device,
    pub training: bool,
    pub seed: u64,
    /// Rows of the whole batch before this run's first row, when the batch is split across
    /// devices: random numbers drawn per row continue where the previous shard's end, so a
    /// split batch draws the masks the whole batch would.
    pub row_offset: usize,
}

impl<'a> Ctx<'a> {
    /// The context of a run on `device` in `mode`, its first row at `row_offset` of the
    /// whole batch.
    pub(crate) fn new(device: &'a Device, mode: crate::session::RunMode, row_offset: usize) -> Ctx<'a> {
        Ctx {
            device,
            training: mode.training,
            seed: mode.seed,
            row_offset,
        }
    }
}

/// A graph compiled for execution: steps in order, each intermediate released after its
/// last use. Compile once, run many times.
#[derive(Clone, Debug)]
pub struct Plan {
    pub(crate) steps: Vec<Step>,
    n_values: usize,
    inputs: Vec<(usize, TensorType, String)>,
    params: Vec<usize>,
    outputs: Vec<(usize, usize)>,
    /// `(parameter index, value)` of each state update a training run applies.
    updates: Vec<(usize, usize)>,
}

/// The nodes the outputs (and, when `with_updates`, the state updates) need, in order.
fn live_order(graph: &Graph, with_updates: bool) -> Vec<NodeId> {
    let mut roots = vec![false; graph.values().len()];
    for &v in graph.outputs() {
        roots[v.index()] = true;
    }
    if with_updates {
        for u in graph.updates() {
            roots[u.value.index()] = true;
        }
    }
    kiln_ir::passes::live_order(graph, roots)
}

impl Plan {
    /// Verifies and compiles `graph` for its outputs; nodes no output needs are left out
    /// (state updates included).
    pub fn compile(graph: &Graph) -> Result<Plan, EngineError> {
        Self::compile_with(graph, false)
    }

    /// Verifies and compiles `graph` for a training step: its outputs and its state
    /// updates, which [`Session::train_step`](crate::Session::train_step) applies.
    pub fn compile_training(graph: &Graph) -> Result<Plan, EngineError> {
        Self::compile_with(graph, true)
    }

    /// [`compile`](Plan::compile) (or, when `training`, [`compile_training`](Plan::compile_training))
    /// without the graph passes ([`kiln_ir::passes::optimize`]): the graph's nodes exactly
    /// as written, for comparing results and timings with and without the passes.
    pub fn compile_unoptimized(graph: &Graph, training: bool) -> Result<Plan, EngineError> {
        verify(graph)?;
        Self::compile_verified(graph, graph, training)
    }

    /// Verifies `graph`, runs the graph passes on a copy (unless the environment variable
    /// `KILN_GRAPH_PASSES` is `0`) and compiles the result.
    fn compile_with(graph: &Graph, with_updates: bool) -> Result<Plan, EngineError> {
        verify(graph)?;
        if std::env::var_os("KILN_GRAPH_PASSES").is_some_and(|v| v == "0") {
            return Self::compile_verified(graph, graph, with_updates);
        }
        let mut optimized = graph.clone();
        kiln_ir::passes::optimize(&mut optimized)?;
        Self::compile_verified(&optimized, graph, with_updates)
    }

    /// Compiles the verified `graph`, derived by passes from `written` (which keeps the
    /// ids of the nodes it shares with `graph`).
    fn compile_verified(graph: &Graph, written: &Graph, with_updates: bool) -> Result<Plan, EngineError> {
        let unsupported = |message: String| EngineError::Unsupported {
            engine: "burn".into(),
            message,
        };
        for v in graph.values() {
            if v.ty.shape.rank() > MAX_RANK {
                return Err(unsupported(format!(
                    "a value of type {} has rank {}; at most {MAX_RANK} is supported",
                    v.ty,
                    v.ty.shape.rank()
                )));
            }
        }
        let n_values = graph.values().len();
        let updates: Vec<(usize, usize)> = if with_updates {
            graph
                .updates()
                .iter()
                .map(|u| (u.param.index(), u.value.index()))
                .collect()
        } else {
            Vec::new()
        };
        let order = live_order(graph, with_updates);
        // A node's step index in the graph as written seeds its random numbers.
        let mut seed_index = vec![u64::MAX; graph.nodes().len()];
        for (i, id) in live_order(written, with_updates).into_iter().enumerate() {
            seed_index[id.index()] = i as u64;
        }
        // Last step that reads each value; outputs and updates are never released.
        let mut last_use = vec![None; n_values];
        for (i, &id) in order.iter().enumerate() {
            for &v in &graph.node(id).inputs {
                last_use[v.index()] = Some(i);
            }
        }
        for &v in graph.outputs() {
            last_use[v.index()] = Some(usize::MAX);
        }
        for &(_, v) in &updates {
            last_use[v] = Some(usize::MAX);
        }
        let rank = |v: kiln_ir::ValueId| graph.values()[v.index()].ty.shape.rank();
        let steps = order
            .iter()
            .enumerate()
            .map(|(i, &id)| {
                let node = graph.node(id);
                let args: Vec<usize> = node.inputs.iter().map(|v| v.index()).collect();
                let take = args
                    .iter()
                    .enumerate()
                    .map(|(k, &a)| last_use[a] == Some(i) && !args[k + 1..].contains(&a))
                    .collect();
                Step {
                    op: node.op.clone(),
                    arg_ranks: node.inputs.iter().map(|&v| rank(v)).collect(),
                    args,
                    take,
                    out: node.output.index(),
                    label: node.label.clone(),
                    seed_index: seed_index[id.index()],
                    compute: None,
                }
            })
            .collect();
        let inputs = graph
            .inputs()
            .iter()
            .map(|inp| {
                (
                    inp.value.index(),
                    graph.values()[inp.value.index()].ty.clone(),
                    inp.name.clone(),
                )
            })
            .collect();
        let params = graph.params().iter().map(|p| p.value.index()).collect();
        let outputs = graph.outputs().iter().map(|&v| (v.index(), rank(v))).collect();
        debug_assert!(
            graph
                .values()
                .iter()
                .all(|v| !matches!(v.def, ValueDef::Input(i) if i >= graph.inputs().len()))
        );
        Ok(Plan {
            steps,
            n_values,
            inputs,
            params,
            outputs,
            updates,
        })
    }

    /// Number of parameters the plan expects.
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// The graph inputs' names and types, in order.
    pub fn input_types(&self) -> impl Iterator<Item = (&str, &TensorType)> {
        self.inputs.iter().map(|(_, t, n)| (n.as_str(), t))
    }

    /// Checks host inputs against the graph inputs: count, rank and fixed dimensions, and
    /// converts element types where the graph expects another (as Keras casts inputs).
    pub fn prepare_inputs(&self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>, EngineError> {
        self.check_inputs(inputs)?;
        Ok(inputs
            .iter()
            .zip(&self.inputs)
            .map(|(t, (_, ty, _))| {
                if t.dtype() == ty.dtype {
                    t.clone()
                } else {
                    t.cast(ty.dtype)
                }
            })
            .collect())
    }

    /// [`prepare_inputs`](Plan::prepare_inputs) taking the inputs by value: the same
    /// checks (a few comparisons per input), and tensors whose element type already
    /// matches are moved through rather than copied.
    pub fn prepare_owned_inputs(&self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>, EngineError> {
        self.check_inputs(&inputs)?;
        Ok(inputs
            .into_iter()
            .zip(&self.inputs)
            .map(|(t, (_, ty, _))| if t.dtype() == ty.dtype { t } else { t.cast(ty.dtype) })
            .collect())
    }

    /// Count, rank, fixed dimensions and equal batch sizes of host inputs.
    fn check_inputs(&self, inputs: &[HostTensor]) -> Result<(), EngineError> {
        if inputs.len() != self.inputs.len() {
            return Err(EngineError::Input(format!(
                "expected {} input tensor(s), received {}",
                self.inputs.len(),
                inputs.len()
            )));
        }
        let mut batch = None;
        inputs
            .iter()
            .zip(&self.inputs)
            .try_for_each(|(t, (_, ty, name))| {
                if !ty.shape.accepts(t.shape()) {
                    return Err(EngineError::Input(format!(
                        "input '{name}': expected shape {}, received {}",
                        ty.shape.keras_string(),
                        kiln_ir::Shape::fixed(t.shape().iter().copied()).keras_string()
                    )));
                }
                if ty.shape.dims().first() == Some(&None) {
                    let rows = t.rows_len();
                    match batch {
                        Some(b) if b != rows => {
                            return Err(EngineError::Input(format!(
                                "input '{name}' has {rows} samples but an earlier input has {b}; all inputs need the same number of samples"
                            )));
                        }
                        _ => batch = Some(rows),
                    }
                }
                Ok(())
            })
    }

    /// Runs the plan on uploaded inputs and parameters; returns the outputs, in order,
    /// and the `(parameter index, new value)` of each state update.
    #[allow(clippy::type_complexity)]
    pub(crate) fn execute(
        &self,
        inputs: Vec<Slot>,
        params: Vec<Slot>,
        ctx: &Ctx,
    ) -> Result<(Vec<Slot>, Vec<(usize, Slot)>), EngineError> {
        let mut run = self.start(inputs, params);
        run.run_to(self.steps.len(), ctx)?;
        run.finish()
    }

    /// A run of the plan on uploaded inputs and parameters, before its first step.
    pub(crate) fn start(&self, inputs: Vec<Slot>, params: Vec<Slot>) -> Execution<'_> {
        let mut slots: Vec<Option<Slot>> = vec![None; self.n_values];
        for ((v, _, _), t) in self.inputs.iter().zip(inputs) {
            slots[*v] = Some(t);
        }
        for (&v, t) in self.params.iter().zip(params) {
            slots[v] = Some(t);
        }
        Execution {
            plan: self,
            slots,
            next: 0,
        }
    }

    /// The steps that average a value over the devices of a split batch
    /// ([`Op::ReplicaMean`]), in order: where a data-parallel training run's devices
    /// meet. Empty when every device can run its part on its own.
    pub(crate) fn replica_steps(&self) -> Vec<usize> {
        (0..self.steps.len())
            .filter(|&i| matches!(self.steps[i].op, Op::ReplicaMean))
            .collect()
    }

    /// The logical rank of each output.
    pub(crate) fn output_ranks(&self) -> impl Iterator<Item = usize> + '_ {
        self.outputs.iter().map(|(_, r)| *r)
    }
}

/// A run of a [`Plan`] in progress on one device: the live values and the next step.
/// [`Plan::execute`] runs one from start to finish; the data-parallel runs of a plan with
/// [`Op::ReplicaMean`] steps advance one per device up to each such step, average it
/// across the devices and go on.
pub(crate) struct Execution<'p> {
    plan: &'p Plan,
    slots: Vec<Option<Slot>>,
    next: usize,
}

impl Execution<'_> {
    fn missing(v: usize, i: usize) -> EngineError {
        EngineError::Engine {
            engine: "burn".into(),
            message: format!("value %{v} is missing at step {i}"),
        }
    }

    /// Runs the steps from the next one up to (not including) step `end`.
    pub(crate) fn run_to(&mut self, end: usize, ctx: &Ctx) -> Result<(), EngineError> {
        while self.next < end {
            let i = self.next;
            let step = &self.plan.steps[i];
            let args = self.operands(i)?;
            let step_ctx = Ctx {
                device: ctx.device,
                training: ctx.training,
                seed: ctx.seed ^ step.seed_index.wrapping_mul(0x9E37_79B9),
                row_offset: ctx.row_offset,
            };
            let out = match step.compute {
                Some(dtype) => {
                    let args = crate::precision::cast_args(args, dtype);
                    ops::lower(step, args, &step_ctx).map(crate::precision::to_f32)
                }
                None => ops::lower(step, args, &step_ctx),
            };
            let out = out.map_err(|message| EngineError::Engine {
                engine: "burn".into(),
                message: format!("{} ({}): {message}", step.label, step.op),
            })?;
            self.complete(out);
        }
        Ok(())
    }

    /// The next step's operands, each moved out at its last use.
    pub(crate) fn operands(&mut self, i: usize) -> Result<Vec<Slot>, EngineError> {
        let step = &self.plan.steps[i];
        step.args
            .iter()
            .zip(&step.take)
            .map(|(&a, &take)| {
                let t = if take {
                    self.slots[a].take()
                } else {
                    self.slots[a].clone()
                };
                t.ok_or_else(|| Self::missing(a, i))
            })
            .collect()
    }

    /// Stores the next step's result (computed by the caller) and moves past it.
    pub(crate) fn complete(&mut self, out: Slot) {
        let step = &self.plan.steps[self.next];
        self.slots[step.out] = Some(out);
        self.next += 1;
    }

    /// The outputs, in order, and the `(parameter index, new value)` of each state update.
    #[allow(clippy::type_complexity)]
    pub(crate) fn finish(self) -> Result<(Vec<Slot>, Vec<(usize, Slot)>), EngineError> {
        let missing = |v: usize| EngineError::Engine {
            engine: "burn".into(),
            message: format!("value %{v} was not computed"),
        };
        let outputs = self
            .plan
            .outputs
            .iter()
            .map(|(v, _)| self.slots[*v].clone().ok_or_else(|| missing(*v)))
            .collect::<Result<_, _>>()?;
        let updates = self
            .plan
            .updates
            .iter()
            .map(|&(p, v)| self.slots[v].clone().map(|s| (p, s)).ok_or_else(|| missing(v)))
            .collect::<Result<_, _>>()?;
        Ok((outputs, updates))
    }
}
