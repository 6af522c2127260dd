//! `Dense`: a densely connected layer.

use crate::activations::{activation, output_type};
use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use crate::regularizers::{self, Regularizer};
use kiln_ir::{Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Densely connected layer: `output = activation(input @ kernel + bias)`.
///
/// # Arguments
/// - `units`: output width (positive).
/// - `activation`: a Keras activation name, default `"linear"`.
/// - `use_bias`: add a bias, default `true`.
/// - `kernel_initializer`: default `"glorot_uniform"`; `bias_initializer`: default `"zeros"`.
///
/// # Shapes
/// Input `(batch, ..., input_dim)`; output `(batch, ..., units)`. Weights `kernel`
/// `(input_dim, units)` and `bias` `(units,)`.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([16]);
/// let y = Dense::new(4).activation("relu").apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 4)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    /// Layer name.
    pub name: String,
    /// Output width.
    pub units: usize,
    /// Activation name.
    pub activation: String,
    /// Whether a bias is added.
    pub use_bias: bool,
    /// Kernel initializer.
    pub kernel_initializer: InitializerArg,
    /// Bias initializer.
    pub bias_initializer: InitializerArg,
    /// Penalty on the kernel, added to the loss.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
    /// Penalty on the output (divided by the batch size, as Keras).
    #[serde(default)]
    pub activity_regularizer: Option<Regularizer>,
    /// Constraint on the kernel after each step.
    #[serde(default)]
    pub kernel_constraint: Option<ConstraintArg>,
    /// Constraint on the bias after each step.
    #[serde(default)]
    pub bias_constraint: Option<ConstraintArg>,
    /// Whether training updates the weights.
    pub trainable: bool,
}

impl Dense {
    /// A `Dense` layer of `units` outputs with Keras's defaults.
    pub fn new(units: usize) -> Self {
        Dense {
            name: unique_name("dense"),
            units,
            activation: "linear".into(),
            use_bias: true,
            kernel_initializer: "glorot_uniform".into(),
            bias_initializer: "zeros".into(),
            kernel_regularizer: None,
            bias_regularizer: None,
            activity_regularizer: None,
            kernel_constraint: None,
            bias_constraint: None,
            trainable: true,
        }
    }

    /// Penalises the kernel (`Regularizer::L2 { l2: 0.01 }`, …).
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.kernel_regularizer = Some(r);
        self
    }

    /// Penalises the bias.
    pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
        self.bias_regularizer = Some(r);
        self
    }

    /// Penalises the output.
    pub fn activity_regularizer(mut self, r: Regularizer) -> Self {
        self.activity_regularizer = Some(r);
        self
    }

    /// Constrains the kernel after each optimizer step.
    pub fn kernel_constraint(mut self, c: ConstraintArg) -> Self {
        self.kernel_constraint = Some(c);
        self
    }

    /// Constrains the bias after each optimizer step.
    pub fn bias_constraint(mut self, c: ConstraintArg) -> Self {
        self.bias_constraint = Some(c);
        self
    }

    /// Sets the activation by Keras name.
    pub fn activation(mut self, name: &str) -> Self {
        self.activation = name.to_string();
        self
    }

    /// Adds a bias or not.
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    /// Sets the kernel initializer (a name or an [`Initializer`](crate::initializers::Initializer)).
    pub fn kernel_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.kernel_initializer = init.into();
        self
    }

    /// Sets the bias initializer.
    pub fn bias_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.bias_initializer = init.into();
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

impl Layer for Dense {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Dense"
    }

    fn validate(&self) -> Result<()> {
        if self.units == 0 {
            return Err(bad_argument(self, "expected a positive integer. Received: units=0"));
        }
        activation(&self.activation, 2).map_err(|e| bad_argument(self, e.to_string()))?;
        self.kernel_initializer
            .resolve()
            .map_err(|e| bad_argument(self, e.to_string()))?;
        self.bias_initializer
            .resolve()
            .map_err(|e| bad_argument(self, e.to_string()))?;
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        if x.shape.rank() < 2 || x.shape.last().flatten().is_none() {
            return Err(incompatible(
                self,
                format!(
                    "expected an input of rank ≥ 2 with a known last dimension, received shape {}",
                    x.shape.keras_string()
                ),
            ));
        }
        let mut dims = x.shape.dims().to_vec();
        *dims.last_mut().expect("rank checked") = Some(self.units);
        let out = TensorType::f32(Shape(dims));
        // The activation keeps the shape, except glu, which halves the last axis.
        let act = activation(&self.activation, out.shape.rank()).map_err(|e| bad_argument(self, e.to_string()))?;
        Ok(vec![output_type(act, &out).map_err(|e| incompatible(self, e))?])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let ty = ctx.value_type(x)?;
        let input_dim = ty.shape.last().flatten().unwrap_or(0);
        let kernel = ctx.weight(
            "kernel",
            Shape::fixed([input_dim, self.units]),
            self.kernel_initializer.resolve()?,
        )?;
        regularizers::apply(ctx, &self.kernel_regularizer, kernel)?;
        constraints::apply(ctx, &self.kernel_constraint, kernel, 2)?;
        let mut y = ctx.push(Op::Matmul, &[x, kernel])?;
        if self.use_bias {
            let bias = ctx.weight("bias", Shape::fixed([self.units]), self.bias_initializer.resolve()?)?;
            regularizers::apply(ctx, &self.bias_regularizer, bias)?;
            constraints::apply(ctx, &self.bias_constraint, bias, 1)?;
            y = ctx.push(Op::BiasAdd, &[y, bias])?;
        }
        let act = activation(&self.activation, ty.shape.rank())?;
        if act != kiln_ir::Activation::Linear {
            y = ctx.push(Op::Activation { kind: act }, &[y])?;
        }
        if let Some(r) = &self.activity_regularizer {
            r.emit_activity(ctx, y)?;
        }
        Ok(vec![y])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn trainable(&self) -> bool {
        self.trainable
    }
}

impl crate::keras::FromKeras for Dense {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let units = c.usize("units")?.ok_or_else(|| c.error("units", "is required"))?;
        let mut layer = Dense::new(units);
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(t) = trainable {
            layer.trainable = t;
        }
        if let Some(a) = c.activation("activation")? {
            layer.activation = a;
        }
        if let Some(b) = c.bool("use_bias")? {
            layer.use_bias = b;
        }
        if let Some(i) = c.initializer("kernel_initializer")? {
            layer.kernel_initializer = i;
        }
        if let Some(i) = c.initializer("bias_initializer")? {
            layer.bias_initializer = i;
        }
        layer.kernel_regularizer = c.regularizer("kernel_regularizer")?;
        layer.bias_regularizer = c.regularizer("bias_regularizer")?;
        layer.activity_regularizer = c.regularizer("activity_regularizer")?;
        layer.kernel_constraint = c.constraint("kernel_constraint")?;
        layer.bias_constraint = c.constraint("bias_constraint")?;
        if c.get("lora_rank").is_some() {
            return Err(c.error("lora_rank", "LoRA is not supported"));
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;

    #[test]
    fn shapes_params_and_config() {
        check_layer(&Dense::new(5), &[Shape::batched([3])], Shape::batched([5]), 20);
        check_layer(
            &Dense::new(5).use_bias(false),
            &[Shape::batched([3])],
            Shape::batched([5]),
            15,
        );
        check_layer(
            &Dense::new(2).activation("softmax"),
            &[Shape::batched([4, 3])],
            Shape::batched([4, 2]),
            8,
        );
    }

    #[test]
    fn bad_arguments_and_inputs_are_named() {
        let err = Dense::new(0).name("d").validate().unwrap_err().to_string();
        assert_eq!(err, "layer 'd' (Dense): expected a positive integer. Received: units=0");
        let err = Dense::new(3)
            .name("d")
            .activation("rellu")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("layer 'd' (Dense): unknown activation 'rellu'"),
            "{err}"
        );
        let err = Dense::new(3)
            .name("d")
            .compute_output_shape(&[TensorType::f32(Shape::batched([]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'd' (Dense) is incompatible with its input: expected an input of rank ≥ 2 with a known last dimension, received shape (None,)"
        );
    }
}
