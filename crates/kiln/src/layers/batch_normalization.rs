//! `BatchNormalization`: normalises with batch statistics in training and moving
//! averages of them in inference.

use super::layer_normalization::{StatsOver, broadcast_shape, moments, normalize, weight_dims};
use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use crate::regularizers::{self, Regularizer};
use kiln_ir::{Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Batch normalization (Ioffe & Szegedy, 2015), as Keras 3 computes it.
///
/// In training (`fit`, a training step) the input is normalised with the mean and the
/// biased variance of the batch over every axis but `axis`, and the moving statistics
/// become `moving * momentum + batch * (1 - momentum)` after the step. In inference
/// (`predict`, `evaluate`) the moving statistics are used. The result is
/// `x * inv + (beta - mean * inv)` with `inv = rsqrt(variance + epsilon) * gamma`.
///
/// A frozen layer (`trainable(false)`) always runs in inference mode and never updates its
/// statistics, as in Keras 3 (the usual set-up for fine-tuning).
///
/// # Arguments
/// - `axis`: the feature axis, default `-1` (`1` for channels-first images).
/// - `momentum`: default `0.99`; `epsilon`: default `1e-3`.
/// - `center` / `scale`: learn `beta` / `gamma`, default `true`.
/// - initializers: `beta` zeros, `gamma` ones, `moving_mean` zeros, `moving_variance`
///   ones; regularizers and constraints of `beta` and `gamma`.
///
/// # Shapes
/// Output shape = input shape. Weights, in Keras's order: `gamma`, `beta` (trainable),
/// `moving_mean`, `moving_variance` (non-trainable), each of the size of `axis`.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([8, 8, 16]);
/// let y = BatchNormalization::new().apply(&x)?;
/// let model = Model::new(&[&x], &[&y])?;
/// assert_eq!(model.count_params(), 64); // 32 trainable, 32 non-trainable
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchNormalization {
    /// Layer name.
    pub name: String,
    /// The feature axis (negative counts from the end).
    pub axis: i64,
    /// Momentum of the moving averages.
    pub momentum: f64,
    /// Added to the variance.
    pub epsilon: f32,
    /// Whether `beta` is learned.
    pub center: bool,
    /// Whether `gamma` is learned.
    pub scale: bool,
    /// Initializer of `beta`.
    pub beta_initializer: InitializerArg,
    /// Initializer of `gamma`.
    pub gamma_initializer: InitializerArg,
    /// Initializer of `moving_mean`.
    pub moving_mean_initializer: InitializerArg,
    /// Initializer of `moving_variance`.
    pub moving_variance_initializer: InitializerArg,
    /// Penalty on `beta`.
    #[serde(default)]
    pub beta_regularizer: Option<Regularizer>,
    /// Penalty on `gamma`.
    #[serde(default)]
    pub gamma_regularizer: Option<Regularizer>,
    /// Constraint on `beta`.
    #[serde(default)]
    pub beta_constraint: Option<ConstraintArg>,
    /// Constraint on `gamma`.
    #[serde(default)]
    pub gamma_constraint: Option<ConstraintArg>,
    /// Whether training updates the weights and the statistics.
    pub trainable: bool,
}

impl BatchNormalization {
    /// A batch normalization over the last axis with Keras's defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        BatchNormalization {
            name: unique_name("batch_normalization"),
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
            beta_initializer: "zeros".into(),
            gamma_initializer: "ones".into(),
            moving_mean_initializer: "zeros".into(),
            moving_variance_initializer: "ones".into(),
            beta_regularizer: None,
            gamma_regularizer: None,
            beta_constraint: None,
            gamma_constraint: None,
            trainable: true,
        }
    }

    /// Sets the feature axis.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = axis;
        self
    }

    /// Sets the momentum of the moving averages.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets the epsilon added to the variance.
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Learns `beta` or not.
    pub fn center(mut self, center: bool) -> Self {
        self.center = center;
        self
    }

    /// Learns `gamma` or not.
    pub fn scale(mut self, scale: bool) -> Self {
        self.scale = scale;
        self
    }

    /// Sets the initializer of `beta`.
    pub fn beta_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.beta_initializer = init.into();
        self
    }

    /// Sets the initializer of `gamma`.
    pub fn gamma_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.gamma_initializer = init.into();
        self
    }

    /// Sets the initializer of `moving_mean`.
    pub fn moving_mean_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.moving_mean_initializer = init.into();
        self
    }

    /// Sets the initializer of `moving_variance`.
    pub fn moving_variance_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.moving_variance_initializer = init.into();
        self
    }

    /// Penalises `beta`.
    pub fn beta_regularizer(mut self, r: Regularizer) -> Self {
        self.beta_regularizer = Some(r);
        self
    }

    /// Penalises `gamma`.
    pub fn gamma_regularizer(mut self, r: Regularizer) -> Self {
        self.gamma_regularizer = Some(r);
        self
    }

    /// Constrains `beta` after each optimizer step.
    pub fn beta_constraint(mut self, c: ConstraintArg) -> Self {
        self.beta_constraint = Some(c);
        self
    }

    /// Constrains `gamma` after each optimizer step.
    pub fn gamma_constraint(mut self, c: ConstraintArg) -> Self {
        self.gamma_constraint = Some(c);
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Freezes (`false`: inference mode, no updates) or unfreezes the layer.
    pub fn trainable(mut self, trainable: bool) -> Self {
        self.trainable = trainable;
        self
    }
}

impl Layer for BatchNormalization {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "BatchNormalization"
    }

    fn validate(&self) -> Result<()> {
        for init in [
            &self.beta_initializer,
            &self.gamma_initializer,
            &self.moving_mean_initializer,
            &self.moving_variance_initializer,
        ] {
            init.resolve().map_err(|e| bad_argument(self, e.to_string()))?;
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        let (axes, _) = weight_dims(self, &[self.axis], &x.shape)?;
        if x.shape.rank() < 2 || axes[0] == 0 {
            return Err(incompatible(
                self,
                format!(
                    "expected an input of rank ≥ 2 whose axis {} is not the batch axis, received shape {}",
                    self.axis,
                    x.shape.keras_string()
                ),
            ));
        }
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let shape = ctx.shape(x)?;
        let (axes, dims) = weight_dims(self, &[self.axis], &shape)?;
        let wshape = Shape::fixed(dims.clone());
        let gamma = if self.scale {
            let g = ctx.weight("gamma", wshape.clone(), self.gamma_initializer.resolve()?)?;
            regularizers::apply(ctx, &self.gamma_regularizer, g)?;
            constraints::apply(ctx, &self.gamma_constraint, g, 1)?;
            Some(g)
        } else {
            None
        };
        let beta = if self.center {
            let b = ctx.weight("beta", wshape.clone(), self.beta_initializer.resolve()?)?;
            regularizers::apply(ctx, &self.beta_regularizer, b)?;
            constraints::apply(ctx, &self.beta_constraint, b, 1)?;
            Some(b)
        } else {
            None
        };
        let moving_mean =
            ctx.non_trainable_weight("moving_mean", wshape.clone(), self.moving_mean_initializer.resolve()?)?;
        let moving_variance = ctx.non_trainable_weight(
            "moving_variance",
            wshape.clone(),
            self.moving_variance_initializer.resolve()?,
        )?;

        let (mean, variance) = if self.trainable {
            let reduction: Vec<usize> = (0..shape.rank()).filter(|a| !axes.contains(a)).collect();
            let (batch_mean, batch_variance) = moments(ctx, x, reduction, false, StatsOver::WholeBatch)?;
            // Keras: `moving * momentum + batch * (1 - momentum)`, the factors rounded to f32.
            let keep = self.momentum as f32;
            let take = (1.0 - self.momentum) as f32;
            for (moving, batch) in [(moving_mean, batch_mean), (moving_variance, batch_variance)] {
                let old = ctx.scale(moving, keep)?;
                let new = ctx.scale(batch, take)?;
                let updated = ctx.add(old, new)?;
                ctx.add_update(moving, updated)?;
            }
            (
                ctx.if_training(batch_mean, moving_mean)?,
                ctx.if_training(batch_variance, moving_variance)?,
            )
        } else {
            (moving_mean, moving_variance)
        };
        let bshape = broadcast_shape(&shape, &axes);
        let mut b = |v: ValueId| ctx.reshape(v, bshape.clone());
        let (mean, variance) = (b(mean)?, b(variance)?);
        let gamma = gamma.map(&mut b).transpose()?;
        let beta = beta.map(&mut b).transpose()?;
        Ok(vec![normalize(ctx, x, mean, variance, gamma, beta, self.epsilon)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn trainable(&self) -> bool {
        self.trainable
    }
}

impl crate::keras::FromKeras for BatchNormalization {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = BatchNormalization::new();
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(t) = trainable {
            layer.trainable = t;
        }
        if let Some(a) = c.i64("axis")? {
            layer.axis = a;
        }
        if let Some(v) = c.get("momentum") {
            layer.momentum = v
                .as_f64()
                .ok_or_else(|| c.error("momentum", format!("expected a number, received {v}")))?;
        }
        if let Some(e) = c.f32("epsilon")? {
            layer.epsilon = e;
        }
        if let Some(b) = c.bool("center")? {
            layer.center = b;
        }
        if let Some(b) = c.bool("scale")? {
            layer.scale = b;
        }
        if let Some(i) = c.initializer("beta_initializer")? {
            layer.beta_initializer = i;
        }
        if let Some(i) = c.initializer("gamma_initializer")? {
            layer.gamma_initializer = i;
        }
        if let Some(i) = c.initializer("moving_mean_initializer")? {
            layer.moving_mean_initializer = i;
        }
        if let Some(i) = c.initializer("moving_variance_initializer")? {
            layer.moving_variance_initializer = i;
        }
        layer.beta_regularizer = c.regularizer("beta_regularizer")?;
        layer.gamma_regularizer = c.regularizer("gamma_regularizer")?;
        layer.beta_constraint = c.constraint("beta_constraint")?;
        layer.gamma_constraint = c.constraint("gamma_constraint")?;
        // `synchronized=True` asks for the whole batch's statistics across the devices of a
        // distribution, which is what Kiln always computes (as Keras on JAX does).
        c.bool("synchronized")?;
        if c.bool("renorm")? == Some(true) {
            return Err(c.error("renorm", "batch renormalization is not supported"));
        }
        // Only read by batch renormalization.
        let _ = (c.get("renorm_clipping"), c.get("renorm_momentum"));
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use crate::model::Apply;
    use crate::{Input, Model, Tensor};

    #[test]
    fn shapes_params_and_config() {
        check_layer(
            &BatchNormalization::new(),
            &[Shape::batched([3])],
            Shape::batched([3]),
            12,
        );
        check_layer(
            &BatchNormalization::new().axis(1),
            &[Shape::batched([3, 4, 2])],
            Shape::batched([3, 4, 2]),
            12,
        );
        check_layer(
            &BatchNormalization::new().center(false).scale(false),
            &[Shape::batched([2, 5])],
            Shape::batched([2, 5]),
            10,
        );
        check_layer(
            &BatchNormalization::new().trainable(false).momentum(0.9),
            &[Shape::batched([4])],
            Shape::batched([4]),
            16,
        );
    }

    #[test]
    fn moving_statistics_are_non_trainable() {
        let x = Input::new([4]);
        let y = BatchNormalization::new().name("bn").apply(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let graph = model.graph().unwrap();
        let flags: Vec<(String, bool)> = graph.params().iter().map(|p| (p.name.clone(), p.trainable)).collect();
        assert_eq!(
            flags,
            [
                ("bn/gamma".to_string(), true),
                ("bn/beta".to_string(), true),
                ("bn/moving_mean".to_string(), false),
                ("bn/moving_variance".to_string(), false)
            ]
        );
        assert_eq!(graph.updates().len(), 2);
        let summary = model.summary_string();
        assert!(summary.contains("Trainable params: 8 (32.00 B)"), "{summary}");
        assert!(summary.contains("Non-trainable params: 8 (32.00 B)"), "{summary}");
        // Inference with the initial statistics (mean 0, variance 1): x / sqrt(1 + 1e-3).
        let out = model
            .predict(Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0], vec![1, 4]).unwrap())
            .unwrap();
        let want = 1.0 / (1.001f32).sqrt();
        assert!((out.to_f32()[0] - want).abs() < 1e-6);
    }

    #[test]
    fn fit_updates_the_moving_statistics_and_predict_uses_them() {
        // One batch of 4 samples: batch mean 2.5, biased variance 1.25 on the one feature.
        let x = Input::new([1]);
        let y = BatchNormalization::new().momentum(0.5).apply(&x).unwrap();
        let mut model = Model::new(&[&x], &[&y]).unwrap();
        model.compile("sgd", "mse", &[]).unwrap();
        let data = Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0], vec![4, 1]).unwrap();
        let opts = crate::FitOptions::new().epochs(1).batch_size(4).verbose(0);
        model.fit(&data, &data, opts).unwrap();
        let w: Vec<Vec<f32>> = model.get_weights().unwrap().iter().map(|t| t.to_f32()).collect();
        assert!((w[2][0] - 1.25).abs() < 1e-6, "moving mean {:?}", w[2]);
        assert!((w[3][0] - 1.125).abs() < 1e-6, "moving variance {:?}", w[3]);
        let out = model
            .predict(Tensor::from_f32(vec![1.25], vec![1, 1]).unwrap())
            .unwrap();
        assert!((out.to_f32()[0] - w[1][0]).abs() < 1e-6, "normalised to beta");
    }

    #[test]
    fn frozen_layer_has_no_updates_and_only_non_trainable_weights() {
        let x = Input::new([4]);
        let y = BatchNormalization::new().trainable(false).apply(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let graph = model.graph().unwrap();
        assert!(graph.updates().is_empty());
        assert!(graph.params().iter().all(|p| !p.trainable));
    }

    #[test]
    fn bad_inputs_are_named() {
        let err = BatchNormalization::new()
            .name("bn")
            .axis(3)
            .compute_output_shape(&[TensorType::f32(Shape::batched([4]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'bn' (BatchNormalization) is incompatible with its input: Axis 3 is out of bounds for input shape (None, 4). Received: axis=3"
        );
        let err = BatchNormalization::new()
            .name("bn")
            .compute_output_shape(&[TensorType::f32(Shape::batched([]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must have a known size"), "{err}");
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "batch_normalization", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "axis": -1, "momentum": 0.9, "epsilon": 0.001, "center": true, "scale": true, "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null}, "moving_mean_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "moving_variance_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null}, "beta_regularizer": null, "gamma_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}, "registered_name": null}, "beta_constraint": {"module": "keras.constraints", "class_name": "NonNeg", "config": {}, "registered_name": null}, "gamma_constraint": null, "synchronized": false, "renorm": false, "renorm_clipping": null, "renorm_momentum": 0.99}"#).unwrap();
        let layer = crate::keras::layer_from_config("BatchNormalization", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
        let mut synchronized = config.clone();
        synchronized["synchronized"] = true.into();
        crate::keras::layer_from_config("BatchNormalization", &synchronized).unwrap();
        synchronized["synchronized"] = "yes".into();
        let err = crate::keras::layer_from_config("BatchNormalization", &synchronized)
            .unwrap_err()
            .to_string();
        assert!(err.contains("synchronized"), "{err}");
    }
}
