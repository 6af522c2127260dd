//! `Conv2D`: convolution over two spatial axes.

super::conv::conv_layer!(
    /// 2D convolution over `(batch, height, width, channels)` images (or channels first),
    /// as Keras's `Conv2D`.
    ///
    /// Arguments and defaults follow Keras: `strides` 1, `padding` `"valid"` or `"same"`
    /// (an odd total padding puts the extra row/column at the end, as Keras), `data_format`
    /// channels last, `dilation_rate` 1, `groups` 1, `activation` linear, `use_bias`,
    /// `glorot_uniform` kernel, zero bias, optional regularizers and constraints.
    /// Weights: `kernel` `(kh, kw, channels / groups, filters)` and `bias` `(filters,)`.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([28, 28, 1]);
    /// let y = Conv2D::new(32, 3).activation("relu").apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 26, 26, 32)");
    /// let y = Conv2D::new(8, [3, 3]).strides(2).padding("same").apply(&y)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 13, 13, 8)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    Conv2D,
    "Conv2D",
    "conv2d",
    2,
    transposed = false
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Layer;
    use crate::layers::DataFormat;
    use crate::layers::testing::check_layer;
    use kiln_ir::{Shape, TensorType};

    #[test]
    fn shapes_params_and_config() {
        check_layer(
            &Conv2D::new(4, 3),
            &[Shape::batched([6, 5, 2])],
            Shape::batched([4, 3, 4]),
            76,
        );
        check_layer(
            &Conv2D::new(4, 3).strides(2).padding("same"),
            &[Shape::batched([8, 7, 2])],
            Shape::batched([4, 4, 4]),
            76,
        );
        check_layer(
            &Conv2D::new(4, [2, 3]).dilation_rate(2).use_bias(false),
            &[Shape::batched([6, 7, 2])],
            Shape::batched([4, 3, 4]),
            48,
        );
        check_layer(
            &Conv2D::new(4, 3).data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([2, 6, 5])],
            Shape::batched([4, 4, 3]),
            76,
        );
    }

    #[test]
    fn impossible_configurations_are_refused() {
        let err = Conv2D::new(4, 3)
            .name("c")
            .strides(2)
            .dilation_rate(2)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("dilation_rate > 1"), "{err}");
        let err = Conv2D::new(3, 3)
            .name("c")
            .groups(2)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("groups=2, filters=3"), "{err}");
        let err = Conv2D::new(4, 3)
            .name("c")
            .compute_output_shape(&[TensorType::f32(Shape::batched([6, 2]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an input of rank 4"), "{err}");
    }
}
