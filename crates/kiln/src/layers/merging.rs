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
