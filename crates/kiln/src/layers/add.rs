//! `Add`: sums a list of inputs.

super::merging::merge_layer!(
    /// Adds a list of at least two inputs element-wise, as Keras's `Add`. Shapes broadcast as
    /// numpy's on the non-batch axes; an input of lower rank gains axes of size 1 after the
    /// batch axis.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let (a, b) = (Input::new([4]), Input::new([4]));
    /// let s = Add::new().apply_list(&[&a, &b])?;
    /// assert_eq!(s.shape().keras_string(), "(None, 4)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    Add,
    "Add",
    "add",
    |ctx, inputs| super::merging::fold(ctx, kiln_ir::BinaryOp::Add, inputs)
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
            &Add::new(),
            &[Shape::batched([3]), Shape::batched([3]), Shape::batched([3])],
            Shape::batched([3]),
            0,
        );
    }

    #[test]
    fn mismatched_shapes_are_named() {
        let t = |n: usize| TensorType::f32(Shape::batched([n]));
        let err = Add::new()
            .name("a")
            .compute_output_shape(&[t(3), t(4)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'a' (Add) is incompatible with its input: Inputs have incompatible shapes. Received shapes (3,) and (4,)"
        );
        let err = Add::new()
            .name("a")
            .compute_output_shape(&[t(3)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 2 inputs, received 1"), "{err}");
    }

    #[test]
    fn broadcasts_and_lower_ranks() {
        check_layer(
            &Add::new(),
            &[Shape::batched([3, 4]), Shape::batched([1, 4])],
            Shape::batched([3, 4]),
            0,
        );
        check_layer(
            &Add::new(),
            &[Shape::batched([3, 4]), Shape::batched([4])],
            Shape::batched([3, 4]),
            0,
        );
    }

    #[test]
    fn from_keras() {
        let layer =
            crate::keras::layer_from_config("Add", &serde_json::json!({"name": "sum", "trainable": true})).unwrap();
        assert_eq!((layer.name(), layer.class_name()), ("sum", "Add"));
    }
}
