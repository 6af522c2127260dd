//! What the recurrent layers (`SimpleRNN`, `LSTM`, `GRU`, and `Bidirectional` around
//! them) share: their arguments, their weights, and the time loop, which is unrolled into
//! the IR when the model is built (so every engine runs it without engine-specific code).
//!
//! The numbers follow Keras 3's JAX backend (`keras.src.backend.jax.rnn.rnn`): zero initial
//! states; with `go_backwards` the steps run from the last timestep to the first and the
//! returned sequence is in that (reversed) order; where a mask is 0 a step keeps the
//! previous states and outputs the previous output (zeros with `zero_output_for_mask`,
//! which Keras ignores when `unroll` is set).

use crate::activations::activation;
use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::keras::KerasConfig;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::regularizers::{self, Regularizer};
use kiln_ir::{Activation, Initializer, Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The arguments every recurrent layer shares: Keras's `RNN` arguments and those of its
/// cell. Defaults are Keras's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RnnArgs {
    /// Layer name.
    pub name: String,
    /// Width of the state and of the output.
    pub units: usize,
    /// Activation of the state (`"tanh"`).
    pub activation: String,
    /// Whether the cell has a bias.
    pub use_bias: bool,
    /// Initializer of the input kernel (`"glorot_uniform"`).
    pub kernel_initializer: InitializerArg,
    /// Initializer of the recurrent kernel (`"orthogonal"`).
    pub recurrent_initializer: InitializerArg,
    /// Initializer of the bias (`"zeros"`).
    pub bias_initializer: InitializerArg,
    /// Penalty on the input kernel.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the recurrent kernel.
    #[serde(default)]
    pub recurrent_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
    /// Penalty on every output (divided by the batch size, as Keras).
    #[serde(default)]
    pub activity_regularizer: Option<Regularizer>,
    /// Constraint on the input kernel.
    #[serde(default)]
    pub kernel_constraint: Option<ConstraintArg>,
    /// Constraint on the recurrent kernel.
    #[serde(default)]
    pub recurrent_constraint: Option<ConstraintArg>,
    /// Constraint on the bias.
    #[serde(default)]
    pub bias_constraint: Option<ConstraintArg>,
    /// Fraction of the input units dropped in training (one mask for every timestep).
    pub dropout: f32,
    /// Fraction of the state units dropped in training (one mask for every timestep).
    pub recurrent_dropout: f32,
    /// Return the output of every step, `(batch, timesteps, units)`, not only the last.
    pub return_sequences: bool,
    /// Also return the final states (`h`; `h` and `c` for LSTM) as further outputs.
    pub return_state: bool,
    /// Process the sequence from its last timestep to its first.
    pub go_backwards: bool,
    /// Keras's `stateful`; only `false` is supported.
    pub stateful: bool,
    /// Keras's `unroll`. Kiln always unrolls the loop; the flag only selects Keras's
    /// unrolled masking rule (`zero_output_for_mask` is ignored).
    pub unroll: bool,
    /// Masked steps output zeros instead of the previous output.
    pub zero_output_for_mask: bool,
    /// Whether training updates the weights.
    pub trainable: bool,
}

impl RnnArgs {
    /// Keras's defaults with `units`, named `name`.
    pub(crate) fn new(name: String, units: usize) -> Self {
        RnnArgs {
            name,
            units,
            activation: "tanh".into(),
            use_bias: true,
            kernel_initializer: "glorot_uniform".into(),
            recurrent_initializer: "orthogonal".into(),
            bias_initializer: "zeros".into(),
            kernel_regularizer: None,
            recurrent_regularizer: None,
            bias_regularizer: None,
            activity_regularizer: None,
            kernel_constraint: None,
            recurrent_constraint: None,
            bias_constraint: None,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            return_sequences: false,
            return_state: false,
            go_backwards: false,
            stateful: false,
            unroll: false,
            zero_output_for_mask: false,
            trainable: true,
        }
    }

    /// Reads the shared Keras arguments (`units` is required).
    pub(crate) fn from_keras(c: &KerasConfig, default_name: &str) -> Result<Self> {
        let units = c.usize("units")?.ok_or_else(|| c.error("units", "is required"))?;
        let mut a = RnnArgs::new(crate::names::unique_name(default_name), units);
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            a.name = name;
        }
        if let Some(t) = trainable {
            a.trainable = t;
        }
        if let Some(x) = c.activation("activation")? {
            a.activation = x;
        }
        if let Some(b) = c.bool("use_bias")? {
            a.use_bias = b;
        }
        if let Some(i) = c.initializer("kernel_initializer")? {
            a.kernel_initializer = i;
        }
        if let Some(i) = c.initializer("recurrent_initializer")? {
            a.recurrent_initializer = i;
        }
        if let Some(i) = c.initializer("bias_initializer")? {
            a.bias_initializer = i;
        }
        a.kernel_regularizer = c.regularizer("kernel_regularizer")?;
        a.recurrent_regularizer = c.regularizer("recurrent_regularizer")?;
        a.bias_regularizer = c.regularizer("bias_regularizer")?;
        a.activity_regularizer = c.regularizer("activity_regularizer")?;
        a.kernel_constraint = c.constraint("kernel_constraint")?;
        a.recurrent_constraint = c.constraint("recurrent_constraint")?;
        a.bias_constraint = c.constraint("bias_constraint")?;
        if let Some(d) = c.f32("dropout")? {
            a.dropout = d;
        }
        if let Some(d) = c.f32("recurrent_dropout")? {
            a.recurrent_dropout = d;
        }
        for (key, field) in [
            ("return_sequences", &mut a.return_sequences),
            ("return_state", &mut a.return_state),
            ("go_backwards", &mut a.go_backwards),
            ("unroll", &mut a.unroll),
            ("zero_output_for_mask", &mut a.zero_output_for_mask),
        ] {
            if let Some(b) = c.bool(key)? {
                *field = b;
            }
        }
        if c.bool("stateful")? == Some(true) {
            return Err(c.error(
                "stateful",
                "stateful recurrent layers are not supported: every batch starts from zero states",
            ));
        }
        // Kiln draws dropout masks from its own seeded generator (`set_random_seed`).
        let _ = c.get("seed");
        // Which kernel implementation runs (cuDNN or not, fused gates or not) changes no number.
        if let Some(v) = c.get("use_cudnn")
            && !(v.as_bool().is_some() || v.as_str() == Some("auto"))
        {
            return Err(c.error(
                "use_cudnn",
                format!("expected one of {{'auto', True, False}}, received {v}"),
            ));
        }
        if let Some(i) = c.usize("implementation")?
            && !(1..=2).contains(&i)
        {
            return Err(c.error("implementation", format!("expected 1 or 2, received {i}")));
        }
        Ok(a)
    }
}

/// The cell a recurrent layer runs at every step.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cell<'a> {
    /// `h = activation(x W + h U + b)`.
    Simple,
    /// Gates i, f, c, o.
    Lstm {
        recurrent_activation: &'a str,
        unit_forget_bias: bool,
    },
    /// Gates z, r, h.
    Gru {
        recurrent_activation: &'a str,
        reset_after: bool,
    },
}

impl Cell<'_> {
    fn gates(&self) -> usize {
        match self {
            Cell::Simple => 1,
            Cell::Lstm { .. } => 4,
            Cell::Gru { .. } => 3,
        }
    }

    /// Keras's cell name, the middle of the weight paths (`lstm/lstm_cell/kernel`).
    fn name(&self) -> &'static str {
        match self {
            Cell::Simple => "simple_rnn_cell",
            Cell::Lstm { .. } => "lstm_cell",
            Cell::Gru { .. } => "gru_cell",
        }
    }

    /// How many state tensors the cell carries.
    pub(crate) fn state_count(&self) -> usize {
        match self {
            Cell::Lstm { .. } => 2,
            _ => 1,
        }
    }

    fn recurrent_activation(&self) -> Option<&str> {
        match self {
            Cell::Simple => None,
            Cell::Lstm {
                recurrent_activation, ..
            }
            | Cell::Gru {
                recurrent_activation, ..
            } => Some(*recurrent_activation),
        }
    }
}

/// A recurrent layer: its shared arguments and its cell.
pub(crate) trait Recurrent: Layer {
    /// The shared arguments.
    fn rnn_args(&self) -> &RnnArgs;
    /// The cell.
    fn cell(&self) -> Cell<'_>;
}

/// Keras's constructor checks of a recurrent layer.
pub(crate) fn validate(layer: &dyn Layer, a: &RnnArgs, cell: Cell) -> Result<()> {
    if a.units == 0 {
        return Err(bad_argument(
            layer,
            "Received an invalid value for argument `units`, expected a positive integer, got 0.",
        ));
    }
    activation(&a.activation, 2).map_err(|e| bad_argument(layer, e.to_string()))?;
    if let Some(r) = cell.recurrent_activation() {
        activation(r, 2).map_err(|e| bad_argument(layer, format!("recurrent_activation: {e}")))?;
    }
    for init in [&a.kernel_initializer, &a.recurrent_initializer, &a.bias_initializer] {
        init.resolve().map_err(|e| bad_argument(layer, e.to_string()))?;
    }
    for (what, rate) in [("dropout", a.dropout), ("recurrent_dropout", a.recurrent_dropout)] {
        if !rate.is_finite() {
            return Err(bad_argument(
                layer,
                format!("`{what}` must be a number, received {rate}"),
            ));
        }
    }
    if a.stateful {
        return Err(bad_argument(
            layer,
            "stateful=True is not supported: Kiln's recurrent layers start every batch from zero states",
        ));
    }
    Ok(())
}

/// `(timesteps, features)` of a recurrent layer's input, or an error naming the layer.
pub(crate) fn sequence_dims(layer: &dyn Layer, inputs: &[TensorType]) -> Result<(usize, usize)> {
    let x = super::single(layer, inputs)?;
    let dims = x.shape.dims();
    if dims.len() != 3 {
        return Err(incompatible(
            layer,
            format!(
                "expected ndim=3, found ndim={}. Full shape received: {} (recurrent layers take (batch, timesteps, features))",
                dims.len(),
                x.shape.keras_string()
            ),
        ));
    }
    if x.dtype != kiln_ir::DType::F32 {
        return Err(incompatible(layer, format!("expected a float input, received {x}")));
    }
    let Some(steps) = dims[1] else {
        return Err(incompatible(
            layer,
            format!(
                "the number of timesteps must be known: Kiln unrolls the time loop when it builds the model. Received input shape {}",
                x.shape.keras_string()
            ),
        ));
    };
    if steps == 0 {
        return Err(incompatible(layer, "expected at least one timestep, received 0"));
    }
    let Some(features) = dims[2] else {
        return Err(incompatible(
            layer,
            format!(
                "the feature dimension must be known, received {}",
                x.shape.keras_string()
            ),
        ));
    };
    Ok((steps, features))
}

/// Output types: the last output or the sequence, then the states with `return_state`.
pub(crate) fn output_types(
    layer: &dyn Layer,
    a: &RnnArgs,
    cell: Cell,
    inputs: &[TensorType],
) -> Result<Vec<TensorType>> {
    let (steps, _) = sequence_dims(layer, inputs)?;
    let out = if a.return_sequences {
        Shape::batched([steps, a.units])
    } else {
        Shape::batched([a.units])
    };
    let mut types = vec![TensorType::f32(out)];
    if a.return_state {
        types.extend((0..cell.state_count()).map(|_| TensorType::f32(Shape::batched([a.units]))));
    }
    Ok(types)
}

/// Checks the input mask (`(batch, timesteps)`) and gives Keras's output masks: the input's
/// for a returned sequence, none for a last output and for states.
pub(crate) fn output_masks(
    layer: &dyn Layer,
    a: &RnnArgs,
    inputs: &[TensorType],
    masks: &[Option<Shape>],
) -> Result<Vec<Option<Shape>>> {
    let mask = check_mask(layer, inputs, masks)?;
    Ok(vec![mask.filter(|_| a.return_sequences)])
}

/// The input mask, if any, after checking that it is `(batch, timesteps)`.
pub(crate) fn check_mask(layer: &dyn Layer, inputs: &[TensorType], masks: &[Option<Shape>]) -> Result<Option<Shape>> {
    let Some(Some(mask)) = masks.first() else {
        return Ok(None);
    };
    let (steps, _) = sequence_dims(layer, inputs)?;
    let want = Shape::batched([steps]);
    if *mask != want {
        return Err(incompatible(
            layer,
            format!(
                "expected a mask of shape {} (batch, timesteps) for an input of shape {}, received a mask of shape {}",
                want.keras_string(),
                inputs[0].shape.keras_string(),
                mask.keras_string()
            ),
        ));
    }
    Ok(Some(mask.clone()))
}

/// What one pass of the time loop gives.
pub(crate) struct Run {
    /// Each step's output `(batch, units)`, in processing order (reversed time with
    /// `go_backwards`).
    pub steps: Vec<ValueId>,
    /// The final states: `h` (and `c` for LSTM).
    pub states: Vec<ValueId>,
}

/// Emits a recurrent layer (not wrapped): its outputs and their masks.
pub(crate) fn emit_layer(
    ctx: &mut EmitContext,
    a: &RnnArgs,
    cell: Cell,
    x: ValueId,
    mask: Option<ValueId>,
) -> Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
    let run = run(ctx, a, cell, "", x, mask, a.zero_output_for_mask)?;
    let out = if a.return_sequences {
        stack(ctx, &run.steps)?
    } else {
        *run.steps.last().expect("at least one timestep")
    };
    let mut outputs = vec![out];
    if a.return_state {
        outputs.extend(&run.states);
    }
    activity(ctx, a, &outputs)?;
    Ok((outputs, vec![mask.filter(|_| a.return_sequences)]))
}

/// Keras applies a layer's activity regularizer to each of its outputs.
pub(crate) fn activity(ctx: &mut EmitContext, a: &RnnArgs, outputs: &[ValueId]) -> Result<()> {
    if let Some(r) = &a.activity_regularizer {
        for &o in outputs {
            r.emit_activity(ctx, o)?;
        }
    }
    Ok(())
}

/// Stacks step outputs `(batch, units)` into `(batch, steps, units)` in the given order.
pub(crate) fn stack(ctx: &mut EmitContext, steps: &[ValueId]) -> Result<ValueId> {
    let mut parts = Vec::with_capacity(steps.len());
    for &s in steps {
        let units = ctx.shape(s)?.last().flatten().unwrap_or(0);
        parts.push(ctx.reshape(s, Shape::batched([1, units]))?);
    }
    ctx.concat(&parts, 1)
}

/// Dropout with `rate` in training when `0 < rate < 1` (Keras's condition), else `x`.
fn dropout(ctx: &mut EmitContext, x: ValueId, rate: f32, shared_axes: Vec<usize>) -> Result<ValueId> {
    if rate > 0.0 && rate < 1.0 {
        ctx.push(Op::Dropout { rate, shared_axes }, &[x])
    } else {
        Ok(x)
    }
}

/// `x[:, range]` of a rank-2 value, or `x` itself when the range covers it.
fn columns(ctx: &mut EmitContext, x: ValueId, range: Range<usize>) -> Result<ValueId> {
    let width = ctx.shape(x)?.last().flatten().unwrap_or(0);
    if range.start == 0 && range.end == width {
        return Ok(x);
    }
    ctx.slice(x, 1, range.start, range.end)
}

/// The recurrent projections `h U` of one cell, with Keras's recurrent dropout (one mask
/// per gate when the masks are per gate).
struct Projection {
    kernel: ValueId,
    /// Per gate: its columns of the kernel and its dropout mask (recurrent dropout only).
    gates: Option<Vec<(ValueId, ValueId)>>,
    units: usize,
    /// Column blocks of the kernel already sliced, by gate range.
    blocks: Vec<(Range<usize>, ValueId)>,
}

impl Projection {
    /// The kernel's columns of `gates`, sliced once.
    fn block(&mut self, ctx: &mut EmitContext, gates: Range<usize>) -> Result<ValueId> {
        if let Some((_, k)) = self.blocks.iter().find(|(r, _)| *r == gates) {
            return Ok(*k);
        }
        let k = columns(ctx, self.kernel, gates.start * self.units..gates.end * self.units)?;
        self.blocks.push((gates, k));
        Ok(k)
    }

    /// `h U[:, gates]`, `(batch, units * gates.len())`.
    fn project(&mut self, ctx: &mut EmitContext, h: ValueId, gates: Range<usize>) -> Result<ValueId> {
        match &self.gates {
            None => {
                let k = self.block(ctx, gates)?;
                ctx.matmul(h, k)
            }
            Some(per_gate) => {
                let mut parts = Vec::new();
                for g in gates {
                    let (k, m) = per_gate[g.min(per_gate.len() - 1)];
                    let hm = ctx.mul(h, m)?;
                    parts.push(ctx.matmul(hm, k)?);
                }
                ctx.concat(&parts, 1)
            }
        }
    }

    /// `h` as gate `g` sees it (times its recurrent dropout mask).
    fn state_for(&self, ctx: &mut EmitContext, h: ValueId, g: usize) -> Result<ValueId> {
        match &self.gates {
            None => Ok(h),
            Some(per_gate) => ctx.mul(h, per_gate[g.min(per_gate.len() - 1)].1),
        }
    }
}

/// Runs the cell over the sequence `x` `(batch, timesteps, features)`. Weights are named
/// `<prefix><cell>/kernel`, … under the current layer (`prefix` is empty for a plain
/// layer, `forward_lstm/` inside `Bidirectional`).
pub(crate) fn run(
    ctx: &mut EmitContext,
    a: &RnnArgs,
    cell: Cell,
    prefix: &str,
    x: ValueId,
    mask: Option<ValueId>,
    zero_output_for_mask: bool,
) -> Result<Run> {
    let shape = ctx.shape(x)?;
    let (steps, features) = match shape.dims() {
        [_, Some(t), Some(f)] => (*t, *f),
        _ => {
            return Err(crate::error::KilnError::Incompatible {
                layer: ctx.layer().to_string(),
                class: "recurrent layer".into(),
                message: format!(
                    "expected (batch, timesteps, features) with known sizes, received {}",
                    shape.keras_string()
                ),
            });
        }
    };
    let u = a.units;
    let gates = cell.gates();
    let cell_name = cell.name();
    let path = |w: &str| format!("{prefix}{cell_name}/{w}");
    let act = activation(&a.activation, 2)?;
    let ract = match cell.recurrent_activation() {
        Some(r) => activation(r, 2)?,
        None => Activation::Linear,
    };

    // Weights, in Keras's order.
    let kernel = ctx.weight(
        &path("kernel"),
        Shape::fixed([features, gates * u]),
        a.kernel_initializer.resolve()?,
    )?;
    regularizers::apply(ctx, &a.kernel_regularizer, kernel)?;
    constraints::apply(ctx, &a.kernel_constraint, kernel, 2)?;
    let recurrent = ctx.weight(
        &path("recurrent_kernel"),
        Shape::fixed([u, gates * u]),
        a.recurrent_initializer.resolve()?,
    )?;
    regularizers::apply(ctx, &a.recurrent_regularizer, recurrent)?;
    constraints::apply(ctx, &a.recurrent_constraint, recurrent, 2)?;
    let reset_after = matches!(cell, Cell::Gru { reset_after: true, .. });
    // (input bias, recurrent bias)
    let (input_bias, recurrent_bias) = if a.use_bias {
        let b_init = a.bias_initializer.resolve()?;
        let (shape, init) = match cell {
            Cell::Lstm {
                unit_forget_bias: true, ..
            } => (
                Shape::fixed([4 * u]),
                Initializer::Segments {
                    parts: vec![(u, b_init.clone()), (u, Initializer::Ones), (2 * u, b_init)],
                },
            ),
            _ if reset_after => (Shape::fixed([2, 3 * u]), b_init),
            _ => (Shape::fixed([gates * u]), b_init),
        };
        let rank = shape.rank();
        let bias = ctx.weight(&path("bias"), shape, init)?;
        regularizers::apply(ctx, &a.bias_regularizer, bias)?;
        constraints::apply(ctx, &a.bias_constraint, bias, rank)?;
        if reset_after {
            let row = |ctx: &mut EmitContext, i: usize| -> Result<ValueId> {
                let r = ctx.slice(bias, 0, i, i + 1)?;
                ctx.reshape(r, Shape::fixed([3 * u]))
            };
            (Some(row(ctx, 0)?), Some(row(ctx, 1)?))
        } else {
            (Some(bias), None)
        }
    } else {
        (None, None)
    };

    // Keras's per-gate dropout masks ("implementation 1") when there is recurrent dropout.
    let rate = a.dropout.clamp(0.0, 1.0);
    let recurrent_rate = a.recurrent_dropout.clamp(0.0, 1.0);
    let per_gate = recurrent_rate > 0.0 && !matches!(cell, Cell::Simple);
    let input_masks = if per_gate { gates } else { 1 };

    // The input projections x_t W (+ b), (batch, gates * u). Each step projects its own
    // slice of the input rather than slicing one projection of every step at once: the
    // gradient of a slice is a zero tensor of its source's full size, so slicing the
    // (batch, timesteps, gates * u) projection costs O(timesteps²) in the backward pass,
    // while slices of an input that needs no gradient (a model input) cost nothing.
    let projected_once = if input_masks > 1 && rate > 0.0 && rate < 1.0 {
        let mut parts = Vec::new();
        for g in 0..gates {
            let xg = dropout(ctx, x, rate, vec![1])?;
            let kg = columns(ctx, kernel, g * u..(g + 1) * u)?;
            parts.push(ctx.matmul(xg, kg)?);
        }
        Some(ctx.concat(&parts, 2)?)
    } else {
        None
    };
    let xd = match projected_once {
        Some(_) => x,
        None => dropout(ctx, x, rate, vec![1])?,
    };
    let features = ctx.shape(x)?.last().flatten();
    // Inputs whose feature count is unknown are projected at once.
    let projected_once = match (projected_once, features) {
        (None, None) => Some(ctx.matmul(xd, kernel)?),
        (p, _) => p,
    };

    let order: Vec<usize> = if a.go_backwards {
        (0..steps).rev().collect()
    } else {
        (0..steps).collect()
    };
    let step_input = |ctx: &mut EmitContext, t: usize| -> Result<ValueId> {
        let xw = match projected_once {
            Some(xw) => {
                let s = ctx.slice(xw, 1, t, t + 1)?;
                ctx.reshape(s, Shape::batched([gates * u]))?
            }
            None => {
                let s = ctx.slice(xd, 1, t, t + 1)?;
                let xt = ctx.reshape(s, Shape::batched([features.unwrap_or(0)]))?;
                ctx.matmul(xt, kernel)?
            }
        };
        match input_bias {
            Some(b) => ctx.bias_add(xw, b),
            None => Ok(xw),
        }
    };
    let first = step_input(ctx, order[0])?;
    // Zero initial states, (batch, u), made from the first step's values.
    let zeros = {
        let s = columns(ctx, first, 0..u)?;
        ctx.scale(s, 0.0)?
    };

    let mut projection = Projection {
        kernel: recurrent,
        blocks: Vec::new(),
        gates: if recurrent_rate > 0.0 && recurrent_rate < 1.0 {
            let ones = ctx.add_scalar(zeros, 1.0)?;
            let count = if per_gate { gates } else { 1 };
            let mut per = Vec::new();
            for g in 0..count {
                let m = dropout(ctx, ones, recurrent_rate, vec![])?;
                let k = if count == 1 {
                    recurrent
                } else {
                    columns(ctx, recurrent, g * u..(g + 1) * u)?
                };
                per.push((k, m));
            }
            Some(per)
        } else {
            None
        },
        units: u,
    };

    let inverse = match mask {
        Some(m) => {
            let one = ctx.constant(1.0)?;
            Some(ctx.sub(one, m)?)
        }
        None => None,
    };
    let zero_output = zero_output_for_mask && !a.unroll;

    let mut states: Vec<ValueId> = vec![zeros; cell.state_count()];
    let mut outputs = Vec::with_capacity(steps);
    for (k, &t) in order.iter().enumerate() {
        let xt = if k == 0 { first } else { step_input(ctx, t)? };
        let new = step(ctx, cell, act, ract, &mut projection, recurrent_bias, xt, &states, u)?;
        match mask {
            None => {
                outputs.push(new[0]);
                states = new;
            }
            Some(m) => {
                let column = |ctx: &mut EmitContext, v: ValueId| -> Result<ValueId> {
                    let s = ctx.slice(v, 1, t, t + 1)?;
                    ctx.reshape(s, Shape::batched([1]))
                };
                let keep = column(ctx, m)?;
                let drop = column(ctx, inverse.expect("with the mask"))?;
                let mut kept = Vec::with_capacity(new.len());
                for (&n, &old) in new.iter().zip(&states) {
                    let a = ctx.mul(keep, n)?;
                    let b = ctx.mul(drop, old)?;
                    kept.push(ctx.add(a, b)?);
                }
                outputs.push(if zero_output { ctx.mul(keep, new[0])? } else { kept[0] });
                states = kept;
            }
        }
    }
    Ok(Run { steps: outputs, states })
}

/// One step of the cell: the new states (`h` first, which is also the step's output).
#[allow(clippy::too_many_arguments)]
fn step(
    ctx: &mut EmitContext,
    cell: Cell,
    act: Activation,
    ract: Activation,
    p: &mut Projection,
    recurrent_bias: Option<ValueId>,
    xt: ValueId,
    states: &[ValueId],
    u: usize,
) -> Result<Vec<ValueId>> {
    let h = states[0];
    match cell {
        Cell::Simple => {
            let r = p.project(ctx, h, 0..1)?;
            let z = ctx.add(xt, r)?;
            Ok(vec![ctx.activation(act, z)?])
        }
        Cell::Lstm { .. } => {
            let r = p.project(ctx, h, 0..4)?;
            let z = ctx.add(xt, r)?;
            let gate = |ctx: &mut EmitContext, g: usize, f: Activation| -> Result<ValueId> {
                let s = ctx.slice(z, 1, g * u, (g + 1) * u)?;
                ctx.activation(f, s)
            };
            let i = gate(ctx, 0, ract)?;
            let f = gate(ctx, 1, ract)?;
            let g = gate(ctx, 2, act)?;
            let o = gate(ctx, 3, ract)?;
            let fc = ctx.mul(f, states[1])?;
            let ig = ctx.mul(i, g)?;
            let c = ctx.add(fc, ig)?;
            let ac = ctx.activation(act, c)?;
            let h = ctx.mul(o, ac)?;
            Ok(vec![h, c])
        }
        Cell::Gru { reset_after, .. } => {
            let x_gate = |ctx: &mut EmitContext, g: usize| ctx.slice(xt, 1, g * u, (g + 1) * u);
            let (xz, xr, xh) = (x_gate(ctx, 0)?, x_gate(ctx, 1)?, x_gate(ctx, 2)?);
            let inner = if reset_after {
                let r = p.project(ctx, h, 0..3)?;
                match recurrent_bias {
                    Some(b) => ctx.bias_add(r, b)?,
                    None => r,
                }
            } else {
                p.project(ctx, h, 0..2)?
            };
            let r_gate = |ctx: &mut EmitContext, g: usize| ctx.slice(inner, 1, g * u, (g + 1) * u);
            let rz = r_gate(ctx, 0)?;
            let rr = r_gate(ctx, 1)?;
            let sz = ctx.add(xz, rz)?;
            let z = ctx.activation(ract, sz)?;
            let sr = ctx.add(xr, rr)?;
            let r = ctx.activation(ract, sr)?;
            let candidate = if reset_after {
                let rh = r_gate(ctx, 2)?;
                ctx.mul(r, rh)?
            } else {
                let hh = p.state_for(ctx, h, 2)?;
                let rh = ctx.mul(r, hh)?;
                let k = match &p.gates {
                    Some(per_gate) => per_gate[2].0,
                    None => p.block(ctx, 2..3)?,
                };
                ctx.matmul(rh, k)?
            };
            let sh = ctx.add(xh, candidate)?;
            let hh = ctx.activation(act, sh)?;
            // h = z * h_tm1 + (1 - z) * hh
            let zh = ctx.mul(z, h)?;
            let one = ctx.constant(1.0)?;
            let nz = ctx.sub(one, z)?;
            let nh = ctx.mul(nz, hh)?;
            Ok(vec![ctx.add(zh, nh)?])
        }
    }
}

/// The builder methods every recurrent layer shares (its arguments are in `self.args`).
macro_rules! rnn_builders {
    ($ty:ident) => {
        impl $ty {
            /// Names the layer.
            pub fn name(mut self, name: &str) -> Self {
                self.args.name = name.to_string();
                self
            }

            /// The state activation by Keras name (default `"tanh"`).
            pub fn activation(mut self, name: &str) -> Self {
                self.args.activation = name.to_string();
                self
            }

            /// Adds a bias or not (default `true`).
            pub fn use_bias(mut self, use_bias: bool) -> Self {
                self.args.use_bias = use_bias;
                self
            }

            /// The input kernel's initializer (default `"glorot_uniform"`).
            pub fn kernel_initializer(mut self, init: impl Into<$crate::initializers::InitializerArg>) -> Self {
                self.args.kernel_initializer = init.into();
                self
            }

            /// The recurrent kernel's initializer (default `"orthogonal"`).
            pub fn recurrent_initializer(mut self, init: impl Into<$crate::initializers::InitializerArg>) -> Self {
                self.args.recurrent_initializer = init.into();
                self
            }

            /// The bias initializer (default `"zeros"`).
            pub fn bias_initializer(mut self, init: impl Into<$crate::initializers::InitializerArg>) -> Self {
                self.args.bias_initializer = init.into();
                self
            }

            /// Penalises the input kernel.
            pub fn kernel_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
                self.args.kernel_regularizer = Some(r);
                self
            }

            /// Penalises the recurrent kernel.
            pub fn recurrent_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
                self.args.recurrent_regularizer = Some(r);
                self
            }

            /// Penalises the bias.
            pub fn bias_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
                self.args.bias_regularizer = Some(r);
                self
            }

            /// Penalises every output.
            pub fn activity_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
                self.args.activity_regularizer = Some(r);
                self
            }

            /// Constrains the input kernel after each optimizer step.
            pub fn kernel_constraint(mut self, c: $crate::constraints::ConstraintArg) -> Self {
                self.args.kernel_constraint = Some(c);
                self
            }

            /// Constrains the recurrent kernel after each optimizer step.
            pub fn recurrent_constraint(mut self, c: $crate::constraints::ConstraintArg) -> Self {
                self.args.recurrent_constraint = Some(c);
                self
            }

            /// Constrains the bias after each optimizer step.
            pub fn bias_constraint(mut self, c: $crate::constraints::ConstraintArg) -> Self {
                self.args.bias_constraint = Some(c);
                self
            }

            /// Drops this fraction of the input units in training (one mask per sequence).
            pub fn dropout(mut self, rate: f32) -> Self {
                self.args.dropout = rate;
                self
            }

            /// Drops this fraction of the state units in training (one mask per sequence).
            pub fn recurrent_dropout(mut self, rate: f32) -> Self {
                self.args.recurrent_dropout = rate;
                self
            }

            /// Returns every step's output, not only the last.
            pub fn return_sequences(mut self, yes: bool) -> Self {
                self.args.return_sequences = yes;
                self
            }

            /// Also returns the final states (get them with [`Apply::apply_all`](crate::Apply::apply_all)).
            pub fn return_state(mut self, yes: bool) -> Self {
                self.args.return_state = yes;
                self
            }

            /// Processes the sequence backwards (the returned sequence is reversed too).
            pub fn go_backwards(mut self, yes: bool) -> Self {
                self.args.go_backwards = yes;
                self
            }

            /// Keras's `stateful`: only `false` is supported (`true` is refused).
            pub fn stateful(mut self, yes: bool) -> Self {
                self.args.stateful = yes;
                self
            }

            /// Keras's `unroll` (Kiln always unrolls; see [`RnnArgs::unroll`](crate::layers::RnnArgs::unroll)).
            pub fn unroll(mut self, yes: bool) -> Self {
                self.args.unroll = yes;
                self
            }

            /// Masked steps output zeros instead of the previous output.
            pub fn zero_output_for_mask(mut self, yes: bool) -> Self {
                self.args.zero_output_for_mask = yes;
                self
            }

            /// Freezes (`false`) or unfreezes the weights.
            pub fn trainable(mut self, trainable: bool) -> Self {
                self.args.trainable = trainable;
                self
            }
        }

        impl $crate::layers::rnn::Recurrent for $ty {
            fn rnn_args(&self) -> &$crate::layers::rnn::RnnArgs {
                &self.args
            }

            fn cell(&self) -> $crate::layers::rnn::Cell<'_> {
                self.cell_kind()
            }
        }
    };
}

pub(crate) use rnn_builders;

/// The `Layer` methods every recurrent layer shares, except `class_name` (written out in
/// each layer's file): `impl Layer for LSTM { fn class_name(..) {..} rnn_layer_methods!(); }`.
macro_rules! rnn_layer_methods {
    () => {
        fn name(&self) -> &str {
            &self.args.name
        }

        fn validate(&self) -> $crate::error::Result<()> {
            $crate::layers::rnn::validate(self, &self.args, $crate::layers::rnn::Recurrent::cell(self))
        }

        fn compute_output_shape(
            &self,
            inputs: &[kiln_ir::TensorType],
        ) -> $crate::error::Result<Vec<kiln_ir::TensorType>> {
            $crate::layers::rnn::output_types(
                self,
                &self.args,
                $crate::layers::rnn::Recurrent::cell(self),
                inputs,
            )
        }

        fn emit(
            &self,
            ctx: &mut $crate::layer::EmitContext,
            inputs: &[kiln_ir::ValueId],
        ) -> $crate::error::Result<Vec<kiln_ir::ValueId>> {
            Ok(self.emit_masked(ctx, inputs, &[])?.0)
        }

        fn config(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }

        fn trainable(&self) -> bool {
            self.args.trainable
        }

        fn passes_mask(&self) -> bool {
            true
        }

        fn compute_output_masks(
            &self,
            inputs: &[kiln_ir::TensorType],
            masks: &[Option<kiln_ir::Shape>],
        ) -> $crate::error::Result<Vec<Option<kiln_ir::Shape>>> {
            $crate::layers::rnn::output_masks(self, &self.args, inputs, masks)
        }

        fn emit_masked(
            &self,
            ctx: &mut $crate::layer::EmitContext,
            inputs: &[kiln_ir::ValueId],
            masks: &[Option<kiln_ir::ValueId>],
        ) -> $crate::error::Result<(Vec<kiln_ir::ValueId>, Vec<Option<kiln_ir::ValueId>>)> {
            $crate::layers::rnn::emit_layer(
                ctx,
                &self.args,
                $crate::layers::rnn::Recurrent::cell(self),
                inputs[0],
                masks.first().copied().flatten(),
            )
        }
    };
}

pub(crate) use rnn_layer_methods;

#[cfg(test)]
mod tests {
    use crate::layers::{Bidirectional, Dense, GRU, LSTM, Masking, SimpleRNN};
    use crate::model::{Apply, Input, Model};
    use crate::{DType, Layer, Tensor};

    fn sequence() -> Tensor {
        // Two samples of 5 steps × 2 features; sample 0 has zero steps 2 and 4.
        let mut v: Vec<f32> = (0..20).map(|i| ((i as f32) * 0.7).sin()).collect();
        for t in [2, 4] {
            v[t * 2] = 0.0;
            v[t * 2 + 1] = 0.0;
        }
        Tensor::from_f32(v, vec![2, 5, 2]).unwrap()
    }

    fn rows(t: &Tensor, width: usize) -> Vec<Vec<f32>> {
        t.to_f32().chunks(width).map(<[f32]>::to_vec).collect()
    }

    #[test]
    fn masked_steps_repeat_the_previous_output() {
        for layer in [
            Box::new(SimpleRNN::new(3).return_sequences(true)) as Box<dyn Layer>,
            Box::new(LSTM::new(3).return_sequences(true)),
            Box::new(GRU::new(3).return_sequences(true)),
        ] {
            let x = Input::new([5, 2]);
            let m = Masking::new().apply(&x).unwrap();
            let y = layer.apply_all(&[&m]).unwrap().remove(0);
            assert_eq!(y.mask_shape().unwrap().keras_string(), "(None, 5)");
            let model = Model::new(&[&x], &[&y]).unwrap();
            let out = rows(&model.predict(sequence()).unwrap(), 3);
            // Sample 0: steps 2 and 4 are masked.
            assert_eq!(out[2], out[1], "{}", layer.class_name());
            assert_eq!(out[4], out[3]);
            assert_ne!(out[1], out[0]);
            // Sample 1 is not masked.
            assert_ne!(out[7], out[6]);
        }
    }

    #[test]
    fn an_explicit_mask_works_as_a_carried_one() {
        let x = Input::new([5, 2]);
        let keep = Input::with_dtype([5], DType::I32);
        let layer = LSTM::new(2).return_sequences(true).name("shared");
        let explicit = layer.apply_with_mask(&x, &keep).unwrap().remove(0);
        let carried = layer.apply(&Masking::new().apply(&x).unwrap()).unwrap();
        let model = Model::new(&[&x, &keep], &[&explicit, &carried]).unwrap();
        let k = Tensor::from_i32(vec![1, 1, 0, 1, 0, 1, 1, 1, 1, 1], vec![2, 5]).unwrap();
        let outs = model.predict_multi(vec![sequence(), k], Default::default()).unwrap();
        assert_eq!(outs[0].to_f32(), outs[1].to_f32());
        let err = layer.apply_with_mask(&x, &Input::new([4])).unwrap_err().to_string();
        assert!(err.contains("expected a mask of shape (None, 5)"), "{err}");
    }

    #[test]
    fn dense_passes_the_mask_and_a_last_output_drops_it() {
        let x = Input::new([5, 2]);
        let m = Masking::new().apply(&x).unwrap();
        let d = Dense::new(3).apply(&m).unwrap();
        assert_eq!(d.mask_shape().unwrap().keras_string(), "(None, 5)");
        let last = GRU::new(2).apply(&d).unwrap();
        assert!(last.mask_shape().is_none());
        let both = Bidirectional::new(LSTM::new(2).return_sequences(true))
            .merge_mode(None)
            .apply_all(&[&d])
            .unwrap();
        assert!(both.iter().all(|t| t.mask_shape().is_some()));
    }

    #[test]
    fn zero_output_for_mask_zeroes_masked_steps() {
        let x = Input::new([5, 2]);
        let m = Masking::new().apply(&x).unwrap();
        let y = SimpleRNN::new(2)
            .return_sequences(true)
            .zero_output_for_mask(true)
            .apply(&m)
            .unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let out = rows(&model.predict(sequence()).unwrap(), 2);
        assert_eq!(out[2], vec![0.0, 0.0]);
        assert_eq!(out[4], vec![0.0, 0.0]);
    }

    #[test]
    fn dropout_is_inactive_in_inference() {
        let x = Input::new([4, 3]);
        let y = LSTM::new(3).dropout(0.5).recurrent_dropout(0.5).apply(&x).unwrap();
        let plain = LSTM::new(3).name("plain").apply(&x).unwrap();
        let mut model = Model::new(&[&x], &[&y, &plain]).unwrap();
        let w = model.get_weights().unwrap();
        let half = w.len() / 2;
        let same: Vec<_> = w[..half].iter().chain(&w[..half]).cloned().collect();
        model.set_weights(&same).unwrap();
        let xs = Tensor::from_f32((0..24).map(|i| (i as f32 * 0.3).cos()).collect(), vec![2, 4, 3]).unwrap();
        let outs = model.predict_multi(xs, Default::default()).unwrap();
        assert_eq!(outs[0].to_f32(), outs[1].to_f32());
    }
}
