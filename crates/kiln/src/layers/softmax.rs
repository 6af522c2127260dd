//! `Softmax`: normalises along an axis into probabilities.

use crate::error::Result;
use crate::layer::{EmitContext, Layer};
use crate::names::unique_name;
use kiln_ir::{Activation, Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Softmax along `axis`: `exp(x_i) / sum_j exp(x_j)`.
///
/// # Arguments
/// - `axis`: the axis normalised (negative counts from the end); default `-1`.
///
/// Keras's `mask` call argument is not taken.
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = Softmax::new().axis(1).apply(&Input::new([2, 3]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 2, 3)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Softmax {
    /// Layer name.
    pub name: String,
    /// The axis normalised (negative counts from the end).
    pub axis: i64,
}

impl Softmax {
    /// Softmax along the last axis.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Softmax {
            name: unique_name("softmax"),
            axis: -1,
        }
    }

    /// Sets the axis.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = axis;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Softmax {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Softmax"
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        super::resolve_axis(self, self.axis, x.shape.rank())?;
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let rank = ctx.value_type(inputs[0])?.shape.rank();
        let axis = super::resolve_axis(self, self.axis, rank)?;
        Ok(vec![ctx.push(
            Op::Activation {
                kind: Activation::Softmax { axis },
            },
            inputs,
        )?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use kiln_ir::Shape;

    #[test]
    fn shapes_and_config() {
        check_layer(&Softmax::new(), &[Shape::batched([2, 5])], Shape::batched([2, 5]), 0);
        check_layer(
            &Softmax::new().axis(1),
            &[Shape::batched([2, 5])],
            Shape::batched([2, 5]),
            0,
        );
    }

    #[test]
    fn an_axis_out_of_range_is_refused() {
        let err = Softmax::new()
            .name("s")
            .axis(3)
            .compute_output_shape(&[TensorType::f32(Shape::batched([4]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 's' (Softmax) is incompatible with its input: axis 3 is out of range for inputs of rank 2"
        );
    }
}
