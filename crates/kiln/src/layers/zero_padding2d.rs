//! `ZeroPadding2D`: rows and columns of zeros around images.

use super::spatial::DataFormat;
use super::zero_padding1d::data_format_from_keras;
use crate::error::Result;
use crate::layer::{EmitContext, Layer, incompatible};
use crate::names::unique_name;
use kiln_ir::{Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// The `(start, end)` amounts of the two spatial axes: one number for all four (`1`), one
/// number per axis (`(2, 3)`: 2 at the top and bottom, 3 left and right), or a pair per
/// axis (`((1, 0), (2, 1))`: top, bottom, left, right).
pub trait Sides2D {
    /// `[(top, bottom), (left, right)]`.
    fn sides_2d(self) -> [(usize, usize); 2];
}

impl Sides2D for usize {
    fn sides_2d(self) -> [(usize, usize); 2] {
        [(self, self); 2]
    }
}

impl Sides2D for (usize, usize) {
    fn sides_2d(self) -> [(usize, usize); 2] {
        [(self.0, self.0), (self.1, self.1)]
    }
}

impl Sides2D for [usize; 2] {
    fn sides_2d(self) -> [(usize, usize); 2] {
        [(self[0], self[0]), (self[1], self[1])]
    }
}

impl Sides2D for ((usize, usize), (usize, usize)) {
    fn sides_2d(self) -> [(usize, usize); 2] {
        [self.0, self.1]
    }
}

impl Sides2D for [[usize; 2]; 2] {
    fn sides_2d(self) -> [(usize, usize); 2] {
        [(self[0][0], self[0][1]), (self[1][0], self[1][1])]
    }
}

/// `((top, bottom), (left, right))`.
type AxisSides = ((usize, usize), (usize, usize));

/// A Keras argument that is one integer, a list of two integers (one per axis) or a list of
/// two `[start, end]` pairs, as `((top, bottom), (left, right))`.
pub(crate) fn sides_2d_from_keras(c: &crate::keras::KerasConfig, key: &str) -> Result<Option<AxisSides>> {
    let Some(v) = c.get(key) else { return Ok(None) };
    let bad = || {
        c.error(
            key,
            format!("expected an integer, a tuple of 2 integers or a tuple of 2 tuples of 2 integers, received {v}"),
        )
    };
    let int = |x: &serde_json::Value| x.as_u64().map(|n| n as usize);
    if let Some(n) = int(v) {
        return Ok(Some(((n, n), (n, n))));
    }
    let axes = v.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    let side = |x: &serde_json::Value| -> Option<(usize, usize)> {
        if let Some(n) = int(x) {
            return Some((n, n));
        }
        let p = x.as_array().filter(|p| p.len() == 2)?;
        Some((int(&p[0])?, int(&p[1])?))
    };
    Ok(Some((side(&axes[0]).ok_or_else(bad)?, side(&axes[1]).ok_or_else(bad)?)))
}

/// The two spatial axes of a rank-4 input in `format`.
pub(crate) fn spatial_axes(format: DataFormat) -> [usize; 2] {
    match format {
        DataFormat::ChannelsLast => [1, 2],
        DataFormat::ChannelsFirst => [2, 3],
    }
}

/// Pads images with rows and columns of zeros, as Keras's `ZeroPadding2D`: `padding`
/// (default 1) on every side, one amount per axis, or `((top, bottom), (left, right))`.
///
/// # Shapes
/// Input `(batch, rows, cols, channels)` (or channels first); output
/// `(batch, top + rows + bottom, left + cols + right, channels)`. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = ZeroPadding2D::new().padding(((1, 0), (2, 1))).apply(&Input::new([3, 3, 2]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 4, 6, 2)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZeroPadding2D {
    /// Layer name.
    pub name: String,
    /// `((top, bottom), (left, right))`.
    pub padding: ((usize, usize), (usize, usize)),
    /// Channels last (default) or first.
    pub data_format: DataFormat,
}

impl ZeroPadding2D {
    /// One row or column of zeros on every side.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ZeroPadding2D {
            name: unique_name("zero_padding2d"),
            padding: ((1, 1), (1, 1)),
            data_format: DataFormat::ChannelsLast,
        }
    }

    /// Sets the padding: `1`, `(rows, cols)` or `((top, bottom), (left, right))`.
    pub fn padding(mut self, padding: impl Sides2D) -> Self {
        let [h, w] = padding.sides_2d();
        self.padding = (h, w);
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
}

impl Layer for ZeroPadding2D {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "ZeroPadding2D"
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        if x.shape.rank() != 4 {
            return Err(incompatible(
                self,
                format!("expected an input of rank 4, received shape {}", x.shape.keras_string()),
            ));
        }
        let mut dims = x.shape.dims().to_vec();
        for (axis, (b, e)) in spatial_axes(self.data_format)
            .into_iter()
            .zip([self.padding.0, self.padding.1])
        {
            dims[axis] = dims[axis].map(|n| n + b + e);
        }
        Ok(vec![TensorType::new(x.dtype, Shape(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let mut pads = vec![(0, 0); 4];
        let [h, w] = spatial_axes(self.data_format);
        pads[h] = self.padding.0;
        pads[w] = self.padding.1;
        Ok(vec![ctx.pad(inputs[0], pads, 0.0)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for ZeroPadding2D {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = ZeroPadding2D::new();
        if let Some(p) = sides_2d_from_keras(c, "padding")? {
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
            &ZeroPadding2D::new(),
            &[Shape::batched([2, 3, 2])],
            Shape::batched([4, 5, 2]),
            0,
        );
        check_layer(
            &ZeroPadding2D::new().padding((1, 2)),
            &[Shape::batched([2, 3, 2])],
            Shape::batched([4, 7, 2]),
            0,
        );
        check_layer(
            &ZeroPadding2D::new()
                .padding([[1, 0], [0, 2]])
                .data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([2, 3, 3])],
            Shape::batched([2, 4, 5]),
            0,
        );
    }

    #[test]
    fn keras_padding_forms() {
        let read = |v: serde_json::Value| {
            let config = serde_json::json!({ "padding": v });
            let c = crate::keras::KerasConfig::new("ZeroPadding2D", &config).unwrap();
            sides_2d_from_keras(&c, "padding")
                .map(Option::unwrap)
                .map_err(|e| e.to_string())
        };
        assert_eq!(read(serde_json::json!(2)), Ok(((2, 2), (2, 2))));
        assert_eq!(read(serde_json::json!([1, 3])), Ok(((1, 1), (3, 3))));
        assert_eq!(read(serde_json::json!([[1, 0], [2, 1]])), Ok(((1, 0), (2, 1))));
        let err = read(serde_json::json!([1, 2, 3])).unwrap_err();
        assert!(err.contains("argument `padding`"), "{err}");
    }

    #[test]
    fn wrong_rank_is_named() {
        let err = ZeroPadding2D::new()
            .name("z")
            .compute_output_shape(&[TensorType::f32(Shape::batched([3, 2]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'z' (ZeroPadding2D) is incompatible with its input: expected an input of rank 4, received shape (None, 3, 2)"
        );
    }
}
