//! What convolution and pooling layers share: per-axis sizes, Keras's padding modes and
//! data formats, and output lengths.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use kiln_ir::{Dim, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// A size per spatial axis: one number for every axis (`3`) or one each (`[3, 5]`).
pub trait Sizes {
    /// The sizes for `rank` spatial axes.
    fn sizes(self, rank: usize) -> Vec<usize>;
}

impl Sizes for usize {
    fn sizes(self, rank: usize) -> Vec<usize> {
        vec![self; rank]
    }
}

impl<const N: usize> Sizes for [usize; N] {
    fn sizes(self, _rank: usize) -> Vec<usize> {
        self.to_vec()
    }
}

impl Sizes for Vec<usize> {
    fn sizes(self, _rank: usize) -> Vec<usize> {
        self
    }
}

impl Sizes for (usize, usize) {
    fn sizes(self, _rank: usize) -> Vec<usize> {
        vec![self.0, self.1]
    }
}

/// Keras's `padding` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// No padding: windows stay inside the input.
    #[default]
    Valid,
    /// Zero padding so that `output = ceil(input / stride)`; an odd total puts the extra
    /// element at the end, as Keras (and XLA) do.
    Same,
    /// Left padding only, so output `t` sees inputs up to `t` (Conv1D only).
    Causal,
}

impl Padding {
    /// Parses Keras's spelling.
    pub fn parse(s: &str) -> Option<Padding> {
        match s.to_ascii_lowercase().as_str() {
            "valid" => Some(Padding::Valid),
            "same" => Some(Padding::Same),
            "causal" => Some(Padding::Causal),
            _ => None,
        }
    }
}

impl From<&str> for Padding {
    /// Parses Keras's spelling; an unknown one becomes `Valid` here and is refused by the
    /// layer's `validate` through [`Padding::parse`] of the stored name.
    fn from(s: &str) -> Self {
        Padding::parse(s).unwrap_or_default()
    }
}

/// Keras's `data_format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// `(batch, *spatial, channels)`, Keras's default.
    #[default]
    ChannelsLast,
    /// `(batch, channels, *spatial)`.
    ChannelsFirst,
}

/// The `(begin, end)` padding of one axis for a window of effective size `window`
/// (dilation included) moving by `stride`.
pub(crate) fn axis_padding(padding: Padding, len: usize, window: usize, stride: usize) -> (usize, usize) {
    match padding {
        Padding::Valid => (0, 0),
        Padding::Causal => (window - 1, 0),
        Padding::Same => {
            let out = len.div_ceil(stride);
            let total = ((out.max(1) - 1) * stride + window).saturating_sub(len);
            (total / 2, total - total / 2)
        }
    }
}

/// The output length of one axis, `None` when the input length is unknown.
pub(crate) fn output_length(padding: Padding, len: Dim, window: usize, stride: usize) -> Option<Dim> {
    let Some(len) = len else { return Some(None) };
    let (b, e) = axis_padding(padding, len, window, stride);
    let padded = len + b + e;
    if padded < window {
        return None;
    }
    Some(Some((padded - window) / stride + 1))
}

/// Checks that every entry of a per-axis argument is positive and there is one per axis.
pub(crate) fn check_sizes(layer: &dyn Layer, name: &str, values: &[usize], rank: usize) -> Result<()> {
    if values.len() != rank || values.contains(&0) {
        return Err(bad_argument(
            layer,
            format!("the `{name}` argument must be a tuple of {rank} positive integers. Received: {name}={values:?}"),
        ));
    }
    Ok(())
}

/// The channel count and spatial lengths of an input of `rank` spatial axes, or an error
/// naming the expected rank.
pub(crate) fn split_input(
    layer: &dyn Layer,
    x: &TensorType,
    rank: usize,
    format: DataFormat,
) -> Result<(Option<usize>, Vec<Dim>)> {
    if x.shape.rank() != rank + 2 {
        return Err(incompatible(
            layer,
            format!(
                "expected an input of rank {} (batch, {}), received shape {}",
                rank + 2,
                match format {
                    DataFormat::ChannelsLast => "*spatial, channels",
                    DataFormat::ChannelsFirst => "channels, *spatial",
                },
                x.shape.keras_string()
            ),
        ));
    }
    let dims = x.shape.dims();
    Ok(match format {
        DataFormat::ChannelsLast => (dims[rank + 1], dims[1..=rank].to_vec()),
        DataFormat::ChannelsFirst => (dims[1], dims[2..].to_vec()),
    })
}

/// The full output dims from channels and spatial lengths.
pub(crate) fn join_output(batch: Dim, channels: Dim, spatial: Vec<Dim>, format: DataFormat) -> Vec<Dim> {
    let mut dims = vec![batch];
    match format {
        DataFormat::ChannelsLast => {
            dims.extend(spatial);
            dims.push(channels);
        }
        DataFormat::ChannelsFirst => {
            dims.push(channels);
            dims.extend(spatial);
        }
    }
    dims
}

/// `x` in channels-first layout.
pub(crate) fn channels_first(ctx: &mut EmitContext, x: ValueId, format: DataFormat) -> Result<ValueId> {
    match format {
        DataFormat::ChannelsLast => ctx.to_channels_first(x),
        DataFormat::ChannelsFirst => Ok(x),
    }
}

/// A channels-first result back in the layer's layout.
pub(crate) fn from_channels_first(ctx: &mut EmitContext, x: ValueId, format: DataFormat) -> Result<ValueId> {
    match format {
        DataFormat::ChannelsLast => ctx.to_channels_last(x),
        DataFormat::ChannelsFirst => Ok(x),
    }
}

/// Keras's `data_format` config key (absent: channels last).
pub(crate) fn keras_data_format(c: &crate::keras::KerasConfig) -> Result<DataFormat> {
    match c.string("data_format")?.as_deref() {
        None | Some("channels_last") => Ok(DataFormat::ChannelsLast),
        Some("channels_first") => Ok(DataFormat::ChannelsFirst),
        Some(other) => Err(c.error(
            "data_format",
            format!("expected 'channels_last' or 'channels_first', received '{other}'"),
        )),
    }
}

/// `y + bias` with `bias` of shape `(channels,)` on the channel axis of `y`, an input of
/// `rank` spatial axes in `format`.
pub(crate) fn add_channel_bias(
    ctx: &mut EmitContext,
    y: ValueId,
    bias: ValueId,
    rank: usize,
    format: DataFormat,
) -> Result<ValueId> {
    match format {
        DataFormat::ChannelsLast => ctx.bias_add(y, bias),
        DataFormat::ChannelsFirst => {
            let channels = ctx.shape(bias)?.dims()[0];
            let mut dims = vec![channels];
            dims.extend(vec![Some(1); rank]);
            let b = ctx.reshape(bias, kiln_ir::Shape(dims))?;
            ctx.add(y, b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_puts_the_odd_element_at_the_end() {
        assert_eq!(axis_padding(Padding::Same, 8, 3, 2), (0, 1));
        assert_eq!(axis_padding(Padding::Same, 7, 3, 2), (1, 1));
        assert_eq!(axis_padding(Padding::Same, 5, 3, 1), (1, 1));
        assert_eq!(axis_padding(Padding::Same, 6, 4, 1), (1, 2));
        assert_eq!(axis_padding(Padding::Causal, 6, 5, 1), (4, 0));
        assert_eq!(output_length(Padding::Same, Some(8), 3, 2), Some(Some(4)));
        assert_eq!(output_length(Padding::Valid, Some(2), 3, 1), None);
    }
}
