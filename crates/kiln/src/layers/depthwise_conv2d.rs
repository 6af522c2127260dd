//! `DepthwiseConv2D`: one set of filters per input channel, and the depthwise convolution
//! that `SeparableConv2D` shares (Keras's `BaseDepthwiseConv`).

use super::spatial::{
    DataFormat, Padding, add_channel_bias, axis_padding, channels_first, check_sizes, from_channels_first, join_output,
    keras_data_format, output_length, split_input,
};
use crate::activations::activation;
use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use crate::regularizers::{self, Regularizer};
use kiln_ir::{Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// The sliding window of a depthwise convolution: what `DepthwiseConv2D` and
/// `SeparableConv2D` share.
pub(crate) struct DepthwiseWindow<'a> {
    pub kernel_size: &'a [usize],
    pub strides: &'a [usize],
    pub padding: &'a str,
    pub dilation_rate: &'a [usize],
    pub data_format: DataFormat,
    pub depth_multiplier: usize,
}

impl DepthwiseWindow<'_> {
    fn rank(&self) -> usize {
        self.kernel_size.len()
    }

    fn padding_mode(&self) -> Padding {
        Padding::parse(self.padding).unwrap_or_default()
    }

    fn effective_window(&self, i: usize) -> usize {
        self.dilation_rate[i] * (self.kernel_size[i] - 1) + 1
    }

    /// Keras's constructor checks.
    pub(crate) fn validate(&self, layer: &dyn Layer) -> Result<()> {
        let rank = self.rank();
        if self.depth_multiplier == 0 {
            return Err(bad_argument(
                layer,
                "Invalid value for argument `depth_multiplier`. Expected a strictly positive value. Received depth_multiplier=0.",
            ));
        }
        check_sizes(layer, "kernel_size", self.kernel_size, rank)?;
        check_sizes(layer, "strides", self.strides, rank)?;
        check_sizes(layer, "dilation_rate", self.dilation_rate, rank)?;
        match Padding::parse(self.padding) {
            Some(Padding::Valid | Padding::Same) => Ok(()),
            _ => Err(bad_argument(
                layer,
                format!(
                    "The `padding` argument must be a list/tuple or one of {{'valid', 'same'}}. Received: {}",
                    self.padding
                ),
            )),
        }
    }

    /// The known channel count of `x`.
    pub(crate) fn channels(&self, layer: &dyn Layer, x: &TensorType) -> Result<usize> {
        let (channels, _) = split_input(layer, x, self.rank(), self.data_format)?;
        channels.ok_or_else(|| {
            incompatible(
                layer,
                format!(
                    "the channel dimension of the input must be known, received shape {}",
                    x.shape.keras_string()
                ),
            )
        })
    }

    /// The output type for `x` with `filters` output channels.
    pub(crate) fn output_shape(&self, layer: &dyn Layer, x: &TensorType, filters: usize) -> Result<TensorType> {
        let (_, spatial) = split_input(layer, x, self.rank(), self.data_format)?;
        let mut out = Vec::with_capacity(spatial.len());
        for (i, len) in spatial.iter().enumerate() {
            let o = output_length(self.padding_mode(), *len, self.effective_window(i), self.strides[i]).flatten();
            if len.is_some() && o.is_none_or(|o| o == 0) {
                return Err(incompatible(
                    layer,
                    format!(
                        "Computed output size would be zero or negative. Received inputs shape={}, kernel_size={:?}, dilation_rate={:?}, strides={:?}, padding={}",
                        x.shape.keras_string(),
                        self.kernel_size,
                        self.dilation_rate,
                        self.strides,
                        self.padding
                    ),
                ));
            }
            out.push(o);
        }
        let dims = join_output(x.shape.dims()[0], Some(filters), out, self.data_format);
        Ok(TensorType::f32(Shape(dims)))
    }

    /// The depthwise convolution of `x` (in the layer's layout) by `kernel`, a weight in
    /// Keras's layout `(*kernel_size, channels, depth_multiplier)`; the result is channels
    /// first, with output channel `c * depth_multiplier + m` for input channel `c`.
    pub(crate) fn emit(&self, ctx: &mut EmitContext, x: ValueId, kernel: ValueId, channels: usize) -> Result<ValueId> {
        let rank = self.rank();
        // (*k, C, M) → (C, M, *k) → (C * M, 1, *k): Burn's grouped kernel, one group per channel.
        let mut perm = vec![rank, rank + 1];
        perm.extend(0..rank);
        let k = ctx.transpose(kernel, perm)?;
        let mut dims = vec![channels * self.depth_multiplier, 1];
        dims.extend_from_slice(self.kernel_size);
        let k = ctx.reshape(k, Shape::fixed(dims))?;
        let xf = channels_first(ctx, x, self.data_format)?;
        let shape = ctx.shape(xf)?;
        let padding = (0..rank)
            .map(|i| {
                let len = shape.dims()[2 + i].unwrap_or(0);
                axis_padding(self.padding_mode(), len, self.effective_window(i), self.strides[i])
            })
            .collect();
        ctx.push(
            Op::Conv {
                strides: self.strides.to_vec(),
                padding,
                dilation: self.dilation_rate.to_vec(),
                groups: channels,
            },
            &[xf, k],
        )
    }
}

/// Bias, activation and activity regularizer on a channels-first convolution result `y`,
/// returned in the layer's layout.
pub(crate) fn finish(
    ctx: &mut EmitContext,
    y: ValueId,
    rank: usize,
    format: DataFormat,
    bias: Option<ValueId>,
    activation_name: &str,
    activity_regularizer: &Option<Regularizer>,
) -> Result<ValueId> {
    let mut y = from_channels_first(ctx, y, format)?;
    if let Some(bias) = bias {
        y = add_channel_bias(ctx, y, bias, rank, format)?;
    }
    let act = activation(activation_name, rank + 2)?;
    let y = ctx.activation(act, y)?;
    if let Some(r) = activity_regularizer {
        r.emit_activity(ctx, y)?;
    }
    Ok(y)
}

/// Depthwise 2D convolution: each input channel is convolved with its own
/// `depth_multiplier` filters, as Keras's `DepthwiseConv2D` (no mixing across channels).
///
/// Arguments and defaults follow Keras: `strides` 1, `padding` `"valid"` or `"same"` (an
/// odd total padding puts the extra row/column at the end, as Keras), `depth_multiplier`
/// 1, `data_format` channels last, `dilation_rate` 1, `activation` linear, `use_bias`,
/// `glorot_uniform` depthwise initializer, zero bias, optional regularizers and
/// constraints. Weights: `kernel` `(kh, kw, channels, depth_multiplier)` and `bias`
/// `(channels * depth_multiplier,)`; output channel `c * depth_multiplier + m` comes from
/// input channel `c`.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([28, 28, 8]);
/// let y = DepthwiseConv2D::new(3).padding("same").apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 28, 28, 8)");
/// let y = DepthwiseConv2D::new([3, 3]).strides(2).depth_multiplier(2).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 13, 13, 16)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepthwiseConv2D {
    /// Layer name.
    pub name: String,
    /// Window size `(kh, kw)`.
    pub kernel_size: Vec<usize>,
    /// Strides (default 1).
    pub strides: Vec<usize>,
    /// `"valid"` (default) or `"same"`.
    pub padding: String,
    /// Filters per input channel (default 1).
    pub depth_multiplier: usize,
    /// Channels last (default) or first.
    pub data_format: DataFormat,
    /// Dilation (default 1).
    pub dilation_rate: Vec<usize>,
    /// Activation name (default `"linear"`).
    pub activation: String,
    /// Add a bias (default `true`).
    pub use_bias: bool,
    /// Kernel initializer (default `"glorot_uniform"`).
    pub depthwise_initializer: InitializerArg,
    /// Bias initializer (default `"zeros"`).
    pub bias_initializer: InitializerArg,
    /// Penalty on the kernel.
    #[serde(default)]
    pub depthwise_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
    /// Penalty on the output.
    #[serde(default)]
    pub activity_regularizer: Option<Regularizer>,
    /// Constraint on the kernel.
    #[serde(default)]
    pub depthwise_constraint: Option<ConstraintArg>,
    /// Constraint on the bias.
    #[serde(default)]
    pub bias_constraint: Option<ConstraintArg>,
    /// Whether training updates the weights.
    pub trainable: bool,
}

impl DepthwiseConv2D {
    /// A layer with a `kernel_size` window (one number for both axes or one each) and
    /// Keras's defaults.
    pub fn new(kernel_size: impl super::Sizes) -> Self {
        DepthwiseConv2D {
            name: unique_name("depthwise_conv2d"),
            kernel_size: kernel_size.sizes(2),
            strides: vec![1, 1],
            padding: "valid".into(),
            depth_multiplier: 1,
            data_format: DataFormat::ChannelsLast,
            dilation_rate: vec![1, 1],
            activation: "linear".into(),
            use_bias: true,
            depthwise_initializer: "glorot_uniform".into(),
            bias_initializer: "zeros".into(),
            depthwise_regularizer: None,
            bias_regularizer: None,
            activity_regularizer: None,
            depthwise_constraint: None,
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

    /// Sets the number of filters per input channel.
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

    /// Sets the kernel initializer.
    pub fn depthwise_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.depthwise_initializer = init.into();
        self
    }

    /// Sets the bias initializer.
    pub fn bias_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.bias_initializer = init.into();
        self
    }

    /// Sets the kernel regularizer.
    pub fn depthwise_regularizer(mut self, r: Regularizer) -> Self {
        self.depthwise_regularizer = Some(r);
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

    /// Sets the kernel constraint.
    pub fn depthwise_constraint(mut self, c: ConstraintArg) -> Self {
        self.depthwise_constraint = Some(c);
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

impl Layer for DepthwiseConv2D {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "DepthwiseConv2D"
    }

    fn validate(&self) -> Result<()> {
        self.window().validate(self)?;
        activation(&self.activation, 4).map_err(|e| bad_argument(self, e.to_string()))?;
        self.depthwise_initializer
            .resolve()
            .map_err(|e| bad_argument(self, e.to_string()))?;
        self.bias_initializer
            .resolve()
            .map_err(|e| bad_argument(self, e.to_string()))?;
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        let w = self.window();
        let channels = w.channels(self, x)?;
        Ok(vec![w.output_shape(self, x, channels * self.depth_multiplier)?])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let w = self.window();
        let channels = w.channels(self, &ctx.value_type(x)?)?;
        let mut shape = self.kernel_size.clone();
        shape.extend([channels, self.depth_multiplier]);
        let kernel = ctx.weight("kernel", Shape::fixed(shape), self.depthwise_initializer.resolve()?)?;
        regularizers::apply(ctx, &self.depthwise_regularizer, kernel)?;
        constraints::apply(ctx, &self.depthwise_constraint, kernel, 4)?;
        let bias = if self.use_bias {
            let b = ctx.weight(
                "bias",
                Shape::fixed([channels * self.depth_multiplier]),
                self.bias_initializer.resolve()?,
            )?;
            regularizers::apply(ctx, &self.bias_regularizer, b)?;
            constraints::apply(ctx, &self.bias_constraint, b, 1)?;
            Some(b)
        } else {
            None
        };
        let y = w.emit(ctx, x, kernel, channels)?;
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

impl crate::keras::FromKeras for DepthwiseConv2D {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let kernel_size = c
            .sizes("kernel_size", 2)?
            .ok_or_else(|| c.error("kernel_size", "is required"))?;
        let mut layer = DepthwiseConv2D::new(kernel_size);
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
        if let Some(v) = c.initializer("bias_initializer")? {
            layer.bias_initializer = v;
        }
        layer.depthwise_regularizer = c.regularizer("depthwise_regularizer")?;
        layer.bias_regularizer = c.regularizer("bias_regularizer")?;
        layer.activity_regularizer = c.regularizer("activity_regularizer")?;
        layer.depthwise_constraint = c.constraint("depthwise_constraint")?;
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
        check_layer(
            &DepthwiseConv2D::new(3),
            &[Shape::batched([5, 5, 3])],
            Shape::batched([3, 3, 3]),
            30,
        );
        check_layer(
            &DepthwiseConv2D::new(3).depth_multiplier(2),
            &[Shape::batched([5, 5, 2])],
            Shape::batched([3, 3, 4]),
            40,
        );
        check_layer(
            &DepthwiseConv2D::new(3).strides(2).padding("same"),
            &[Shape::batched([6, 6, 3])],
            Shape::batched([3, 3, 3]),
            30,
        );
        check_layer(
            &DepthwiseConv2D::new([2, 3]).dilation_rate(2).use_bias(false),
            &[Shape::batched([6, 7, 2])],
            Shape::batched([4, 3, 2]),
            12,
        );
        check_layer(
            &DepthwiseConv2D::new(3)
                .data_format(DataFormat::ChannelsFirst)
                .depth_multiplier(2),
            &[Shape::batched([2, 6, 5])],
            Shape::batched([4, 4, 3]),
            40,
        );
    }

    #[test]
    fn impossible_configurations_are_refused() {
        let err = DepthwiseConv2D::new(3)
            .name("d")
            .depth_multiplier(0)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("depth_multiplier=0"), "{err}");
        let err = DepthwiseConv2D::new(3)
            .name("d")
            .padding("causal")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("Received: causal"), "{err}");
        let err = DepthwiseConv2D::new([3, 0])
            .name("d")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("kernel_size=[3, 0]"), "{err}");
        let err = DepthwiseConv2D::new(3)
            .name("d")
            .compute_output_shape(&[TensorType::f32(Shape::batched([6, 2]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an input of rank 4"), "{err}");
        let err = DepthwiseConv2D::new(3)
            .name("d")
            .compute_output_shape(&[TensorType::f32(Shape::batched([2, 6, 2]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("zero or negative"), "{err}");
    }

    #[test]
    fn keras_configs_are_imported() {
        let config: serde_json::Value = serde_json::from_str(
            r#"{"name": "depthwise_conv2d", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "depth_multiplier": 2, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear", "use_bias": true, "depthwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "depthwise_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}, "registered_name": null}, "bias_regularizer": null, "activity_regularizer": null, "depthwise_constraint": null, "bias_constraint": null}"#,
        )
        .unwrap();
        let layer = crate::keras::layer_from_config("DepthwiseConv2D", &config).unwrap();
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
