//! `Softmax`: normalises along an axis into probabilities.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument};
use crate::names::unique_name;
use kiln_ir::{Activation, BinaryOp, Op, ReduceOp, TensorType, UnaryOp, ValueId};
use serde::{Deserialize, Serialize};

/// Softmax along `axis`: `exp(x_i) / sum_j exp(x_j)`, the sum running over the axis (or over
/// all the axes given, together).
///
/// # Arguments
/// - `axis`: the axis or axes normalised (negative counts from the end); default `-1`
///   ([`axis`](Softmax::axis), [`axes`](Softmax::axes)).
///
/// Keras's `mask` call argument is not taken.
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
