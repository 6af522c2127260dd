//! `GroupNormalization`: normalises groups of channels within each sample.

use super::layer_normalization::{StatsOver, moments, normalize, resolve_axes};
use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use crate::regularizers::{self, Regularizer};
use kiln_ir::{Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Group normalization (Wu & He, 2018): the channels on `axis` are split into `groups`
/// groups and each sample is normalised per group, over the group's channels and every
/// other non-batch axis; then scaled by `gamma` and shifted by `beta` per channel.
///
/// `groups = -1` gives one group per channel (instance normalization), `groups = 1` one
/// group for all (layer normalization over all non-batch axes).
///
/// # Arguments
/// - `groups`: default `32`; must divide the number of channels.
/// - `axis`: the channel axis, default `-1`. `epsilon`: default `1e-3`.
/// - `center` / `scale`: learn `beta` / `gamma`, default `true`; initializers (`beta`
///   zeros, `gamma` ones), regularizers and constraints of both.
///
/// # Shapes
/// Output shape = input shape (rank at most 5, sizes after the batch known). Weights
/// `gamma` and `beta` of the channel count.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([6, 6, 8]);
/// let y = GroupNormalization::new().groups(4).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 6, 6, 8)");
/// assert_eq!(Model::new(&[&x], &[&y])?.count_params(), 16);
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupNormalization {
    /// Layer name.
    pub name: String,
    /// Number of groups (`-1`: one per channel).
    pub groups: i64,
    /// The channel axis (negative counts from the end).
    pub axis: i64,
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

impl GroupNormalization {
    /// A group normalization with Keras's defaults (32 groups over the last axis).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        GroupNormalization {
            name: unique_name("group_normalization"),
            groups: 32,
            axis: -1,
            epsilon: 1e-3,
            center: true,
            scale: true,
            beta_initializer: "zeros".into(),
            gamma_initializer: "ones".into(),
            beta_regularizer: None,
            gamma_regularizer: None,
            beta_constraint: None,
            gamma_constraint: None,
            trainable: true,
        }
    }

    /// Sets the number of groups (`-1`: instance normalization).
    pub fn groups(mut self, groups: i64) -> Self {
        self.groups = groups;
        self
    }

    /// Sets the channel axis.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = axis;
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

    /// The channel axis, channel count and group count for an input shape.
    fn plan(&self, shape: &Shape) -> Result<(usize, usize, usize)> {
        let axis = resolve_axes(self, &[self.axis], shape)?[0];
        if shape.rank() > 5 {
            return Err(incompatible(
                self,
                format!(
                    "expected an input of rank at most 5, received shape {}",
                    shape.keras_string()
                ),
            ));
        }
        if axis == 0 || shape.dims()[axis].is_none() {
            return Err(incompatible(
                self,
                format!(
                    "Axis {} of input tensor should have a defined dimension but the layer received an input with shape {}.",
                    self.axis,
                    shape.keras_string()
                ),
            ));
        }
        if shape.dims().iter().skip(1).any(Option::is_none) {
            return Err(incompatible(
                self,
                format!(
                    "every size after the batch must be known, received shape {}",
                    shape.keras_string()
                ),
            ));
        }
        let dim = shape.dims()[axis].unwrap_or(0);
        let groups = if self.groups == -1 { dim } else { self.groups as usize };
        if dim < groups {
            return Err(incompatible(
                self,
                format!("Number of groups ({groups}) cannot be more than the number of channels ({dim})."),
            ));
        }
        if !dim.is_multiple_of(groups) {
            return Err(incompatible(
                self,
                format!("Number of groups ({groups}) must be a multiple of the number of channels ({dim})."),
            ));
        }
        Ok((axis, dim, groups))
    }
}

impl Layer for GroupNormalization {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "GroupNormalization"
    }

    fn validate(&self) -> Result<()> {
        if self.groups <= 0 && self.groups != -1 {
            return Err(bad_argument(
                self,
                format!(
                    "Received an invalid value for argument `groups`, expected a positive integer (or `-1` for instance normalization). Received: groups={}",
                    self.groups
                ),
            ));
        }
        for init in [&self.beta_initializer, &self.gamma_initializer] {
            init.resolve().map_err(|e| bad_argument(self, e.to_string()))?;
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        self.plan(&x.shape)?;
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let shape = ctx.shape(x)?;
        let (axis, dim, groups) = self.plan(&shape)?;
        let mut grouped = shape.dims().to_vec();
        grouped[axis] = Some(dim / groups);
        grouped.insert(axis, Some(groups));
        let mut bshape = vec![1; grouped.len()];
        bshape[axis] = groups;
        bshape[axis + 1] = dim / groups;
        let bshape = Shape::fixed(bshape);

        let gamma = if self.scale {
            let g = ctx.weight("gamma", Shape::fixed([dim]), self.gamma_initializer.resolve()?)?;
            regularizers::apply(ctx, &self.gamma_regularizer, g)?;
            constraints::apply(ctx, &self.gamma_constraint, g, 1)?;
            Some(ctx.reshape(g, bshape.clone())?)
        } else {
            None
        };
        let beta = if self.center {
            let b = ctx.weight("beta", Shape::fixed([dim]), self.beta_initializer.resolve()?)?;
            regularizers::apply(ctx, &self.beta_regularizer, b)?;
            constraints::apply(ctx, &self.beta_constraint, b, 1)?;
            Some(ctx.reshape(b, bshape)?)
        } else {
            None
        };
        let xg = ctx.reshape(x, Shape(grouped.clone()))?;
        let reduction: Vec<usize> = (1..grouped.len()).filter(|&a| a != axis).collect();
        let (mean, variance) = moments(ctx, xg, reduction, true, StatsOver::Local)?;
        let y = normalize(ctx, xg, mean, variance, gamma, beta, self.epsilon)?;
        Ok(vec![ctx.reshape(y, shape)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn trainable(&self) -> bool {
        self.trainable
    }
}

impl crate::keras::FromKeras for GroupNormalization {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = GroupNormalization::new();
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(t) = trainable {
            layer.trainable = t;
        }
        if let Some(g) = c.i64("groups")? {
            layer.groups = g;
        }
        if let Some(a) = c.i64("axis")? {
            layer.axis = a;
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
            &GroupNormalization::new().groups(2),
            &[Shape::batched([3, 3, 4])],
            Shape::batched([3, 3, 4]),
            8,
        );
        check_layer(
            &GroupNormalization::new().groups(-1).axis(1),
            &[Shape::batched([3, 5])],
            Shape::batched([3, 5]),
            6,
        );
        check_layer(
            &GroupNormalization::new().groups(1).center(false),
            &[Shape::batched([6])],
            Shape::batched([6]),
            6,
        );
    }

    #[test]
    fn bad_arguments_and_inputs_are_named() {
        let err = GroupNormalization::new()
            .name("gn")
            .groups(0)
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'gn' (GroupNormalization): Received an invalid value for argument `groups`, expected a positive integer (or `-1` for instance normalization). Received: groups=0"
        );
        let shape = |dims: &[usize]| [TensorType::f32(Shape::batched(dims.iter().copied()))];
        let err = GroupNormalization::new()
            .name("gn")
            .compute_output_shape(&shape(&[4]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'gn' (GroupNormalization) is incompatible with its input: Number of groups (32) cannot be more than the number of channels (4)."
        );
        let err = GroupNormalization::new()
            .name("gn")
            .groups(3)
            .compute_output_shape(&shape(&[4]))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("Number of groups (3) must be a multiple of the number of channels (4)."),
            "{err}"
        );
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "group_normalization", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "groups": 2, "axis": -1, "epsilon": 0.001, "center": true, "scale": true, "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null}, "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null}"#).unwrap();
        let layer = crate::keras::layer_from_config("GroupNormalization", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
