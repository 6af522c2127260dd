//! `GaussianNoise`: adds zero-centred Gaussian noise during training.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument};
use crate::names::unique_name;
use kiln_ir::{NoiseKind, Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Adds noise drawn from `N(0, stddev²)` to every input during training (a
/// regularizer, a form of data augmentation); the identity in `evaluate` and `predict`.
///
/// The noise is drawn on the host from Kiln's seed, so every engine adds the same numbers.
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([5]);
/// let y = GaussianNoise::new(0.1).apply(&x)?;
/// let model = Model::new(&[&x], &[&y])?;
/// let ones = Tensor::from_f32(vec![1.0; 5], vec![1, 5]).unwrap();
/// assert_eq!(model.predict(ones)?.to_f32(), vec![1.0; 5]); // inference: unchanged
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussianNoise {
    /// Layer name.
    pub name: String,
    /// Standard deviation of the noise, in `[0, 1]`.
    pub stddev: f32,
}

impl GaussianNoise {
    /// A noise layer with the given standard deviation.
    pub fn new(stddev: f32) -> Self {
        GaussianNoise {
            name: unique_name("gaussian_noise"),
            stddev,
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for GaussianNoise {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "GaussianNoise"
    }

    fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.stddev) {
            return Err(bad_argument(
                self,
                format!(
                    "Invalid value received for argument `stddev`. Expected a float value between 0 and 1. Received: stddev={}",
                    self.stddev
                ),
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![super::single(self, inputs)?.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        if self.stddev <= 0.0 {
            return Ok(vec![inputs[0]]);
        }
        Ok(vec![ctx.push(
            Op::Noise {
                kind: NoiseKind::Additive,
                stddev: self.stddev,
            },
            inputs,
        )?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for GaussianNoise {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let stddev = c.f32("stddev")?.ok_or_else(|| c.error("stddev", "is required"))?;
        // Kiln draws noise from its own seeded generator (`set_random_seed`).
        let _ = c.get("seed");
        let mut layer = GaussianNoise::new(stddev);
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
    fn shapes_config_and_stddev_check() {
        check_layer(&GaussianNoise::new(0.5), &[Shape::batched([4])], Shape::batched([4]), 0);
        let err = GaussianNoise::new(2.0).name("gn").validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 'gn' (GaussianNoise): Invalid value received for argument `stddev`. Expected a float value between 0 and 1. Received: stddev=2"
        );
    }

    #[test]
    fn adds_noise_in_training_only() {
        let input = crate::Tensor::from_f32(vec![1.0; 400], vec![4, 100]).unwrap();
        let layer = GaussianNoise::new(0.5);
        assert_eq!(run_layer(&layer, &input, false), input.to_f32());
        let out = run_layer(&layer, &input, true);
        let n = out.len() as f32;
        let mean = out.iter().sum::<f32>() / n;
        let std = (out.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
        assert!((mean - 1.0).abs() < 0.1, "{mean}");
        assert!((std - 0.5).abs() < 0.1, "{std}");
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "gaussian_noise", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "stddev": 0.1, "seed": null}"#).unwrap();
        let layer = crate::keras::layer_from_config("GaussianNoise", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
