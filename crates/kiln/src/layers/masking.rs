//! `Masking`: marks timesteps whose features all equal a value as masked.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, incompatible};
use crate::names::unique_name;
use kiln_ir::{CompareOp, Op, ReduceOp, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Masks the timesteps whose features all equal `mask_value`, as Keras's `Masking`: the
/// output is the input with those steps set to 0, and it carries the mask
/// `any(input != mask_value, axis=-1)` (1.0 = kept) that recurrent layers use to skip them.
///
/// # Shapes
/// Input `(batch, timesteps, features)` (any rank ≥ 2); output the same; mask the input's
/// shape without its last axis.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([6, 3]);
/// let m = Masking::new().apply(&x)?;     // mask_value = 0.0
/// let y = SimpleRNN::new(4).apply(&m)?;  // all-zero steps are skipped
/// assert_eq!(y.shape().keras_string(), "(None, 4)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Masking {
    /// Layer name.
    pub name: String,
    /// The value that marks padding.
    pub mask_value: f32,
}

impl Masking {
    /// A `Masking` layer with Keras's default `mask_value = 0.0`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Masking {
            name: unique_name("masking"),
            mask_value: 0.0,
        }
    }

    /// The value that marks padding.
    pub fn mask_value(mut self, value: f32) -> Self {
        self.mask_value = value;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Masking {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Masking"
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        if x.shape.rank() < 2 || x.dtype != kiln_ir::DType::F32 {
            return Err(incompatible(
                self,
                format!("expected a float input of rank ≥ 2, received {x}"),
            ));
        }
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(self.emit_masked(ctx, inputs, &[])?.0)
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn compute_output_masks(&self, inputs: &[TensorType], _masks: &[Option<Shape>]) -> Result<Vec<Option<Shape>>> {
        let x = super::single(self, inputs)?;
        let dims = x.shape.dims();
        Ok(vec![Some(Shape(dims[..dims.len() - 1].to_vec()))])
    }

    fn emit_masked(
        &self,
        ctx: &mut EmitContext,
        inputs: &[ValueId],
        _masks: &[Option<ValueId>],
    ) -> Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
        let x = inputs[0];
        let shape = ctx.shape(x)?;
        let last = shape.rank() - 1;
        let value = ctx.constant(self.mask_value)?;
        let equal = ctx.push(Op::Compare { kind: CompareOp::Equal }, &[x, value])?;
        let one = ctx.constant(1.0)?;
        let differs = ctx.sub(one, equal)?;
        let keep = ctx.reduce(ReduceOp::Max, differs, vec![last], true)?;
        let y = ctx.mul(x, keep)?;
        let mask = ctx.reshape(keep, Shape(shape.dims()[..last].to_vec()))?;
        Ok((vec![y], vec![Some(mask)]))
    }
}

impl crate::keras::FromKeras for Masking {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Masking::new();
        if let Some(name) = crate::keras::common(c)?.0 {
            layer.name = name;
        }
        if let Some(v) = c.f32("mask_value")? {
            layer.mask_value = v;
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
        check_layer(&Masking::new(), &[Shape::batched([4, 3])], Shape::batched([4, 3]), 0);
        check_layer(
            &Masking::new().mask_value(-1.0),
            &[Shape::batched([2, 2, 3])],
            Shape::batched([2, 2, 3]),
            0,
        );
    }

    #[test]
    fn masked_steps_are_zeroed_and_marked() {
        let x = Input::new([3, 2]);
        let m = Masking::new().mask_value(-1.0).apply(&x).unwrap();
        assert_eq!(m.mask_shape().unwrap().keras_string(), "(None, 3)");
        let model = Model::new(&[&x], &[&m]).unwrap();
        let out = model
            .predict(crate::Tensor::from_f32(vec![1.0, -1.0, -1.0, -1.0, 2.0, 3.0], vec![1, 3, 2]).unwrap())
            .unwrap();
        assert_eq!(out.to_f32(), vec![1.0, -1.0, 0.0, 0.0, 2.0, 3.0]);
        let err = Masking::new()
            .name("m")
            .compute_output_shape(&[TensorType::f32(Shape::batched([]))])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("layer 'm' (Masking) is incompatible"), "{err}");
    }
}
