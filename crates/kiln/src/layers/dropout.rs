//! `Dropout`: randomly zeroes inputs during training.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Sets each input unit to 0 with probability `rate` during training and scales the
/// others by `1 / (1 - rate)`; the identity in `evaluate` and `predict`.
///
/// Masks are drawn on the host from Kiln's seed, so every engine drops the same units.
///
/// # Arguments
/// - `rate`: fraction of the units to drop, in `[0, 1)`.
/// - `noise_shape`: the shape of the dropout mask, one entry per input axis (the batch
///   axis first), as Keras's `noise_shape`. An entry of `Some(1)` shares one mask value
///   along that axis; `None` (or the input's own size there) draws one per position.
///   `noise_shape([None, Some(1), Some(1), None])` on images `(batch, rows, cols,
///   channels)` drops whole channels, `[None, Some(1), Some(1), Some(1)]` whole samples
///   (EfficientNet's stochastic depth). Default: none, a mask value per unit. Other sizes
///   are refused (a mask Keras could not broadcast), and so is a size other than 1 on the
///   batch axis, unknown when the model is built.
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([8, 8, 3]);
/// let y = Dropout::new(0.2).noise_shape([None, Some(1), Some(1), Some(1)]).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 8, 8, 3)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dropout {
    /// Layer name.
    pub name: String,
    /// Fraction of the units to drop, in `[0, 1)`.
    pub rate: f32,
    /// The mask's shape, one entry per input axis (`None`: the input's size); `None` for
    /// a mask of the input's shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_shape: Option<Vec<Option<usize>>>,
}

impl Dropout {
    /// A dropout layer with the given rate.
    pub fn new(rate: f32) -> Self {
        Dropout {
            name: unique_name("dropout"),
            rate,
            noise_shape: None,
        }
    }

    /// Sets the mask's shape (Keras's `noise_shape`): one entry per input axis, batch
    /// first; `Some(1)` shares the mask along that axis.
    pub fn noise_shape(mut self, noise_shape: impl IntoIterator<Item = Option<usize>>) -> Self {
        self.noise_shape = Some(noise_shape.into_iter().collect());
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The axes along which one mask value is shared, for an input of shape `x`.
    fn shared_axes(&self, x: &TensorType) -> Result<Vec<usize>> {
        let Some(noise) = &self.noise_shape else {
            return Ok(Vec::new());
        };
        let dims = x.shape.dims();
        let refuse = |why: String| {
            incompatible(
                self,
                format!(
                    "noise_shape={} does not fit an input of shape {}: {why}",
                    python_tuple(noise),
                    x.shape.keras_string()
                ),
            )
        };
        if noise.len() != dims.len() {
            return Err(refuse(format!(
                "it needs one entry per input axis ({}), received {}",
                dims.len(),
                noise.len()
            )));
        }
        let mut shared = Vec::new();
        for (axis, (&n, &d)) in noise.iter().zip(dims).enumerate() {
            match (n, d) {
                (None, _) => {}
                (Some(1), _) => shared.push(axis),
                (Some(n), Some(d)) if n == d => {}
                (Some(n), None) => {
                    return Err(refuse(format!(
                        "entry {axis} is {n}, but that axis's size is not known when the model is built; use None or 1"
                    )));
                }
                (Some(n), Some(d)) => {
                    return Err(refuse(format!(
                        "entry {axis} is {n}; it must be None, 1 or the input's size there ({d})"
                    )));
                }
            }
        }
        Ok(shared)
    }
}

/// `(None, 1, 1, 1)`, as Python prints a `noise_shape` tuple.
fn python_tuple(dims: &[Option<usize>]) -> String {
    let items: Vec<String> = dims
        .iter()
        .map(|d| d.map_or_else(|| "None".to_string(), |n| n.to_string()))
        .collect();
    match items.len() {
        1 => format!("({},)", items[0]),
        _ => format!("({})", items.join(", ")),
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
        if let Some(i) = self.noise_shape.iter().flatten().position(|&d| d == Some(0)) {
            return Err(bad_argument(
                self,
                format!(
                    "Invalid value received for argument `noise_shape`. Expected all dimensions to be positive integers or None. Received negative or zero value at index {i}: 0"
                ),
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        self.shared_axes(x)?;
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = TensorType::f32(ctx.shape(inputs[0])?);
        let shared_axes = self.shared_axes(&x)?;
        Ok(vec![ctx.push(
            Op::Dropout {
                rate: self.rate,
                shared_axes,
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
        // Kiln draws dropout masks from its own seeded generator (`set_random_seed`).
        let _ = c.get("seed");
        let mut layer = Dropout::new(rate);
        if let Some(v) = c.get("noise_shape") {
            let dims = v
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|d| match d {
                            serde_json::Value::Null => Some(None),
                            d => d.as_u64().map(|n| Some(n as usize)),
                        })
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    c.error(
                        "noise_shape",
                        format!("expected a list of non-negative integers or nulls, received {v}"),
                    )
                })?;
            layer.noise_shape = Some(dims);
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
    use crate::layers::spatial_dropout1d::run_layer;
    use crate::layers::testing::check_layer;
    use kiln_ir::Shape;

    #[test]
    fn shapes_config_and_rate_check() {
        check_layer(&Dropout::new(0.5), &[Shape::batched([7])], Shape::batched([7]), 0);
        check_layer(
            &Dropout::new(0.2).noise_shape([None, Some(1), Some(1), Some(1)]),
            &[Shape::batched([3, 3, 2])],
            Shape::batched([3, 3, 2]),
            0,
        );
        check_layer(
            &Dropout::new(0.5).noise_shape([Some(1), Some(4), None]),
            &[Shape::batched([4, 2])],
            Shape::batched([4, 2]),
            0,
        );
        let err = Dropout::new(1.5).name("d").validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 'd' (Dropout): the dropout rate must be a float in the range [0, 1). Received: rate=1.5"
        );
    }

    #[test]
    fn the_config_keeps_noise_shape_only_when_set() {
        assert!(Dropout::new(0.5).config().get("noise_shape").is_none());
        let layer = Dropout::new(0.5).noise_shape([None, Some(1), Some(5)]);
        assert_eq!(layer.config()["noise_shape"], serde_json::json!([null, 1, 5]));
    }

    #[test]
    fn noise_shape_shares_the_mask_along_axes_of_size_one() {
        // (2, 3, 4, 5): one mask value per sample and channel, shared over rows and columns.
        let input = crate::Tensor::from_f32(vec![1.0; 2 * 3 * 4 * 5], vec![2, 3, 4, 5]).unwrap();
        let per_channel = Dropout::new(0.5).noise_shape([None, Some(1), Some(1), Some(5)]);
        assert_eq!(run_layer(&per_channel, &input, false), input.to_f32());
        let out = run_layer(&per_channel, &input, true);
        assert!(out.iter().all(|&v| v == 0.0 || v == 2.0));
        assert!(out.contains(&0.0) && out.contains(&2.0));
        for b in 0..2 {
            for c in 0..5 {
                let first = out[b * 60 + c];
                assert!((0..12).all(|p| out[b * 60 + p * 5 + c] == first));
            }
        }
        // (None, 1, 1, 1): each whole sample kept or dropped (EfficientNet's blocks).
        let input = crate::Tensor::from_f32(vec![1.0; 16 * 2 * 2 * 3], vec![16, 2, 2, 3]).unwrap();
        let per_sample = Dropout::new(0.5).noise_shape([None, Some(1), Some(1), Some(1)]);
        let out = run_layer(&per_sample, &input, true);
        for sample in out.chunks(12) {
            assert!(sample.iter().all(|&v| v == sample[0]), "{sample:?}");
        }
        let kept = out.chunks(12).filter(|s| s[0] == 2.0).count();
        assert!(0 < kept && kept < 16, "{kept} of 16 samples kept");
    }

    #[test]
    fn noise_shapes_that_do_not_fit_are_refused() {
        let input = |dims: &[usize]| TensorType::f32(Shape::batched(dims.iter().copied()));
        let layer = Dropout::new(0.5).name("d");
        let err = |layer: &Dropout, dims: &[usize]| layer.compute_output_shape(&[input(dims)]).unwrap_err().to_string();
        assert_eq!(
            err(&layer.clone().noise_shape([None, Some(1)]), &[4, 2]),
            "layer 'd' (Dropout) is incompatible with its input: noise_shape=(None, 1) does not fit an input of shape (None, 4, 2): it needs one entry per input axis (3), received 2"
        );
        assert_eq!(
            err(&layer.clone().noise_shape([None, Some(3), None]), &[4, 2]),
            "layer 'd' (Dropout) is incompatible with its input: noise_shape=(None, 3, None) does not fit an input of shape (None, 4, 2): entry 1 is 3; it must be None, 1 or the input's size there (4)"
        );
        assert_eq!(
            err(&layer.clone().noise_shape([Some(8), None]), &[4]),
            "layer 'd' (Dropout) is incompatible with its input: noise_shape=(8, None) does not fit an input of shape (None, 4): entry 0 is 8, but that axis's size is not known when the model is built; use None or 1"
        );
        let err = layer
            .clone()
            .noise_shape([None, Some(0)])
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'd' (Dropout): Invalid value received for argument `noise_shape`. Expected all dimensions to be positive integers or None. Received negative or zero value at index 1: 0"
        );
    }

    #[test]
    fn reads_keras_configs_with_noise_shape() {
        // `get_config()` of Keras 3.15.1 for `Dropout(0.2, noise_shape=(None, 1, 1, 1))`.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "block2b_drop", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "rate": 0.0125, "seed": null, "noise_shape": [null, 1, 1, 1]}"#).unwrap();
        let layer = crate::keras::layer_from_config("Dropout", &config).unwrap();
        assert_eq!(layer.name(), "block2b_drop");
        assert_eq!(layer.config()["noise_shape"], config["noise_shape"]);
        let plain = serde_json::json!({"name": "dropout", "rate": 0.5, "seed": null, "noise_shape": null});
        let layer = crate::keras::layer_from_config("Dropout", &plain).unwrap();
        assert!(layer.config().get("noise_shape").is_none());
        let bad = serde_json::json!({"rate": 0.5, "noise_shape": "auto"});
        let err = crate::keras::layer_from_config("Dropout", &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("noise_shape") && err.contains("\"auto\""), "{err}");
    }
}
