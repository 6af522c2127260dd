//! `Embedding`: rows of a trainable table looked up by index.

use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use crate::regularizers::{self, Regularizer};
use kiln_ir::{CompareOp, DType, Initializer, Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Turns indices into dense vectors, as Keras's `Embedding`: `output[..., :] =
/// embeddings[input[...], :]`.
///
/// # Arguments
/// - `input_dim`: the vocabulary size (largest index + 1); `output_dim`: the vector width.
/// - `embeddings_initializer`: default Keras's `"uniform"` (uniform in ±0.05).
/// - `embeddings_regularizer`, `embeddings_constraint`, `activity_regularizer`.
/// - `mask_zero`: index 0 is padding; the output carries a mask (1.0 where the index is
///   not 0) that recurrent layers use to skip those steps.
///
/// # Shapes
/// Input `(batch, ...)` of indices: an `i32` input (`Input::with_dtype(shape, DType::I32)`),
/// or floats, which are truncated to integers as Keras casts them. Output `(batch, ...,
/// output_dim)`. Weight `embeddings` `(input_dim, output_dim)`. Indices outside
/// `[0, input_dim)` are clamped into it (Keras on JAX gives NaN rows).
///
/// ```
/// use kiln::prelude::*;
/// use kiln::DType;
/// let ids = Input::with_dtype([7], DType::I32);
/// let x = Embedding::new(100, 8).mask_zero(true).apply(&ids)?;
/// assert_eq!(x.shape().keras_string(), "(None, 7, 8)");
/// assert_eq!(x.mask_shape().unwrap().keras_string(), "(None, 7)");
/// let y = LSTM::new(4).apply(&x)?;   // padded steps (index 0) are skipped
/// let model = Model::new(&[&ids], &[&y])?;
/// assert_eq!(model.count_params(), 800 + 4 * (8 * 4 + 4 * 4 + 4));
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Layer name.
    pub name: String,
    /// Vocabulary size.
    pub input_dim: usize,
    /// Width of each vector.
    pub output_dim: usize,
    /// Initializer of the table.
    pub embeddings_initializer: InitializerArg,
    /// Penalty on the table, added to the loss.
    #[serde(default)]
    pub embeddings_regularizer: Option<Regularizer>,
    /// Penalty on the output (divided by the batch size, as Keras).
    #[serde(default)]
    pub activity_regularizer: Option<Regularizer>,
    /// Constraint on the table after each step.
    #[serde(default)]
    pub embeddings_constraint: Option<ConstraintArg>,
    /// Whether index 0 is padding, masked out downstream.
    pub mask_zero: bool,
    /// Whether training updates the table.
    pub trainable: bool,
}

impl Embedding {
    /// An `Embedding` of `input_dim` rows of width `output_dim`, with Keras's defaults.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Embedding {
            name: unique_name("embedding"),
            input_dim,
            output_dim,
            embeddings_initializer: InitializerArg::Spec(Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            }),
            embeddings_regularizer: None,
            activity_regularizer: None,
            embeddings_constraint: None,
            mask_zero: false,
            trainable: true,
        }
    }

    /// Treats index 0 as padding and masks it out downstream.
    pub fn mask_zero(mut self, yes: bool) -> Self {
        self.mask_zero = yes;
        self
    }

    /// Sets the table's initializer (a name or an [`Initializer`]).
    pub fn embeddings_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.embeddings_initializer = init.into();
        self
    }

    /// Penalises the table.
    pub fn embeddings_regularizer(mut self, r: Regularizer) -> Self {
        self.embeddings_regularizer = Some(r);
        self
    }

    /// Penalises the output.
    pub fn activity_regularizer(mut self, r: Regularizer) -> Self {
        self.activity_regularizer = Some(r);
        self
    }

    /// Constrains the table after each optimizer step.
    pub fn embeddings_constraint(mut self, c: ConstraintArg) -> Self {
        self.embeddings_constraint = Some(c);
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Freezes (`false`) or unfreezes the table.
    pub fn trainable(mut self, trainable: bool) -> Self {
        self.trainable = trainable;
        self
    }
}

impl Layer for Embedding {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Embedding"
    }

    fn validate(&self) -> Result<()> {
        if self.input_dim == 0 {
            return Err(bad_argument(
                self,
                "`input_dim` must be a positive integer. Received: input_dim=0 (of type int).",
            ));
        }
        if self.output_dim == 0 {
            return Err(bad_argument(
                self,
                "`output_dim` must be a positive integer. Received: output_dim=0 (of type int).",
            ));
        }
        self.embeddings_initializer
            .resolve()
            .map_err(|e| bad_argument(self, e.to_string()))?;
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        if x.shape.rank() == 0 || x.shape.rank() >= 6 {
            return Err(incompatible(
                self,
                format!(
                    "expected indices of rank 1 to 5, received shape {}",
                    x.shape.keras_string()
                ),
            ));
        }
        let mut dims = x.shape.dims().to_vec();
        dims.push(Some(self.output_dim));
        Ok(vec![TensorType::f32(Shape(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(self.emit_masked(ctx, inputs, &[])?.0)
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn compute_output_masks(&self, inputs: &[TensorType], _masks: &[Option<Shape>]) -> Result<Vec<Option<Shape>>> {
        let x = super::single(self, inputs)?;
        Ok(vec![self.mask_zero.then(|| x.shape.clone())])
    }

    fn emit_masked(
        &self,
        ctx: &mut EmitContext,
        inputs: &[ValueId],
        _masks: &[Option<ValueId>],
    ) -> Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
        let x = inputs[0];
        let dtype = ctx.value_type(x)?.dtype;
        let table = ctx.weight(
            "embeddings",
            Shape::fixed([self.input_dim, self.output_dim]),
            self.embeddings_initializer.resolve()?,
        )?;
        regularizers::apply(ctx, &self.embeddings_regularizer, table)?;
        constraints::apply(ctx, &self.embeddings_constraint, table, 2)?;
        let indices = match dtype {
            DType::I32 => x,
            _ => ctx.push(Op::Cast { to: DType::I32 }, &[x])?,
        };
        let y = ctx.push(Op::Gather, &[table, indices])?;
        if let Some(r) = &self.activity_regularizer {
            r.emit_activity(ctx, y)?;
        }
        // Keras's mask: `not_equal(inputs, 0)` on the inputs as given.
        let mask = if self.mask_zero {
            let xf = match dtype {
                DType::F32 => x,
                _ => ctx.push(Op::Cast { to: DType::F32 }, &[x])?,
            };
            let zero = ctx.constant(0.0)?;
            let equal = ctx.push(Op::Compare { kind: CompareOp::Equal }, &[xf, zero])?;
            let one = ctx.constant(1.0)?;
            Some(ctx.sub(one, equal)?)
        } else {
            None
        };
        Ok((vec![y], vec![mask]))
    }
}

impl crate::keras::FromKeras for Embedding {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let input_dim = c
            .usize("input_dim")?
            .ok_or_else(|| c.error("input_dim", "is required"))?;
        let output_dim = c
            .usize("output_dim")?
            .ok_or_else(|| c.error("output_dim", "is required"))?;
        let mut layer = Embedding::new(input_dim, output_dim);
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(t) = trainable {
            layer.trainable = t;
        }
        if let Some(i) = c.initializer("embeddings_initializer")? {
            layer.embeddings_initializer = i;
        }
        layer.embeddings_regularizer = c.regularizer("embeddings_regularizer")?;
        layer.activity_regularizer = c.regularizer("activity_regularizer")?;
        layer.embeddings_constraint = c.constraint("embeddings_constraint")?;
        if let Some(m) = c.bool("mask_zero")? {
            layer.mask_zero = m;
        }
        // Deprecated in Keras 3, which warns and ignores it.
        let _ = c.get("input_length");
        for (key, what) in [
            (
                "weights",
                "initial weights in the config are not supported; use Model::set_weights",
            ),
            ("lora_rank", "LoRA is not supported"),
            ("lora_alpha", "LoRA is not supported"),
            ("quantization_config", "quantization is not supported"),
        ] {
            if c.get(key).is_some() {
                return Err(c.error(key, what));
            }
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
        // check_layer feeds floats in [-1, 1]: they truncate to 0 (and clamp).
        check_layer(
            &Embedding::new(5, 3),
            &[Shape::batched([4])],
            Shape::batched([4, 3]),
            15,
        );
        check_layer(
            &Embedding::new(5, 2).mask_zero(true),
            &[Shape::batched([2, 3])],
            Shape::batched([2, 3, 2]),
            10,
        );
    }

    #[test]
    fn looks_up_rows_and_masks_zeros() {
        let ids = Input::with_dtype([3], DType::I32);
        let layer = Embedding::new(4, 2).mask_zero(true);
        let y = layer.apply(&ids).unwrap();
        assert_eq!(y.mask_shape().unwrap().keras_string(), "(None, 3)");
        let mut model = Model::new(&[&ids], &[&y]).unwrap();
        let table = crate::Tensor::from_f32((0..8).map(|i| i as f32).collect(), vec![4, 2]).unwrap();
        model.set_weights(&[table]).unwrap();
        let x = crate::Tensor::from_i32(vec![3, 0, 1, 2, 2, 0], vec![2, 3]).unwrap();
        let out = model.predict(x).unwrap();
        assert_eq!(
            out.to_f32(),
            vec![6.0, 7.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 5.0, 0.0, 1.0]
        );
        // Float indices are truncated, as Keras casts them.
        let fids = Input::new([2]);
        let y = Embedding::new(4, 2).apply(&fids).unwrap();
        let mut model = Model::new(&[&fids], &[&y]).unwrap();
        model
            .set_weights(&[crate::Tensor::from_f32((0..8).map(|i| i as f32).collect(), vec![4, 2]).unwrap()])
            .unwrap();
        let out = model
            .predict(crate::Tensor::from_f32(vec![2.9, 1.2], vec![1, 2]).unwrap())
            .unwrap();
        assert_eq!(out.to_f32(), vec![4.0, 5.0, 2.0, 3.0]);
    }

    #[test]
    fn a_sequential_model_carries_the_mask() {
        let mut model = crate::Sequential::new();
        model.add(Input::with_dtype([4], DType::I32)).unwrap();
        model.add(Embedding::new(5, 2).mask_zero(true)).unwrap();
        model
            .add(crate::layers::SimpleRNN::new(2).return_sequences(true))
            .unwrap();
        let x = crate::Tensor::from_i32(vec![1, 2, 0, 0], vec![1, 4]).unwrap();
        let out: Vec<Vec<f32>> = model
            .predict(x)
            .unwrap()
            .to_f32()
            .chunks(2)
            .map(<[f32]>::to_vec)
            .collect();
        assert_ne!(out[1], out[0]);
        assert_eq!(out[2], out[1]);
        assert_eq!(out[3], out[1]);
    }

    #[test]
    fn bad_arguments_are_named() {
        let err = Embedding::new(0, 3).name("e").validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 'e' (Embedding): `input_dim` must be a positive integer. Received: input_dim=0 (of type int)."
        );
        let err = crate::keras::layer_from_config(
            "Embedding",
            &serde_json::json!({"input_dim": 3, "output_dim": 2, "lora_rank": 4}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("LoRA is not supported"), "{err}");
    }
}
