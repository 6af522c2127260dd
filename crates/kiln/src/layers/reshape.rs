//! `Reshape`: gives each sample a new shape.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Reshapes every sample to `target_shape` (the batch dimension is kept). One entry may
/// be `-1`: it is inferred from the sample size.
///
/// # Shapes
/// Input `(batch, …)`; output `(batch, *target_shape)`. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = Reshape::new([-1, 4]).apply(&Input::new([12]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 3, 4)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reshape {
    /// Layer name.
    pub name: String,
    /// Target shape without the batch dimension; one entry may be `-1`.
    pub target_shape: Vec<i64>,
}

impl Reshape {
    /// A reshape to `target_shape`.
    pub fn new(target_shape: impl IntoIterator<Item = i64>) -> Self {
        Reshape {
            name: unique_name("reshape"),
            target_shape: target_shape.into_iter().collect(),
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Reshape {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Reshape"
    }

    fn validate(&self) -> Result<()> {
        let unknown = self.target_shape.iter().filter(|&&d| d == -1).count();
        if unknown > 1 || self.target_shape.iter().any(|&d| d == 0 || d < -1) {
            return Err(bad_argument(
                self,
                format!(
                    "target_shape must hold positive sizes and at most one -1. Received: target_shape={:?}",
                    self.target_shape
                ),
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        // Checked: a size beyond usize (a hostile config) fits nothing.
        let size = (x.shape.dims().iter().skip(1)).try_fold(1usize, |n, d| n.checked_mul(d.unwrap_or(1)));
        let known = (self.target_shape.iter().filter(|&&d| d > 0)).try_fold(1usize, |n, &d| n.checked_mul(d as usize));
        let fits = match (size, known) {
            (Some(size), Some(known)) if self.target_shape.contains(&-1) => known > 0 && size.is_multiple_of(known),
            (Some(size), Some(known)) => known == size,
            _ => false,
        };
        let (size, known) = (size.unwrap_or(usize::MAX), known.unwrap_or(1));
        if !fits || x.shape.dims().iter().skip(1).any(Option::is_none) {
            return Err(incompatible(
                self,
                format!(
                    "the total size of the target shape {:?} must equal the input's {size} elements per sample; received input shape {}",
                    self.target_shape,
                    x.shape.keras_string()
                ),
            ));
        }
        let dims = self
            .target_shape
            .iter()
            .map(|&d| if d == -1 { size / known } else { d as usize });
        Ok(vec![TensorType::new(x.dtype, Shape::batched(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let ty = ctx.value_type(inputs[0])?;
        let out = self.compute_output_shape(&[ty])?.remove(0);
        Ok(vec![ctx.push(Op::Reshape { shape: out.shape }, inputs)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Reshape {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let target = c
            .i64s("target_shape")?
            .ok_or_else(|| c.error("target_shape", "is required"))?;
        let mut layer = Reshape::new(target);
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
            &Reshape::new([6, 4]),
            &[Shape::batched([4, 6])],
            Shape::batched([6, 4]),
            0,
        );
        check_layer(
            &Reshape::new([-1, 2]),
            &[Shape::batched([8])],
            Shape::batched([4, 2]),
            0,
        );
    }

    #[test]
    fn size_mismatch_names_both_shapes() {
        let err = Reshape::new([5])
            .name("r")
            .compute_output_shape(&[TensorType::f32(Shape::batched([2, 3]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'r' (Reshape) is incompatible with its input: the total size of the target shape [5] must equal the input's 6 elements per sample; received input shape (None, 2, 3)"
        );
    }

    #[test]
    fn from_keras() {
        let layer =
            crate::keras::layer_from_config("Reshape", &serde_json::json!({"target_shape": [-1, 2], "name": "r"}))
                .unwrap();
        assert_eq!(layer.config(), Reshape::new([-1, 2]).name("r").config());
        let err = crate::keras::layer_from_config("Reshape", &serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("argument `target_shape`: is required"), "{err}");
    }
}
