//! `RepeatVector`: repeats a vector `n` times along a new time axis.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Repeats each sample vector `n` times, as Keras's `RepeatVector`.
///
/// # Shapes
/// Input `(batch, features)`; output `(batch, n, features)`. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = RepeatVector::new(3).apply(&Input::new([32]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 3, 32)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepeatVector {
    /// Layer name.
    pub name: String,
    /// The number of repetitions.
    pub n: usize,
}

impl RepeatVector {
    /// Repeats the input `n` times.
    pub fn new(n: usize) -> Self {
        RepeatVector {
            name: unique_name("repeat_vector"),
            n,
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for RepeatVector {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "RepeatVector"
    }

    fn validate(&self) -> Result<()> {
        if self.n == 0 {
            return Err(bad_argument(
                self,
                "Argument `n` should be a positive integer. Received: n=0",
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        if x.shape.rank() != 2 {
            return Err(incompatible(
                self,
                format!(
                    "expected an input of rank 2 (batch, features), received shape {}",
                    x.shape.keras_string()
                ),
            ));
        }
        let d = x.shape.dims();
        Ok(vec![TensorType::new(x.dtype, Shape(vec![d[0], Some(self.n), d[1]]))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let d = ctx.shape(inputs[0])?.dims().to_vec();
        let x = ctx.reshape(inputs[0], Shape(vec![d[0], Some(1), d[1]]))?;
        Ok(vec![ctx.push(Op::Repeat { axis: 1, times: self.n }, &[x])?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for RepeatVector {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let n = c.usize("n")?.ok_or_else(|| c.error("n", "is required"))?;
        let mut layer = RepeatVector::new(n);
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
        check_layer(&RepeatVector::new(3), &[Shape::batched([4])], Shape::batched([3, 4]), 0);
        check_layer(&RepeatVector::new(1), &[Shape::batched([2])], Shape::batched([1, 2]), 0);
    }

    #[test]
    fn bad_arguments_and_inputs_are_named() {
        let err = RepeatVector::new(0).name("r").validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 'r' (RepeatVector): Argument `n` should be a positive integer. Received: n=0"
        );
        let err = RepeatVector::new(2)
            .name("r")
            .compute_output_shape(&[TensorType::f32(Shape::batched([2, 3]))])
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("expected an input of rank 2 (batch, features), received shape (None, 2, 3)"),
            "{err}"
        );
    }
}
