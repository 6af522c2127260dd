//! `Activation`: applies an activation function.

use crate::activations::{activation, output_type};
use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Applies the activation function `activation` (a Keras name) element-wise
/// (softmax-like functions on the last axis).
///
/// # Shapes
/// Output shape = input shape, except that `"glu"` halves the last axis. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = layers::Activation::new("tanh").apply(&Input::new([3]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 3)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Activation {
    /// Layer name.
    pub name: String,
    /// Activation name.
    pub activation: String,
}

impl Activation {
    /// An activation layer for the Keras activation `name`.
    pub fn new(activation: &str) -> Self {
        Activation {
            name: unique_name("activation"),
            activation: activation.to_string(),
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Activation {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Activation"
    }

    fn validate(&self) -> Result<()> {
        activation(&self.activation, 2)
            .map(|_| ())
            .map_err(|e| bad_argument(self, e.to_string()))
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        let kind = activation(&self.activation, x.shape.rank()).map_err(|e| bad_argument(self, e.to_string()))?;
        Ok(vec![output_type(kind, x).map_err(|e| incompatible(self, e))?])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let rank = ctx.value_type(inputs[0])?.shape.rank();
        let kind = activation(&self.activation, rank)?;
        Ok(vec![ctx.push(Op::Activation { kind }, inputs)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Activation {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Activation::new(&c.activation("activation")?.unwrap_or_else(|| "linear".into()));
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
    use kiln_ir::Shape;

    #[test]
    fn shapes_and_config() {
        check_layer(
            &Activation::new("softmax"),
            &[Shape::batched([2, 5])],
            Shape::batched([2, 5]),
            0,
        );
        check_layer(
            &Activation::new("glu"),
            &[Shape::batched([2, 6])],
            Shape::batched([2, 3]),
            0,
        );
        check_layer(
            &Activation::new("sparsemax"),
            &[Shape::batched([4])],
            Shape::batched([4]),
            0,
        );
    }

    #[test]
    fn glu_needs_an_even_axis() {
        let err = Activation::new("glu")
            .name("a")
            .compute_output_shape(&[TensorType::f32(Shape::batched([5]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'a' (Activation) is incompatible with its input: glu splits axis 1 into two halves: its size must be even, received f32[?,5]"
        );
    }
}
