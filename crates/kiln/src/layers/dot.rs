//! `Dot`: dot products of two inputs along chosen axes, sample by sample.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, incompatible};
use crate::names::unique_name;
use kiln_ir::{BinaryOp, Shape, TensorType, UnaryOp, ValueId};
use serde::{Deserialize, Serialize};

/// The axes a [`Dot`] layer contracts: one axis for both inputs, or one for each.
/// Negative axes count from the end; the batch axis 0 cannot be contracted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DotAxes {
    /// The same axis of both inputs.
    Same(i64),
    /// Axis of the first input, axis of the second.
    Pair(i64, i64),
}

impl From<i64> for DotAxes {
    fn from(a: i64) -> Self {
        DotAxes::Same(a)
    }
}

impl From<i32> for DotAxes {
    fn from(a: i32) -> Self {
        DotAxes::Same(a.into())
    }
}

impl From<(i64, i64)> for DotAxes {
    fn from((a, b): (i64, i64)) -> Self {
        DotAxes::Pair(a, b)
    }
}

impl From<(i32, i32)> for DotAxes {
    fn from((a, b): (i32, i32)) -> Self {
        DotAxes::Pair(a.into(), b.into())
    }
}

impl From<[i32; 2]> for DotAxes {
    fn from([a, b]: [i32; 2]) -> Self {
        DotAxes::Pair(a.into(), b.into())
    }
}

/// Keras's `backend.epsilon()`: `normalize` divides by `max(‖x‖, 1e-7)`.
const EPSILON: f32 = 1e-7;

/// The dot product of two inputs along `axes`, sample by sample, as Keras's `Dot` (its
/// `batch_dot`): the output holds the first input's remaining axes, then the second's
/// (batch excluded), or `(batch, 1)` when nothing remains. With `normalize`, both inputs
/// are first L2-normalised along their axis (`x / max(‖x‖, 1e-7)`), so the result is the
/// cosine similarity.
///
/// ```
/// use kiln::prelude::*;
/// let (a, b) = (Input::new([3, 4]), Input::new([5, 4]));
/// let y = Dot::new((2, 2)).normalize(true).apply_list(&[&a, &b])?;
/// assert_eq!(y.shape().keras_string(), "(None, 3, 5)");
/// let (u, v) = (Input::new([8]), Input::new([8]));
/// assert_eq!(Dot::new(1).apply_list(&[&u, &v])?.shape().keras_string(), "(None, 1)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dot {
    /// Layer name.
    pub name: String,
    /// The contracted axes.
    pub axes: DotAxes,
    /// L2-normalise both inputs along the contracted axes first (default `false`).
    pub normalize: bool,
}

impl Dot {
    /// A dot product along `axes`: `1`, `-1`, `(1, 2)`.
    pub fn new(axes: impl Into<DotAxes>) -> Self {
        Dot {
            name: unique_name("dot"),
            axes: axes.into(),
            normalize: false,
        }
    }

    /// Whether to L2-normalise the inputs first (cosine similarity).
    pub fn normalize(mut self, normalize: bool) -> Self {
        self.normalize = normalize;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The two contracted axes, non-negative, for inputs of ranks `r1` and `r2`, as Keras
    /// resolves them (a negative axis modulo the rank).
    fn resolve(&self, r1: usize, r2: usize) -> Result<(usize, usize)> {
        let wrap = |a: i64, r: usize| if a < 0 { a.rem_euclid(r as i64) } else { a };
        let (a1, a2) = match self.axes {
            DotAxes::Same(a) => (wrap(a, r1), wrap(a, r2)),
            DotAxes::Pair(a, b) => (wrap(a, r1), wrap(b, r2)),
        };
        if a1 == 0 || a2 == 0 {
            return Err(incompatible(
                self,
                "Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy batch dimension to your inputs using keras.ops.expand_dims(x, 0)",
            ));
        }
        if a1 as usize >= r1 || a2 as usize >= r2 {
            return Err(incompatible(
                self,
                format!(
                    "axes {:?} are out of range for inputs of ranks {r1} and {r2}",
                    self.axes
                ),
            ));
        }
        Ok((a1 as usize, a2 as usize))
    }
}

/// `x / max(sqrt(sum(x², axis)), 1e-7)`, Keras's `ops.normalize` (which computes
/// `x * min(rsqrt(sum(x²)), 1e7)`).
fn l2_normalize(ctx: &mut EmitContext, x: ValueId, axis: usize) -> Result<ValueId> {
    let sq = ctx.unary(UnaryOp::Square, x)?;
    let sum = ctx.sum(sq, vec![axis], true)?;
    let floor = ctx.constant(EPSILON * EPSILON)?;
    let clamped = ctx.binary(BinaryOp::Maximum, sum, floor)?;
    let norm = ctx.unary(UnaryOp::Sqrt, clamped)?;
    ctx.div(x, norm)
}

/// Moves axis `from` to position `to`, the others keeping their order.
fn move_axis(ctx: &mut EmitContext, x: ValueId, from: usize, to: usize) -> Result<ValueId> {
    let rank = ctx.rank(x)?;
    let mut perm: Vec<usize> = (0..rank).filter(|&a| a != from).collect();
    perm.insert(to, from);
    ctx.transpose(x, perm)
}

fn fixed(dims: &[Option<usize>]) -> usize {
    dims.iter().map(|d| d.unwrap_or(1)).product()
}

impl Layer for Dot {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Dot"
    }

    fn takes_list(&self) -> bool {
        true
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let shapes: Vec<String> = inputs.iter().map(|t| t.shape.keras_string()).collect();
        let [x, y] = inputs else {
            return Err(incompatible(
                self,
                format!(
                    "A `Dot` layer should be called on a list of 2 inputs. Received: input_shape=[{}]",
                    shapes.join(", ")
                ),
            ));
        };
        let (r1, r2) = (x.shape.rank(), y.shape.rank());
        if r1 < 2 || r2 < 2 {
            return Err(incompatible(
                self,
                format!(
                    "Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes {} and {}.",
                    shapes[0], shapes[1]
                ),
            ));
        }
        if x.dtype != y.dtype {
            return Err(incompatible(
                self,
                format!("inputs must have one element type, received {x} and {y}"),
            ));
        }
        let (a1, a2) = self.resolve(r1, r2)?;
        let (d1, d2) = (x.shape.dims()[a1], y.shape.dims()[a2]);
        if d1 != d2 {
            let show = |d: Option<usize>| d.map_or("None".to_string(), |n| n.to_string());
            return Err(incompatible(
                self,
                format!(
                    "Incompatible input shapes: axis values {} (at axis {a1}) != {} (at axis {a2}). Full input shapes: {}, {}",
                    show(d1),
                    show(d2),
                    shapes[0],
                    shapes[1]
                ),
            ));
        }
        if x.shape.dims()[1..]
            .iter()
            .chain(&y.shape.dims()[1..])
            .any(Option::is_none)
        {
            return Err(incompatible(
                self,
                format!(
                    "expected inputs with fixed non-batch dimensions, received shapes {} and {}",
                    shapes[0], shapes[1]
                ),
            ));
        }
        let mut dims: Vec<Option<usize>> = x.shape.dims().to_vec();
        dims.remove(a1);
        dims.extend(
            y.shape
                .dims()
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != 0 && i != a2)
                .map(|(_, d)| *d),
        );
        if dims.len() == 1 {
            dims.push(Some(1));
        }
        Ok(vec![TensorType::new(x.dtype, Shape(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let (mut x, mut y) = (inputs[0], inputs[1]);
        let (xs, ys) = (ctx.shape(x)?.dims().to_vec(), ctx.shape(y)?.dims().to_vec());
        let (a1, a2) = self.resolve(xs.len(), ys.len())?;
        if self.normalize {
            x = l2_normalize(ctx, x, a1)?;
            y = l2_normalize(ctx, y, a2)?;
        }
        // x: (batch, rest of x…, k) → (batch, m, k); y: (batch, k, rest of y…) → (batch, k, n).
        let batch = xs[0];
        let k = xs[a1];
        let x_rest: Vec<Option<usize>> = xs
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 0 && i != a1)
            .map(|(_, d)| *d)
            .collect();
        let y_rest: Vec<Option<usize>> = ys
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 0 && i != a2)
            .map(|(_, d)| *d)
            .collect();
        let x = move_axis(ctx, x, a1, xs.len() - 1)?;
        let x = ctx.reshape(x, Shape(vec![batch, Some(fixed(&x_rest)), k]))?;
        let y = move_axis(ctx, y, a2, 1)?;
        let y = ctx.reshape(y, Shape(vec![ys[0], k, Some(fixed(&y_rest))]))?;
        let product = ctx.matmul(x, y)?;
        let mut dims = vec![batch];
        dims.extend(x_rest);
        dims.extend(y_rest);
        if dims.len() == 1 {
            dims.push(Some(1));
        }
        Ok(vec![ctx.reshape(product, Shape(dims))?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Dot {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let axes = match c.get("axes") {
            None => return Err(c.error("axes", "is required")),
            Some(v) => match (v.as_i64(), c.i64s("axes")?) {
                (Some(a), _) => DotAxes::Same(a),
                (None, Some(pair)) if pair.len() == 2 => DotAxes::Pair(pair[0], pair[1]),
                _ => {
                    return Err(c.error(
                        "axes",
                        format!(
                            "Invalid format for argument `axes`: it should contain two elements. Received: axes={v}"
                        ),
                    ));
                }
            },
        };
        let mut layer = Dot::new(axes);
        if let Some(n) = c.bool("normalize")? {
            layer.normalize = n;
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
            &Dot::new(1),
            &[Shape::batched([5]), Shape::batched([5])],
            Shape::batched([1]),
            0,
        );
        check_layer(
            &Dot::new((2, 2)).normalize(true),
            &[Shape::batched([3, 4]), Shape::batched([5, 4])],
            Shape::batched([3, 5]),
            0,
        );
        check_layer(
            &Dot::new([1, 1]),
            &[Shape::batched([3, 4]), Shape::batched([3, 2])],
            Shape::batched([4, 2]),
            0,
        );
        check_layer(
            &Dot::new((-1, 1)),
            &[Shape::batched([2, 3, 4]), Shape::batched([4, 5, 6])],
            Shape::batched([2, 3, 5, 6]),
            0,
        );
        check_layer(
            &Dot::new((1, 1)),
            &[Shape::batched([3]), Shape::batched([3, 2])],
            Shape::batched([2]),
            0,
        );
    }

    #[test]
    fn computes_dot_products_and_cosines() {
        let (a, b) = (Input::new([2]), Input::new([2]));
        let plain = Dot::new(1).apply_list(&[&a, &b]).unwrap();
        let cosine = Dot::new(1).normalize(true).apply_list(&[&a, &b]).unwrap();
        let model = Model::new(&[&a, &b], &[&plain, &cosine]).unwrap();
        let x = |v: Vec<f32>| crate::Tensor::from_f32(v, vec![1, 2]).unwrap();
        let out = model
            .predict_multi(vec![x(vec![3.0, 4.0]), x(vec![4.0, 3.0])], Default::default())
            .unwrap();
        assert_eq!(out[0].to_f32(), vec![24.0]);
        assert!((out[1].to_f32()[0] - 0.96).abs() < 1e-6);
    }

    #[test]
    fn bad_inputs_are_named() {
        let t = |d: &[usize]| TensorType::f32(Shape::batched(d.iter().copied()));
        let err = Dot::new((2, 2))
            .name("d")
            .compute_output_shape(&[t(&[3, 4]), t(&[5, 5])])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'd' (Dot) is incompatible with its input: Incompatible input shapes: axis values 4 (at axis 2) != 5 (at axis 2). Full input shapes: (None, 3, 4), (None, 5, 5)"
        );
        let err = Dot::new(0)
            .name("d")
            .compute_output_shape(&[t(&[3]), t(&[3])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("Cannot perform batch_dot over axis 0"), "{err}");
        let err = Dot::new(1)
            .name("d")
            .compute_output_shape(&[t(&[3]), t(&[3]), t(&[3])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("should be called on a list of 2 inputs"), "{err}");
        let err = Dot::new(1)
            .name("d")
            .compute_output_shape(&[t(&[]), t(&[3])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("rank < 2"), "{err}");
    }
}
