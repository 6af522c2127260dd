//! What the pooling layers share (Keras's `BasePooling` and `BaseGlobalPooling`):
//! arguments, validation, output shapes and the emitted pooling or reduction.

use super::spatial::{
    DataFormat, Padding, axis_padding, channels_first, check_sizes, from_channels_first, join_output,
    keras_data_format, output_length, split_input,
};
use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use kiln_ir::{Op, PoolKind, ReduceOp, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// The arguments of a windowed pooling layer, as Keras's `MaxPooling2D`/`AveragePooling2D`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolArgs {
    /// Layer name.
    pub name: String,
    /// Window size per spatial axis.
    pub pool_size: Vec<usize>,
    /// Stride per spatial axis (`None`: the pool size, as Keras).
    #[serde(default)]
    pub strides: Option<Vec<usize>>,
    /// `"valid"` (default) or `"same"`.
    pub padding: String,
    /// Channels last (default) or first.
    pub data_format: DataFormat,
}

impl PoolArgs {
    pub(crate) fn new(name: String, pool_size: Vec<usize>) -> Self {
        PoolArgs {
            name,
            pool_size,
            strides: None,
            padding: "valid".into(),
            data_format: DataFormat::ChannelsLast,
        }
    }

    fn rank(&self) -> usize {
        self.pool_size.len()
    }

    /// The strides in effect.
    pub fn effective_strides(&self) -> Vec<usize> {
        self.strides.clone().unwrap_or_else(|| self.pool_size.clone())
    }

    fn padding_mode(&self) -> Padding {
        Padding::parse(&self.padding).unwrap_or_default()
    }

    pub(crate) fn validate(&self, layer: &dyn Layer) -> Result<()> {
        let rank = self.rank();
        check_sizes(layer, "pool_size", &self.pool_size, rank)?;
        check_sizes(layer, "strides", &self.effective_strides(), rank)?;
        match Padding::parse(&self.padding) {
            Some(Padding::Valid | Padding::Same) => Ok(()),
            _ => Err(bad_argument(
                layer,
                format!(
                    "Argument `padding` must be either 'valid' or 'same'. Received: padding={}",
                    self.padding
                ),
            )),
        }
    }

    pub(crate) fn output_shape(&self, layer: &dyn Layer, x: &TensorType) -> Result<TensorType> {
        let rank = self.rank();
        let (channels, spatial) = split_input(layer, x, rank, self.data_format)?;
        let strides = self.effective_strides();
        let mut out = Vec::with_capacity(rank);
        for (i, len) in spatial.iter().enumerate() {
            let o = output_length(self.padding_mode(), *len, self.pool_size[i], strides[i]).flatten();
            if len.is_some() && o.is_none_or(|o| o == 0) {
                return Err(incompatible(
                    layer,
                    format!(
                        "Computed output size would be zero or negative. Received: inputs.shape={}, pool_size={:?}, strides={:?}, padding={}",
                        x.shape.keras_string(),
                        self.pool_size,
                        strides,
                        self.padding
                    ),
                ));
            }
            out.push(o);
        }
        let dims = join_output(x.shape.dims()[0], channels, out, self.data_format);
        Ok(TensorType::f32(Shape(dims)))
    }

    /// Emits the pooling of `x`.
    pub(crate) fn emit(&self, ctx: &mut EmitContext, x: ValueId, kind: PoolKind) -> Result<ValueId> {
        let rank = self.rank();
        let strides = self.effective_strides();
        let xf = channels_first(ctx, x, self.data_format)?;
        let shape = ctx.shape(xf)?;
        let padding = (0..rank)
            .map(|i| {
                let len = shape.dims()[2 + i].unwrap_or(0);
                axis_padding(self.padding_mode(), len, self.pool_size[i], strides[i])
            })
            .collect();
        let y = ctx.push(
            Op::Pool {
                kind,
                window: self.pool_size.clone(),
                strides,
                padding,
            },
            &[xf],
        )?;
        from_channels_first(ctx, y, self.data_format)
    }

    /// Reads Keras's pooling arguments for a layer of `rank` spatial axes; `default_pool`
    /// is the class's default `pool_size` (`None`: required).
    pub(crate) fn from_keras(
        c: &crate::keras::KerasConfig,
        rank: usize,
        prefix: &str,
        default_pool: Option<usize>,
    ) -> Result<Self> {
        let pool_size = match c.sizes("pool_size", rank)? {
            Some(v) => v,
            None => vec![default_pool.ok_or_else(|| c.error("pool_size", "is required"))?; rank],
        };
        let (name, _trainable) = crate::keras::common(c)?;
        let mut a = PoolArgs::new(name.unwrap_or_else(|| crate::names::unique_name(prefix)), pool_size);
        a.strides = c.sizes("strides", rank)?;
        if let Some(v) = c.string("padding")? {
            a.padding = v;
        }
        a.data_format = keras_data_format(c)?;
        Ok(a)
    }
}

/// Defines a windowed pooling layer type over [`PoolArgs`]: builder methods, Keras import
/// and the `Layer` implementation. Each class writes its own `new` (Keras's
/// `MaxPooling*` default to a window of 2; `AveragePooling*` require one).
macro_rules! pool_layer {
    ($(#[$doc:meta])* $ty:ident, $class:literal, $prefix:literal, $rank:literal, $kind:ident, default_pool = $default:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $ty {
            /// The arguments.
            pub args: $crate::layers::pooling::PoolArgs,
        }

        impl $ty {
            fn with_pool_size(pool_size: Vec<usize>) -> Self {
                $ty {
                    args: $crate::layers::pooling::PoolArgs::new($crate::names::unique_name($prefix), pool_size),
                }
            }

            /// Sets the window size (one number for every axis or one per axis).
            pub fn pool_size(mut self, pool_size: impl $crate::layers::Sizes) -> Self {
                self.args.pool_size = pool_size.sizes($rank);
                self
            }

            /// Sets the strides (default: the pool size).
            pub fn strides(mut self, strides: impl $crate::layers::Sizes) -> Self {
                self.args.strides = Some(strides.sizes($rank));
                self
            }

            /// Sets the padding: `"valid"` or `"same"`.
            pub fn padding(mut self, padding: &str) -> Self {
                self.args.padding = padding.to_string();
                self
            }

            /// Sets the data format.
            pub fn data_format(mut self, format: $crate::layers::DataFormat) -> Self {
                self.args.data_format = format;
                self
            }

            /// Names the layer.
            pub fn name(mut self, name: &str) -> Self {
                self.args.name = name.to_string();
                self
            }
        }

        impl $crate::keras::FromKeras for $ty {
            fn from_keras(c: &$crate::keras::KerasConfig) -> $crate::error::Result<Self> {
                Ok($ty {
                    args: $crate::layers::pooling::PoolArgs::from_keras(c, $rank, $prefix, $default)?,
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
                self.args.validate(self)
            }

            fn compute_output_shape(
                &self,
                inputs: &[kiln_ir::TensorType],
            ) -> $crate::error::Result<Vec<kiln_ir::TensorType>> {
                let x = $crate::layers::single(self, inputs)?;
                Ok(vec![self.args.output_shape(self, x)?])
            }

            fn emit(
                &self,
                ctx: &mut $crate::layer::EmitContext,
                inputs: &[kiln_ir::ValueId],
            ) -> $crate::error::Result<Vec<kiln_ir::ValueId>> {
                Ok(vec![self.args.emit(ctx, inputs[0], kiln_ir::PoolKind::$kind)?])
            }

            fn config(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or_default()
            }
        }
    };
}

pub(crate) use pool_layer;

/// The arguments of a global pooling layer, as Keras's `GlobalMaxPooling2D`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlobalPoolArgs {
    /// Layer name.
    pub name: String,
    /// Channels last (default) or first.
    pub data_format: DataFormat,
    /// Keep the spatial axes with length 1 (default `false`).
    pub keepdims: bool,
}

impl GlobalPoolArgs {
    pub(crate) fn new(name: String) -> Self {
        GlobalPoolArgs {
            name,
            data_format: DataFormat::ChannelsLast,
            keepdims: false,
        }
    }

    /// The spatial axes of an input of `rank` spatial axes.
    fn axes(&self, rank: usize) -> Vec<usize> {
        match self.data_format {
            DataFormat::ChannelsLast => (1..=rank).collect(),
            DataFormat::ChannelsFirst => (2..rank + 2).collect(),
        }
    }

    pub(crate) fn output_shape(&self, layer: &dyn Layer, x: &TensorType, rank: usize) -> Result<TensorType> {
        let (channels, _) = split_input(layer, x, rank, self.data_format)?;
        let batch = x.shape.dims()[0];
        let dims = if self.keepdims {
            join_output(batch, channels, vec![Some(1); rank], self.data_format)
        } else {
            vec![batch, channels]
        };
        Ok(TensorType::f32(Shape(dims)))
    }

    /// Emits the reduction of `x` over its spatial axes. A `(batch, steps)` mask is used by
    /// the one layer that takes one, `GlobalAveragePooling1D` (the mean over the kept steps,
    /// as Keras); the other classes drop it, as Keras does.
    pub(crate) fn emit(
        &self,
        ctx: &mut EmitContext,
        x: ValueId,
        rank: usize,
        kind: ReduceOp,
        mask: Option<ValueId>,
    ) -> Result<ValueId> {
        let axes = self.axes(rank);
        let Some(mask) = mask.filter(|_| rank == 1 && kind == ReduceOp::Mean) else {
            return ctx.reduce(kind, x, axes, self.keepdims);
        };
        let dims = ctx.shape(x)?.dims().to_vec();
        let mask_dims = match self.data_format {
            DataFormat::ChannelsLast => vec![dims[0], dims[1], Some(1)],
            DataFormat::ChannelsFirst => vec![dims[0], Some(1), dims[2]],
        };
        let m = ctx.reshape(mask, Shape(mask_dims))?;
        let kept = ctx.mul(x, m)?;
        let total = ctx.sum(kept, axes.clone(), self.keepdims)?;
        let count = ctx.sum(m, axes, self.keepdims)?;
        ctx.div(total, count)
    }

    /// Reads Keras's global pooling arguments.
    pub(crate) fn from_keras(c: &crate::keras::KerasConfig, prefix: &str) -> Result<Self> {
        let (name, _trainable) = crate::keras::common(c)?;
        let mut a = GlobalPoolArgs::new(name.unwrap_or_else(|| crate::names::unique_name(prefix)));
        a.data_format = keras_data_format(c)?;
        if let Some(k) = c.bool("keepdims")? {
            a.keepdims = k;
        }
        Ok(a)
    }
}

/// Defines a global pooling layer type over [`GlobalPoolArgs`].
macro_rules! global_pool_layer {
    ($(#[$doc:meta])* $ty:ident, $class:literal, $prefix:literal, $rank:literal, $kind:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $ty {
            /// The arguments.
            pub args: $crate::layers::pooling::GlobalPoolArgs,
        }

        impl $ty {
            /// A layer with Keras's defaults (channels last, `keepdims` false).
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                $ty {
                    args: $crate::layers::pooling::GlobalPoolArgs::new($crate::names::unique_name($prefix)),
                }
            }

            /// Keeps the spatial axes with length 1.
            pub fn keepdims(mut self, keepdims: bool) -> Self {
                self.args.keepdims = keepdims;
                self
            }

            /// Sets the data format.
            pub fn data_format(mut self, format: $crate::layers::DataFormat) -> Self {
                self.args.data_format = format;
                self
            }

            /// Names the layer.
            pub fn name(mut self, name: &str) -> Self {
                self.args.name = name.to_string();
                self
            }
        }

        impl $crate::keras::FromKeras for $ty {
            fn from_keras(c: &$crate::keras::KerasConfig) -> $crate::error::Result<Self> {
                Ok($ty {
                    args: $crate::layers::pooling::GlobalPoolArgs::from_keras(c, $prefix)?,
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

            fn compute_output_shape(
                &self,
                inputs: &[kiln_ir::TensorType],
            ) -> $crate::error::Result<Vec<kiln_ir::TensorType>> {
                let x = $crate::layers::single(self, inputs)?;
                Ok(vec![self.args.output_shape(self, x, $rank)?])
            }

            fn emit(
                &self,
                ctx: &mut $crate::layer::EmitContext,
                inputs: &[kiln_ir::ValueId],
            ) -> $crate::error::Result<Vec<kiln_ir::ValueId>> {
                Ok(vec![self.args.emit(ctx, inputs[0], $rank, kiln_ir::ReduceOp::$kind, None)?])
            }

            fn compute_output_masks(
                &self,
                _inputs: &[kiln_ir::TensorType],
                _masks: &[Option<kiln_ir::Shape>],
            ) -> $crate::error::Result<Vec<Option<kiln_ir::Shape>>> {
                Ok(vec![None])
            }

            fn emit_masked(
                &self,
                ctx: &mut $crate::layer::EmitContext,
                inputs: &[kiln_ir::ValueId],
                masks: &[Option<kiln_ir::ValueId>],
            ) -> $crate::error::Result<(Vec<kiln_ir::ValueId>, Vec<Option<kiln_ir::ValueId>>)> {
                let mask = masks.first().copied().flatten();
                let y = self.args.emit(ctx, inputs[0], $rank, kiln_ir::ReduceOp::$kind, mask)?;
                Ok((vec![y], vec![None]))
            }

            fn config(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or_default()
            }
        }
    };
}

pub(crate) use global_pool_layer;
