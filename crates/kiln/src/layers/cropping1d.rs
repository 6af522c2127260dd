//! `Cropping1D`: removes steps at the start and end of the time axis.

use super::zero_padding1d::{Sides, sides_from_keras};
use crate::error::Result;
use crate::layer::{EmitContext, Layer, incompatible};
use crate::names::unique_name;
use kiln_ir::{Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Crops the time axis, as Keras's `Cropping1D`: `cropping` (default 1) steps removed at
/// the start and at the end, or a `(start, end)` pair.
///
/// # Shapes
/// Input `(batch, steps, features)`; output `(batch, steps - start - end, features)`, which
/// must keep at least one step. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = Cropping1D::new().cropping((0, 2)).apply(&Input::new([5, 2]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 3, 2)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cropping1D {
    /// Layer name.
    pub name: String,
    /// Steps removed at the start and at the end.
    pub cropping: (usize, usize),
}

impl Cropping1D {
    /// One step removed at each end.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Cropping1D {
            name: unique_name("cropping1d"),
            cropping: (1, 1),
        }
    }

    /// Sets the cropping: `2` or `(start, end)`.
    pub fn cropping(mut self, cropping: impl Sides) -> Self {
        self.cropping = cropping.sides();
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Cropping1D {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Cropping1D"
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
        let (b, e) = self.cropping;
        let mut dims = x.shape.dims().to_vec();
        dims[1] = match dims[1] {
            Some(n) if n > b + e => Some(n - b - e),
            Some(_) => {
                return Err(incompatible(
                    self,
                    format!(
                        "`cropping` parameter of `Cropping1D` layer must be smaller than the input length. Received: input_shape={}, cropping=({b}, {e})",
                        x.shape.keras_string()
                    ),
                ));
            }
            None if b + e == 0 => None,
            None => {
                return Err(incompatible(
                    self,
                    format!(
                        "the time axis must have a known length to be cropped, received shape {}",
                        x.shape.keras_string()
                    ),
                ));
            }
        };
        Ok(vec![TensorType::new(x.dtype, Shape(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let (b, e) = self.cropping;
        if b + e == 0 {
            return Ok(vec![inputs[0]]);
        }
        let len = ctx.shape(inputs[0])?.dims()[1].unwrap_or(0);
        Ok(vec![ctx.slice(inputs[0], 1, b, len - e)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Cropping1D {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Cropping1D::new();
        if let Some(p) = sides_from_keras(c, "cropping")? {
            layer.cropping = p;
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
        check_layer(&Cropping1D::new(), &[Shape::batched([5, 2])], Shape::batched([3, 2]), 0);
        check_layer(
            &Cropping1D::new().cropping([2, 0]),
            &[Shape::batched([5, 2])],
            Shape::batched([3, 2]),
            0,
        );
        check_layer(
            &Cropping1D::new().cropping(0),
            &[Shape::batched([5, 2])],
            Shape::batched([5, 2]),
            0,
        );
    }

    #[test]
    fn crops_the_ends() {
        use crate::model::{Apply, Input, Model};
        let x = Input::new([4, 1]);
        let y = Cropping1D::new().cropping((1, 2)).apply(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let out = model
            .predict(crate::Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0], vec![1, 4, 1]).unwrap())
            .unwrap();
        assert_eq!(out.to_f32(), vec![2.0]);
    }

    #[test]
    fn cropping_everything_is_refused() {
        let err = Cropping1D::new()
            .cropping((2, 3))
            .name("c")
            .compute_output_shape(&[TensorType::f32(Shape::batched([5, 2]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'c' (Cropping1D) is incompatible with its input: `cropping` parameter of `Cropping1D` layer must be smaller than the input length. Received: input_shape=(None, 5, 2), cropping=(2, 3)"
        );
    }
}
