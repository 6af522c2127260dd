//! `ReLU`: the rectified linear unit, with Keras's optional slope, cap and threshold.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument};
use crate::names::unique_name;
use kiln_ir::{Activation, Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Rectified linear unit: `keras.activations.relu(x, negative_slope, max_value, threshold)`.
///
/// - `x` where `threshold <= x < max_value`,
/// - `max_value` where `x >= max_value`,
/// - `negative_slope * (x - threshold)` otherwise.
///
/// # Arguments
/// - `max_value`: largest output, `>= 0`; default `None` (no limit).
/// - `negative_slope`: slope below the threshold, `>= 0`; default `0.0`.
/// - `threshold`: where the slope changes, `>= 0`; default `0.0`.
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = ReLU::new().max_value(6.0).apply(&Input::new([3]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 3)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReLU {
    /// Layer name.
    pub name: String,
    /// Largest output, or no limit.
    pub max_value: Option<f32>,
    /// Slope below the threshold.
    pub negative_slope: f32,
    /// Where the slope changes.
    pub threshold: f32,
}

impl ReLU {
    /// A ReLU layer with Keras's defaults: `max(x, 0)`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ReLU {
            name: unique_name("re_lu"),
            max_value: None,
            negative_slope: 0.0,
            threshold: 0.0,
        }
    }

    /// Caps the output at `max_value`.
    pub fn max_value(mut self, max_value: f32) -> Self {
        self.max_value = Some(max_value);
        self
    }

    /// Sets the slope below the threshold.
    pub fn negative_slope(mut self, negative_slope: f32) -> Self {
        self.negative_slope = negative_slope;
        self
    }

    /// Sets the threshold.
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The activation this layer applies.
    fn kind(&self) -> Activation {
        if self.max_value.is_none() && self.negative_slope == 0.0 && self.threshold == 0.0 {
            Activation::Relu
        } else {
            Activation::ReluExt {
                negative_slope: self.negative_slope,
                max_value: self.max_value,
                threshold: self.threshold,
            }
        }
    }
}

impl Layer for ReLU {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "ReLU"
    }

    fn validate(&self) -> Result<()> {
        if let Some(m) = self.max_value.filter(|m| *m < 0.0) {
            return Err(bad_argument(
                self,
                format!("max_value of a ReLU layer cannot be a negative value. Received: max_value={m}"),
            ));
        }
        if self.negative_slope < 0.0 {
            return Err(bad_argument(
                self,
                format!(
                    "negative_slope of a ReLU layer cannot be None or a negative value. Received: negative_slope={}",
                    self.negative_slope
                ),
            ));
        }
        if self.threshold < 0.0 {
            return Err(bad_argument(
                self,
                format!(
                    "threshold of a ReLU layer cannot be None or a negative value. Received: threshold={}",
                    self.threshold
                ),
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![super::single(self, inputs)?.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(vec![ctx.push(Op::Activation { kind: self.kind() }, inputs)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for ReLU {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = ReLU::new();
        let (name, _) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        layer.max_value = c.f32("max_value")?;
        if let Some(s) = c.f32("negative_slope")? {
            layer.negative_slope = s;
        }
        if let Some(t) = c.f32("threshold")? {
            layer.threshold = t;
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
        check_layer(&ReLU::new(), &[Shape::batched([2, 5])], Shape::batched([2, 5]), 0);
        check_layer(
            &ReLU::new().max_value(3.0).negative_slope(0.1).threshold(0.5),
            &[Shape::batched([4])],
            Shape::batched([4]),
            0,
        );
    }

    #[test]
    fn defaults_emit_plain_relu() {
        assert_eq!(ReLU::new().kind(), Activation::Relu);
        assert_eq!(
            ReLU::new().max_value(6.0).kind(),
            Activation::ReluExt {
                negative_slope: 0.0,
                max_value: Some(6.0),
                threshold: 0.0
            }
        );
    }

    #[test]
    fn negative_arguments_are_refused_as_keras_does() {
        let err = |l: ReLU| l.name("r").validate().unwrap_err().to_string();
        assert_eq!(
            err(ReLU::new().max_value(-1.0)),
            "layer 'r' (ReLU): max_value of a ReLU layer cannot be a negative value. Received: max_value=-1"
        );
        assert_eq!(
            err(ReLU::new().negative_slope(-0.5)),
            "layer 'r' (ReLU): negative_slope of a ReLU layer cannot be None or a negative value. Received: negative_slope=-0.5"
        );
        assert_eq!(
            err(ReLU::new().threshold(-2.0)),
            "layer 'r' (ReLU): threshold of a ReLU layer cannot be None or a negative value. Received: threshold=-2"
        );
        assert!(ReLU::new().max_value(0.0).validate().is_ok());
    }

    #[test]
    fn builds_from_a_keras_config() {
        let config = serde_json::json!({"name": "re_lu", "trainable": true, "max_value": null,
            "negative_slope": 0.1, "threshold": 0.5});
        let layer = crate::keras::layer_from_config("ReLU", &config).unwrap();
        assert_eq!(
            layer.config(),
            serde_json::to_value(ReLU::new().name("re_lu").negative_slope(0.1).threshold(0.5)).unwrap()
        );
    }

    #[test]
    fn computes_keras_formula() {
        use crate::model::{Apply, Input, Model};
        let x = Input::new([5]);
        let y = ReLU::new().max_value(5.0).negative_slope(0.5).apply(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let input = crate::Tensor::from_f32(vec![-10.0, -5.0, 0.0, 5.0, 10.0], [1, 5]).unwrap();
        // keras.layers.ReLU(max_value=5, negative_slope=0.5) on the docstring's input.
        assert_eq!(model.predict(&input).unwrap().to_f32(), vec![-5.0, -2.5, 0.0, 5.0, 5.0]);
    }
}
