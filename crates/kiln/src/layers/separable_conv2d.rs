//! `SeparableConv2D`: a depthwise convolution followed by a pointwise (1×1) one.

use super::depthwise_conv2d::{DepthwiseWindow, finish};
use super::spatial::{DataFormat, keras_data_format};
use crate::activations::activation;
use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::{EmitContext, Layer, bad_argument};
use crate::names::unique_name;
use crate::regularizers::{self, Regularizer};
use kiln_ir::{Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Depthwise separable 2D convolution, as Keras's `SeparableConv2D`: each input channel is
/// convolved with its own `depth_multiplier` filters, then a 1×1 convolution mixes the
/// `channels * depth_multiplier` results into `filters` outputs.
///
/// Arguments and defaults follow Keras: `strides` 1, `padding` `"valid"` or `"same"` (an
/// odd total padding puts the extra row/column at the end, as Keras), `depth_multiplier`
/// 1, `data_format` channels last, `dilation_rate` 1, `activation` linear, `use_bias`,
/// `glorot_uniform` depthwise and pointwise initializers, zero bias, optional
/// regularizers and constraints. Weights: `depthwise_kernel` `(kh, kw, channels,
/// depth_multiplier)`, `pointwise_kernel` `(1, 1, channels * depth_multiplier, filters)` and
/// `bias` `(filters,)`.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([28, 28, 8]);
/// let y = SeparableConv2D::new(16, 3).padding("same").apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 28, 28, 16)");
/// let y = SeparableConv2D::new(4, [3, 3]).strides(2).depth_multiplier(2).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 13, 13, 4)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeparableConv2D {
    /// Layer name.
    pub name: String,
    /// Output channels.
    pub filters: usize,
    /// Depthwise window size `(kh, kw)`.
    pub kernel_size: Vec<usize>,
    /// Strides of the depthwise convolution (default 1).
    pub strides: Vec<usize>,
    /// `"valid"` (default) or `"same"`.
    pub padding: String,
    /// Depthwise filters per input channel (default 1).
    pub depth_multiplier: usize,
    /// Channels last (default) or first.
    pub data_format: DataFormat,
    /// Dilation of the depthwise convolution (default 1).
    pub dilation_rate: Vec<usize>,
    /// Activation name (default `"linear"`).
    pub activation: String,
    /// Add a bias (default `true`).
    pub use_bias: bool,
    /// Depthwise kernel initializer (default `"glorot_uniform"`).
    pub depthwise_initializer: InitializerArg,
    /// Pointwise kernel initializer (default `"glorot_uniform"`).
    pub pointwise_initializer: InitializerArg,
    /// Bias initializer (default `"zeros"`).
    pub bias_initializer: InitializerArg,
    /// Penalty on the depthwise kernel.
    #[serde(default)]
    pub depthwise_regularizer: Option<Regularizer>,
    /// Penalty on the pointwise kernel.
    #[serde(default)]
    pub pointwise_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
    /// Penalty on the output.
    #[serde(default)]
    pub activity_regularizer: Option<Regularizer>,
    /// Constraint on the depthwise kernel.
    #[serde(default)]
    pub depthwise_constraint: Option<ConstraintArg>,
    /// Constraint on the pointwise kernel.
    #[serde(default)]
    pub pointwise_constraint: Option<ConstraintArg>,
    /// Constraint on the bias.
    #[serde(default)]
    pub bias_constraint: Option<ConstraintArg>,
    /// Whether training updates the weights.
    pub trainable: bool,
}

impl SeparableConv2D {
    /// A layer with `filters` output channels and a `kernel_size` depthwise window (one
    /// number for both axes or one each), with Keras's defaults.
    pub fn new(filters: usize, kernel_size: impl super::Sizes) -> Self {
        SeparableConv2D {
            name: unique_name("separable_conv2d"),
            filters,
            kernel_size: kernel_size.sizes(2),
            strides: vec![1, 1],
            padding: "valid".into(),
            depth_multiplier: 1,
            data_format: DataFormat::ChannelsLast,
            dilation_rate: vec![1, 1],
            activation: "linear".into(),
            use_bias: true,
            depthwise_initializer: "glorot_uniform".into(),
            pointwise_initializer: "glorot_uniform".into(),
            bias_initializer: "zeros".into(),
            depthwise_regularizer: None,
            pointwise_regularizer: None,
            bias_regularizer: None,
            activity_regularizer: None,
            depthwise_constraint: None,
            pointwise_constraint: None,
            bias_constraint: None,
            trainable: true,
        }
    }

    fn window(&self) -> DepthwiseWindow<'_> {
        DepthwiseWindow {
            kernel_size: &self.kernel_size,
            strides: &self.strides,
            padding: &self.padding,
            dilation_rate: &self.dilation_rate,
            data_format: self.data_format,
            depth_multiplier: self.depth_multiplier,
        }
    }

    /// Sets the strides.
    pub fn strides(mut self, strides: impl super::Sizes) -> Self {
        self.strides = strides.sizes(2);
        self
    }

    /// Sets the padding: `"valid"` or `"same"`.
    pub fn padding(mut self, padding: &str) -> Self {
        self.padding = padding.to_string();
        self
    }

    /// Sets the number of depthwise filters per input channel.
    pub fn depth_multiplier(mut self, depth_multiplier: usize) -> Self {
        self.depth_multiplier = depth_multiplier;
        self
    }

    /// Sets the data format.
    pub fn data_format(mut self, format: DataFormat) -> Self {
        self.data_format = format;
        self
    }

    /// Sets the dilation rate.
    pub fn dilation_rate(mut self, rate: impl super::Sizes) -> Self {
        self.dilation_rate = rate.sizes(2);
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

    /// Sets the depthwise kernel initializer.
    pub fn depthwise_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.depthwise_initializer = init.into();
        self
    }

    /// Sets the pointwise kernel initializer.
    pub fn pointwise_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.pointwise_initializer = init.into();
        self
    }

    /// Sets the bias initializer.
    pub fn bias_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.bias_initializer = init.into();
        self
    }

    /// Sets the depthwise kernel regularizer.
    pub fn depthwise_regularizer(mut self, r: Regularizer) -> Self {
        self.depthwise_regularizer = Some(r);
        self
    }

    /// Sets the pointwise kernel regularizer.
    pub fn pointwise_regularizer(mut self, r: Regularizer) -> Self {
        self.pointwise_regularizer = Some(r);
        self
    }

    /// Sets the bias regularizer.
    pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
        self.bias_regularizer = Some(r);
        self
    }

    /// Sets the activity regularizer.
    pub fn activity_regularizer(mut self, r: Regularizer) -> Self {
        self.activity_regularizer = Some(r);
        self
    }

    /// Sets the depthwise kernel constraint.
    pub fn depthwise_constraint(mut self, c: ConstraintArg) -> Self {
        self.depthwise_constraint = Some(c);
        self
    }

    /// Sets the pointwise kernel constraint.
    pub fn pointwise_constraint(mut self, c: ConstraintArg) -> Self {
        self.pointwise_constraint = Some(c);
        self
    }

    /// Sets the bias constraint.
    pub fn bias_constraint(mut self, c: ConstraintArg) -> Self {
        self.bias_constraint = Some(c);
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

impl Layer for SeparableConv2D {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "SeparableConv2D"
    }

    fn validate(&self) -> Result<()> {
        self.window().validate(self)?;
        if self.filters == 0 {
            return Err(bad_argument(
                self,
                "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0.",
            ));
        }
        activation(&self.activation, 4).map_err(|e| bad_argument(self, e.to_string()))?;
        for init in [
            &self.depthwise_initializer,
            &self.pointwise_initializer,
            &self.bias_initializer,
        ] {
            init.resolve().map_err(|e| bad_argument(self, e.to_string()))?;
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        let w = self.window();
        w.channels(self, x)?;
        Ok(vec![w.output_shape(self, x, self.filters)?])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let w = self.window();
        let channels = w.channels(self, &ctx.value_type(x)?)?;
        let mid = channels * self.depth_multiplier;
        let mut shape = self.kernel_size.clone();
        shape.extend([channels, self.depth_multiplier]);
        let depthwise = ctx.weight(
            "depthwise_kernel",
            Shape::fixed(shape),
            self.depthwise_initializer.resolve()?,
        )?;
        regularizers::apply(ctx, &self.depthwise_regularizer, depthwise)?;
        constraints::apply(ctx, &self.depthwise_constraint, depthwise, 4)?;
        let pointwise = ctx.weight(
            "pointwise_kernel",
            Shape::fixed([1, 1, mid, self.filters]),
            self.pointwise_initializer.resolve()?,
        )?;
        regularizers::apply(ctx, &self.pointwise_regularizer, pointwise)?;
        constraints::apply(ctx, &self.pointwise_constraint, pointwise, 4)?;
        let bias = if self.use_bias {
            let b = ctx.weight("bias", Shape::fixed([self.filters]), self.bias_initializer.resolve()?)?;
            regularizers::apply(ctx, &self.bias_regularizer, b)?;
            constraints::apply(ctx, &self.bias_constraint, b, 1)?;
            Some(b)
        } else {
            None
        };
        let y = w.emit(ctx, x, depthwise, channels)?;
        // (1, 1, mid, filters) → Burn's (filters, mid, 1, 1).
        let pk = ctx.transpose(pointwise, vec![3, 2, 0, 1])?;
        let y = ctx.push(
            Op::Conv {
                strides: vec![1, 1],
                padding: vec![(0, 0), (0, 0)],
                dilation: vec![1, 1],
                groups: 1,
            },
            &[y, pk],
        )?;
        let y = finish(
            ctx,
            y,
            2,
            self.data_format,
            bias,
            &self.activation,
            &self.activity_regularizer,
        )?;
        Ok(vec![y])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn trainable(&self) -> bool {
        self.trainable
    }
}

impl crate::keras::FromKeras for SeparableConv2D {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let filters = c.usize("filters")?.ok_or_else(|| c.error("filters", "is required"))?;
        let kernel_size = c
            .sizes("kernel_size", 2)?
            .ok_or_else(|| c.error("kernel_size", "is required"))?;
        let mut layer = SeparableConv2D::new(filters, kernel_size);
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(t) = trainable {
            layer.trainable = t;
        }
        if let Some(v) = c.sizes("strides", 2)? {
            layer.strides = v;
        }
        if let Some(v) = c.string("padding")? {
            layer.padding = v;
        }
        if let Some(v) = c.usize("depth_multiplier")? {
            layer.depth_multiplier = v;
        }
        layer.data_format = keras_data_format(c)?;
        if let Some(v) = c.sizes("dilation_rate", 2)? {
            layer.dilation_rate = v;
        }
        if let Some(v) = c.activation("activation")? {
            layer.activation = v;
        }
        if let Some(v) = c.bool("use_bias")? {
            layer.use_bias = v;
        }
        if let Some(v) = c.initializer("depthwise_initializer")? {
            layer.depthwise_initializer = v;
        }
        if let Some(v) = c.initializer("pointwise_initializer")? {
            layer.pointwise_initializer = v;
        }
        if let Some(v) = c.initializer("bias_initializer")? {
            layer.bias_initializer = v;
        }
        layer.depthwise_regularizer = c.regularizer("depthwise_regularizer")?;
        layer.pointwise_regularizer = c.regularizer("pointwise_regularizer")?;
        layer.bias_regularizer = c.regularizer("bias_regularizer")?;
        layer.activity_regularizer = c.regularizer("activity_regularizer")?;
        layer.depthwise_constraint = c.constraint("depthwise_constraint")?;
        layer.pointwise_constraint = c.constraint("pointwise_constraint")?;
        layer.bias_constraint = c.constraint("bias_constraint")?;
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;

    #[test]
    fn shapes_params_and_config() {
        // 3·3·2·2 depthwise + 4·3 pointwise + 3 bias.
        check_layer(
            &SeparableConv2D::new(3, 3).depth_multiplier(2).padding("same"),
            &[Shape::batched([5, 5, 2])],
            Shape::batched([5, 5, 3]),
            51,
        );
        check_layer(
            &SeparableConv2D::new(3, 3),
            &[Shape::batched([5, 5, 2])],
            Shape::batched([3, 3, 3]),
            27,
        );
        check_layer(
            &SeparableConv2D::new(4, [2, 3]).strides(2).use_bias(false),
            &[Shape::batched([6, 7, 2])],
            Shape::batched([3, 3, 4]),
            20,
        );
        check_layer(
            &SeparableConv2D::new(4, 3)
                .data_format(DataFormat::ChannelsFirst)
                .dilation_rate(2)
                .activation("relu"),
            &[Shape::batched([2, 6, 5])],
            Shape::batched([4, 2, 1]),
            30,
        );
    }

    #[test]
    fn impossible_configurations_are_refused() {
        let err = SeparableConv2D::new(0, 3).name("s").validate().unwrap_err().to_string();
        assert!(err.contains("filters=0"), "{err}");
        let err = SeparableConv2D::new(2, 3)
            .name("s")
            .depth_multiplier(0)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("depth_multiplier=0"), "{err}");
        let err = SeparableConv2D::new(2, 3)
            .name("s")
            .padding("full")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("Received: full"), "{err}");
        let err = SeparableConv2D::new(2, 3)
            .name("s")
            .compute_output_shape(&[TensorType::f32(Shape::batched([6, 2]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an input of rank 4"), "{err}");
    }

    #[test]
    fn keras_configs_are_imported() {
        let config: serde_json::Value = serde_json::from_str(
            r#"{"name": "separable_conv2d", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "depth_multiplier": 1, "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear", "use_bias": true, "depthwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}, "pointwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "depthwise_regularizer": null, "pointwise_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "depthwise_constraint": null, "pointwise_constraint": {"module": "keras.constraints", "class_name": "NonNeg", "config": {}, "registered_name": null}, "bias_constraint": null}"#,
        )
        .unwrap();
        let layer = crate::keras::layer_from_config("SeparableConv2D", &config).unwrap();
        let layer = layer.as_ref();
        assert_eq!(
            layer
                .compute_output_shape(&[TensorType::f32(Shape::batched([5, 5, 2]))])
                .unwrap()[0]
                .shape,
            Shape::batched([3, 3, 4])
        );
    }
}
