//! `UpSampling2D`: enlarges images by integer factors.

use super::spatial::{DataFormat, Sizes, check_sizes};
use super::zero_padding1d::data_format_from_keras;
use super::zero_padding2d::spatial_axes;
use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// The interpolations Kiln implements.
const INTERPOLATIONS: &[&str] = &["nearest", "bilinear"];

/// Enlarges images by `size` (default `(2, 2)`: rows and columns), as Keras's
/// `UpSampling2D`. `interpolation` `"nearest"` (default) repeats every pixel; `"bilinear"`
/// interpolates between pixel centres as Keras's `ops.image.resize` (half-pixel centres,
/// edges clamped). Keras's other resize methods are refused.
///
/// # Shapes
/// Input `(batch, rows, cols, channels)` (or channels first); output
/// `(batch, rows * size[0], cols * size[1], channels)`. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = UpSampling2D::new().size([2, 3]).apply(&Input::new([2, 3, 2]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 4, 9, 2)");
/// let z = UpSampling2D::new().interpolation("bilinear").apply(&y)?;
/// assert_eq!(z.shape().keras_string(), "(None, 8, 18, 2)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpSampling2D {
    /// Layer name.
    pub name: String,
    /// Factors for rows and columns.
    pub size: Vec<usize>,
    /// Channels last (default) or first.
    pub data_format: DataFormat,
    /// `"nearest"` (default) or `"bilinear"`.
    pub interpolation: String,
}

impl UpSampling2D {
    /// Nearest-neighbour up-sampling by 2 along rows and columns.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        UpSampling2D {
            name: unique_name("up_sampling2d"),
            size: vec![2, 2],
            data_format: DataFormat::ChannelsLast,
            interpolation: "nearest".into(),
        }
    }

    /// Sets the factors: `3` or `[rows, cols]`.
    pub fn size(mut self, size: impl Sizes) -> Self {
        self.size = size.sizes(2);
        self
    }

    /// Sets the data format.
    pub fn data_format(mut self, data_format: DataFormat) -> Self {
        self.data_format = data_format;
        self
    }

    /// Sets the interpolation: `"nearest"` or `"bilinear"`.
    pub fn interpolation(mut self, interpolation: &str) -> Self {
        self.interpolation = interpolation.to_ascii_lowercase();
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

/// Linear interpolation along `axis` enlarged `factor` times, with the sample points of
/// `jax.image.resize` (`(o + 0.5) / factor - 0.5` in input pixels; outside the first and
/// last pixel centre the edge pixel is taken): each output phase `k` of the `factor` is a
/// weighted sum of the input and its neighbour, and the phases are interleaved.
fn bilinear_axis(ctx: &mut EmitContext, x: ValueId, axis: usize, factor: usize) -> Result<ValueId> {
    if factor == 1 {
        return Ok(x);
    }
    let dims = ctx.shape(x)?.dims().to_vec();
    let n = dims[axis].unwrap_or(0);
    // The neighbour before and after every element, the edges repeated.
    let (prev, next) = if n > 1 {
        let first = ctx.slice(x, axis, 0, 1)?;
        let head = ctx.slice(x, axis, 0, n - 1)?;
        let prev = ctx.concat(&[first, head], axis)?;
        let tail = ctx.slice(x, axis, 1, n)?;
        let last = ctx.slice(x, axis, n - 1, n)?;
        (prev, ctx.concat(&[tail, last], axis)?)
    } else {
        (x, x)
    };
    let mut stacked_dims = dims.clone();
    stacked_dims.insert(axis + 1, Some(1));
    let mut phases = Vec::with_capacity(factor);
    for k in 0..factor {
        let offset = (k as f64 + 0.5) / factor as f64 - 0.5;
        let phase = if offset == 0.0 {
            x
        } else {
            let neighbour = if offset > 0.0 { next } else { prev };
            let w = offset.abs() as f32;
            let a = ctx.scale(x, 1.0 - w)?;
            let b = ctx.scale(neighbour, w)?;
            ctx.add(a, b)?
        };
        phases.push(ctx.reshape(phase, Shape(stacked_dims.clone()))?);
    }
    let stacked = ctx.concat(&phases, axis + 1)?;
    let mut out = dims;
    out[axis] = Some(n * factor);
    ctx.reshape(stacked, Shape(out))
}

impl Layer for UpSampling2D {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "UpSampling2D"
    }

    fn validate(&self) -> Result<()> {
        check_sizes(self, "size", &self.size, 2)?;
        if !INTERPOLATIONS.contains(&self.interpolation.as_str()) {
            return Err(bad_argument(
                self,
                format!(
                    "`interpolation` must be one of {INTERPOLATIONS:?} (Kiln does not implement Keras's other resize methods). Received: interpolation={}",
                    self.interpolation
                ),
            ));
        }
        Ok(())
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
        let axes = spatial_axes(self.data_format);
        if self.interpolation == "bilinear" && axes.iter().any(|&a| dims[a].is_none()) {
            return Err(incompatible(
                self,
                format!(
                    "bilinear interpolation needs rows and columns of known length, received shape {}",
                    x.shape.keras_string()
                ),
            ));
        }
        for (axis, factor) in axes.into_iter().zip(&self.size) {
            dims[axis] = dims[axis].map(|n| n * factor);
        }
        Ok(vec![TensorType::new(x.dtype, Shape(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let mut x = inputs[0];
        for (axis, &factor) in spatial_axes(self.data_format).into_iter().zip(&self.size) {
            x = if self.interpolation == "bilinear" {
                bilinear_axis(ctx, x, axis, factor)?
            } else if factor > 1 {
                ctx.push(Op::Repeat { axis, times: factor }, &[x])?
            } else {
                x
            };
        }
        Ok(vec![x])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for UpSampling2D {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = UpSampling2D::new();
        if let Some(size) = c.sizes("size", 2)? {
            layer.size = size;
        }
        layer.data_format = data_format_from_keras(c)?;
        if let Some(i) = c.string("interpolation")? {
            let i = i.to_ascii_lowercase();
            if !INTERPOLATIONS.contains(&i.as_str()) {
                return Err(c.error(
                    "interpolation",
                    format!("only {INTERPOLATIONS:?} are supported, received '{i}'"),
                ));
            }
            layer.interpolation = i;
        }
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
    use crate::model::{Apply, Input, Model};

    #[test]
    fn shapes_and_config() {
        check_layer(
            &UpSampling2D::new(),
            &[Shape::batched([2, 3, 2])],
            Shape::batched([4, 6, 2]),
            0,
        );
        check_layer(
            &UpSampling2D::new().size([1, 3]).data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([2, 3, 2])],
            Shape::batched([2, 3, 6]),
            0,
        );
        check_layer(
            &UpSampling2D::new().size(3).interpolation("bilinear"),
            &[Shape::batched([2, 1, 2])],
            Shape::batched([6, 3, 2]),
            0,
        );
    }

    fn run(layer: UpSampling2D, rows: usize, cols: usize, data: Vec<f32>) -> Vec<f32> {
        let x = Input::new([rows, cols, 1]);
        let y = layer.apply(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let out = model
            .predict(crate::Tensor::from_f32(data, vec![1, rows, cols, 1]).unwrap())
            .unwrap();
        out.to_f32()
    }

    #[test]
    fn nearest_repeats_pixels() {
        let out = run(UpSampling2D::new().size([2, 1]), 2, 2, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(out, vec![1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0]);
    }

    #[test]
    fn bilinear_follows_half_pixel_centres() {
        // jax.image.resize([0, 4, 8], 6, "linear") = [0, 1, 3, 5, 7, 8].
        let out = run(
            UpSampling2D::new().size([1, 2]).interpolation("bilinear"),
            1,
            3,
            vec![0.0, 4.0, 8.0],
        );
        assert_eq!(out, vec![0.0, 1.0, 3.0, 5.0, 7.0, 8.0]);
        // Factor 3: samples at i - 1/3, i, i + 1/3.
        let out = run(
            UpSampling2D::new().size([3, 1]).interpolation("bilinear"),
            2,
            1,
            vec![0.0, 3.0],
        );
        let want = [0.0, 0.0, 1.0, 2.0, 3.0, 3.0];
        assert!(out.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{out:?}");
    }

    #[test]
    fn other_interpolations_are_refused() {
        let err = UpSampling2D::new()
            .name("u")
            .interpolation("bicubic")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`interpolation` must be one of") && err.contains("interpolation=bicubic"),
            "{err}"
        );
        let err = crate::keras::layer_from_config("UpSampling2D", &serde_json::json!({"interpolation": "area"}))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("Keras layer UpSampling2D: argument `interpolation`"),
            "{err}"
        );
    }
}
