//! What the convolution layers share (Keras's `BaseConv`): arguments, validation, output
//! shapes and the emitted convolution, plain or transposed.

use super::spatial::{
    DataFormat, Padding, add_channel_bias, axis_padding, channels_first, check_sizes, from_channels_first, join_output,
    keras_data_format, output_length, split_input,
};
use crate::activations::activation;
use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::regularizers::{self, Regularizer};
use kiln_ir::{Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// The arguments of a convolution layer, as Keras's `Conv1D`/`Conv2D`/`Conv2DTranspose`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvArgs {
    /// Layer name.
    pub name: String,
    /// Output channels.
    pub filters: usize,
    /// Window size per spatial axis.
    pub kernel_size: Vec<usize>,
    /// Stride per spatial axis (default 1).
    pub strides: Vec<usize>,
    /// `"valid"` (default), `"same"`, or `"causal"` (Conv1D).
    pub padding: String,
    /// Channels last (default) or first.
    pub data_format: DataFormat,
    /// Dilation per spatial axis (default 1).
    pub dilation_rate: Vec<usize>,
    /// Channel groups (default 1).
    pub groups: usize,
    /// Output padding per axis of a transposed convolution (`None`: inferred).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_padding: Option<Vec<usize>>,
    /// Activation name (default `"linear"`).
    pub activation: String,
    /// Add a bias (default `true`).
    pub use_bias: bool,
    /// Kernel initializer (default `"glorot_uniform"`).
    pub kernel_initializer: InitializerArg,
    /// Bias initializer (default `"zeros"`).
    pub bias_initializer: InitializerArg,
    /// Penalty on the kernel.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
    /// Penalty on the output.
    #[serde(default)]
    pub activity_regularizer: Option<Regularizer>,
    /// Constraint on the kernel.
    #[serde(default)]
    pub kernel_constraint: Option<ConstraintArg>,
    /// Constraint on the bias.
    #[serde(default)]
    pub bias_constraint: Option<ConstraintArg>,
    /// Whether training updates the weights.
    pub trainable: bool,
}

impl ConvArgs {
    pub(crate) fn new(name: String, filters: usize, kernel_size: Vec<usize>) -> Self {
        let rank = kernel_size.len();
        ConvArgs {
            name,
            filters,
            kernel_size,
            strides: vec![1; rank],
            padding: "valid".into(),
            data_format: DataFormat::ChannelsLast,
            dilation_rate: vec![1; rank],
            groups: 1,
            output_padding: None,
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

    fn rank(&self) -> usize {
        self.kernel_size.len()
    }

    fn padding_mode(&self) -> Padding {
        Padding::parse(&self.padding).unwrap_or_default()
    }

    pub(crate) fn validate(&self, layer: &dyn Layer, transposed: bool) -> Result<()> {
        let rank = self.rank();
        if self.filters == 0 {
            return Err(bad_argument(
                layer,
                "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0.",
            ));
        }
        check_sizes(layer, "kernel_size", &self.kernel_size, rank)?;
        check_sizes(layer, "strides", &self.strides, rank)?;
        check_sizes(layer, "dilation_rate", &self.dilation_rate, rank)?;
        match Padding::parse(&self.padding) {
            Some(Padding::Causal) if rank != 1 || transposed => {
                return Err(bad_argument(
                    layer,
                    format!(
                        "`padding` must be 'valid' or 'same'. Received: padding={}",
                        self.padding
                    ),
                ));
            }
            None => {
                return Err(bad_argument(
                    layer,
                    format!(
                        "`padding` must be one of 'valid', 'same'{}. Received: padding={}",
                        if rank == 1 { " or 'causal'" } else { "" },
                        self.padding
                    ),
                ));
            }
            _ => {}
        }
        if self.groups == 0 || !self.filters.is_multiple_of(self.groups) {
            return Err(bad_argument(
                layer,
                format!(
                    "The number of filters must be evenly divisible by the number of groups. Received: groups={}, filters={}.",
                    self.groups, self.filters
                ),
            ));
        }
        if self.strides.iter().any(|&s| s > 1) && self.dilation_rate.iter().any(|&d| d > 1) {
            return Err(bad_argument(
                layer,
                format!(
                    "`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: strides={:?} and dilation_rate={:?}",
                    self.strides, self.dilation_rate
                ),
            ));
        }
        if let Some(op) = &self.output_padding {
            check_sizes(
                layer,
                "output_padding",
                &op.iter().map(|p| p + 1).collect::<Vec<_>>(),
                rank,
            )?;
            if op.iter().zip(&self.strides).any(|(p, s)| p >= s) {
                return Err(bad_argument(
                    layer,
                    format!(
                        "`output_padding` must be smaller than `strides` on every axis. Received: output_padding={op:?}, strides={:?}",
                        self.strides
                    ),
                ));
            }
        }
        activation(&self.activation, 2).map_err(|e| bad_argument(layer, e.to_string()))?;
        self.kernel_initializer
            .resolve()
            .map_err(|e| bad_argument(layer, e.to_string()))?;
        self.bias_initializer
            .resolve()
            .map_err(|e| bad_argument(layer, e.to_string()))?;
        Ok(())
    }

    fn effective_window(&self, i: usize) -> usize {
        self.dilation_rate[i] * (self.kernel_size[i] - 1) + 1
    }

    /// `(crop_begin, crop_end)` of the full transposed output per Keras (negative = pad).
    fn transpose_crop(&self, i: usize) -> (i64, i64) {
        let k = self.effective_window(i) as i64;
        let s = self.strides[i] as i64;
        let (left, right) = match self.padding_mode() {
            Padding::Same => {
                let pad_len = match &self.output_padding {
                    None => s + k - 2,
                    Some(op) => k + k % 2 - 2 + op[i] as i64,
                };
                let left = (pad_len / 2 + pad_len % 2).min(k - 1);
                (left, pad_len - left)
            }
            _ => {
                let op = match &self.output_padding {
                    None => k.max(s) - k,
                    Some(op) => op[i] as i64,
                };
                (k - 1, k - 1 + op)
            }
        };
        (k - 1 - left, k - 1 - right)
    }

    pub(crate) fn output_shape(&self, layer: &dyn Layer, x: &TensorType, transposed: bool) -> Result<TensorType> {
        let rank = self.rank();
        let (channels, spatial) = split_input(layer, x, rank, self.data_format)?;
        let Some(channels) = channels else {
            return Err(incompatible(
                layer,
                format!(
                    "the channel dimension of the input must be known, received shape {}",
                    x.shape.keras_string()
                ),
            ));
        };
        if !channels.is_multiple_of(self.groups) {
            return Err(incompatible(
                layer,
                format!(
                    "the number of input channels must be evenly divisible by the number of groups. Received groups={}, but the input has {channels} channels (full input shape is {})",
                    self.groups,
                    x.shape.keras_string()
                ),
            ));
        }
        let mut out = Vec::with_capacity(rank);
        for (i, len) in spatial.iter().enumerate() {
            let window = self.effective_window(i);
            let o = if transposed {
                len.map(|len| {
                    let (b, e) = self.transpose_crop(i);
                    let full = ((len.max(1) - 1) * self.strides[i] + window) as i64;
                    (full - b - e).max(0) as usize
                })
            } else {
                output_length(self.padding_mode(), *len, window, self.strides[i]).ok_or_else(|| {
                    incompatible(
                        layer,
                        format!(
                            "the kernel (size {:?}, dilation {:?}) is larger than the input {} with padding '{}'",
                            self.kernel_size,
                            self.dilation_rate,
                            x.shape.keras_string(),
                            self.padding
                        ),
                    )
                })?
            };
            if o == Some(0) {
                return Err(incompatible(
                    layer,
                    format!("the output would be empty for input shape {}", x.shape.keras_string()),
                ));
            }
            out.push(o);
        }
        let dims = join_output(x.shape.dims()[0], Some(self.filters), out, self.data_format);
        Ok(TensorType::f32(Shape(dims)))
    }

    /// The kernel in Keras's layout and its Burn-layout transpose.
    fn kernel(&self, ctx: &mut EmitContext, channels: usize, transposed: bool) -> Result<(ValueId, ValueId)> {
        let rank = self.rank();
        let mut shape = self.kernel_size.clone();
        if transposed {
            // Keras: (*window, filters, in_channels).
            shape.extend([self.filters / self.groups, channels]);
        } else {
            // Keras: (*window, in_channels / groups, filters).
            shape.extend([channels / self.groups, self.filters]);
        }
        let kernel = ctx.weight("kernel", Shape::fixed(shape), self.kernel_initializer.resolve()?)?;
        regularizers::apply(ctx, &self.kernel_regularizer, kernel)?;
        constraints::apply(ctx, &self.kernel_constraint, kernel, rank + 2)?;
        // Burn: (out, in / groups, *window) for a convolution and (in, out / groups, *window)
        // for a transposed one; both are the Keras axes (rank + 1, rank, 0, 1, …).
        let mut perm = vec![rank + 1, rank];
        perm.extend(0..rank);
        let burn = ctx.transpose(kernel, perm)?;
        Ok((kernel, burn))
    }

    /// Emits the convolution (or transposed convolution) of `x`.
    pub(crate) fn emit(&self, ctx: &mut EmitContext, x: ValueId, transposed: bool) -> Result<ValueId> {
        let rank = self.rank();
        let shape = ctx.shape(x)?;
        let channel_axis = match self.data_format {
            DataFormat::ChannelsLast => rank + 1,
            DataFormat::ChannelsFirst => 1,
        };
        let channels = shape.dims()[channel_axis].unwrap_or(0);
        let (_, kernel) = self.kernel(ctx, channels, transposed)?;
        let xf = channels_first(ctx, x, self.data_format)?;
        let mut y = if transposed {
            let full = ctx.push(
                Op::ConvTranspose {
                    strides: self.strides.clone(),
                    dilation: self.dilation_rate.clone(),
                    groups: self.groups,
                },
                &[xf, kernel],
            )?;
            self.crop_transposed(ctx, full)?
        } else {
            let fshape = ctx.shape(xf)?;
            let padding = (0..rank)
                .map(|i| {
                    let len = fshape.dims()[2 + i].unwrap_or(0);
                    axis_padding(self.padding_mode(), len, self.effective_window(i), self.strides[i])
                })
                .collect();
            ctx.push(
                Op::Conv {
                    strides: self.strides.clone(),
                    padding,
                    dilation: self.dilation_rate.clone(),
                    groups: self.groups,
                },
                &[xf, kernel],
            )?
        };
        y = from_channels_first(ctx, y, self.data_format)?;
        if self.use_bias {
            let bias = ctx.weight("bias", Shape::fixed([self.filters]), self.bias_initializer.resolve()?)?;
            regularizers::apply(ctx, &self.bias_regularizer, bias)?;
            constraints::apply(ctx, &self.bias_constraint, bias, 1)?;
            y = add_channel_bias(ctx, y, bias, rank, self.data_format)?;
        }
        let act = activation(&self.activation, rank + 2)?;
        let y = ctx.activation(act, y)?;
        if let Some(r) = &self.activity_regularizer {
            r.emit_activity(ctx, y)?;
        }
        Ok(y)
    }

    /// Crops (or pads) the full transposed output to Keras's output size.
    fn crop_transposed(&self, ctx: &mut EmitContext, full: ValueId) -> Result<ValueId> {
        let mut y = full;
        for i in 0..self.rank() {
            let axis = 2 + i;
            let (b, e) = self.transpose_crop(i);
            let len = ctx.shape(y)?.dims()[axis].unwrap_or(0) as i64;
            let mut pads = vec![(0usize, 0usize); self.rank() + 2];
            pads[axis] = ((-b).max(0) as usize, (-e).max(0) as usize);
            let (start, end) = (b.max(0), len - e.max(0));
            if start > 0 || end < len {
                y = ctx.slice(y, axis, start as usize, end as usize)?;
            }
            y = ctx.pad(y, pads, 0.0)?;
        }
        Ok(y)
    }
}

/// Defines a convolution layer type over [`ConvArgs`]: constructor, builder methods and
/// the `Layer` implementation.
macro_rules! conv_layer {
    ($(#[$doc:meta])* $ty:ident, $class:literal, $prefix:literal, $rank:literal, transposed = $transposed:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $ty {
            /// The arguments.
            pub args: $crate::layers::conv::ConvArgs,
        }

        impl $ty {
            /// A layer with `filters` output channels and a `kernel_size` window (one
            /// number for every axis or one per axis), with Keras's defaults.
            pub fn new(filters: usize, kernel_size: impl $crate::layers::Sizes) -> Self {
                $ty {
                    args: $crate::layers::conv::ConvArgs::new(
                        $crate::names::unique_name($prefix),
                        filters,
                        kernel_size.sizes($rank),
                    ),
                }
            }

            /// Sets the strides.
            pub fn strides(mut self, strides: impl $crate::layers::Sizes) -> Self {
                self.args.strides = strides.sizes($rank);
                self
            }

            /// Sets the padding: `"valid"` or `"same"` (`"causal"` for Conv1D).
            pub fn padding(mut self, padding: &str) -> Self {
                self.args.padding = padding.to_string();
                self
            }

            /// Sets the data format.
            pub fn data_format(mut self, format: $crate::layers::DataFormat) -> Self {
                self.args.data_format = format;
                self
            }

            /// Sets the dilation rate.
            pub fn dilation_rate(mut self, rate: impl $crate::layers::Sizes) -> Self {
                self.args.dilation_rate = rate.sizes($rank);
                self
            }

            /// Sets the number of channel groups.
            pub fn groups(mut self, groups: usize) -> Self {
                self.args.groups = groups;
                self
            }

            /// Sets the activation by Keras name.
            pub fn activation(mut self, name: &str) -> Self {
                self.args.activation = name.to_string();
                self
            }

            /// Adds a bias or not.
            pub fn use_bias(mut self, use_bias: bool) -> Self {
                self.args.use_bias = use_bias;
                self
            }

            /// Sets the kernel initializer.
            pub fn kernel_initializer(mut self, init: impl Into<$crate::initializers::InitializerArg>) -> Self {
                self.args.kernel_initializer = init.into();
                self
            }

            /// Sets the bias initializer.
            pub fn bias_initializer(mut self, init: impl Into<$crate::initializers::InitializerArg>) -> Self {
                self.args.bias_initializer = init.into();
                self
            }

            /// Sets the kernel regularizer.
            pub fn kernel_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
                self.args.kernel_regularizer = Some(r);
                self
            }

            /// Sets the bias regularizer.
            pub fn bias_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
                self.args.bias_regularizer = Some(r);
                self
            }

            /// Sets the activity regularizer.
            pub fn activity_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
                self.args.activity_regularizer = Some(r);
                self
            }

            /// Sets the kernel constraint.
            pub fn kernel_constraint(mut self, c: $crate::constraints::ConstraintArg) -> Self {
                self.args.kernel_constraint = Some(c);
                self
            }

            /// Sets the bias constraint.
            pub fn bias_constraint(mut self, c: $crate::constraints::ConstraintArg) -> Self {
                self.args.bias_constraint = Some(c);
                self
            }

            /// Names the layer.
            pub fn name(mut self, name: &str) -> Self {
                self.args.name = name.to_string();
                self
            }

            /// Freezes (`false`) or unfreezes the weights.
            pub fn trainable(mut self, trainable: bool) -> Self {
                self.args.trainable = trainable;
                self
            }
        }

        impl $crate::keras::FromKeras for $ty {
            fn from_keras(c: &$crate::keras::KerasConfig) -> $crate::error::Result<Self> {
                Ok($ty {
                    args: $crate::layers::conv::ConvArgs::from_keras(c, $rank, $prefix)?,
                })
            }
        }

        impl $crate::layer::Layer for $ty {
            fn name(&self) -> &str {
                &self.args.name
            }

            fn class_name(&self) -> &'static str {
                $class
            }

            fn validate(&self) -> $crate::error::Result<()> {
                self.args.validate(self, $transposed)
            }

            fn compute_output_shape(
                &self,
                inputs: &[kiln_ir::TensorType],
            ) -> $crate::error::Result<Vec<kiln_ir::TensorType>> {
                let x = $crate::layers::single(self, inputs)?;
                Ok(vec![self.args.output_shape(self, x, $transposed)?])
            }

            fn emit(
                &self,
                ctx: &mut $crate::layer::EmitContext,
                inputs: &[kiln_ir::ValueId],
            ) -> $crate::error::Result<Vec<kiln_ir::ValueId>> {
                Ok(vec![self.args.emit(ctx, inputs[0], $transposed)?])
            }

            fn config(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or_default()
            }

            fn trainable(&self) -> bool {
                self.args.trainable
            }
        }
    };
}

pub(crate) use conv_layer;

impl ConvArgs {
    /// Reads Keras's convolution arguments for a layer of `rank` spatial axes.
    pub(crate) fn from_keras(c: &crate::keras::KerasConfig, rank: usize, prefix: &str) -> Result<Self> {
        let filters = c.usize("filters")?.ok_or_else(|| c.error("filters", "is required"))?;
        let kernel_size = c
            .sizes("kernel_size", rank)?
            .ok_or_else(|| c.error("kernel_size", "is required"))?;
        let (name, trainable) = crate::keras::common(c)?;
        let mut a = ConvArgs::new(
            name.unwrap_or_else(|| crate::names::unique_name(prefix)),
            filters,
            kernel_size,
        );
        if let Some(t) = trainable {
            a.trainable = t;
        }
        if let Some(v) = c.sizes("strides", rank)? {
            a.strides = v;
        }
        if let Some(v) = c.string("padding")? {
            a.padding = v;
        }
        a.data_format = keras_data_format(c)?;
        if let Some(v) = c.sizes("dilation_rate", rank)? {
            a.dilation_rate = v;
        }
        if let Some(v) = c.usize("groups")? {
            a.groups = v;
        }
        a.output_padding = c.sizes("output_padding", rank)?;
        if let Some(v) = c.activation("activation")? {
            a.activation = v;
        }
        if let Some(v) = c.bool("use_bias")? {
            a.use_bias = v;
        }
        if let Some(v) = c.initializer("kernel_initializer")? {
            a.kernel_initializer = v;
        }
        if let Some(v) = c.initializer("bias_initializer")? {
            a.bias_initializer = v;
        }
        a.kernel_regularizer = c.regularizer("kernel_regularizer")?;
        a.bias_regularizer = c.regularizer("bias_regularizer")?;
        a.activity_regularizer = c.regularizer("activity_regularizer")?;
        a.kernel_constraint = c.constraint("kernel_constraint")?;
        a.bias_constraint = c.constraint("bias_constraint")?;
        if c.get("lora_rank").is_some() {
            return Err(c.error("lora_rank", "LoRA is not supported"));
        }
        Ok(a)
    }
}
