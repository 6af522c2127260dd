//! `Add`: sums a list of inputs.

use super::merging;
use crate::error::Result;
use crate::layer::{EmitContext, Layer};
use crate::names::unique_name;
use kiln_ir::{BinaryOp, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Adds a list of at least two inputs element-wise, as Keras's `Add`. Shapes broadcast as
/// numpy's on the non-batch axes; an input of lower rank gains axes of size 1 after the
/// batch axis.
///
/// ```
/// use kiln::prelude::*;
/// let (a, b) = (Input::new([4]), Input::new([4]));
/// let s = Add::new().apply_list(&[&a, &b])?;
/// assert_eq!(s.shape().keras_string(), "(None, 4)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Add {
    /// Layer name.
    pub name: String,
}

impl Add {
    /// An add layer.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Add {
            name: unique_name("add"),
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Add {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Add"
    }

    fn takes_list(&self) -> bool {
        true
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![merging::output_type(self, inputs)?])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(vec![merging::fold(ctx, BinaryOp::Add, inputs)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Add {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Add::new();
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
            &Add::new(),
            &[Shape::batched([3]), Shape::batched([3]), Shape::batched([3])],
            Shape::batched([3]),
            0,
        );
    }

    #[test]
    fn mismatched_shapes_are_named() {
        let t = |n: usize| TensorType::f32(Shape::batched([n]));
        let err = Add::new()
            .name("a")
            .compute_output_shape(&[t(3), t(4)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'a' (Add) is incompatible with its input: Inputs have incompatible shapes. Received shapes (3,) and (4,)"
        );
        let err = Add::new()
            .name("a")
            .compute_output_shape(&[t(3)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 2 inputs, received 1"), "{err}");
    }

    #[test]
    fn broadcasts_and_lower_ranks() {
        check_layer(
            &Add::new(),
            &[Shape::batched([3, 4]), Shape::batched([1, 4])],
            Shape::batched([3, 4]),
            0,
        );
        check_layer(
            &Add::new(),
            &[Shape::batched([3, 4]), Shape::batched([4])],
            Shape::batched([3, 4]),
            0,
        );
    }

    #[test]
    fn from_keras() {
        let layer =
            crate::keras::layer_from_config("Add", &serde_json::json!({"name": "sum", "trainable": true})).unwrap();
        assert_eq!((layer.name(), layer.class_name()), ("sum", "Add"));
    }
}
