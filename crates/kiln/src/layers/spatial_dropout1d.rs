//! `SpatialDropout1D`: drops whole feature maps of sequences during training.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Spatial 1D dropout: during training each channel of each sample is dropped (set to 0)
/// with probability `rate` for every timestep at once, the kept ones scaled by
/// `1 / (1 - rate)`; the identity in `evaluate` and `predict`. Useful after convolutions,
/// whose neighbouring frames are correlated.
///
/// Masks are drawn on the host from Kiln's seed, so every engine drops the same channels.
///
/// # Shapes
/// Input `(batch, timesteps, channels)`; output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([10, 4]);
/// let y = SpatialDropout1D::new(0.2).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 10, 4)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpatialDropout1D {
    /// Layer name.
    pub name: String,
    /// Fraction of the channels to drop, in `[0, 1]`.
    pub rate: f32,
}

impl SpatialDropout1D {
    /// A spatial dropout layer with the given rate.
    pub fn new(rate: f32) -> Self {
        SpatialDropout1D {
            name: unique_name("spatial_dropout1d"),
            rate,
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

/// Keras's check of a `rate` argument: a number in `[0, 1]`.
pub(crate) fn check_rate(layer: &dyn Layer, rate: f32) -> Result<()> {
    if !(0.0..=1.0).contains(&rate) {
        return Err(bad_argument(
            layer,
            format!(
                "Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate={rate}"
            ),
        ));
    }
    Ok(())
}

/// Keras's `InputSpec(ndim=…)` check.
pub(crate) fn check_ndim(layer: &dyn Layer, x: &TensorType, ndim: usize) -> Result<()> {
    if x.shape.rank() != ndim {
        return Err(incompatible(
            layer,
            format!(
                "expected ndim={ndim}, found ndim={}. Full shape received: {}",
                x.shape.rank(),
                x.shape.keras_string()
            ),
        ));
    }
    Ok(())
}

/// Dropout sharing one mask value along `shared_axes`; nothing when `rate` is 0.
pub(crate) fn spatial_dropout(
    ctx: &mut EmitContext,
    x: ValueId,
    rate: f32,
    shared_axes: Vec<usize>,
) -> Result<ValueId> {
    if rate <= 0.0 {
        return Ok(x);
    }
    ctx.push(Op::Dropout { rate, shared_axes }, &[x])
}

impl Layer for SpatialDropout1D {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "SpatialDropout1D"
    }

    fn validate(&self) -> Result<()> {
        check_rate(self, self.rate)
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        check_ndim(self, x, 3)?;
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(vec![spatial_dropout(ctx, inputs[0], self.rate, vec![1])?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Runs `layer` alone on `input` (its weights drawn from their initializers), in training
/// or inference mode.
#[cfg(test)]
pub(crate) fn run_layer<L: Layer + Clone>(layer: &L, input: &crate::Tensor, training: bool) -> Vec<f32> {
    use crate::model::{Apply, Input, Model};
    let x = Input::new(input.shape()[1..].iter().copied());
    let y = layer.apply(&x).expect("apply");
    let model = Model::new(&[&x], &[&y]).expect("model");
    let graph = model.graph().expect("graph");
    let engine = crate::Device::default_device()
        .and_then(|d| d.engine())
        .expect("engine");
    let weights = model.get_weights().expect("weights");
    let session = kiln_burn::Session::new(&engine, graph, &weights).expect("session");
    let plan = kiln_burn::Plan::compile(graph).expect("plan");
    let mode = kiln_burn::RunMode { training, seed: 7 };
    session.run(&plan, std::slice::from_ref(input), mode).expect("run")[0].to_f32()
}

impl crate::keras::FromKeras for SpatialDropout1D {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let rate = c.f32("rate")?.ok_or_else(|| c.error("rate", "is required"))?;
        // Kiln draws dropout masks from its own seeded generator (`set_random_seed`).
        let _ = c.get("seed");
        let mut layer = SpatialDropout1D::new(rate);
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
            &SpatialDropout1D::new(0.5),
            &[Shape::batched([4, 3])],
            Shape::batched([4, 3]),
            0,
        );
        let err = SpatialDropout1D::new(1.5)
            .name("sd")
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'sd' (SpatialDropout1D): Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate=1.5"
        );
        let err = SpatialDropout1D::new(0.5)
            .name("sd")
            .compute_output_shape(&[TensorType::f32(Shape::batched([5]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'sd' (SpatialDropout1D) is incompatible with its input: expected ndim=3, found ndim=2. Full shape received: (None, 5)"
        );
    }

    #[test]
    fn drops_whole_channels_in_training_only() {
        let input = crate::Tensor::from_f32(vec![1.0; 2 * 6 * 8], vec![2, 6, 8]).unwrap();
        let layer = SpatialDropout1D::new(0.5);
        assert_eq!(run_layer(&layer, &input, false), input.to_f32());
        let out = run_layer(&layer, &input, true);
        assert_ne!(out, input.to_f32());
        // One mask value per (sample, channel), shared by the 6 timesteps.
        for b in 0..2 {
            for c in 0..8 {
                let first = out[b * 48 + c];
                assert!(first == 0.0 || first == 2.0, "{first}");
                assert!((0..6).all(|t| out[b * 48 + t * 8 + c] == first));
            }
        }
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value =
            serde_json::from_str(r#"{"rate": 0.5, "seed": null, "name": "spatial_dropout1d", "dtype": "float32"}"#)
                .unwrap();
        let layer = crate::keras::layer_from_config("SpatialDropout1D", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
