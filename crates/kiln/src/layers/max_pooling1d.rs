//! `MaxPooling1D`: maximum pooling over 1 spatial axis.

super::pooling::pool_layer!(
    /// Maximum pooling over windows of `(batch, steps, features)` (or channels first
    /// `(batch, features, steps)`), as Keras's `MaxPooling1D`.
    ///
    /// Arguments and defaults follow Keras: `pool_size` 2, `strides` equal to `pool_size`,
    /// `padding` `"valid"` or `"same"` (an odd total padding puts the extra element at the
    /// end, as Keras; padding is never counted: a window hanging over the edge takes the
    /// maximum of the elements inside the input), `data_format` channels last. No weights.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([8, 3]);
    /// let y = MaxPooling1D::new().apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 4, 3)");
    /// let y = MaxPooling1D::new().pool_size(3).strides(2).padding("same").apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 4, 3)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    MaxPooling1D,
    "MaxPooling1D",
    "max_pooling1d",
    1,
    Max,
    default_pool = Some(2)
);

impl MaxPooling1D {
    /// A layer with Keras's defaults: a window of 2, strides equal to the window, `"valid"`
    /// padding, channels last.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self::with_pool_size(vec![2; 1])
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
            &MaxPooling1D::new(),
            &[Shape::batched([7, 3])],
            Shape::batched([3, 3]),
            0,
        );
        check_layer(
            &MaxPooling1D::new().pool_size(3).strides(2).padding("same"),
            &[Shape::batched([8, 3])],
            Shape::batched([4, 3]),
            0,
        );
        check_layer(
            &MaxPooling1D::new().pool_size(3).strides(2),
            &[Shape::batched([9, 2])],
            Shape::batched([4, 2]),
            0,
        );
        check_layer(
            &MaxPooling1D::new().pool_size(2).data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([3, 6])],
            Shape::batched([3, 3]),
            0,
        );
    }

    #[test]
    fn impossible_configurations_are_refused() {
        let err = MaxPooling1D::new()
            .pool_size(2)
            .name("p")
            .padding("causal")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("padding=causal"), "{err}");
        let err = MaxPooling1D::new()
            .pool_size(2)
            .name("p")
            .strides(0)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("strides="), "{err}");
        let err = MaxPooling1D::new()
            .pool_size(2)
            .name("p")
            .compute_output_shape(&[TensorType::f32(Shape::batched([6, 2, 2]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an input of rank 3"), "{err}");
        let err = MaxPooling1D::new()
            .pool_size(2)
            .name("p")
            .compute_output_shape(&[TensorType::f32(Shape::batched([1, 3]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("zero or negative"), "{err}");
    }
}
