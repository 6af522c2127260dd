//! `ZeroPadding1D`: zeros at the start and end of the time axis.

use super::spatial::DataFormat;
use crate::error::Result;
use crate::layer::{EmitContext, Layer, incompatible};
use crate::names::unique_name;
use kiln_ir::{Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// The amounts at the start and at the end of one axis: one number for both (`2`) or a
/// pair (`(1, 2)`, `[1, 2]`).
pub trait Sides {
    /// `(start, end)`.
    fn sides(self) -> (usize, usize);
}

impl Sides for usize {
    fn sides(self) -> (usize, usize) {
        (self, self)
    }
}

impl Sides for (usize, usize) {
    fn sides(self) -> (usize, usize) {
        self
    }
}

impl Sides for [usize; 2] {
    fn sides(self) -> (usize, usize) {
        (self[0], self[1])
    }
}

/// Keras's `data_format` argument, `channels_last` when absent.
pub(crate) fn data_format_from_keras(c: &crate::keras::KerasConfig) -> Result<DataFormat> {
    match c.string("data_format")?.as_deref() {
        None | Some("channels_last") => Ok(DataFormat::ChannelsLast),
        Some("channels_first") => Ok(DataFormat::ChannelsFirst),
        Some(other) => Err(c.error(
            "data_format",
            format!("expected 'channels_last' or 'channels_first', received '{other}'"),
        )),
    }
}

/// The `(start, end)` pair of a Keras argument that is one integer or a list of two.
pub(crate) fn sides_from_keras(c: &crate::keras::KerasConfig, key: &str) -> Result<Option<(usize, usize)>> {
    Ok(c.sizes(key, 2)?.map(|v| (v[0], v[1])))
}

/// Pads the time axis with zeros, as Keras's `ZeroPadding1D`: `padding` (default 1) zeros
/// at the start and at the end, or a `(start, end)` pair.
///
/// # Shapes
/// Input `(batch, steps, features)` (or `(batch, features, steps)` channels first); output
/// `(batch, start + steps + end, features)`. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = ZeroPadding1D::new().padding((1, 2)).apply(&Input::new([3, 2]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 6, 2)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZeroPadding1D {
    /// Layer name.
    pub name: String,
    /// Zeros at the start and at the end of the time axis.
    pub padding: (usize, usize),
    /// Channels last (default) or first.
    pub data_format: DataFormat,
}

impl ZeroPadding1D {
    /// One zero at each end of the time axis.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ZeroPadding1D {
            name: unique_name("zero_padding1d"),
            padding: (1, 1),
            data_format: DataFormat::ChannelsLast,
        }
    }

    /// Sets the padding: `2` or `(start, end)`.
    pub fn padding(mut self, padding: impl Sides) -> Self {
        self.padding = padding.sides();
        self
    }

    /// Sets the data format.
    pub fn data_format(mut self, data_format: DataFormat) -> Self {
        self.data_format = data_format;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    fn axis(&self) -> usize {
        match self.data_format {
            DataFormat::ChannelsLast => 1,
            DataFormat::ChannelsFirst => 2,
        }
    }
}

impl Layer for ZeroPadding1D {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "ZeroPadding1D"
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        if x.shape.rank() != 3 {
            return Err(incompatible(
                self,
                format!("expected an input of rank 3, received shape {}", x.shape.keras_string()),
            ));
        }
        let mut dims = x.shape.dims().to_vec();
        let (b, e) = self.padding;
        dims[self.axis()] = dims[self.axis()].map(|n| n + b + e);
        Ok(vec![TensorType::new(x.dtype, Shape(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let mut pads = vec![(0, 0); 3];
        pads[self.axis()] = self.padding;
        Ok(vec![ctx.pad(inputs[0], pads, 0.0)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for ZeroPadding1D {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = ZeroPadding1D::new();
        if let Some(p) = sides_from_keras(c, "padding")? {
            layer.padding = p;
        }
        layer.data_format = data_format_from_keras(c)?;
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

    #[test]
    fn shapes_and_config() {
        check_layer(
            &ZeroPadding1D::new(),
            &[Shape::batched([3, 2])],
            Shape::batched([5, 2]),
            0,
        );
        check_layer(
            &ZeroPadding1D::new().padding([0, 2]),
            &[Shape::batched([3, 2])],
            Shape::batched([5, 2]),
            0,
        );
        check_layer(
            &ZeroPadding1D::new().padding(2).data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([2, 3])],
            Shape::batched([2, 7]),
            0,
        );
    }

    #[test]
    fn pads_with_zeros() {
        use crate::model::{Apply, Input, Model};
        let x = Input::new([2, 1]);
        let y = ZeroPadding1D::new().padding((1, 2)).apply(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let out = model
            .predict(crate::Tensor::from_f32(vec![1.0, 2.0], vec![1, 2, 1]).unwrap())
            .unwrap();
        assert_eq!(out.to_f32(), vec![0.0, 1.0, 2.0, 0.0, 0.0]);
    }

    #[test]
    fn wrong_rank_is_named() {
        let err = ZeroPadding1D::new()
            .name("z")
            .compute_output_shape(&[TensorType::f32(Shape::batched([3]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'z' (ZeroPadding1D) is incompatible with its input: expected an input of rank 3, received shape (None, 3)"
        );
    }
}
