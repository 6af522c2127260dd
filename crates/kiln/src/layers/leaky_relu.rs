//! `LeakyReLU`: a rectified linear unit with a small slope below zero.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument};
use crate::names::unique_name;
use kiln_ir::{Activation, Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Leaky rectified linear unit: `x` for `x >= 0`, else `negative_slope * x`.
///
/// # Arguments
/// - `negative_slope`: slope below zero, `>= 0`; default `0.3` (the layer's Keras default;
///   the `"leaky_relu"` activation function's is `0.2`).
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = LeakyReLU::new().negative_slope(0.1).apply(&Input::new([3]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 3)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeakyReLU {
    /// Layer name.
    pub name: String,
    /// Slope below zero.
    pub negative_slope: f32,
}

impl LeakyReLU {
    /// A LeakyReLU layer with Keras's default slope, 0.3.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        LeakyReLU {
            name: unique_name("leaky_re_lu"),
            negative_slope: 0.3,
        }
    }

    /// Sets the slope below zero.
    pub fn negative_slope(mut self, negative_slope: f32) -> Self {
        self.negative_slope = negative_slope;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for LeakyReLU {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "LeakyReLU"
    }

    fn validate(&self) -> Result<()> {
        if self.negative_slope < 0.0 {
            return Err(bad_argument(
                self,
                format!(
                    "The negative_slope value of a Leaky ReLU layer cannot be None or negative value. Expected a float. Received: negative_slope={}",
                    self.negative_slope
                ),
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![super::single(self, inputs)?.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let kind = Activation::LeakyRelu {
            negative_slope: self.negative_slope,
        };
        Ok(vec![ctx.push(Op::Activation { kind }, inputs)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for LeakyReLU {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = LeakyReLU::new();
        let (name, _) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        // `alpha` is Keras's deprecated spelling of `negative_slope`.
        if let Some(s) = c.f32("negative_slope")?.or(c.f32("alpha")?) {
            layer.negative_slope = s;
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
        check_layer(&LeakyReLU::new(), &[Shape::batched([2, 5])], Shape::batched([2, 5]), 0);
        assert_eq!(LeakyReLU::new().negative_slope, 0.3);
    }

    #[test]
    fn builds_from_a_keras_config() {
        let config = serde_json::json!({"name": "leaky", "trainable": true, "negative_slope": 0.1});
        let layer = crate::keras::layer_from_config("LeakyReLU", &config).unwrap();
        assert_eq!(
            layer.config(),
            serde_json::to_value(LeakyReLU::new().name("leaky").negative_slope(0.1)).unwrap()
        );
    }

    #[test]
    fn a_negative_slope_is_refused_as_keras_does() {
        let err = LeakyReLU::new()
            .name("l")
            .negative_slope(-1.0)
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'l' (LeakyReLU): The negative_slope value of a Leaky ReLU layer cannot be None or negative value. Expected a float. Received: negative_slope=-1"
        );
    }
}
