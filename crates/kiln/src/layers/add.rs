//! `Add`: sums a list of inputs.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, incompatible};
use crate::names::unique_name;
use kiln_ir::{BinaryOp, Op, TensorType, ValueId, broadcast_shapes};
use serde::{Deserialize, Serialize};

/// Adds a list of inputs element-wise; shapes must be equal (or broadcast).
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
        if inputs.len() < 2 {
            return Err(incompatible(
                self,
                format!("expected a list of at least 2 inputs, received {}", inputs.len()),
            ));
        }
        let mut shape = inputs[0].shape.clone();
        for t in &inputs[1..] {
            shape = broadcast_shapes(&shape, &t.shape)
                .filter(|_| t.dtype == inputs[0].dtype)
                .ok_or_else(|| {
                    let s: Vec<String> = inputs.iter().map(|t| t.shape.keras_string()).collect();
                    incompatible(
                        self,
                        format!(
                            "inputs must have the same shape. Received: input_shape=[{}]",
                            s.join(", ")
                        ),
                    )
                })?;
        }
        Ok(vec![TensorType::new(inputs[0].dtype, shape)])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let mut acc = inputs[0];
        for &x in &inputs[1..] {
            acc = ctx.push(Op::Binary { kind: BinaryOp::Add }, &[acc, x])?;
        }
        Ok(vec![acc])
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
            "layer 'a' (Add) is incompatible with its input: inputs must have the same shape. Received: input_shape=[(None, 3), (None, 4)]"
        );
    }
}
