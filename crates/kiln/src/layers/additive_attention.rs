//! `AdditiveAttention`: Bahdanau-style attention.

use super::attention::{
    AttentionInputs, apply_scores, attention_output_masks, attention_output_types, broadcast_sum, check_dropout,
    output_mask, split_inputs, with_implicit_masks,
};
use crate::error::Result;
use crate::layer::{EmitContext, Layer};
use crate::names::unique_name;
use kiln_ir::{Activation, Initializer, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Additive attention, Keras's `AdditiveAttention` (a.k.a. Bahdanau-style attention).
///
/// `scores = Σ scale · tanh(query + key)` over the features, for every pair of query and key
/// steps; then `weights = softmax(scores)` over the value steps and `output = weights @ value`.
///
/// # Inputs: one list
/// As [`Attention`](super::Attention): `[query, value]`, `[query, value, key]`,
/// `[query, value, key, value_mask]` or `[query, value, key, query_mask, value_mask]`, with
/// `query` `(batch, Tq, dim)`, `value` `(batch, Tv, value_dim)`, `key` `(batch, Tv, dim)` and
/// masks (non-zero: keep) of the tensors' shapes without their last axis. Without mask
/// inputs, the masks the query and value carry are used; the output carries the query mask.
///
/// # Arguments
/// - `use_scale`: a trainable vector `scale` `(dim,)` (glorot-uniform) weighs the features;
///   default `true`.
/// - `dropout`: fraction of the attention weights dropped in training; default `0`.
/// - `seed`: kept in the config; Kiln draws dropout masks from its own seeded generator.
/// - `use_causal_mask`, `return_attention_scores`: Keras's call arguments, layer options
///   here (see [`Attention`](super::Attention)).
///
/// # Shapes
/// Output `(batch, Tq, value_dim)`.
///
/// ```
/// use kiln::prelude::*;
/// let query = Input::new([4, 8]);
/// let value = Input::new([6, 8]);
/// let out = AdditiveAttention::new().apply_list(&[&query, &value])?;
/// assert_eq!(out.shape().keras_string(), "(None, 4, 8)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdditiveAttention {
    /// Layer name.
    pub name: String,
    /// Whether a trainable vector weighs the features of the scores.
    pub use_scale: bool,
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

impl AdditiveAttention {
    /// Additive attention with Keras's defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        AdditiveAttention {
            name: unique_name("additive_attention"),
            use_scale: true,
            dropout: 0.0,
            seed: None,
            use_causal_mask: false,
            return_attention_scores: false,
            trainable: true,
        }
    }

    /// Weighs the features of the scores by a trainable vector.
    pub fn use_scale(mut self, use_scale: bool) -> Self {
        self.use_scale = use_scale;
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
}

impl Layer for AdditiveAttention {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "AdditiveAttention"
    }

    fn validate(&self) -> Result<()> {
        check_dropout(self, self.dropout)
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        attention_output_types(self, inputs, true, self.return_attention_scores)
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

impl AdditiveAttention {
    fn emit_parts(&self, ctx: &mut EmitContext, parts: &AttentionInputs<ValueId>) -> Result<Vec<ValueId>> {
        let dim = ctx.shape(parts.query)?.last().flatten().unwrap_or(1);
        let scale = if self.use_scale {
            Some(ctx.weight("scale", Shape::fixed([dim]), Initializer::GlorotUniform)?)
        } else {
            None
        };
        // sum(scale * tanh(q[..., :, None, :] + k[..., None, :, :]), -1)
        let sum = broadcast_sum(ctx, parts.query, parts.key)?;
        let mut t = ctx.activation(Activation::Tanh, sum)?;
        if let Some(s) = scale {
            t = ctx.mul(s, t)?;
        }
        let last = ctx.rank(t)? - 1;
        let scores = ctx.sum(t, vec![last], false)?;
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

impl crate::keras::FromKeras for AdditiveAttention {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = AdditiveAttention::new();
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

    #[test]
    fn shapes_params_and_config() {
        let (q, v) = (Shape::batched([4, 3]), Shape::batched([5, 2]));
        check_layer(
            &AdditiveAttention::new(),
            &[q.clone(), v.clone(), Shape::batched([5, 3])],
            Shape::batched([4, 2]),
            3,
        );
        check_layer(
            &AdditiveAttention::new().use_scale(false).use_causal_mask(true),
            &[q.clone(), Shape::batched([4, 3])],
            Shape::batched([4, 3]),
            0,
        );
    }

    #[test]
    fn bad_inputs_are_named() {
        let t = |d: &[usize]| TensorType::f32(Shape::batched(d.iter().copied()));
        let err = AdditiveAttention::new()
            .name("a")
            .compute_output_shape(&[t(&[4, 3]), t(&[5, 2])])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("layer 'a' (AdditiveAttention) is incompatible with its input: query and key must have the same last dimension")
                && err.ends_with("Received: query_shape=(None, 4, 3), value_shape=(None, 5, 2), key_shape=(None, 5, 2)"),
            "{err}"
        );
        let err = AdditiveAttention::new()
            .name("a")
            .compute_output_shape(&[t(&[2, 2, 2, 4, 3]), t(&[2, 2, 2, 5, 3])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("inputs of rank at most 5"), "{err}");
    }
}
