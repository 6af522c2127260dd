//! What the element-wise merging layers share (Keras's `Merge`): the list of inputs, the
//! broadcast output shape, and inputs of lower rank brought to the highest rank by axes
//! of size 1 inserted after the batch axis, as Keras's `Merge.call` does.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, incompatible};
use kiln_ir::{BinaryOp, Shape, TensorType, ValueId, broadcast_shapes};

/// Checks that a merging layer received a list of at least `min` inputs.
pub(crate) fn check_count(layer: &dyn Layer, inputs: &[TensorType], min: usize) -> Result<()> {
    if inputs.len() < min {
        return Err(incompatible(
            layer,
            format!("expected a list of at least {min} inputs, received {}", inputs.len()),
        ));
    }
    Ok(())
}

/// `shape` with axes of size 1 inserted after the batch axis up to rank `rank`.
fn expanded(shape: &Shape, rank: usize) -> Shape {
    let mut dims = shape.dims().to_vec();
    if dims.is_empty() || dims.len() >= rank {
        return shape.clone();
    }
    let missing = rank - dims.len();
    dims.splice(1..1, std::iter::repeat_n(Some(1), missing));
    Shape(dims)
}

/// The non-batch part of a shape as Keras prints it: `(3, 4)`.
fn sample_shape(shape: &Shape) -> String {
    Shape(shape.dims().iter().skip(1).copied().collect()).keras_string()
}

/// The output type of an element-wise merge of `inputs`: every input has the first one's
/// element type and the shapes broadcast (numpy's rules on the non-batch axes, aligned
/// from the right), or an error with Keras's message.
pub(crate) fn output_type(layer: &dyn Layer, inputs: &[TensorType]) -> Result<TensorType> {
    check_count(layer, inputs, 2)?;
    let rank = inputs.iter().map(|t| t.shape.rank()).max().unwrap_or(0);
    let mut shape = expanded(&inputs[0].shape, rank);
    for t in &inputs[1..] {
        if t.dtype != inputs[0].dtype {
            return Err(incompatible(
                layer,
                format!("inputs must have one element type, received {} and {}", inputs[0], t),
            ));
        }
        shape = broadcast_shapes(&shape, &expanded(&t.shape, rank)).ok_or_else(|| {
            incompatible(
                layer,
                format!(
                    "Inputs have incompatible shapes. Received shapes {} and {}",
                    sample_shape(&shape),
                    sample_shape(&t.shape)
                ),
            )
        })?;
    }
    Ok(TensorType::new(inputs[0].dtype, shape))
}

/// The inputs, each brought to the highest rank among them by reshapes that insert axes
/// of size 1 after the batch axis.
pub(crate) fn same_rank(ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
    let shapes = inputs.iter().map(|&x| ctx.shape(x)).collect::<Result<Vec<_>>>()?;
    let rank = shapes.iter().map(Shape::rank).max().unwrap_or(0);
    inputs
        .iter()
        .zip(&shapes)
        .map(|(&x, s)| ctx.reshape(x, expanded(s, rank)))
        .collect()
}

/// `((x0 op x1) op x2) op …` after [`same_rank`].
pub(crate) fn fold(ctx: &mut EmitContext, kind: BinaryOp, inputs: &[ValueId]) -> Result<ValueId> {
    let xs = same_rank(ctx, inputs)?;
    let mut acc = xs[0];
    for &x in &xs[1..] {
        acc = ctx.binary(kind, acc, x)?;
    }
    Ok(acc)
}

/// Reads a merging layer's Keras config: only the name (and the common keys) are expected.
pub(crate) fn name_from_keras(c: &crate::keras::KerasConfig) -> Result<Option<String>> {
    Ok(crate::keras::common(c)?.0)
}

/// Defines a merging layer that combines a list of inputs element-wise: the type, its
/// constructor and name builder, the `Layer` implementation and Keras import. `$emit`
/// combines the operands (already brought to one rank).
macro_rules! merge_layer {
    ($(#[$doc:meta])* $ty:ident, $class:literal, $prefix:literal, $emit:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $ty {
            /// Layer name.
            pub name: String,
        }

        impl $ty {
            /// The layer, named automatically.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                $ty {
                    name: $crate::names::unique_name($prefix),
                }
            }

            /// Names the layer.
            pub fn name(mut self, name: &str) -> Self {
                self.name = name.to_string();
                self
            }
        }

        impl $crate::layer::Layer for $ty {
            fn name(&self) -> &str {
                &self.name
            }

            fn class_name(&self) -> &'static str {
                $class
            }

            fn takes_list(&self) -> bool {
                true
            }

            fn compute_output_shape(
                &self,
                inputs: &[kiln_ir::TensorType],
            ) -> $crate::error::Result<Vec<kiln_ir::TensorType>> {
                Ok(vec![$crate::layers::merging::output_type(self, inputs)?])
            }

            fn emit(
                &self,
                ctx: &mut $crate::layer::EmitContext,
                inputs: &[kiln_ir::ValueId],
            ) -> $crate::error::Result<Vec<kiln_ir::ValueId>> {
                let emit: fn(
                    &mut $crate::layer::EmitContext,
                    &[kiln_ir::ValueId],
                ) -> $crate::error::Result<kiln_ir::ValueId> = $emit;
                Ok(vec![emit(ctx, inputs)?])
            }

            fn config(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or_default()
            }
        }

        impl $crate::keras::FromKeras for $ty {
            fn from_keras(c: &$crate::keras::KerasConfig) -> $crate::error::Result<Self> {
                let mut layer = $ty::new();
                if let Some(name) = $crate::layers::merging::name_from_keras(c)? {
                    layer.name = name;
                }
                Ok(layer)
            }
        }
    };
}

pub(crate) use merge_layer;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_ranks_gain_axes_after_the_batch() {
        assert_eq!(expanded(&Shape::batched([4]), 3), Shape::batched([1, 4]));
        assert_eq!(expanded(&Shape::batched([2, 4]), 3), Shape::batched([2, 4]));
        assert_eq!(sample_shape(&Shape::batched([3])), "(3,)");
    }
}
