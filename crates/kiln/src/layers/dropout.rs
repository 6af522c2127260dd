//! `Dropout`: randomly zeroes inputs during training.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument};
use crate::names::unique_name;
use kiln_ir::{Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Sets each input unit to 0 with probability `rate` during training and scales the
/// others by `1 / (1 - rate)`; the identity in `evaluate` and `predict`.
///
/// Masks are drawn on the host from Kiln's seed, so every engine drops the same units.
///
/// # Shapes
/// Output shape = input shape. No weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dropout {
    /// Layer name.
    pub name: String,
    /// Fraction of the units to drop, in `[0, 1)`.
    pub rate: f32,
}

impl Dropout {
    /// A dropout layer with the given rate.
    pub fn new(rate: f32) -> Self {
        Dropout {
            name: unique_name("dropout"),
            rate,
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Dropout {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Dropout"
    }

    fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(bad_argument(
                self,
                format!(
                    "the dropout rate must be a float in the range [0, 1). Received: rate={}",
                    self.rate
                ),
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![super::single(self, inputs)?.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(vec![ctx.push(
            Op::Dropout {
                rate: self.rate,
                shared_axes: vec![],
            },
            inputs,
        )?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Dropout {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let rate = c.f32("rate")?.ok_or_else(|| c.error("rate", "is required"))?;
        if c.get("noise_shape").is_some() {
            return Err(c.error(
                "noise_shape",
                "is not supported; use SpatialDropout1D/2D for shared masks",
            ));
        }
        // Kiln draws dropout masks from its own seeded generator (`set_random_seed`).
        let _ = c.get("seed");
        let mut layer = Dropout::new(rate);
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
    fn shapes_config_and_rate_check() {
        check_layer(&Dropout::new(0.5), &[Shape::batched([7])], Shape::batched([7]), 0);
        let err = Dropout::new(1.5).name("d").validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 'd' (Dropout): the dropout rate must be a float in the range [0, 1). Received: rate=1.5"
        );
    }
}
