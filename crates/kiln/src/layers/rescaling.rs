//! `Rescaling`: multiplies by a scale and adds an offset.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument};
use crate::names::unique_name;
use kiln_ir::{TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// `output = input * scale + offset`, in training and inference alike: a preprocessing
/// layer, typically `Rescaling::new(1.0 / 255.0)` for 8-bit images, or
/// `Rescaling::new(1.0 / 127.5).offset(-1.0)` for the range `[-1, 1]`.
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([2]);
/// let y = Rescaling::new(0.5).offset(1.0).apply(&x)?;
/// let model = Model::new(&[&x], &[&y])?;
/// let out = model.predict(Tensor::from_f32(vec![2.0, 4.0], vec![1, 2]).unwrap())?;
/// assert_eq!(out.to_f32(), vec![2.0, 3.0]);
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rescaling {
    /// Layer name.
    pub name: String,
    /// The factor.
    pub scale: f64,
    /// Added after scaling.
    pub offset: f64,
}

impl Rescaling {
    /// Rescales by `scale`, with offset 0.
    pub fn new(scale: f64) -> Self {
        Rescaling {
            name: unique_name("rescaling"),
            scale,
            offset: 0.0,
        }
    }

    /// Sets the offset.
    pub fn offset(mut self, offset: f64) -> Self {
        self.offset = offset;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Rescaling {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Rescaling"
    }

    fn validate(&self) -> Result<()> {
        for (name, v) in [("scale", self.scale), ("offset", self.offset)] {
            if !v.is_finite() {
                return Err(bad_argument(
                    self,
                    format!("expected a finite number. Received: {name}={v}"),
                ));
            }
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![super::single(self, inputs)?.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        // Keras casts both to the compute dtype (float32) first.
        let y = ctx.scale(inputs[0], self.scale as f32)?;
        Ok(vec![ctx.add_scalar(y, self.offset as f32)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Rescaling {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let number = |key: &str| -> Result<Option<f64>> {
            c.get(key)
                .map(|v| {
                    v.as_f64().ok_or_else(|| {
                        c.error(
                            key,
                            format!("only a number is supported (per-channel arrays are not), received {v}"),
                        )
                    })
                })
                .transpose()
        };
        let scale = number("scale")?.ok_or_else(|| c.error("scale", "is required"))?;
        let mut layer = Rescaling::new(scale);
        if let Some(o) = number("offset")? {
            layer.offset = o;
        }
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
    fn shapes_config_and_checks() {
        check_layer(
            &Rescaling::new(1.0 / 255.0).offset(-1.0),
            &[Shape::batched([2, 3])],
            Shape::batched([2, 3]),
            0,
        );
        let err = Rescaling::new(f64::INFINITY)
            .name("r")
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'r' (Rescaling): expected a finite number. Received: scale=inf"
        );
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "rescaling", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "scale": 0.00392156862745098, "offset": 0.0}"#).unwrap();
        let layer = crate::keras::layer_from_config("Rescaling", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
