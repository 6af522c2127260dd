//! `Softmax`: normalises along an axis into probabilities.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Activation, BinaryOp, CompareOp, Op, ReduceOp, Shape, TensorType, UnaryOp, ValueId};
use serde::{Deserialize, Serialize};

/// Softmax along `axis`: `exp(x_i) / sum_j exp(x_j)`, the sum running over the axis (or over
/// all the axes given, together).
///
/// # Arguments
/// - `axis`: the axis or axes normalised (negative counts from the end); default `-1`
///   ([`axis`](Softmax::axis), [`axes`](Softmax::axes)).
///
/// # Masks
/// A mask the input carries (Keras's `mask`: from `Masking`, `Embedding(mask_zero)`, …) must
/// broadcast to the input (each of its trailing dimensions 1 or the input's); positions where
/// it is not `> 0.5` get no probability — a fully masked slice gives zeros — as Keras. The
/// output carries the mask on.
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = Softmax::new().axis(1).apply(&Input::new([2, 3]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 2, 3)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Softmax {
    /// Layer name.
    pub name: String,
    /// The axes normalised together (negative counts from the end).
    pub axis: Vec<i64>,
}

impl Softmax {
    /// Softmax along the last axis.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Softmax {
            name: unique_name("softmax"),
            axis: vec![-1],
        }
    }

    /// Normalises along one axis.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = vec![axis];
        self
    }

    /// Normalises over several axes together.
    pub fn axes(mut self, axes: impl IntoIterator<Item = i64>) -> Self {
        self.axis = axes.into_iter().collect();
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The distinct non-negative axes, increasing, for an input of `rank`.
    fn resolved(&self, rank: usize) -> Result<Vec<usize>> {
        let mut axes = self
            .axis
            .iter()
            .map(|&a| super::resolve_axis(self, a, rank))
            .collect::<Result<Vec<usize>>>()?;
        axes.sort_unstable();
        axes.dedup();
        Ok(axes)
    }
}

impl Layer for Softmax {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Softmax"
    }

    fn validate(&self) -> Result<()> {
        if self.axis.is_empty() {
            return Err(bad_argument(self, "expected at least one axis. Received: axis=[]"));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        self.resolved(x.shape.rank())?;
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let axes = self.resolved(ctx.value_type(x)?.shape.rank())?;
        if let [axis] = axes[..] {
            let kind = Activation::Softmax { axis };
            return Ok(vec![ctx.push(Op::Activation { kind }, inputs)?]);
        }
        // Several axes: exp(x - max) / sum(exp(x - max)) over all of them, the maximum kept out
        // of the gradient (Keras: exp(x - logsumexp(x, axes))).
        let reduce = |kind| Op::Reduce {
            kind,
            axes: axes.clone(),
            keepdims: true,
        };
        let unary = |kind| Op::Unary { kind };
        let binary = |kind| Op::Binary { kind };
        let max = ctx.push(reduce(ReduceOp::Max), &[x])?;
        let max = ctx.push(unary(UnaryOp::StopGradient), &[max])?;
        let shifted = ctx.push(binary(BinaryOp::Sub), &[x, max])?;
        let exp = ctx.push(unary(UnaryOp::Exp), &[shifted])?;
        let sum = ctx.push(reduce(ReduceOp::Sum), &[exp])?;
        Ok(vec![ctx.push(binary(BinaryOp::Div), &[exp, sum])?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn checks_mask_shape(&self) -> bool {
        true
    }

    fn compute_output_masks(&self, inputs: &[TensorType], masks: &[Option<Shape>]) -> Result<Vec<Option<Shape>>> {
        let x = super::single(self, inputs)?;
        let mask = masks.first().cloned().flatten();
        if let Some(m) = &mask {
            let (xs, ms) = (x.shape.dims(), m.dims());
            let shapes = format!(
                "Received: inputs.shape={}, mask.shape={}",
                x.shape.keras_string(),
                m.keras_string()
            );
            if ms.len() > xs.len() {
                return Err(incompatible(
                    self,
                    format!("The `mask` must be broadcastable to `inputs` and must not have more dimensions. {shapes}"),
                ));
            }
            let fits = ms.iter().rev().zip(xs.iter().rev()).all(|(m, i)| match (m, i) {
                (Some(m), Some(i)) => *m == 1 || m == i,
                _ => true,
            });
            if !fits {
                return Err(incompatible(
                    self,
                    format!(
                        "The `mask` must be broadcastable to `inputs`. Each mask dimension must be 1 or match the \
                         corresponding input dimension. {shapes}"
                    ),
                ));
            }
        }
        Ok(vec![mask])
    }

    /// Keras's masked softmax: positions where the mask is not `> 0.5` become `-1e9` before
    /// the softmax and `0` after it (so a fully masked slice gives zeros).
    fn emit_masked(
        &self,
        ctx: &mut EmitContext,
        inputs: &[ValueId],
        masks: &[Option<ValueId>],
    ) -> Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
        let Some(mask) = masks.first().copied().flatten() else {
            return Ok((self.emit(ctx, inputs)?, vec![None]));
        };
        let half = ctx.constant(0.5)?;
        let keep = ctx.push(
            Op::Compare {
                kind: CompareOp::Greater,
            },
            &[mask, half],
        )?;
        // where(keep, x, -1e9)
        let kept = ctx.mul(inputs[0], keep)?;
        let off = ctx.add_scalar(keep, -1.0)?;
        let penalty = ctx.scale(off, 1.0e9)?;
        let x = ctx.add(kept, penalty)?;
        let y = self.emit(ctx, &[x])?[0];
        Ok((vec![ctx.mul(y, keep)?], vec![Some(mask)]))
    }
}

impl crate::keras::FromKeras for Softmax {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Softmax::new();
        let (name, _) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(axes) = c.i64s("axis")? {
            layer.axis = axes;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use crate::model::{Apply, Input, Model};
    use kiln_ir::Shape;

    #[test]
    fn shapes_and_config() {
        check_layer(&Softmax::new(), &[Shape::batched([2, 5])], Shape::batched([2, 5]), 0);
        check_layer(
            &Softmax::new().axis(1),
            &[Shape::batched([2, 5])],
            Shape::batched([2, 5]),
            0,
        );
        check_layer(
            &Softmax::new().axes([1, -1]),
            &[Shape::batched([2, 5])],
            Shape::batched([2, 5]),
            0,
        );
    }

    #[test]
    fn several_axes_normalise_together() {
        let x = Input::new([2, 2]);
        let y = Softmax::new().axes([1, 2]).apply(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let values = [0.0f32, 1.0, 2.0, 3.0];
        let input = crate::Tensor::from_f32(values.to_vec(), [1, 2, 2]).unwrap();
        let got = model.predict(&input).unwrap().to_f32();
        let total: f32 = values.iter().map(|v| v.exp()).sum();
        for (g, v) in got.iter().zip(values) {
            assert!((g - v.exp() / total).abs() < 1e-6, "{got:?}");
        }
        let err = Softmax::new().name("s").axes([]).validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 's' (Softmax): expected at least one axis. Received: axis=[]"
        );
    }

    #[test]
    fn builds_from_a_keras_config() {
        let config = serde_json::json!({"name": "softmax", "trainable": true, "axis": 1});
        let layer = crate::keras::layer_from_config("Softmax", &config).unwrap();
        let want = Softmax::new().name("softmax").axis(1);
        assert_eq!(layer.config(), serde_json::to_value(want).unwrap());
        let config = serde_json::json!({"name": "s", "axis": [1, 2]});
        let layer = crate::keras::layer_from_config("Softmax", &config).unwrap();
        assert_eq!(
            layer.config(),
            serde_json::to_value(Softmax::new().name("s").axes([1, 2])).unwrap()
        );
    }

    #[test]
    fn a_carried_mask_hides_positions() {
        use crate::layers::Masking;
        // Masking hides the all-zero row 1 of (3, 3): a (batch, 3) mask, broadcast against
        // the softmax's last axis (of size 3).
        let x = Input::new([3, 3]);
        let m = Masking::new().apply(&x).unwrap();
        let y = Softmax::new().apply(&m).unwrap();
        assert_eq!(y.mask_shape().map(|s| s.keras_string()), Some("(None, 3)".into()));
        let model = Model::new(&[&x], &[&y]).unwrap();
        let input = crate::Tensor::from_f32(vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0], [1, 3, 3]).unwrap();
        let got = model.predict(&input).unwrap().to_f32();
        // Every row keeps columns 0 and 2 only.
        let e = std::f32::consts::E;
        let want = [
            1.0 / (1.0 + e * e),
            0.0,
            e * e / (1.0 + e * e),
            0.5,
            0.0,
            0.5,
            0.5,
            0.0,
            0.5,
        ];
        assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{got:?}");
        let err = Softmax::new()
            .name("s")
            .compute_output_masks(&[TensorType::f32(Shape::batched([3, 4]))], &[Some(Shape::batched([3]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 's' (Softmax) is incompatible with its input: The `mask` must be broadcastable to `inputs`. Each mask \
             dimension must be 1 or match the corresponding input dimension. Received: inputs.shape=(None, 3, 4), \
             mask.shape=(None, 3)"
        );
    }

    #[test]
    fn an_axis_out_of_range_is_refused() {
        let err = Softmax::new()
            .name("s")
            .axis(3)
            .compute_output_shape(&[TensorType::f32(Shape::batched([4]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 's' (Softmax) is incompatible with its input: axis 3 is out of range for inputs of rank 2"
        );
    }
}
