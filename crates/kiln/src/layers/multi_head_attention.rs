//! `MultiHeadAttention`: the multi-head scaled dot-product attention of "Attention is all
//! you need".

use super::attention::{causal_mask, check_dropout, mask_as_float};
use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use crate::regularizers::{self, Regularizer};
use kiln_ir::{Activation, DType, Initializer, Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Multi-head attention, Keras's `MultiHeadAttention`.
///
/// The query, key and value are projected to `num_heads` heads (`key_dim` features per head
/// for query and key, `value_dim` for the value); each head computes
/// `softmax(q kᵀ / √key_dim) v`; the heads are projected together to the output.
///
/// # Inputs: one list
/// - `[query, value]` — the key is the value (self-attention: `[x, x]`);
/// - `[query, value, key]`;
/// - `[query, value, key, attention_mask]` — to give a mask without a separate key, pass the
///   value again as the key.
///
/// `query` is `(batch, T, query_dim)`, `value` `(batch, S, value_features)` and `key`
/// `(batch, S, key_features)`. `attention_mask` is `(batch, T, S)` of any element type:
/// query step `t` may attend to key step `s` where it is non-zero. More axes between the batch
/// and the features are attended over together (Keras's default `attention_axes`); the mask
/// then has shape `(batch, *T, *S)`.
///
/// The masks the inputs carry (`Embedding(mask_zero)`, `Masking`, …) also apply, as Keras's
/// `query_mask`, `value_mask` and `key_mask`: masked keys get no weight and masked query rows
/// are fully masked (see below). The output carries the query's mask.
///
/// # Arguments
/// - `num_heads`, `key_dim`: positive; `value_dim`: default `key_dim`.
/// - `dropout`: fraction of the attention weights dropped in training; default `0`.
/// - `use_bias`: biases in the four projections; default `true`.
/// - `output_shape`: the output's feature shape, default the query's last dimension.
/// - `attention_axes`: only Keras's default, the axes between the batch and the features
///   (`None`, or those axes written out); other values are refused.
/// - `use_gate`: a sigmoid gate projected from the query multiplies the heads' outputs.
/// - `kernel_initializer` (default `"glorot_uniform"`), `bias_initializer` (`"zeros"`),
///   `kernel_regularizer`, `bias_regularizer`, `activity_regularizer` (on each projection's
///   output, as Keras), `kernel_constraint`, `bias_constraint`: shared by the projections.
/// - `seed`: kept in the config; Kiln draws dropout masks from its own seeded generator.
/// - `use_causal_mask`: a call argument in Keras, a layer option here: query step `t` attends
///   only to key steps `s <= t` (rank-3 inputs).
/// - `return_attention_scores`: a call argument in Keras, a layer option here: a second output,
///   the attention weights `(batch, num_heads, T, S)` (before dropout). Keras declares them
///   `(batch, num_heads, T, T)` and returns `(batch, num_heads, T, S)`; Kiln declares what is
///   returned.
///
/// # Masked rows
/// Kiln follows Keras 3 on JAX: a query step whose every key is masked attends uniformly to
/// all keys, except with `dropout > 0`, `return_attention_scores` or more than one attention
/// axis (Keras's explicit path, which zeroes the masked weights), where its weights are zero
/// and its output is the output bias.
///
/// # Weights
/// In Keras's order: `query/kernel` `(query_dim, num_heads, key_dim)`, `query/bias`
/// `(num_heads, key_dim)`, `key/…`, (`gate/…`), `value/kernel` `(value_features, num_heads,
/// value_dim)`, `value/bias`, `attention_output/kernel` `(num_heads, value_dim, *output_shape)`,
/// `attention_output/bias` `output_shape`.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([10, 16]);
/// let mha = MultiHeadAttention::new(4, 8).use_causal_mask(true);
/// let y = mha.apply_list(&[&x, &x])?;
/// assert_eq!(y.shape().keras_string(), "(None, 10, 16)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultiHeadAttention {
    /// Layer name.
    pub name: String,
    /// Number of attention heads.
    pub num_heads: usize,
    /// Features per head of the query and key.
    pub key_dim: usize,
    /// Features per head of the value (default `key_dim`).
    #[serde(default)]
    pub value_dim: Option<usize>,
    /// Dropout rate on the attention weights (training only).
    pub dropout: f32,
    /// Whether the projections have biases.
    pub use_bias: bool,
    /// The output's feature shape (default: the query's last dimension).
    #[serde(default)]
    pub output_shape: Option<Vec<usize>>,
    /// The attended axes; only Keras's default is supported.
    #[serde(default)]
    pub attention_axes: Option<Vec<i64>>,
    /// A sigmoid gate from the query on the heads' outputs.
    #[serde(default)]
    pub use_gate: bool,
    /// Kernel initializer of the projections.
    pub kernel_initializer: InitializerArg,
    /// Bias initializer of the projections.
    pub bias_initializer: InitializerArg,
    /// Penalty on each kernel, added to the loss.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on each bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
    /// Penalty on each projection's output (divided by the batch size, as Keras).
    #[serde(default)]
    pub activity_regularizer: Option<Regularizer>,
    /// Constraint on each kernel after each step.
    #[serde(default)]
    pub kernel_constraint: Option<ConstraintArg>,
    /// Constraint on each bias after each step.
    #[serde(default)]
    pub bias_constraint: Option<ConstraintArg>,
    /// Keras's dropout seed (kept for the config; Kiln's generator draws the masks).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Query step `t` attends only to key steps `s <= t`.
    #[serde(default)]
    pub use_causal_mask: bool,
    /// Also output the attention weights.
    #[serde(default)]
    pub return_attention_scores: bool,
    /// Whether training updates the weights.
    pub trainable: bool,
}

/// The sizes a call works with.
struct Plan {
    /// The attended query axes (`T`) and key axes (`S`).
    t_dims: Vec<usize>,
    s_dims: Vec<usize>,
    /// Feature sizes of query, value and key.
    query_dim: usize,
    value_features: usize,
    key_features: usize,
    /// The output's feature shape.
    out_dims: Vec<usize>,
}

impl MultiHeadAttention {
    /// `num_heads` heads of `key_dim` features, with Keras's defaults.
    pub fn new(num_heads: usize, key_dim: usize) -> Self {
        MultiHeadAttention {
            name: unique_name("multi_head_attention"),
            num_heads,
            key_dim,
            value_dim: None,
            dropout: 0.0,
            use_bias: true,
            output_shape: None,
            attention_axes: None,
            use_gate: false,
            kernel_initializer: "glorot_uniform".into(),
            bias_initializer: "zeros".into(),
            kernel_regularizer: None,
            bias_regularizer: None,
            activity_regularizer: None,
            kernel_constraint: None,
            bias_constraint: None,
            seed: None,
            use_causal_mask: false,
            return_attention_scores: false,
            trainable: true,
        }
    }

    /// Features per head of the value.
    pub fn value_dim(mut self, value_dim: usize) -> Self {
        self.value_dim = Some(value_dim);
        self
    }

    /// Dropout rate on the attention weights.
    pub fn dropout(mut self, rate: f32) -> Self {
        self.dropout = rate;
        self
    }

    /// Biases in the projections or not.
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    /// The output's feature shape: `7` or `[2, 3]`.
    pub fn output_shape(mut self, shape: impl super::Sizes) -> Self {
        self.output_shape = Some(shape.sizes(1));
        self
    }

    /// The attended axes; only Keras's default (the axes between the batch and the features)
    /// is supported, so this is for configs that spell it out.
    pub fn attention_axes(mut self, axes: impl IntoIterator<Item = i64>) -> Self {
        self.attention_axes = Some(axes.into_iter().collect());
        self
    }

    /// A sigmoid gate from the query on the heads' outputs.
    pub fn use_gate(mut self, use_gate: bool) -> Self {
        self.use_gate = use_gate;
        self
    }

    /// Sets the kernel initializer (a name or an [`Initializer`](crate::initializers::Initializer)).
    pub fn kernel_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.kernel_initializer = init.into();
        self
    }

    /// Sets the bias initializer.
    pub fn bias_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.bias_initializer = init.into();
        self
    }

    /// Penalises every kernel.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.kernel_regularizer = Some(r);
        self
    }

    /// Penalises every bias.
    pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
        self.bias_regularizer = Some(r);
        self
    }

    /// Penalises every projection's output.
    pub fn activity_regularizer(mut self, r: Regularizer) -> Self {
        self.activity_regularizer = Some(r);
        self
    }

    /// Constrains every kernel after each optimizer step.
    pub fn kernel_constraint(mut self, c: ConstraintArg) -> Self {
        self.kernel_constraint = Some(c);
        self
    }

    /// Constrains every bias after each optimizer step.
    pub fn bias_constraint(mut self, c: ConstraintArg) -> Self {
        self.bias_constraint = Some(c);
        self
    }

    /// Keras's dropout seed (kept in the config only).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Masks the future: query step `t` attends only to key steps `s <= t`.
    pub fn use_causal_mask(mut self, causal: bool) -> Self {
        self.use_causal_mask = causal;
        self
    }

    /// Adds a second output, the attention weights `(batch, num_heads, T, S)`.
    pub fn return_attention_scores(mut self, scores: bool) -> Self {
        self.return_attention_scores = scores;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Freezes (`false`) or unfreezes the weights.
    pub fn trainable(mut self, trainable: bool) -> Self {
        self.trainable = trainable;
        self
    }

    fn head_value_dim(&self) -> usize {
        self.value_dim.unwrap_or(self.key_dim)
    }

    /// Checks the inputs and works out the sizes.
    fn plan(&self, inputs: &[TensorType]) -> Result<Plan> {
        let (q, v, k, mask) = match inputs {
            [q, v] => (q, v, v, None),
            [q, v, k] => (q, v, k, None),
            [q, v, k, m] => (q, v, k, Some(m)),
            _ => {
                return Err(incompatible(
                    self,
                    format!(
                        "expected a list [query, value], [query, value, key] or [query, value, key, attention_mask], \
                         received {} input(s)",
                        inputs.len()
                    ),
                ));
            }
        };
        for (what, t) in [("query", q), ("value", v), ("key", k)] {
            if t.dtype != DType::F32 {
                return Err(incompatible(
                    self,
                    format!("the {what} must be a float tensor, received {t}"),
                ));
            }
        }
        let (qs, vs, ks) = (&q.shape, &v.shape, &k.shape);
        let r = qs.rank();
        if r < 3 || vs.rank() != r || ks.rank() != r {
            return Err(incompatible(
                self,
                format!(
                    "query, value and key must have the same rank, at least 3 ((batch, steps, features)). \
                     Received: query_shape={}, value_shape={}, key_shape={}",
                    qs.keras_string(),
                    vs.keras_string(),
                    ks.keras_string()
                ),
            ));
        }
        if vs.dims()[1..r - 1] != ks.dims()[1..r - 1] {
            return Err(incompatible(
                self,
                format!(
                    "All dimensions of `value` and `key`, except the last one, must be equal. Received: value_shape={} and key_shape={}",
                    vs.keras_string(),
                    ks.keras_string()
                ),
            ));
        }
        let fixed = |s: &Shape, what: &str| -> Result<Vec<usize>> {
            s.dims()[1..]
                .iter()
                .map(|d| {
                    d.ok_or_else(|| {
                        incompatible(
                            self,
                            format!("the {what} needs fixed dimensions, received shape {}", s.keras_string()),
                        )
                    })
                })
                .collect()
        };
        let (qd, vd, kd) = (fixed(qs, "query")?, fixed(vs, "value")?, fixed(ks, "key")?);
        let t_dims = qd[..r - 2].to_vec();
        let s_dims = vd[..r - 2].to_vec();
        if let Some(axes) = &self.attention_axes {
            let mut resolved: Vec<i64> = axes.iter().map(|&a| if a < 0 { r as i64 + a } else { a }).collect();
            resolved.sort_unstable();
            resolved.dedup();
            let default: Vec<i64> = (1..r as i64 - 1).collect();
            if resolved != default {
                return Err(incompatible(
                    self,
                    format!(
                        "attention_axes={axes:?} is not supported: Kiln attends over the axes between the batch and the \
                         features only, Keras's default, which is {default:?} for inputs of rank {r}"
                    ),
                ));
            }
        }
        if self.use_causal_mask && r != 3 {
            return Err(incompatible(
                self,
                format!(
                    "use_causal_mask needs inputs of rank 3 (batch, steps, features). Received: query_shape={}",
                    qs.keras_string()
                ),
            ));
        }
        if let Some(m) = mask {
            let mut want = vec![None];
            want.extend(t_dims.iter().chain(&s_dims).map(|&d| Some(d)));
            let want = Shape(want);
            if m.shape != want {
                return Err(incompatible(
                    self,
                    format!(
                        "the attention_mask must have shape (batch, T, S) = {} for query_shape={} and value_shape={}. \
                         Received: attention_mask.shape={}",
                        want.keras_string(),
                        qs.keras_string(),
                        vs.keras_string(),
                        m.shape.keras_string()
                    ),
                ));
            }
        }
        let out_dims = match &self.output_shape {
            Some(o) if !o.is_empty() => o.clone(),
            _ => vec![qd[r - 2]],
        };
        if out_dims.len() > 4 || r - 1 + out_dims.len() > 6 {
            return Err(incompatible(
                self,
                format!(
                    "the output (batch, *T, *output_shape) would have rank {} (at most 6 is supported)",
                    r - 1 + out_dims.len()
                ),
            ));
        }
        if self.return_attention_scores && 2 + t_dims.len() + s_dims.len() > 6 {
            return Err(incompatible(
                self,
                format!(
                    "the attention scores (batch, num_heads, *T, *S) would have rank {} (at most 6 is supported)",
                    2 + t_dims.len() + s_dims.len()
                ),
            ));
        }
        Ok(Plan {
            t_dims,
            s_dims,
            query_dim: qd[r - 2],
            value_features: vd[r - 2],
            key_features: kd[r - 2],
            out_dims,
        })
    }

    /// Keras's `EinsumDense` projection: `x (batch, steps, Π bound) @ kernel (*bound, *out)`
    /// (+ bias `out`), flattened to `(batch, steps, Π out)`.
    fn einsum_dense(
        &self,
        ctx: &mut EmitContext,
        x: ValueId,
        name: &str,
        bound: &[usize],
        out: &[usize],
    ) -> Result<ValueId> {
        let kernel_shape: Vec<usize> = bound.iter().chain(out).copied().collect();
        let (n_in, n_out) = (bound.iter().product::<usize>(), out.iter().product::<usize>());
        let kernel = ctx.weight(
            &format!("{name}/kernel"),
            Shape::fixed(kernel_shape.clone()),
            einsum_initializer(self.kernel_initializer.resolve()?, n_in, n_out),
        )?;
        regularizers::apply(ctx, &self.kernel_regularizer, kernel)?;
        constraints::apply(ctx, &self.kernel_constraint, kernel, kernel_shape.len())?;
        let k2 = ctx.reshape(kernel, Shape::fixed([n_in, n_out]))?;
        let mut y = ctx.matmul(x, k2)?;
        if self.use_bias {
            let bias = ctx.weight(
                &format!("{name}/bias"),
                Shape::fixed(out.to_vec()),
                self.bias_initializer.resolve()?,
            )?;
            regularizers::apply(ctx, &self.bias_regularizer, bias)?;
            constraints::apply(ctx, &self.bias_constraint, bias, out.len())?;
            let b1 = ctx.reshape(bias, Shape::fixed([n_out]))?;
            y = ctx.bias_add(y, b1)?;
        }
        Ok(y)
    }

    fn activity(&self, ctx: &mut EmitContext, y: ValueId) -> Result<()> {
        match &self.activity_regularizer {
            Some(r) => r.emit_activity(ctx, y),
            None => Ok(()),
        }
    }
}

/// Keras's `EinsumDense` gives a variance-scaling initializer the fans of its equation,
/// `fan_in` = the contracted size and `fan_out` = the produced size (not the fans of the kernel
/// shape, which treat a rank-3 kernel as a convolution's): the same distribution, explicitly.
fn einsum_initializer(init: Initializer, fan_in: usize, fan_out: usize) -> Initializer {
    /// Keras's stddev correction of a normal truncated at two standard deviations.
    const TRUNCATED_STDDEV_CORRECTION: f64 = 0.879_625_661_034_239_8;
    let fan_in = (fan_in as f64).max(1.0);
    let fan_avg = (fan_in + fan_out as f64) / 2.0;
    let uniform = |limit: f64| Initializer::RandomUniform {
        minval: -limit as f32,
        maxval: limit as f32,
    };
    let truncated = |scale: f64, fan: f64| Initializer::TruncatedNormal {
        mean: 0.0,
        stddev: ((scale / fan).sqrt() / TRUNCATED_STDDEV_CORRECTION) as f32,
    };
    match init {
        Initializer::GlorotUniform => uniform((3.0 / fan_avg.max(1.0)).sqrt()),
        Initializer::GlorotNormal => truncated(1.0, fan_avg.max(1.0)),
        Initializer::HeNormal => truncated(2.0, fan_in),
        Initializer::HeUniform => uniform((6.0 / fan_in).sqrt()),
        Initializer::LecunNormal => truncated(1.0, fan_in),
        Initializer::LecunUniform => uniform((3.0 / fan_in).sqrt()),
        other => other,
    }
}

impl Layer for MultiHeadAttention {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "MultiHeadAttention"
    }

    fn validate(&self) -> Result<()> {
        if self.num_heads == 0 {
            return Err(bad_argument(
                self,
                "Received an invalid value for argument `num_heads`, expected a positive integer. Received: num_heads=0",
            ));
        }
        if self.key_dim == 0 {
            return Err(bad_argument(
                self,
                "Received an invalid value for argument `key_dim`, expected a positive integer. Received: key_dim=0",
            ));
        }
        if self.value_dim == Some(0) {
            return Err(bad_argument(
                self,
                "Received an invalid value for argument `value_dim`, expected a positive integer or `None`. Received: value_dim=0",
            ));
        }
        if let Some(o) = &self.output_shape
            && o.contains(&0)
        {
            return Err(bad_argument(
                self,
                format!("Invalid `output_shape`: {o:?}: every size must be positive"),
            ));
        }
        check_dropout(self, self.dropout)?;
        self.kernel_initializer
            .resolve()
            .map_err(|e| bad_argument(self, e.to_string()))?;
        self.bias_initializer
            .resolve()
            .map_err(|e| bad_argument(self, e.to_string()))?;
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let p = self.plan(inputs)?;
        let mut out = vec![None];
        out.extend(p.t_dims.iter().chain(&p.out_dims).map(|&d| Some(d)));
        let mut types = vec![TensorType::f32(Shape(out))];
        if self.return_attention_scores {
            let mut s = vec![None, Some(self.num_heads)];
            s.extend(p.t_dims.iter().chain(&p.s_dims).map(|&d| Some(d)));
            types.push(TensorType::f32(Shape(s)));
        }
        Ok(types)
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        self.emit_with(ctx, inputs, &[])
    }

    fn compute_output_masks(&self, inputs: &[TensorType], masks: &[Option<Shape>]) -> Result<Vec<Option<Shape>>> {
        let p = self.plan(inputs)?;
        let carried = |i: usize| masks.get(i).cloned().flatten();
        for (i, what) in ["query", "value", "key"].iter().enumerate().take(inputs.len().min(3)) {
            let Some(m) = carried(i) else { continue };
            let steps = if i == 0 { &p.t_dims } else { &p.s_dims };
            let want = Shape(std::iter::once(None).chain(steps.iter().map(|&d| Some(d))).collect());
            if steps.len() != 1 || m != want {
                return Err(incompatible(
                    self,
                    format!(
                        "the {what} carries a mask of shape {}; a mask (batch, steps) = {} of inputs of rank 3 is expected \
                         ({what} shape {})",
                        m.keras_string(),
                        want.keras_string(),
                        inputs[i].shape.keras_string()
                    ),
                ));
            }
        }
        Ok(vec![carried(0)])
    }

    fn emit_masked(
        &self,
        ctx: &mut EmitContext,
        inputs: &[ValueId],
        masks: &[Option<ValueId>],
    ) -> Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
        let outputs = self.emit_with(ctx, inputs, masks)?;
        Ok((outputs, vec![masks.first().copied().flatten()]))
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn takes_list(&self) -> bool {
        true
    }

    fn trainable(&self) -> bool {
        self.trainable
    }
}

impl MultiHeadAttention {
    /// Emits the layer; `carried` are the masks the inputs carry (Keras's query, value and key
    /// masks).
    fn emit_with(
        &self,
        ctx: &mut EmitContext,
        inputs: &[ValueId],
        carried: &[Option<ValueId>],
    ) -> Result<Vec<ValueId>> {
        let types = inputs.iter().map(|&v| ctx.value_type(v)).collect::<Result<Vec<_>>>()?;
        let p = self.plan(&types)?;
        let (query, value) = (inputs[0], inputs[1]);
        let key = inputs.get(2).copied().unwrap_or(value);
        let mask = inputs.get(3).copied();
        let (n, h, hv) = (self.num_heads, self.key_dim, self.head_value_dim());
        let t: usize = p.t_dims.iter().product();
        let s: usize = p.s_dims.iter().product();
        // The attended axes flattened: (batch, T, features).
        let flat = |ctx: &mut EmitContext, x: ValueId, steps: usize, features: usize| {
            ctx.reshape(x, Shape(vec![None, Some(steps), Some(features)]))
        };
        let query = flat(ctx, query, t, p.query_dim)?;
        let key = flat(ctx, key, s, p.key_features)?;
        let value = flat(ctx, value, s, p.value_features)?;

        // Projections, in Keras's order: query, key, gate, value.
        let q = self.einsum_dense(ctx, query, "query", &[p.query_dim], &[n, h])?;
        self.activity(ctx, q)?;
        let k = self.einsum_dense(ctx, key, "key", &[p.key_features], &[n, h])?;
        self.activity(ctx, k)?;
        let gate = if self.use_gate {
            let g = self.einsum_dense(ctx, query, "gate", &[p.query_dim], &[n, hv])?;
            let g = ctx.activation(Activation::Sigmoid, g)?;
            self.activity(ctx, g)?;
            Some(g)
        } else {
            None
        };
        let v = self.einsum_dense(ctx, value, "value", &[p.value_features], &[n, hv])?;
        self.activity(ctx, v)?;

        // Heads: q (B, N, T, H), kᵀ (B, N, H, S), v (B, N, S, Hv).
        let q = ctx.reshape(q, Shape(vec![None, Some(t), Some(n), Some(h)]))?;
        let q = ctx.transpose(q, vec![0, 2, 1, 3])?;
        let k = ctx.reshape(k, Shape(vec![None, Some(s), Some(n), Some(h)]))?;
        let k = ctx.transpose(k, vec![0, 2, 3, 1])?;
        let v = ctx.reshape(v, Shape(vec![None, Some(s), Some(n), Some(hv)]))?;
        let v = ctx.transpose(v, vec![0, 2, 1, 3])?;

        // Keras on JAX takes the fused `dot_product_attention` path unless dropout, the scores
        // or several attention axes ask for the explicit one: it scales the logits rather than
        // the query, and leaves a fully masked row's softmax uniform.
        let fused = self.dropout == 0.0 && !self.return_attention_scores && p.t_dims.len() == 1;
        let inv_sqrt = (1.0f64 / (self.key_dim as f64).sqrt()) as f32;
        let q = if fused { q } else { ctx.scale(q, inv_sqrt)? };
        let mut logits = ctx.matmul(q, k)?;
        if fused {
            logits = ctx.scale(logits, inv_sqrt)?;
        }
        let mut keep = None;
        if let Some(m) = mask {
            let m = mask_as_float(ctx, m)?;
            keep = Some(ctx.reshape(m, Shape(vec![None, Some(1), Some(t), Some(s)]))?);
        }
        // The carried masks: query (batch, T) → (batch, 1, T, 1); value and key (batch, S) →
        // (batch, 1, 1, S). Keras ignores the key's mask when no key is given.
        let carried = |i: usize| carried.get(i).copied().flatten();
        let key_mask = if inputs.len() >= 3 { carried(2) } else { None };
        for (m, shape) in [
            (carried(0), [None, Some(1), Some(t), Some(1)]),
            (carried(1), [None, Some(1), Some(1), Some(s)]),
            (key_mask, [None, Some(1), Some(1), Some(s)]),
        ] {
            if let Some(m) = m {
                let m = mask_as_float(ctx, m)?;
                let m = ctx.reshape(m, Shape(shape.to_vec()))?;
                keep = Some(match keep {
                    Some(k) => ctx.mul(k, m)?,
                    None => m,
                });
            }
        }
        if self.use_causal_mask {
            let c = causal_mask(ctx, t, s)?;
            keep = Some(match keep {
                Some(m) => ctx.mul(m, c)?,
                None => c,
            });
        }
        if let Some(m) = keep {
            // where(mask, logits, -1e9)
            let kept = ctx.mul(logits, m)?;
            let off = ctx.add_scalar(m, -1.0)?;
            let penalty = ctx.scale(off, 1.0e9)?;
            logits = ctx.add(kept, penalty)?;
        }
        let mut weights = ctx.activation(Activation::Softmax { axis: 3 }, logits)?;
        if let (Some(m), false) = (keep, fused) {
            // Keras's Softmax layer zeroes the masked weights (a fully masked row gives zeros).
            weights = ctx.mul(weights, m)?;
        }
        let scores = weights;
        if self.dropout > 0.0 {
            weights = ctx.push(
                Op::Dropout {
                    rate: self.dropout,
                    shared_axes: vec![],
                },
                &[weights],
            )?;
        }
        let heads = ctx.matmul(weights, v)?;
        let heads = ctx.transpose(heads, vec![0, 2, 1, 3])?;
        let mut heads = ctx.reshape(heads, Shape(vec![None, Some(t), Some(n * hv)]))?;
        if let Some(g) = gate {
            heads = ctx.mul(heads, g)?;
        }
        let out = self.einsum_dense(ctx, heads, "attention_output", &[n, hv], &p.out_dims)?;
        self.activity(ctx, out)?;
        let mut out_shape = vec![None];
        out_shape.extend(p.t_dims.iter().chain(&p.out_dims).map(|&d| Some(d)));
        let out = ctx.reshape(out, Shape(out_shape))?;
        if !self.return_attention_scores {
            return Ok(vec![out]);
        }
        let mut scores_shape = vec![None, Some(n)];
        scores_shape.extend(p.t_dims.iter().chain(&p.s_dims).map(|&d| Some(d)));
        let scores = ctx.reshape(scores, Shape(scores_shape))?;
        Ok(vec![out, scores])
    }
}

impl crate::keras::FromKeras for MultiHeadAttention {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let num_heads = c
            .usize("num_heads")?
            .ok_or_else(|| c.error("num_heads", "is required"))?;
        let key_dim = c.usize("key_dim")?.ok_or_else(|| c.error("key_dim", "is required"))?;
        let mut layer = MultiHeadAttention::new(num_heads, key_dim);
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(t) = trainable {
            layer.trainable = t;
        }
        layer.value_dim = c.usize("value_dim")?;
        if let Some(d) = c.f32("dropout")? {
            layer.dropout = d;
        }
        if let Some(b) = c.bool("use_bias")? {
            layer.use_bias = b;
        }
        if let Some(o) = c.get("output_shape") {
            let dims = o
                .as_u64()
                .map(|n| vec![n as usize])
                .or_else(|| o.as_array().and_then(|a| a.iter().map(|x| x.as_u64().map(|n| n as usize)).collect()))
                .ok_or_else(|| {
                    c.error(
                        "output_shape",
                        format!("Invalid `output_shape`: {o}. When specified, the `output_shape` should be of type tuple, list, or int."),
                    )
                })?;
            layer.output_shape = (!dims.is_empty()).then_some(dims);
        }
        layer.attention_axes = c.i64s("attention_axes")?;
        if let Some(w) = c.get("sliding_window") {
            return Err(c.error("sliding_window", format!("is not supported (received {w})")));
        }
        // A kernel choice in Keras; the numbers are the same.
        let _ = c.bool("flash_attention")?;
        if let Some(g) = c.bool("use_gate")? {
            layer.use_gate = g;
        }
        if let Some(i) = c.initializer("kernel_initializer")? {
            layer.kernel_initializer = i;
        }
        if let Some(i) = c.initializer("bias_initializer")? {
            layer.bias_initializer = i;
        }
        layer.kernel_regularizer = c.regularizer("kernel_regularizer")?;
        layer.bias_regularizer = c.regularizer("bias_regularizer")?;
        layer.activity_regularizer = c.regularizer("activity_regularizer")?;
        layer.kernel_constraint = c.constraint("kernel_constraint")?;
        layer.bias_constraint = c.constraint("bias_constraint")?;
        layer.seed = c.usize("seed")?.map(|s| s as u64);
        // Keras's call arguments, which Kiln takes as layer options.
        if let Some(b) = c.bool("use_causal_mask")? {
            layer.use_causal_mask = b;
        }
        if let Some(b) = c.bool("return_attention_scores")? {
            layer.return_attention_scores = b;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;

    #[test]
    fn shapes_params_and_config() {
        let (q, v) = (Shape::batched([4, 5]), Shape::batched([6, 5]));
        check_layer(&MultiHeadAttention::new(2, 3), &[q.clone(), q.clone()], q.clone(), 143);
        check_layer(&MultiHeadAttention::new(2, 3), &[q.clone(), v.clone()], q.clone(), 143);
        check_layer(
            &MultiHeadAttention::new(2, 3).value_dim(4).output_shape(7).dropout(0.1),
            &[q.clone(), v.clone(), Shape::batched([6, 2])],
            Shape::batched([4, 7]),
            5 * 6 + 6 + 2 * 6 + 6 + 5 * 8 + 8 + 8 * 7 + 7,
        );
        check_layer(
            &MultiHeadAttention::new(2, 3).use_bias(false).use_causal_mask(true),
            &[q.clone(), v.clone()],
            q.clone(),
            120,
        );
        check_layer(
            &MultiHeadAttention::new(2, 3).use_gate(true).output_shape([2, 3]),
            &[q.clone(), v.clone()],
            Shape::batched([4, 2, 3]),
            3 * (5 * 6 + 6) + (5 * 6 + 6) + (2 * 3 * 6 + 6),
        );
        // Two attention axes, attended together.
        check_layer(
            &MultiHeadAttention::new(2, 2).attention_axes([1, 2]),
            &[Shape::batched([2, 3, 4]), Shape::batched([3, 2, 4])],
            Shape::batched([2, 3, 4]),
            3 * (4 * 4 + 4) + 4 * 4 + 4,
        );
    }

    #[test]
    fn fully_masked_rows_follow_keras() {
        use crate::model::{Apply, Input, Model};
        // One query row fully masked: uniform weights on the fused path, zeros on the other.
        let q = Input::new([2, 3]);
        let v = Input::new([3, 3]);
        let m = Input::with_dtype([2, 3], DType::I32);
        let run = |layer: MultiHeadAttention| {
            let outs = layer.apply_all(&[&q, &v, &v, &m]).unwrap();
            let refs: Vec<_> = outs.iter().collect();
            let model = Model::new(&[&q, &v, &m], &refs[..1]).unwrap();
            let xs = vec![
                crate::Tensor::from_f32((0..6).map(|i| i as f32 * 0.1).collect(), vec![1, 2, 3]).unwrap(),
                crate::Tensor::from_f32((0..9).map(|i| (i as f32).sin()).collect(), vec![1, 3, 3]).unwrap(),
                crate::Tensor::from_i32(vec![1, 0, 1, 0, 0, 0], vec![1, 2, 3]).unwrap(),
            ];
            model.predict(xs).unwrap().to_f32()
        };
        // The same weights for both: every kernel and bias is ones.
        let layer = MultiHeadAttention::new(1, 2)
            .kernel_initializer("ones")
            .bias_initializer("ones");
        let fused = run(layer.clone().name("f"));
        let explicit = run(layer.name("e").return_attention_scores(true));
        // Row 0 agrees; row 1 is the output bias (ones) on the explicit path only.
        assert!(fused[..3].iter().zip(&explicit[..3]).all(|(a, b)| (a - b).abs() < 1e-6));
        assert_eq!(&explicit[3..], &[1.0, 1.0, 1.0]);
        assert_ne!(&fused[3..], &[1.0, 1.0, 1.0]);
    }

    #[test]
    fn kernels_use_keras_einsum_fans() {
        // query/kernel (5, 2, 3): fan_in 5, fan_out 6, so glorot's limit is sqrt(6 / 11).
        let init = einsum_initializer(Initializer::GlorotUniform, 5, 6);
        let limit = (6.0f64 / 11.0).sqrt() as f32;
        assert_eq!(
            init,
            Initializer::RandomUniform {
                minval: -limit,
                maxval: limit
            }
        );
        assert_eq!(einsum_initializer(Initializer::Zeros, 5, 6), Initializer::Zeros);
    }

    #[test]
    fn builds_from_a_built_keras_config() {
        // `MultiHeadAttention(2, 3, output_shape=7).get_config()` after a call on (None, 4, 5).
        let config = serde_json::json!({"name": "multi_head_attention", "trainable": true,
            "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
            "num_heads": 2, "key_dim": 3, "value_dim": 3, "dropout": 0.0, "use_bias": true, "use_gate": false,
            "output_shape": [7], "attention_axes": [1], "sliding_window": null,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null},
            "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
            "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
            "kernel_constraint": null, "bias_constraint": null, "seed": null});
        let layer = crate::keras::layer_from_config("MultiHeadAttention", &config).unwrap();
        let t = |d: &[usize]| TensorType::f32(Shape::batched(d.iter().copied()));
        let out = layer.compute_output_shape(&[t(&[4, 5]), t(&[4, 5])]).unwrap();
        assert_eq!(out[0].shape, Shape::batched([4, 7]));
        let err = crate::keras::layer_from_config("MultiHeadAttention", &serde_json::json!({"num_heads": 2}))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "Keras layer MultiHeadAttention: argument `key_dim`: is required");
        let err = crate::keras::layer_from_config(
            "MultiHeadAttention",
            &serde_json::json!({"num_heads": 2, "key_dim": 2, "sliding_window": 4}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sliding_window"), "{err}");
    }

    #[test]
    fn carried_masks_act_as_the_attention_mask() {
        use crate::layers::Masking;
        use crate::model::{Apply, Input, Model};
        // Zero rows are masked by `Masking`; the same layer (shared weights) given the
        // equivalent attention_mask (query_mask ⊗ value_mask) gives the same numbers.
        let (q, v, m) = (Input::new([3, 2]), Input::new([4, 2]), Input::new([3, 4]));
        let (mq, mv) = (Masking::new().apply(&q).unwrap(), Masking::new().apply(&v).unwrap());
        let mha = MultiHeadAttention::new(2, 2);
        let carried = mha.apply_list(&[&mq, &mv]).unwrap();
        assert_eq!(carried.mask_shape().map(|s| s.keras_string()), Some("(None, 3)".into()));
        let explicit = mha.apply_list(&[&q, &v, &v, &m]).unwrap();
        let model = Model::new(&[&q, &v, &m], &[&carried, &explicit]).unwrap();
        let qd: Vec<f32> = (0..6).map(|i| if i >= 4 { 0.0 } else { (i as f32).sin() }).collect();
        let vd: Vec<f32> = (0..8)
            .map(|i| if (2..4).contains(&i) { 0.0 } else { (i as f32).cos() })
            .collect();
        let (qm, vm) = ([1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0]);
        let md: Vec<f32> = qm.iter().flat_map(|a| vm.iter().map(move |b| a * b)).collect();
        let xs = vec![
            crate::Tensor::from_f32(qd, vec![1, 3, 2]).unwrap(),
            crate::Tensor::from_f32(vd, vec![1, 4, 2]).unwrap(),
            crate::Tensor::from_f32(md, vec![1, 3, 4]).unwrap(),
        ];
        let outs = model.predict_multi(xs, crate::PredictOptions::default()).unwrap();
        assert_eq!(outs[0].to_f32(), outs[1].to_f32());
    }

    #[test]
    fn bad_arguments_and_inputs_are_named() {
        let err = MultiHeadAttention::new(2, 0)
            .name("m")
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'm' (MultiHeadAttention): Received an invalid value for argument `key_dim`, expected a positive integer. Received: key_dim=0"
        );
        let err = MultiHeadAttention::new(0, 2)
            .name("m")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("Received: num_heads=0"), "{err}");
        let t = |d: &[usize]| TensorType::f32(Shape::batched(d.iter().copied()));
        let mha = MultiHeadAttention::new(2, 3).name("m");
        let err = mha.compute_output_shape(&[t(&[4, 5])]).unwrap_err().to_string();
        assert!(err.contains("received 1 input(s)"), "{err}");
        let err = mha
            .compute_output_shape(&[t(&[4, 5]), t(&[6, 5]), t(&[7, 5])])
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("Received: value_shape=(None, 6, 5) and key_shape=(None, 7, 5)"),
            "{err}"
        );
        let err = mha
            .compute_output_shape(&[t(&[4, 5]), t(&[6, 5]), t(&[6, 5]), t(&[6, 4])])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'm' (MultiHeadAttention) is incompatible with its input: the attention_mask must have shape (batch, T, S) = \
             (None, 4, 6) for query_shape=(None, 4, 5) and value_shape=(None, 6, 5). Received: attention_mask.shape=(None, 6, 4)"
        );
        let err = mha
            .clone()
            .attention_axes([2])
            .compute_output_shape(&[t(&[3, 4, 5]), t(&[3, 4, 5])])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("attention_axes=[2] is not supported") && err.contains("[1, 2]"),
            "{err}"
        );
        let err = mha
            .compute_output_shape(&[t(&[4, 5]), t(&[6])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("same rank"), "{err}");
    }
}
