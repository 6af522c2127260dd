//! `LayerNormalization`: normalises each sample over some axes. Also the numerics the
//! normalization layers share (Keras's `ops.moments` and the `rsqrt` affine form).

use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use crate::regularizers::{self, Regularizer};
use kiln_ir::{Shape, TensorType, UnaryOp, ValueId};
use serde::{Deserialize, Serialize};

/// Layer normalization (Ba et al., 2016): each sample is normalised over `axis` with its
/// own mean and variance, then scaled by `gamma` and shifted by `beta`.
///
/// Computed as Keras does: `inv = rsqrt(var + epsilon) * gamma`,
/// `output = x * inv + (beta - mean * inv)`, where `var` is the biased variance.
///
/// # Arguments
/// - `axis`: the axis or axes normalised over, default `-1`
///   ([`axis`](LayerNormalization::axis), [`axes`](LayerNormalization::axes)).
/// - `epsilon`: added to the variance, default `1e-3`.
/// - `center` / `scale`: learn `beta` / `gamma`, default `true`.
/// - `rms_scaling`: Keras 3's deprecated form `x * rsqrt(var(x) + epsilon) * gamma`
///   (the variance, not the mean square; no `beta`). Use
///   [`RMSNormalization`](crate::layers::RMSNormalization) for true RMS normalization.
/// - initializers (`gamma` ones, `beta` zeros), regularizers and constraints of both.
///
/// # Shapes
/// Output shape = input shape. Weights `gamma` and `beta` have the input's sizes on `axis`.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([5, 8]);
/// let y = LayerNormalization::new().apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 5, 8)");
/// let model = Model::new(&[&x], &[&y])?;
/// assert_eq!(model.count_params(), 16);
/// let data = Tensor::from_f32((0..40).map(|i| i as f32).collect(), vec![1, 5, 8]).unwrap();
/// let out = model.predict(data)?.to_f32();
/// assert!(out[..8].iter().sum::<f32>().abs() < 1e-4); // each row has mean 0
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerNormalization {
    /// Layer name.
    pub name: String,
    /// Axes normalised over (negative counts from the end).
    pub axis: Vec<i64>,
    /// Added to the variance.
    pub epsilon: f32,
    /// Whether `beta` is learned.
    pub center: bool,
    /// Whether `gamma` is learned.
    pub scale: bool,
    /// Keras's deprecated `rms_scaling`.
    pub rms_scaling: bool,
    /// Initializer of `beta`.
    pub beta_initializer: InitializerArg,
    /// Initializer of `gamma`.
    pub gamma_initializer: InitializerArg,
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
    /// Whether training updates the weights.
    pub trainable: bool,
}

impl LayerNormalization {
    /// A layer normalization over the last axis with Keras's defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        LayerNormalization {
            name: unique_name("layer_normalization"),
            axis: vec![-1],
            epsilon: 1e-3,
            center: true,
            scale: true,
            rms_scaling: false,
            beta_initializer: "zeros".into(),
            gamma_initializer: "ones".into(),
            beta_regularizer: None,
            gamma_regularizer: None,
            beta_constraint: None,
            gamma_constraint: None,
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

    /// Keras's deprecated `rms_scaling` (see the type's documentation).
    pub fn rms_scaling(mut self, rms_scaling: bool) -> Self {
        self.rms_scaling = rms_scaling;
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

    /// Freezes (`false`) or unfreezes the weights.
    pub fn trainable(mut self, trainable: bool) -> Self {
        self.trainable = trainable;
        self
    }
}

impl Layer for LayerNormalization {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "LayerNormalization"
    }

    fn validate(&self) -> Result<()> {
        if self.axis.is_empty() {
            return Err(bad_argument(self, "expected at least one axis. Received: axis=[]"));
        }
        for init in [&self.beta_initializer, &self.gamma_initializer] {
            init.resolve().map_err(|e| bad_argument(self, e.to_string()))?;
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        weight_dims(self, &self.axis, &x.shape)?;
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let shape = ctx.shape(x)?;
        let (axes, dims) = weight_dims(self, &self.axis, &shape)?;
        let bshape = broadcast_shape(&shape, &axes);
        let gamma = if self.scale || self.rms_scaling {
            let g = ctx.weight("gamma", Shape::fixed(dims.clone()), self.gamma_initializer.resolve()?)?;
            regularizers::apply(ctx, &self.gamma_regularizer, g)?;
            constraints::apply(ctx, &self.gamma_constraint, g, dims.len())?;
            Some(ctx.reshape(g, bshape.clone())?)
        } else {
            None
        };
        let beta = if self.center && !self.rms_scaling {
            let b = ctx.weight("beta", Shape::fixed(dims.clone()), self.beta_initializer.resolve()?)?;
            regularizers::apply(ctx, &self.beta_regularizer, b)?;
            constraints::apply(ctx, &self.beta_constraint, b, dims.len())?;
            Some(ctx.reshape(b, bshape)?)
        } else {
            None
        };
        let (mean, variance) = moments(ctx, x, axes, true, StatsOver::Local)?;
        let y = if self.rms_scaling {
            let inv = rsqrt(ctx, variance, self.epsilon)?;
            let y = ctx.mul(x, inv)?;
            match gamma {
                Some(g) => ctx.mul(y, g)?,
                None => y,
            }
        } else {
            normalize(ctx, x, mean, variance, gamma, beta, self.epsilon)?
        };
        Ok(vec![y])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn trainable(&self) -> bool {
        self.trainable
    }
}

/// The sorted, distinct non-negative axes for Keras's `axis` on `shape`, with Keras's
/// out-of-bounds message.
pub(crate) fn resolve_axes(layer: &dyn Layer, axis: &[i64], shape: &Shape) -> Result<Vec<usize>> {
    let rank = shape.rank() as i64;
    let mut out = Vec::with_capacity(axis.len());
    for &a in axis {
        if a >= rank || a < -rank {
            let received = match axis {
                [one] => one.to_string(),
                many => format!("{many:?}"),
            };
            return Err(incompatible(
                layer,
                format!(
                    "Axis {a} is out of bounds for input shape {}. Received: axis={received}",
                    shape.keras_string()
                ),
            ));
        }
        out.push(if a < 0 { (a + rank) as usize } else { a as usize });
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The resolved axes and the (known) sizes of `shape` on them: a weight's shape.
pub(crate) fn weight_dims(layer: &dyn Layer, axis: &[i64], shape: &Shape) -> Result<(Vec<usize>, Vec<usize>)> {
    let axes = resolve_axes(layer, axis, shape)?;
    let mut dims = Vec::with_capacity(axes.len());
    for &a in &axes {
        match shape.dims()[a] {
            Some(d) => dims.push(d),
            None => {
                return Err(incompatible(
                    layer,
                    format!(
                        "axis {a} of the input must have a known size to build the weights, received shape {}",
                        shape.keras_string()
                    ),
                ));
            }
        }
    }
    Ok((axes, dims))
}

/// `shape` with 1 everywhere except on `axes` (all of whose sizes are known).
pub(crate) fn broadcast_shape(shape: &Shape, axes: &[usize]) -> Shape {
    Shape::fixed((0..shape.rank()).map(|i| {
        if axes.contains(&i) {
            shape.dims()[i].unwrap_or(1)
        } else {
            1
        }
    }))
}

/// Which rows a normalization's statistics cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatsOver {
    /// Each device's own rows: per-sample statistics (layer and group normalization).
    Local,
    /// The whole batch, also when it is split across devices (batch normalization): each
    /// mean goes through [`EmitContext::replica_mean`].
    WholeBatch,
}

/// Keras's `ops.moments` on the JAX backend: `mean(x)` and the biased variance
/// `mean(square(x - mean(x)))` over `axes` (non-empty, increasing).
pub(crate) fn moments(
    ctx: &mut EmitContext,
    x: ValueId,
    axes: Vec<usize>,
    keepdims: bool,
    over: StatsOver,
) -> Result<(ValueId, ValueId)> {
    let across = |ctx: &mut EmitContext, v: ValueId| match over {
        StatsOver::Local => Ok(v),
        StatsOver::WholeBatch => ctx.replica_mean(v),
    };
    let mean = ctx.mean(x, axes.clone(), true)?;
    let mean = across(ctx, mean)?;
    let centered = ctx.sub(x, mean)?;
    let squared = ctx.unary(UnaryOp::Square, centered)?;
    let variance = ctx.mean(squared, axes, keepdims)?;
    let variance = across(ctx, variance)?;
    let mean = if keepdims {
        mean
    } else {
        let shape = ctx.shape(variance)?;
        ctx.reshape(mean, shape)?
    };
    Ok((mean, variance))
}

/// `rsqrt(v + epsilon)`.
pub(crate) fn rsqrt(ctx: &mut EmitContext, v: ValueId, epsilon: f32) -> Result<ValueId> {
    let shifted = ctx.add_scalar(v, epsilon)?;
    let root = ctx.unary(UnaryOp::Sqrt, shifted)?;
    let one = ctx.constant(1.0)?;
    ctx.div(one, root)
}

/// Keras's `batch_normalization` form: `inv = rsqrt(variance + epsilon) * gamma`,
/// `x * inv + (-mean * inv + beta)`; every operand already broadcastable against `x`.
pub(crate) fn normalize(
    ctx: &mut EmitContext,
    x: ValueId,
    mean: ValueId,
    variance: ValueId,
    gamma: Option<ValueId>,
    beta: Option<ValueId>,
    epsilon: f32,
) -> Result<ValueId> {
    let mut inv = rsqrt(ctx, variance, epsilon)?;
    if let Some(g) = gamma {
        inv = ctx.mul(inv, g)?;
    }
    let neg_mean = ctx.unary(UnaryOp::Neg, mean)?;
    let mut res = ctx.mul(neg_mean, inv)?;
    if let Some(b) = beta {
        res = ctx.add(res, b)?;
    }
    let scaled = ctx.mul(x, inv)?;
    ctx.add(scaled, res)
}

impl crate::keras::FromKeras for LayerNormalization {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = LayerNormalization::new();
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
        if let Some(b) = c.bool("center")? {
            layer.center = b;
        }
        if let Some(b) = c.bool("scale")? {
            layer.scale = b;
        }
        if let Some(b) = c.bool("rms_scaling")? {
            layer.rms_scaling = b;
        }
        if let Some(i) = c.initializer("beta_initializer")? {
            layer.beta_initializer = i;
        }
        if let Some(i) = c.initializer("gamma_initializer")? {
            layer.gamma_initializer = i;
        }
        layer.beta_regularizer = c.regularizer("beta_regularizer")?;
        layer.gamma_regularizer = c.regularizer("gamma_regularizer")?;
        layer.beta_constraint = c.constraint("beta_constraint")?;
        layer.gamma_constraint = c.constraint("gamma_constraint")?;
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
            &LayerNormalization::new(),
            &[Shape::batched([3, 4])],
            Shape::batched([3, 4]),
            8,
        );
        check_layer(
            &LayerNormalization::new().axes([1, 2]),
            &[Shape::batched([3, 4])],
            Shape::batched([3, 4]),
            24,
        );
        check_layer(
            &LayerNormalization::new().axis(1).center(false),
            &[Shape::batched([3, 4])],
            Shape::batched([3, 4]),
            3,
        );
        check_layer(
            &LayerNormalization::new().rms_scaling(true).scale(false),
            &[Shape::batched([5])],
            Shape::batched([5]),
            5,
        );
        check_layer(
            &LayerNormalization::new().center(false).scale(false),
            &[Shape::batched([5])],
            Shape::batched([5]),
            0,
        );
    }

    #[test]
    fn bad_axes_are_named() {
        let err = LayerNormalization::new()
            .name("ln")
            .axis(2)
            .compute_output_shape(&[TensorType::f32(Shape::batched([4]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'ln' (LayerNormalization) is incompatible with its input: Axis 2 is out of bounds for input shape (None, 4). Received: axis=2"
        );
        let err = LayerNormalization::new()
            .name("ln")
            .axis(0)
            .compute_output_shape(&[TensorType::f32(Shape::batched([4]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("axis 0 of the input must have a known size"), "{err}");
        let err = LayerNormalization::new()
            .name("ln")
            .axes([])
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'ln' (LayerNormalization): expected at least one axis. Received: axis=[]"
        );
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "layer_normalization", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "axis": [1, 2], "epsilon": 0.001, "center": true, "scale": true, "rms_scaling": false, "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null}, "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null}"#).unwrap();
        let layer = crate::keras::layer_from_config("LayerNormalization", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
