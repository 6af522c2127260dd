//! `Minimum`: the element-wise minimum of a list of inputs.

super::merging::merge_layer!(
    /// The element-wise minimum of a list of at least two inputs, as Keras's `Minimum`. Shapes
    /// broadcast as numpy's on the non-batch axes; an input of lower rank gains axes of size 1
    /// after the batch axis.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let (a, b) = (Input::new([2, 4]), Input::new([2, 4]));
    /// let y = Minimum::new().apply_list(&[&a, &b])?;
    /// assert_eq!(y.shape().keras_string(), "(None, 2, 4)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    Minimum,
    "Minimum",
    "minimum",
    |ctx, inputs| super::merging::fold(ctx, kiln_ir::BinaryOp::Minimum, inputs)
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Layer;
    use crate::layers::testing::check_layer;
    use kiln_ir::Shape;
    use kiln_ir::TensorType;

    #[test]
    fn shapes_and_config() {
        check_layer(
            &Minimum::new(),
            &[Shape::batched([3]), Shape::batched([3]), Shape::batched([3])],
            Shape::batched([3]),
            0,
        );
        check_layer(
            &Minimum::new(),
            &[Shape::batched([2, 3]), Shape::batched([3])],
            Shape::batched([2, 3]),
            0,
        );
    }

    #[test]
    fn mismatched_shapes_are_named() {
        let t = |n: usize| TensorType::f32(Shape::batched([n]));
        let err = Minimum::new()
            .name("m")
            .compute_output_shape(&[t(3), t(4)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'm' (Minimum) is incompatible with its input: Inputs have incompatible shapes. Received shapes (3,) and (4,)"
        );
    }
}
