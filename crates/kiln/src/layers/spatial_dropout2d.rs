//! `SpatialDropout2D`: drops whole feature maps of images during training.

use super::spatial::DataFormat;
use super::spatial_dropout1d::{check_ndim, check_rate, spatial_dropout};
use crate::error::Result;
use crate::layer::{EmitContext, Layer};
use crate::names::unique_name;
use kiln_ir::{TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Spatial 2D dropout: during training each channel of each sample is dropped (set to 0)
/// with probability `rate` over the whole image at once, the kept ones scaled by
/// `1 / (1 - rate)`; the identity in `evaluate` and `predict`.
///
/// # Arguments
/// - `rate`: fraction of the channels to drop, in `[0, 1]`.
/// - `data_format`: channels last (default) or first.
///
/// # Shapes
/// Input `(batch, rows, cols, channels)` (or `(batch, channels, rows, cols)`); output
/// shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([8, 8, 3]);
/// let y = SpatialDropout2D::new(0.2).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 8, 8, 3)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpatialDropout2D {
    /// Layer name.
    pub name: String,
    /// Fraction of the channels to drop, in `[0, 1]`.
    pub rate: f32,
    /// Where the channels are.
    pub data_format: DataFormat,
}

impl SpatialDropout2D {
    /// A spatial dropout layer with the given rate, channels last.
    pub fn new(rate: f32) -> Self {
        SpatialDropout2D {
            name: unique_name("spatial_dropout2d"),
            rate,
            data_format: DataFormat::ChannelsLast,
        }
    }

    /// Sets the data format.
    pub fn data_format(mut self, data_format: DataFormat) -> Self {
        self.data_format = data_format;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for SpatialDropout2D {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "SpatialDropout2D"
    }

    fn validate(&self) -> Result<()> {
        check_rate(self, self.rate)
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        check_ndim(self, x, 4)?;
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let shared = match self.data_format {
            DataFormat::ChannelsLast => vec![1, 2],
            DataFormat::ChannelsFirst => vec![2, 3],
        };
        Ok(vec![spatial_dropout(ctx, inputs[0], self.rate, shared)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for SpatialDropout2D {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let rate = c.f32("rate")?.ok_or_else(|| c.error("rate", "is required"))?;
        // Kiln draws dropout masks from its own seeded generator (`set_random_seed`).
        let _ = c.get("seed");
        let mut layer = SpatialDropout2D::new(rate);
        layer.data_format = super::spatial::keras_data_format(c)?;
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
    fn shapes_config_and_checks() {
        check_layer(
            &SpatialDropout2D::new(0.5),
            &[Shape::batched([3, 3, 2])],
            Shape::batched([3, 3, 2]),
            0,
        );
        check_layer(
            &SpatialDropout2D::new(0.1).data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([2, 3, 3])],
            Shape::batched([2, 3, 3]),
            0,
        );
        let err = SpatialDropout2D::new(0.5)
            .name("sd")
            .compute_output_shape(&[TensorType::f32(Shape::batched([3, 3]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'sd' (SpatialDropout2D) is incompatible with its input: expected ndim=4, found ndim=3. Full shape received: (None, 3, 3)"
        );
    }

    #[test]
    fn drops_whole_channels_in_training_only() {
        let input = crate::Tensor::from_f32(vec![1.0; 2 * 4 * 3 * 3], vec![2, 4, 3, 3]).unwrap();
        for format in [DataFormat::ChannelsLast, DataFormat::ChannelsFirst] {
            let layer = SpatialDropout2D::new(0.5).data_format(format);
            assert_eq!(run_layer(&layer, &input, false), input.to_f32());
            let out = run_layer(&layer, &input, true);
            assert_ne!(out, input.to_f32());
            for b in 0..2 {
                let at = |i: usize, j: usize, k: usize| out[b * 36 + i * 9 + j * 3 + k];
                match format {
                    // (4, 3, 3) with channels last: the last axis is the channel.
                    DataFormat::ChannelsLast => {
                        for k in 0..3 {
                            assert!((0..4).all(|i| (0..3).all(|j| at(i, j, k) == at(0, 0, k))));
                        }
                    }
                    // Channels first: the first axis (of 4) is the channel.
                    DataFormat::ChannelsFirst => {
                        for i in 0..4 {
                            assert!((0..3).all(|j| (0..3).all(|k| at(i, j, k) == at(i, 0, 0))));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"rate": 0.5, "seed": null, "name": "spatial_dropout2d", "dtype": "float32", "data_format": "channels_first"}"#).unwrap();
        let layer = crate::keras::layer_from_config("SpatialDropout2D", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
