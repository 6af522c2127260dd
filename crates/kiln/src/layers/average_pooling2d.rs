//! `AveragePooling2D`: average pooling over 2 spatial axes.

super::pooling::pool_layer!(
    /// Average pooling over windows of `(batch, height, width, channels)` images (or
    /// channels first), as Keras's `AveragePooling2D`.
    ///
    /// Arguments and defaults follow Keras: `pool_size` (required), `strides` equal to
    /// `pool_size`, `padding` `"valid"` or `"same"` (an odd total padding puts the extra
    /// element at the end, as Keras; a window hanging over the edge averages only the
    /// elements inside the input (padding is not counted), as Keras), `data_format`
    /// channels last. No weights.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([28, 28, 8]);
    /// let y = AveragePooling2D::new(2).apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 14, 14, 8)");
    /// let y = AveragePooling2D::new([3, 3]).strides(2).padding("same").apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 14, 14, 8)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    AveragePooling2D,
    "AveragePooling2D",
    "average_pooling2d",
    2,
    Avg,
    default_pool = None
);

impl AveragePooling2D {
    /// A layer averaging windows of `pool_size` (one number for every axis or one per
    /// axis), with strides equal to the window, `"valid"` padding, channels last.
    pub fn new(pool_size: impl super::Sizes) -> Self {
        Self::with_pool_size(pool_size.sizes(2))
    }
}

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
            &AveragePooling2D::new(2),
            &[Shape::batched([5, 5, 2])],
            Shape::batched([2, 2, 2]),
            0,
        );
        check_layer(
            &AveragePooling2D::new(3).strides(2).padding("same"),
            &[Shape::batched([6, 6, 2])],
            Shape::batched([3, 3, 2]),
            0,
        );
        check_layer(
            &AveragePooling2D::new([2, 3]).strides([1, 2]),
            &[Shape::batched([4, 7, 2])],
            Shape::batched([3, 3, 2]),
            0,
        );
        check_layer(
            &AveragePooling2D::new(2).data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([2, 4, 5])],
            Shape::batched([2, 2, 2]),
            0,
        );
    }

    #[test]
    fn impossible_configurations_are_refused() {
        let err = AveragePooling2D::new(2)
            .name("p")
            .padding("causal")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("padding=causal"), "{err}");
        let err = AveragePooling2D::new(2)
            .name("p")
            .strides(0)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("strides="), "{err}");
        let err = AveragePooling2D::new(2)
            .name("p")
            .compute_output_shape(&[TensorType::f32(Shape::batched([6, 2]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an input of rank 4"), "{err}");
        let err = AveragePooling2D::new(2)
            .name("p")
            .compute_output_shape(&[TensorType::f32(Shape::batched([1, 5, 3]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("zero or negative"), "{err}");
    }
}
