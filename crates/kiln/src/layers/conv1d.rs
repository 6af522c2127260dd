//! `Conv1D`: convolution over one spatial axis (temporal convolution).

super::conv::conv_layer!(
    /// 1D convolution: slides `filters` kernels of `kernel_size` along the steps of a
    /// `(batch, steps, channels)` input, as Keras's `Conv1D`.
    ///
    /// Arguments and defaults follow Keras: `strides` 1, `padding` `"valid"` (also
    /// `"same"` and `"causal"`), `dilation_rate` 1, `groups` 1, `activation` linear,
    /// `use_bias`, `glorot_uniform` kernel, zero bias, optional regularizers and constraints.
    /// Weights: `kernel` `(kernel_size, channels / groups, filters)` and `bias` `(filters,)`.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([10, 3]);
    /// let y = Conv1D::new(4, 3).padding("causal").dilation_rate(2).apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 10, 4)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    Conv1D,
    "Conv1D",
    "conv1d",
    1,
    transposed = false
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Layer;
    use crate::layers::testing::check_layer;
    use kiln_ir::Shape;

    #[test]
    fn shapes_params_and_config() {
        check_layer(
            &Conv1D::new(4, 3),
            &[Shape::batched([10, 2])],
            Shape::batched([8, 4]),
            28,
        );
        check_layer(
            &Conv1D::new(4, 3).strides(2).padding("same"),
            &[Shape::batched([10, 2])],
            Shape::batched([5, 4]),
            28,
        );
        check_layer(
            &Conv1D::new(4, 3).groups(2).padding("causal"),
            &[Shape::batched([10, 2])],
            Shape::batched([10, 4]),
            16,
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        let err = Conv1D::new(0, 3).name("c").validate().unwrap_err().to_string();
        assert!(err.contains("Received filters=0"), "{err}");
        let err = Conv1D::new(3, 3)
            .name("c")
            .padding("full")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("Received: padding=full"), "{err}");
        let err = Conv1D::new(3, 5)
            .name("c")
            .compute_output_shape(&[kiln_ir::TensorType::f32(Shape::batched([3, 2]))])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("layer 'c' (Conv1D) is incompatible"), "{err}");
        assert!(err.contains("larger than the input (None, 3, 2)"), "{err}");
    }
}
