//! `RMSNormalization`: scales each sample by the inverse root mean square.

use super::layer_normalization::weight_dims;
use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Initializer, Shape, TensorType, UnaryOp, ValueId, broadcast_shapes};
use serde::{Deserialize, Serialize};

/// Root mean square layer normalization (Zhang & Sennrich, 2019):
/// `x * rsqrt(mean(square(x)) + epsilon) * scale`, the mean over `axis`.
///
/// As in Keras, the `scale` weight (of the input's sizes on `axis`) multiplies the result
/// with numpy broadcasting, so it lines up with the last axes of the input; a `scale` that
/// does not broadcast to the input's shape is refused.
///
/// # Arguments
/// - `axis`: the axis or axes normalised over, default `-1`
///   ([`axis`](RMSNormalization::axis), [`axes`](RMSNormalization::axes)).
/// - `epsilon`: added to the mean square, default `1e-6`.
///
/// # Shapes
/// Output shape = input shape. Weight `scale`, initialised to ones.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([4]);
/// let y = RMSNormalization::new().apply(&x)?;
/// let model = Model::new(&[&x], &[&y])?;
/// let out = model.predict(Tensor::from_f32(vec![3.0, -3.0, 3.0, -3.0], vec![1, 4]).unwrap())?;
/// assert!((out.to_f32()[0] - 1.0).abs() < 1e-5);
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RMSNormalization {
    /// Layer name.
    pub name: String,
    /// Axes normalised over (negative counts from the end).
    pub axis: Vec<i64>,
    /// Added to the mean square.
    pub epsilon: f32,
    /// Whether training updates `scale`.
    pub trainable: bool,
}

impl RMSNormalization {
    /// An RMS normalization over the last axis with Keras's defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        RMSNormalization {
            name: unique_name("rms_normalization"),
            axis: vec![-1],
            epsilon: 1e-6,
            trainable: true,
        }
    }

    /// Normalises over one axis.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = vec![axis];
        self
    }

    /// Normalises over several axes.
    pub fn axes(mut self, axes: impl IntoIterator<Item = i64>) -> Self {
        self.axis = axes.into_iter().collect();
        self
    }

    /// Sets the epsilon added to the mean square.
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Freezes (`false`) or unfreezes `scale`.
    pub fn trainable(mut self, trainable: bool) -> Self {
        self.trainable = trainable;
        self
    }

    fn plan(&self, shape: &Shape) -> Result<(Vec<usize>, Vec<usize>)> {
        let (axes, dims) = weight_dims(self, &self.axis, shape)?;
        let scale = Shape::fixed(dims.clone());
        if broadcast_shapes(shape, &scale).as_ref() != Some(shape) {
            return Err(incompatible(
                self,
                format!(
                    "the scale of shape {} does not broadcast to the input shape {} (Keras multiplies without reshaping: normalise over the last axes)",
                    scale.keras_string(),
                    shape.keras_string()
                ),
            ));
        }
        Ok((axes, dims))
    }
}

impl Layer for RMSNormalization {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "RMSNormalization"
    }

    fn validate(&self) -> Result<()> {
        if self.axis.is_empty() {
            return Err(bad_argument(self, "expected at least one axis. Received: axis=[]"));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        self.plan(&x.shape)?;
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let shape = ctx.shape(x)?;
        let (axes, dims) = self.plan(&shape)?;
        let scale = ctx.weight("scale", Shape::fixed(dims), Initializer::Ones)?;
        let squared = ctx.unary(UnaryOp::Square, x)?;
        let mean_square = ctx.mean(squared, axes, true)?;
        let rrms = super::layer_normalization::rsqrt(ctx, mean_square, self.epsilon)?;
        let y = ctx.mul(x, rrms)?;
        Ok(vec![ctx.mul(y, scale)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn trainable(&self) -> bool {
        self.trainable
    }
}

impl crate::keras::FromKeras for RMSNormalization {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = RMSNormalization::new();
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(t) = trainable {
            layer.trainable = t;
        }
        if let Some(axis) = c.i64s("axis")? {
            layer.axis = axis;
        }
        if let Some(e) = c.f32("epsilon")? {
            layer.epsilon = e;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;

    #[test]
    fn shapes_params_and_config() {
        check_layer(
            &RMSNormalization::new(),
            &[Shape::batched([3, 4])],
            Shape::batched([3, 4]),
            4,
        );
        check_layer(
            &RMSNormalization::new().axes([1, 2]).epsilon(0.01),
            &[Shape::batched([3, 4])],
            Shape::batched([3, 4]),
            12,
        );
    }

    #[test]
    fn a_scale_that_does_not_broadcast_is_refused() {
        let err = RMSNormalization::new()
            .name("rms")
            .axis(1)
            .compute_output_shape(&[TensorType::f32(Shape::batched([3, 4]))])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("layer 'rms' (RMSNormalization) is incompatible with its input: the scale of shape (3,) does not broadcast to the input shape (None, 3, 4)"),
            "{err}"
        );
        let err = RMSNormalization::new()
            .name("rms")
            .axes([])
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'rms' (RMSNormalization): expected at least one axis. Received: axis=[]"
        );
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "rms_normalization", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "axis": -1, "epsilon": 1e-06}"#).unwrap();
        let layer = crate::keras::layer_from_config("RMSNormalization", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
