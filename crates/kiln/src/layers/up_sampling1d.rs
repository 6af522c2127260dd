//! `UpSampling1D`: repeats each time step.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Repeats each time step `size` times along the time axis, as Keras's `UpSampling1D`.
///
/// # Shapes
/// Input `(batch, steps, features)`; output `(batch, steps * size, features)`. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = UpSampling1D::new().size(3).apply(&Input::new([4, 2]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 12, 2)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpSampling1D {
    /// Layer name.
    pub name: String,
    /// The repetition factor (default 2).
    pub size: usize,
}

impl UpSampling1D {
    /// Up-sampling by 2.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        UpSampling1D {
            name: unique_name("up_sampling1d"),
            size: 2,
        }
    }

    /// Sets the repetition factor.
    pub fn size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for UpSampling1D {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "UpSampling1D"
    }

    fn validate(&self) -> Result<()> {
        if self.size == 0 {
            return Err(bad_argument(
                self,
                "Argument `size` should be a positive integer. Received: size=0",
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        if x.shape.rank() != 3 {
            return Err(incompatible(
                self,
                format!(
                    "expected an input of rank 3 (batch, steps, features), received shape {}",
                    x.shape.keras_string()
                ),
            ));
        }
        let mut dims = x.shape.dims().to_vec();
        dims[1] = dims[1].map(|n| n * self.size);
        Ok(vec![TensorType::new(x.dtype, Shape(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        if self.size == 1 {
            return Ok(vec![inputs[0]]);
        }
        Ok(vec![ctx.push(
            Op::Repeat {
                axis: 1,
                times: self.size,
            },
            inputs,
        )?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for UpSampling1D {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = UpSampling1D::new();
        if let Some(size) = c.usize("size")? {
            layer.size = size;
        }
        if let (Some(name), _) = crate::keras::common(c)? {
            layer.name = name;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;

    #[test]
    fn shapes_and_config() {
        check_layer(
            &UpSampling1D::new(),
            &[Shape::batched([3, 2])],
            Shape::batched([6, 2]),
            0,
        );
        check_layer(
            &UpSampling1D::new().size(3),
            &[Shape::batched([2, 4])],
            Shape::batched([6, 4]),
            0,
        );
    }

    #[test]
    fn repeats_each_step() {
        use crate::model::{Apply, Input, Model};
        let x = Input::new([2, 1]);
        let y = UpSampling1D::new().apply(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let out = model
            .predict(crate::Tensor::from_f32(vec![1.0, 2.0], vec![1, 2, 1]).unwrap())
            .unwrap();
        assert_eq!(out.to_f32(), vec![1.0, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn bad_arguments_and_inputs_are_named() {
        let err = UpSampling1D::new()
            .size(0)
            .name("u")
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'u' (UpSampling1D): Argument `size` should be a positive integer. Received: size=0"
        );
        let err = UpSampling1D::new()
            .name("u")
            .compute_output_shape(&[TensorType::f32(Shape::batched([3]))])
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("received shape (None, 3)"), "{err}");
    }
}
