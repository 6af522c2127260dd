//! `Multiply`: multiplies a list of inputs element-wise.

use super::merging;
use crate::error::Result;
use crate::layer::{EmitContext, Layer};
use crate::names::unique_name;
use kiln_ir::{BinaryOp, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Multiplies a list of at least two inputs element-wise, as Keras's `Multiply`. Shapes
/// broadcast as numpy's on the non-batch axes; an input of lower rank gains axes of size 1
/// after the batch axis.
///
/// ```
/// use kiln::prelude::*;
/// let (a, b) = (Input::new([2, 4]), Input::new([2, 4]));
/// let y = Multiply::new().apply_list(&[&a, &b])?;
/// assert_eq!(y.shape().keras_string(), "(None, 2, 4)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Multiply {
    /// Layer name.
    pub name: String,
}

impl Multiply {
    /// A multiply layer.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Multiply {
            name: unique_name("multiply"),
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Multiply {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Multiply"
    }

    fn takes_list(&self) -> bool {
        true
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![merging::output_type(self, inputs)?])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(vec![merging::fold(ctx, BinaryOp::Mul, inputs)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Multiply {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Multiply::new();
        if let Some(name) = merging::name_from_keras(c)? {
            layer.name = name;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use kiln_ir::Shape;

    #[test]
    fn shapes_and_config() {
        check_layer(
            &Multiply::new(),
            &[Shape::batched([3]), Shape::batched([3]), Shape::batched([3])],
            Shape::batched([3]),
            0,
        );
        check_layer(
            &Multiply::new(),
            &[Shape::batched([2, 3]), Shape::batched([3])],
            Shape::batched([2, 3]),
            0,
        );
    }

    #[test]
    fn mismatched_shapes_are_named() {
        let t = |n: usize| TensorType::f32(Shape::batched([n]));
        let err = Multiply::new()
            .name("m")
            .compute_output_shape(&[t(3), t(4)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'm' (Multiply) is incompatible with its input: Inputs have incompatible shapes. Received shapes (3,) and (4,)"
        );
    }
}
