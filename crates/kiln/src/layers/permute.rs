//! `Permute`: reorders the non-batch axes.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Permutes the non-batch axes of its input, as Keras's `Permute`: `dims` lists the input
/// axes in their new order, counted from 1 (the batch axis, 0, stays first).
///
/// # Shapes
/// Input of rank `dims.len() + 1`; output axis `i` is input axis `dims[i - 1]`. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = Permute::new([2, 1]).apply(&Input::new([10, 64]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 64, 10)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Permute {
    /// Layer name.
    pub name: String,
    /// The new order of the non-batch axes, counted from 1.
    pub dims: Vec<usize>,
}

impl Permute {
    /// A permutation of the non-batch axes (`[2, 1]` swaps the two axes of a sequence).
    pub fn new(dims: impl IntoIterator<Item = usize>) -> Self {
        Permute {
            name: unique_name("permute"),
            dims: dims.into_iter().collect(),
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    fn perm(&self) -> Vec<usize> {
        std::iter::once(0).chain(self.dims.iter().copied()).collect()
    }
}

impl Layer for Permute {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Permute"
    }

    fn validate(&self) -> Result<()> {
        let mut sorted = self.dims.clone();
        sorted.sort_unstable();
        if sorted != (1..=self.dims.len()).collect::<Vec<_>>() {
            return Err(bad_argument(
                self,
                format!(
                    "Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` must be consecutive and start from 1. Received dims={:?}",
                    self.dims
                ),
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        if x.shape.rank() != self.dims.len() + 1 {
            return Err(incompatible(
                self,
                format!(
                    "expected an input of rank {} for dims={:?}, received shape {}",
                    self.dims.len() + 1,
                    self.dims,
                    x.shape.keras_string()
                ),
            ));
        }
        let dims = self.perm().iter().map(|&a| x.shape.dims()[a]).collect();
        Ok(vec![TensorType::new(x.dtype, Shape(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(vec![ctx.transpose(inputs[0], self.perm())?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Permute {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let dims = c.i64s("dims")?.ok_or_else(|| c.error("dims", "is required"))?;
        let dims = dims
            .iter()
            .map(|&d| {
                usize::try_from(d)
                    .map_err(|_| c.error("dims", format!("expected axes counted from 1, received {dims:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut layer = Permute::new(dims);
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
            &Permute::new([2, 1]),
            &[Shape::batched([3, 4])],
            Shape::batched([4, 3]),
            0,
        );
        check_layer(
            &Permute::new([3, 1, 2]),
            &[Shape::batched([2, 3, 4])],
            Shape::batched([4, 2, 3]),
            0,
        );
    }

    #[test]
    fn bad_dims_and_ranks_are_named() {
        let err = Permute::new([0, 1]).name("p").validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 'p' (Permute): Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` must be consecutive and start from 1. Received dims=[0, 1]"
        );
        let err = Permute::new([2, 1])
            .name("p")
            .compute_output_shape(&[TensorType::f32(Shape::batched([2, 3, 4]))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expected an input of rank 3 for dims=[2, 1], received shape (None, 2, 3, 4)"),
            "{err}"
        );
    }
}
