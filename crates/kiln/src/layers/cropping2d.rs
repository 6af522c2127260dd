//! `Cropping2D`: removes rows and columns at the borders of images.

use super::spatial::DataFormat;
use super::zero_padding1d::data_format_from_keras;
use super::zero_padding2d::{Sides2D, sides_2d_from_keras, spatial_axes};
use crate::error::Result;
use crate::layer::{EmitContext, Layer, incompatible};
use crate::names::unique_name;
use kiln_ir::{Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Crops images, as Keras's `Cropping2D`: `cropping` is one amount for every side, one
/// per axis, or `((top, bottom), (left, right))` (default: nothing cropped).
///
/// # Shapes
/// Input `(batch, rows, cols, channels)` (or channels first); output
/// `(batch, rows - top - bottom, cols - left - right, channels)`, which must keep at least
/// one row and one column. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = Cropping2D::new().cropping(((1, 0), (0, 2))).apply(&Input::new([4, 5, 2]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 3, 3, 2)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cropping2D {
    /// Layer name.
    pub name: String,
    /// `((top, bottom), (left, right))`.
    pub cropping: ((usize, usize), (usize, usize)),
    /// Channels last (default) or first.
    pub data_format: DataFormat,
}

impl Cropping2D {
    /// A cropping layer that crops nothing until [`cropping`](Cropping2D::cropping) is set.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Cropping2D {
            name: unique_name("cropping2d"),
            cropping: ((0, 0), (0, 0)),
            data_format: DataFormat::ChannelsLast,
        }
    }

    /// Sets the cropping: `1`, `(rows, cols)` or `((top, bottom), (left, right))`.
    pub fn cropping(mut self, cropping: impl Sides2D) -> Self {
        let [h, w] = cropping.sides_2d();
        self.cropping = (h, w);
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

    fn describe(&self) -> String {
        let ((t, b), (l, r)) = self.cropping;
        format!("(({t}, {b}), ({l}, {r}))")
    }
}

impl Layer for Cropping2D {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Cropping2D"
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
            .zip([self.cropping.0, self.cropping.1])
        {
            dims[axis] = match dims[axis] {
                Some(n) if n > b + e => Some(n - b - e),
                Some(_) => {
                    return Err(incompatible(
                        self,
                        format!(
                            "Values in `cropping` argument should be smaller than the corresponding spatial dimension of the input. Received: input_shape={}, cropping={}",
                            x.shape.keras_string(),
                            self.describe()
                        ),
                    ));
                }
                None if b + e == 0 => None,
                None => {
                    return Err(incompatible(
                        self,
                        format!(
                            "a cropped axis must have a known length, received shape {}",
                            x.shape.keras_string()
                        ),
                    ));
                }
            };
        }
        Ok(vec![TensorType::new(x.dtype, Shape(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let mut x = inputs[0];
        for (axis, (b, e)) in spatial_axes(self.data_format)
            .into_iter()
            .zip([self.cropping.0, self.cropping.1])
        {
            if b + e > 0 {
                let len = ctx.shape(x)?.dims()[axis].unwrap_or(0);
                x = ctx.slice(x, axis, b, len - e)?;
            }
        }
        Ok(vec![x])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Cropping2D {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Cropping2D::new();
        if let Some(p) = sides_2d_from_keras(c, "cropping")? {
            layer.cropping = p;
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
            &Cropping2D::new().cropping(((1, 0), (0, 2))),
            &[Shape::batched([4, 5, 2])],
            Shape::batched([3, 3, 2]),
            0,
        );
        check_layer(
            &Cropping2D::new().cropping(1).data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([2, 4, 5])],
            Shape::batched([2, 2, 3]),
            0,
        );
        check_layer(
            &Cropping2D::new(),
            &[Shape::batched([2, 3, 1])],
            Shape::batched([2, 3, 1]),
            0,
        );
    }

    #[test]
    fn cropping_everything_is_refused() {
        let err = Cropping2D::new()
            .cropping((2, 0))
            .name("c")
            .compute_output_shape(&[TensorType::f32(Shape::batched([4, 5, 2]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'c' (Cropping2D) is incompatible with its input: Values in `cropping` argument should be smaller than the corresponding spatial dimension of the input. Received: input_shape=(None, 4, 5, 2), cropping=((2, 2), (0, 0))"
        );
    }
}
