//! `Attention`: dot-product (Luong-style) attention, and the pieces it shares with
//! `AdditiveAttention` and `MultiHeadAttention` (input lists, masks, the causal mask).

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Activation, CompareOp, DType, Initializer, Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Dot-product attention, Keras's `Attention` (a.k.a. Luong-style attention).
///
/// `scores = query @ keyᵀ` (times the weight `scale` with `use_scale`), or with
/// `score_mode("concat")` `scores = concat_score_weight · Σ tanh(scale · (query + key))`
/// over the features; then `weights = softmax(scores)` over the value steps and
/// `output = weights @ value`.
///
/// # Inputs: one list
/// - `[query, value]` — the key is the value, the usual case;
/// - `[query, value, key]`;
/// - `[query, value, key, value_mask]` — Keras's `mask=[None, value_mask]`;
/// - `[query, value, key, query_mask, value_mask]` — Keras's `mask=[query_mask, value_mask]`.
///
/// `query` is `(batch, Tq, dim)`, `value` `(batch, Tv, value_dim)`, `key` `(batch, Tv, dim)`
/// (more leading axes are allowed, the same in all three). A mask is the tensor's shape
/// without its last axis, of any element type; non-zero means "keep". To give a mask without
/// a separate key, pass the value twice. Value steps where `value_mask` is 0 get
/// `scores - 1e9` (they receive no weight); query steps where `query_mask` is 0 output 0.
///
/// Without mask inputs, the masks the query and value carry (from `Embedding(mask_zero)`,
/// `Masking`, …) are used, as Keras fills `mask=[query_mask, value_mask]` from them. The
/// output carries the query mask.
///
/// # Arguments
/// - `use_scale`: a trainable scalar `scale` (initialised to 1) multiplies the scores; default `false`.
/// - `score_mode`: `"dot"` (default) or `"concat"` (a trainable scalar `concat_score_weight`).
/// - `dropout`: fraction of the attention weights dropped in training; default `0`.
/// - `seed`: kept in the config; Kiln draws dropout masks from its own seeded generator.
/// - `use_causal_mask`: a call argument in Keras, a layer option here: query step `i` cannot
///   attend to value steps `j > i`; default `false`.
/// - `return_attention_scores`: a call argument in Keras, a layer option here: the layer has
///   a second output, the attention weights `(batch, Tq, Tv)` (after dropout); default `false`.
///
/// # Shapes
/// Output `(batch, Tq, value_dim)`.
///
/// ```
/// use kiln::prelude::*;
/// let query = Input::new([4, 8]);
/// let value = Input::new([6, 8]);
/// let out = Attention::new().use_scale(true).apply_list(&[&query, &value])?;
/// assert_eq!(out.shape().keras_string(), "(None, 4, 8)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attention {
    /// Layer name.
    pub name: String,
    /// Whether a trainable scalar scales the scores.
    pub use_scale: bool,
    /// `"dot"` or `"concat"`.
    pub score_mode: String,
    /// Dropout rate on the attention weights (training only).
    pub dropout: f32,
    /// Keras's dropout seed (kept for the config; Kiln's generator draws the masks).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Query step `i` attends only to value steps `j <= i`.
    #[serde(default)]
    pub use_causal_mask: bool,
    /// Also output the attention weights.
    #[serde(default)]
    pub return_attention_scores: bool,
    /// Whether training updates the weights.
    pub trainable: bool,
}

impl Attention {
    /// Dot-product attention with Keras's defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Attention {
            name: unique_name("attention"),
            use_scale: false,
            score_mode: "dot".into(),
            dropout: 0.0,
            seed: None,
            use_causal_mask: false,
            return_attention_scores: false,
            trainable: true,
        }
    }

    /// Scales the scores by a trainable scalar.
    pub fn use_scale(mut self, use_scale: bool) -> Self {
        self.use_scale = use_scale;
        self
    }

    /// `"dot"` or `"concat"`.
    pub fn score_mode(mut self, mode: &str) -> Self {
        self.score_mode = mode.to_string();
        self
    }

    /// Dropout rate on the attention weights.
    pub fn dropout(mut self, rate: f32) -> Self {
        self.dropout = rate;
        self
    }

    /// Keras's dropout seed (kept in the config only).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Masks the future: query step `i` attends only to value steps `j <= i`.
    pub fn use_causal_mask(mut self, causal: bool) -> Self {
        self.use_causal_mask = causal;
        self
    }

    /// Adds a second output, the attention weights.
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

    fn concat(&self) -> bool {
        self.score_mode == "concat"
    }
}

impl Layer for Attention {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Attention"
    }

    fn validate(&self) -> Result<()> {
        if self.score_mode != "dot" && self.score_mode != "concat" {
            return Err(bad_argument(
                self,
                format!(
                    "Invalid value for argument score_mode. Expected one of {{'dot', 'concat'}}. Received: score_mode={}",
                    self.score_mode
                ),
            ));
        }
        check_dropout(self, self.dropout)
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        attention_output_types(self, inputs, self.concat(), self.return_attention_scores)
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let parts = split_inputs(self, inputs)?;
        self.emit_parts(ctx, &parts)
    }

    fn compute_output_masks(&self, inputs: &[TensorType], masks: &[Option<Shape>]) -> Result<Vec<Option<Shape>>> {
        attention_output_masks(self, inputs, masks)
    }

    fn emit_masked(
        &self,
        ctx: &mut EmitContext,
        inputs: &[ValueId],
        masks: &[Option<ValueId>],
    ) -> Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
        let parts = with_implicit_masks(split_inputs(self, inputs)?, inputs.len(), masks);
        let outputs = self.emit_parts(ctx, &parts)?;
        Ok((outputs, vec![output_mask(ctx, &parts)?]))
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

impl Attention {
    fn emit_parts(&self, ctx: &mut EmitContext, parts: &AttentionInputs<ValueId>) -> Result<Vec<ValueId>> {
        let scale = if self.use_scale {
            Some(ctx.weight("scale", Shape::scalar(), Initializer::Ones)?)
        } else {
            None
        };
        let concat_weight = if self.concat() {
            Some(ctx.weight("concat_score_weight", Shape::scalar(), Initializer::Ones)?)
        } else {
            None
        };
        let scores = if let Some(w) = concat_weight {
            // concat_score_weight * sum(tanh(scale * (q[..., :, None, :] + k[..., None, :, :])), -1)
            let sum = broadcast_sum(ctx, parts.query, parts.key)?;
            let sum = match scale {
                Some(s) => ctx.mul(s, sum)?,
                None => sum,
            };
            let t = ctx.activation(Activation::Tanh, sum)?;
            let last = ctx.rank(t)? - 1;
            let s = ctx.sum(t, vec![last], false)?;
            ctx.mul(w, s)?
        } else {
            let r = ctx.rank(parts.key)?;
            let mut perm: Vec<usize> = (0..r).collect();
            perm.swap(r - 2, r - 1);
            let kt = ctx.transpose(parts.key, perm)?;
            let s = ctx.matmul(parts.query, kt)?;
            match scale {
                Some(scale) => ctx.mul(s, scale)?,
                None => s,
            }
        };
        apply_scores(
            ctx,
            scores,
            parts,
            self.dropout,
            self.use_causal_mask,
            self.return_attention_scores,
        )
    }
}

/// Refuses a dropout rate outside `[0, 1)`.
pub(crate) fn check_dropout(layer: &dyn Layer, rate: f32) -> Result<()> {
    if !(0.0..1.0).contains(&rate) {
        return Err(bad_argument(
            layer,
            format!("the dropout rate must be a float in the range [0, 1). Received: dropout={rate}"),
        ));
    }
    Ok(())
}

/// The parts of an `Attention`/`AdditiveAttention` input list.
pub(crate) struct AttentionInputs<T> {
    pub query: T,
    pub value: T,
    pub key: T,
    pub query_mask: Option<T>,
    pub value_mask: Option<T>,
}

/// Splits `[query, value]`, `[query, value, key]`, `[query, value, key, value_mask]` or
/// `[query, value, key, query_mask, value_mask]`.
pub(crate) fn split_inputs<T: Clone>(layer: &dyn Layer, inputs: &[T]) -> Result<AttentionInputs<T>> {
    let c = |t: &T| t.clone();
    Ok(match inputs {
        [q, v] => AttentionInputs {
            query: c(q),
            value: c(v),
            key: c(v),
            query_mask: None,
            value_mask: None,
        },
        [q, v, k] => AttentionInputs {
            query: c(q),
            value: c(v),
            key: c(k),
            query_mask: None,
            value_mask: None,
        },
        [q, v, k, vm] => AttentionInputs {
            query: c(q),
            value: c(v),
            key: c(k),
            query_mask: None,
            value_mask: Some(c(vm)),
        },
        [q, v, k, qm, vm] => AttentionInputs {
            query: c(q),
            value: c(v),
            key: c(k),
            query_mask: Some(c(qm)),
            value_mask: Some(c(vm)),
        },
        _ => {
            return Err(incompatible(
                layer,
                format!(
                    "{} layer accepts inputs list of length 2 to 5, namely [query, value], [query, value, key], \
                     [query, value, key, value_mask] or [query, value, key, query_mask, value_mask]. Received length: {}.",
                    layer.class_name(),
                    inputs.len()
                ),
            ));
        }
    })
}

/// The output types of `Attention`/`AdditiveAttention` (`broadcast`: the scores add query
/// and key steps pairwise, a tensor one rank higher).
pub(crate) fn attention_output_types(
    layer: &dyn Layer,
    inputs: &[TensorType],
    broadcast: bool,
    return_scores: bool,
) -> Result<Vec<TensorType>> {
    let p = split_inputs(layer, inputs)?;
    let (q, v, k) = (&p.query.shape, &p.value.shape, &p.key.shape);
    let shapes = format!(
        "query_shape={}, value_shape={}, key_shape={}",
        q.keras_string(),
        v.keras_string(),
        k.keras_string()
    );
    for (what, t) in [("query", &p.query), ("value", &p.value), ("key", &p.key)] {
        if t.dtype != DType::F32 {
            return Err(incompatible(
                layer,
                format!("the {what} must be a float tensor, received {t}"),
            ));
        }
    }
    let r = q.rank();
    if r < 3 || v.rank() != r || k.rank() != r {
        return Err(incompatible(
            layer,
            format!(
                "query, value and key must have the same rank, at least 3 ((batch, steps, features)). Received: {shapes}"
            ),
        ));
    }
    if broadcast && r > 5 {
        return Err(incompatible(
            layer,
            format!(
                "inputs of rank at most 5 are supported (the scores are computed at rank {}). Received: {shapes}",
                r + 1
            ),
        ));
    }
    let d = |s: &Shape, i: usize| s.dims()[i];
    let leading_ok = (1..r - 2).all(|i| d(q, i) == d(v, i) && d(k, i) == d(v, i));
    if !leading_ok || d(k, r - 2) != d(v, r - 2) || d(q, r - 1) != d(k, r - 1) {
        return Err(incompatible(
            layer,
            format!(
                "query and key must have the same last dimension, key and value the same number of steps, and all \
                 three the same leading dimensions. Received: {shapes}"
            ),
        ));
    }
    for (what, mask, of) in [("query_mask", &p.query_mask, q), ("value_mask", &p.value_mask, v)] {
        if let Some(m) = mask {
            let want = Shape(of.dims()[..r - 1].to_vec());
            if m.shape != want {
                return Err(incompatible(
                    layer,
                    format!(
                        "{what} must have shape {}, its tensor's shape without the last axis. Received: {what}.shape={}, {shapes}",
                        want.keras_string(),
                        m.shape.keras_string()
                    ),
                ));
            }
        }
    }
    let mut out = q.dims().to_vec();
    out[r - 1] = d(v, r - 1);
    let mut types = vec![TensorType::f32(Shape(out))];
    if return_scores {
        let mut scores = q.dims().to_vec();
        scores[r - 1] = d(v, r - 2);
        types.push(TensorType::f32(Shape(scores)));
    }
    Ok(types)
}

/// Keras fills `mask=[query_mask, value_mask]` from the masks the inputs carry, unless
/// masks are given (here: as list elements 4 and 5).
pub(crate) fn with_implicit_masks(
    mut parts: AttentionInputs<ValueId>,
    n_inputs: usize,
    masks: &[Option<ValueId>],
) -> AttentionInputs<ValueId> {
    if n_inputs <= 3 {
        parts.query_mask = masks.first().copied().flatten();
        parts.value_mask = masks.get(1).copied().flatten();
    }
    parts
}

/// The output's mask: the query mask (Keras's `compute_mask` returns `mask[0]`).
pub(crate) fn output_mask(ctx: &mut EmitContext, parts: &AttentionInputs<ValueId>) -> Result<Option<ValueId>> {
    parts.query_mask.map(|m| mask_as_float(ctx, m)).transpose()
}

/// Checks the masks the query and value carry and gives the output's mask (the query's).
pub(crate) fn attention_output_masks(
    layer: &dyn Layer,
    inputs: &[TensorType],
    masks: &[Option<Shape>],
) -> Result<Vec<Option<Shape>>> {
    let p = split_inputs(layer, inputs)?;
    if inputs.len() > 3 {
        return Ok(vec![p.query_mask.map(|m| m.shape)]);
    }
    let carried = |i: usize| masks.get(i).cloned().flatten();
    for (what, mask, of) in [("query", carried(0), &p.query), ("value", carried(1), &p.value)] {
        if let Some(m) = mask {
            let dims = of.shape.dims();
            let want = Shape(dims[..dims.len() - 1].to_vec());
            if m != want {
                return Err(incompatible(
                    layer,
                    format!(
                        "the {what} carries a mask of shape {}; expected {}, its shape without the last axis ({what} shape {})",
                        m.keras_string(),
                        want.keras_string(),
                        of.shape.keras_string()
                    ),
                ));
            }
        }
    }
    Ok(vec![carried(0)])
}

/// `q[..., :, None, :] + k[..., None, :, :]`: every query step plus every key step.
pub(crate) fn broadcast_sum(ctx: &mut EmitContext, query: ValueId, key: ValueId) -> Result<ValueId> {
    let (q, k) = (ctx.shape(query)?, ctx.shape(key)?);
    let r = q.rank();
    let mut qd = q.dims().to_vec();
    qd.insert(r - 1, Some(1));
    let mut kd = k.dims().to_vec();
    kd.insert(r - 2, Some(1));
    let q = ctx.reshape(query, Shape(qd))?;
    let k = ctx.reshape(key, Shape(kd))?;
    ctx.add(q, k)
}

/// Keras's `_apply_scores` and the masks: value-masked and (causal) future steps get
/// `scores - 1e9`, then softmax, dropout, `weights @ value`, and query-masked steps zeroed.
pub(crate) fn apply_scores(
    ctx: &mut EmitContext,
    scores: ValueId,
    parts: &AttentionInputs<ValueId>,
    dropout: f32,
    causal: bool,
    return_scores: bool,
) -> Result<Vec<ValueId>> {
    let shape = ctx.shape(scores)?;
    let r = shape.rank();
    let tq = shape.dims()[r - 2].unwrap_or(1);
    let tv = shape.dims()[r - 1].unwrap_or(1);
    let mut keep = None;
    if let Some(vm) = parts.value_mask {
        let m = mask_as_float(ctx, vm)?;
        let mut dims = ctx.shape(m)?.dims().to_vec();
        dims.insert(dims.len() - 1, Some(1));
        keep = Some(ctx.reshape(m, Shape(dims))?);
    }
    if causal {
        let c = causal_mask(ctx, tq, tv)?;
        keep = Some(match keep {
            Some(m) => ctx.mul(m, c)?,
            None => c,
        });
    }
    let mut scores = scores;
    if let Some(m) = keep {
        // where(mask, scores, scores - 1e9)
        let off = ctx.add_scalar(m, -1.0)?;
        let penalty = ctx.scale(off, 1.0e9)?;
        scores = ctx.add(scores, penalty)?;
    }
    let mut weights = ctx.activation(Activation::Softmax { axis: r - 1 }, scores)?;
    if dropout > 0.0 {
        weights = ctx.push(
            Op::Dropout {
                rate: dropout,
                shared_axes: vec![],
            },
            &[weights],
        )?;
    }
    let mut out = ctx.matmul(weights, parts.value)?;
    if let Some(qm) = parts.query_mask {
        let m = mask_as_float(ctx, qm)?;
        let mut dims = ctx.shape(m)?.dims().to_vec();
        dims.push(Some(1));
        let m = ctx.reshape(m, Shape(dims))?;
        out = ctx.mul(out, m)?;
    }
    Ok(if return_scores { vec![out, weights] } else { vec![out] })
}

/// A mask of any element type as f32 `1.0` (non-zero: keep) and `0.0`.
pub(crate) fn mask_as_float(ctx: &mut EmitContext, mask: ValueId) -> Result<ValueId> {
    let mut m = mask;
    if ctx.value_type(m)?.dtype != DType::F32 {
        m = ctx.push(Op::Cast { to: DType::F32 }, &[m])?;
    }
    let zero = ctx.constant(0.0)?;
    let is_zero = ctx.push(Op::Compare { kind: CompareOp::Equal }, &[m, zero])?;
    let one = ctx.constant(1.0)?;
    ctx.sub(one, is_zero)
}

/// The causal mask `(t, s)`: `1.0` where `j <= i` (row `i`, column `j`), else `0.0` — Keras's
/// `row_index >= col_index`.
///
/// Built without an index op: the row `c = [1, 0 × s, 1 × (t − 1)]` of length `m = s + t`,
/// tiled `t` times and read in rows of `m − 1`, puts `c[(j − i) mod m]` at `(i, j)`, which is
/// 1 exactly for `j − i ∈ [−(t − 1), 0]`.
pub(crate) fn causal_mask(ctx: &mut EmitContext, t: usize, s: usize) -> Result<ValueId> {
    let m = s + t;
    let one = ctx.constant(1.0)?;
    let c = ctx.reshape(one, Shape::fixed([1]))?;
    let c = ctx.pad(c, vec![(0, s)], 0.0)?;
    let c = ctx.pad(c, vec![(0, t - 1)], 1.0)?;
    let c = ctx.reshape(c, Shape::fixed([1, m]))?;
    let c = if t > 1 {
        ctx.push(Op::Repeat { axis: 0, times: t }, &[c])?
    } else {
        c
    };
    let c = ctx.reshape(c, Shape::fixed([t * m]))?;
    let c = ctx.slice(c, 0, 0, t * (m - 1))?;
    let c = ctx.reshape(c, Shape::fixed([t, m - 1]))?;
    if m - 1 == s { Ok(c) } else { ctx.slice(c, 1, 0, s) }
}

impl crate::keras::FromKeras for Attention {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Attention::new();
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(t) = trainable {
            layer.trainable = t;
        }
        if let Some(s) = c.bool("use_scale")? {
            layer.use_scale = s;
        }
        if let Some(m) = c.string("score_mode")? {
            layer.score_mode = m;
        }
        if let Some(d) = c.f32("dropout")? {
            layer.dropout = d;
        }
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
    use crate::model::{Apply, Input, Model};

    #[test]
    fn shapes_params_and_config() {
        let (q, v) = (Shape::batched([4, 3]), Shape::batched([5, 3]));
        check_layer(&Attention::new(), &[q.clone(), v.clone()], Shape::batched([4, 3]), 0);
        check_layer(
            &Attention::new().use_scale(true),
            &[q.clone(), v.clone()],
            Shape::batched([4, 3]),
            1,
        );
        check_layer(
            &Attention::new().score_mode("concat").use_scale(true),
            &[q.clone(), v.clone(), v.clone()],
            Shape::batched([4, 3]),
            2,
        );
        check_layer(
            &Attention::new().use_causal_mask(true).dropout(0.2),
            &[q.clone(), Shape::batched([4, 2]), Shape::batched([4, 3])],
            Shape::batched([4, 2]),
            0,
        );
        check_layer(
            &Attention::new(),
            &[Shape::batched([2, 4, 3]), Shape::batched([2, 5, 3])],
            Shape::batched([2, 4, 3]),
            0,
        );
    }

    fn run(layer: Attention, inputs: Vec<crate::Tensor>) -> Vec<f32> {
        let xs: Vec<_> = inputs
            .iter()
            .map(|t| Input::with_dtype(t.shape()[1..].iter().copied(), t.dtype()))
            .collect();
        let refs: Vec<_> = xs.iter().collect();
        let y = layer.apply_list(&refs).unwrap();
        let model = Model::new(&refs, &[&y]).unwrap();
        model.predict(inputs).unwrap().to_f32()
    }

    #[test]
    fn causal_and_value_masks_hide_steps() {
        // One-hot values: the output rows are the attention weights.
        let q = crate::Tensor::from_f32(vec![0.0; 3], vec![1, 3, 1]).unwrap();
        let v = crate::Tensor::from_f32(vec![1., 0., 0., 0., 1., 0., 0., 0., 1.], vec![1, 3, 3]).unwrap();
        let k = crate::Tensor::from_f32(vec![0.0; 3], vec![1, 3, 1]).unwrap();
        let y = run(
            Attention::new().use_causal_mask(true),
            vec![q.clone(), v.clone(), k.clone()],
        );
        let third = 1.0 / 3.0;
        let want = [1.0, 0.0, 0.0, 0.5, 0.5, 0.0, third, third, third];
        assert!(y.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{y:?}");
        let vm = crate::Tensor::from_i32(vec![1, 0, 1], vec![1, 3]).unwrap();
        let qm = crate::Tensor::from_i32(vec![1, 1, 0], vec![1, 3]).unwrap();
        let y = run(Attention::new(), vec![q, v, k, qm, vm]);
        let want = [0.5, 0.0, 0.5, 0.5, 0.0, 0.5, 0.0, 0.0, 0.0];
        assert!(y.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{y:?}");
    }

    #[test]
    fn carried_masks_act_as_mask_inputs() {
        use crate::layers::Masking;
        // Zero rows are masked by `Masking`; the same layer given those masks as inputs
        // gives the same numbers, and the output carries the query mask.
        let (q, v, qm, vm) = (Input::new([3, 2]), Input::new([4, 2]), Input::new([3]), Input::new([4]));
        let (mq, mv) = (Masking::new().apply(&q).unwrap(), Masking::new().apply(&v).unwrap());
        let layer = Attention::new().score_mode("concat");
        let carried = layer.apply_list(&[&mq, &mv]).unwrap();
        assert_eq!(carried.mask_shape().map(|s| s.keras_string()), Some("(None, 3)".into()));
        let explicit = layer.apply_list(&[&q, &v, &v, &qm, &vm]).unwrap();
        let model = Model::new(&[&q, &v, &qm, &vm], &[&carried, &explicit]).unwrap();
        let qd: Vec<f32> = (0..6).map(|i| if i >= 4 { 0.0 } else { (i as f32).sin() }).collect();
        let vd: Vec<f32> = (0..8)
            .map(|i| if (2..4).contains(&i) { 0.0 } else { (i as f32).cos() })
            .collect();
        let xs = vec![
            crate::Tensor::from_f32(qd, vec![1, 3, 2]).unwrap(),
            crate::Tensor::from_f32(vd, vec![1, 4, 2]).unwrap(),
            crate::Tensor::from_f32(vec![1.0, 1.0, 0.0], vec![1, 3]).unwrap(),
            crate::Tensor::from_f32(vec![1.0, 0.0, 1.0, 1.0], vec![1, 4]).unwrap(),
        ];
        let outs = model.predict_multi(xs, crate::PredictOptions::default()).unwrap();
        assert_eq!(outs[0].to_f32(), outs[1].to_f32());
        assert_eq!(&outs[0].to_f32()[4..], &[0.0, 0.0]);
    }

    #[test]
    fn bad_arguments_and_inputs_are_named() {
        let err = Attention::new()
            .name("a")
            .score_mode("add")
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'a' (Attention): Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. Received: score_mode=add"
        );
        let t = |d: &[usize]| TensorType::f32(Shape::batched(d.iter().copied()));
        let err = Attention::new()
            .name("a")
            .compute_output_shape(&[t(&[4, 3])])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("accepts inputs list of length 2 to 5") && err.contains("Received length: 1."),
            "{err}"
        );
        let err = Attention::new()
            .name("a")
            .compute_output_shape(&[t(&[4, 3]), t(&[5, 2]), t(&[6, 3])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("key_shape=(None, 6, 3)"), "{err}");
        let err = Attention::new()
            .name("a")
            .compute_output_shape(&[t(&[4, 3]), t(&[5, 3]), t(&[5, 3]), t(&[4])])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("value_mask must have shape (None, 5)") && err.contains("value_mask.shape=(None, 4)"),
            "{err}"
        );
        let err = Attention::new()
            .name("a")
            .dropout(1.0)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("Received: dropout=1"), "{err}");
    }
}
