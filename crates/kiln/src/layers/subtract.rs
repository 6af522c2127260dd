//! `Subtract`: the difference of two inputs.

use super::merging;
use crate::error::Result;
use crate::layer::{EmitContext, Layer};
use crate::names::unique_name;
use kiln_ir::{BinaryOp, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// The element-wise difference `inputs[0] - inputs[1]` of exactly two inputs, as Keras's
/// `Subtract`. Shapes broadcast as numpy's on the non-batch axes; an input of lower rank
/// gains axes of size 1 after the batch axis.
///
/// ```
/// use kiln::prelude::*;
/// let (a, b) = (Input::new([2, 4]), Input::new([2, 4]));
/// let y = Subtract::new().apply_list(&[&a, &b])?;
/// assert_eq!(y.shape().keras_string(), "(None, 2, 4)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subtract {
    /// Layer name.
    pub name: String,
}

impl Subtract {
    /// A subtract layer.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Subtract {
            name: unique_name("subtract"),
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Subtract {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Subtract"
    }

    fn takes_list(&self) -> bool {
        true
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        if inputs.len() != 2 {
            return Err(crate::layer::incompatible(
                self,
                format!(
                    "A `Subtract` layer should be called on exactly 2 inputs. Received: {} input(s)",
                    inputs.len()
                ),
            ));
        }
        Ok(vec![merging::output_type(self, inputs)?])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(vec![merging::fold(ctx, BinaryOp::Sub, inputs)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Subtract {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Subtract::new();
        if let Some(name) = merging::name_from_keras(c)? {
            layer.name = name;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use kiln_ir::Shape;

    #[test]
    fn shapes_and_config() {
        check_layer(
            &Subtract::new(),
            &[Shape::batched([3]), Shape::batched([3])],
            Shape::batched([3]),
            0,
        );
        check_layer(
            &Subtract::new(),
            &[Shape::batched([2, 3]), Shape::batched([1, 3])],
            Shape::batched([2, 3]),
            0,
        );
    }

    #[test]
    fn exactly_two_inputs() {
        let t = |n: usize| TensorType::f32(Shape::batched([n]));
        let err = Subtract::new()
            .name("s")
            .compute_output_shape(&[t(3), t(3), t(3)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 's' (Subtract) is incompatible with its input: A `Subtract` layer should be called on exactly 2 inputs. Received: 3 input(s)"
        );
        let err = Subtract::new()
            .name("s")
            .compute_output_shape(&[t(3), t(4)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("Received shapes (3,) and (4,)"), "{err}");
    }

    #[test]
    fn subtracts_the_second_from_the_first() {
        use crate::model::{Apply, Input, Model};
        let (a, b) = (Input::new([2]), Input::new([2]));
        let y = Subtract::new().apply_list(&[&a, &b]).unwrap();
        let model = Model::new(&[&a, &b], &[&y]).unwrap();
        let x = |v: Vec<f32>| crate::Tensor::from_f32(v, vec![1, 2]).unwrap();
        let out = model.predict(vec![x(vec![5.0, 1.0]), x(vec![2.0, 3.0])]).unwrap();
        assert_eq!(out.to_f32(), vec![3.0, -2.0]);
    }
}
