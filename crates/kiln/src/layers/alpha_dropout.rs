//! `AlphaDropout`: dropout that keeps the self-normalising property of SELU networks.

use super::spatial_dropout1d::check_rate;
use crate::error::Result;
use crate::layer::{EmitContext, Layer};
use crate::names::unique_name;
use kiln_ir::{CompareOp, Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Alpha dropout (Klambauer et al., 2017): during training each input is replaced, with
/// probability `rate`, by SELU's negative saturation value `-alpha * scale`, and the
/// result is transformed by `a * x + b` so that mean and variance are kept; the identity
/// in `evaluate` and `predict`. Meant to follow `selu` activations.
///
/// As Keras: `alpha_p = -1.6732632 * 1.0507010`,
/// `a = ((1 - rate) * (1 + rate * alpha_p²))^(-1/2)`, `b = -a * alpha_p * rate`.
/// Masks are drawn on the host from Kiln's seed.
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([5]);
/// let y = AlphaDropout::new(0.1).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 5)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlphaDropout {
    /// Layer name.
    pub name: String,
    /// Drop probability, in `[0, 1]`.
    pub rate: f32,
}

const ALPHA: f64 = 1.673_263_242_354_377_3;
const SCALE: f64 = 1.050_700_987_355_480_5;

impl AlphaDropout {
    /// An alpha dropout layer with the given rate.
    pub fn new(rate: f32) -> Self {
        AlphaDropout {
            name: unique_name("alpha_dropout"),
            rate,
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for AlphaDropout {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "AlphaDropout"
    }

    fn validate(&self) -> Result<()> {
        check_rate(self, self.rate)
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![super::single(self, inputs)?.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        if self.rate <= 0.0 {
            return Ok(vec![x]);
        }
        let rate = f64::from(self.rate);
        let alpha_p = -ALPHA * SCALE;
        let a = ((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p)).powf(-0.5);
        let b = -a * alpha_p * rate;
        // The kept positions: 1 where a dropout of ones keeps the unit, else 0.
        let zeros = ctx.scale(x, 0.0)?;
        let ones = ctx.add_scalar(zeros, 1.0)?;
        let dropped = ctx.push(
            Op::Dropout {
                rate: self.rate,
                shared_axes: vec![],
            },
            &[ones],
        )?;
        let zero = ctx.constant(0.0)?;
        let kept = ctx.push(
            Op::Compare {
                kind: CompareOp::Greater,
            },
            &[dropped, zero],
        )?;
        // x * kept + alpha_p * (1 - kept), then a * x + b.
        let kept_x = ctx.mul(x, kept)?;
        let neg_kept = ctx.scale(kept, -1.0)?;
        let not_kept = ctx.add_scalar(neg_kept, 1.0)?;
        let saturated = ctx.scale(not_kept, alpha_p as f32)?;
        let mixed = ctx.add(kept_x, saturated)?;
        let scaled = ctx.scale(mixed, a as f32)?;
        let y = ctx.add_scalar(scaled, b as f32)?;
        Ok(vec![ctx.if_training(y, x)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for AlphaDropout {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let rate = c.f32("rate")?.ok_or_else(|| c.error("rate", "is required"))?;
        if c.get("noise_shape").is_some() {
            return Err(c.error("noise_shape", "is not supported"));
        }
        // Kiln draws masks from its own seeded generator (`set_random_seed`).
        let _ = c.get("seed");
        let mut layer = AlphaDropout::new(rate);
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
        check_layer(&AlphaDropout::new(0.3), &[Shape::batched([4])], Shape::batched([4]), 0);
        let err = AlphaDropout::new(1.5).name("ad").validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 'ad' (AlphaDropout): Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate=1.5"
        );
    }

    #[test]
    fn keeps_or_saturates_in_training_only() {
        let values: Vec<f32> = (0..400).map(|i| (i as f32 * 0.1).sin()).collect();
        let input = crate::Tensor::from_f32(values.clone(), vec![4, 100]).unwrap();
        let layer = AlphaDropout::new(0.3);
        assert_eq!(run_layer(&layer, &input, false), values);
        let out = run_layer(&layer, &input, true);
        let rate = 0.3f64;
        let alpha_p = -ALPHA * SCALE;
        let a = ((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p)).powf(-0.5);
        let b = -a * alpha_p * rate;
        let dropped_value = (a * alpha_p + b) as f32;
        let mut dropped = 0;
        for (y, x) in out.iter().zip(&values) {
            let kept_value = (a * f64::from(*x) + b) as f32;
            if (y - dropped_value).abs() < 1e-5 && (y - kept_value).abs() > 1e-5 {
                dropped += 1;
            } else {
                assert!((y - kept_value).abs() < 1e-5, "{y} vs {kept_value}");
            }
        }
        assert!((60..180).contains(&dropped), "{dropped} of 400 dropped");
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "alpha_dropout", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "rate": 0.1, "seed": null, "noise_shape": null}"#).unwrap();
        let layer = crate::keras::layer_from_config("AlphaDropout", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
