//! `GaussianDropout`: multiplies by 1-centred Gaussian noise during training.

use super::spatial_dropout1d::check_rate;
use crate::error::Result;
use crate::layer::{EmitContext, Layer};
use crate::names::unique_name;
use kiln_ir::{NoiseKind, Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Multiplies every input by noise drawn from `N(1, rate / (1 - rate))` during training
/// (standard deviation `sqrt(rate / (1 - rate))`, as Keras); the identity in `evaluate`
/// and `predict`.
///
/// The noise is drawn on the host from Kiln's seed, so every engine uses the same numbers.
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([5]);
/// let y = GaussianDropout::new(0.3).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 5)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussianDropout {
    /// Layer name.
    pub name: String,
    /// Drop probability, in `[0, 1]`.
    pub rate: f32,
}

impl GaussianDropout {
    /// A Gaussian dropout layer with the given rate.
    pub fn new(rate: f32) -> Self {
        GaussianDropout {
            name: unique_name("gaussian_dropout"),
            rate,
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The standard deviation of the noise, `sqrt(rate / (1 - rate))`.
    pub fn stddev(&self) -> f32 {
        let rate = f64::from(self.rate);
        (rate / (1.0 - rate)).sqrt() as f32
    }
}

impl Layer for GaussianDropout {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "GaussianDropout"
    }

    fn validate(&self) -> Result<()> {
        check_rate(self, self.rate)
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![super::single(self, inputs)?.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        if self.rate <= 0.0 {
            return Ok(vec![inputs[0]]);
        }
        Ok(vec![ctx.push(
            Op::Noise {
                kind: NoiseKind::Multiplicative,
                stddev: self.stddev(),
            },
            inputs,
        )?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for GaussianDropout {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let rate = c.f32("rate")?.ok_or_else(|| c.error("rate", "is required"))?;
        // Kiln draws noise from its own seeded generator (`set_random_seed`).
        let _ = c.get("seed");
        let mut layer = GaussianDropout::new(rate);
        if let (Some(name), _) = crate::keras::common(c)? {
            layer.name = name;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::spatial_dropout1d::run_layer;
    use crate::layers::testing::check_layer;
    use kiln_ir::Shape;

    #[test]
    fn shapes_config_and_rate_check() {
        check_layer(
            &GaussianDropout::new(0.3),
            &[Shape::batched([4])],
            Shape::batched([4]),
            0,
        );
        let err = GaussianDropout::new(-0.5)
            .name("gd")
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'gd' (GaussianDropout): Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate=-0.5"
        );
        assert!((GaussianDropout::new(0.5).stddev() - 1.0).abs() < 1e-7);
    }

    #[test]
    fn multiplies_by_noise_in_training_only() {
        let input = crate::Tensor::from_f32(vec![2.0; 400], vec![4, 100]).unwrap();
        let layer = GaussianDropout::new(0.2); // stddev 0.5
        assert_eq!(run_layer(&layer, &input, false), input.to_f32());
        let out = run_layer(&layer, &input, true);
        let n = out.len() as f32;
        let mean = out.iter().sum::<f32>() / n;
        let std = (out.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
        assert!((mean - 2.0).abs() < 0.2, "{mean}");
        assert!((std - 1.0).abs() < 0.2, "{std}");
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "gaussian_dropout", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "rate": 0.1, "seed": null}"#).unwrap();
        let layer = crate::keras::layer_from_config("GaussianDropout", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
