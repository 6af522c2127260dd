//! `MaxPooling2D`: maximum pooling over 2 spatial axes.

super::pooling::pool_layer!(
    /// Maximum pooling over windows of `(batch, height, width, channels)` images (or
    /// channels first), as Keras's `MaxPooling2D`.
    ///
    /// Arguments and defaults follow Keras: `pool_size` 2, `strides` equal to `pool_size`,
    /// `padding` `"valid"` or `"same"` (an odd total padding puts the extra element at the
    /// end, as Keras; padding is never counted: a window hanging over the edge takes the
    /// maximum of the elements inside the input), `data_format` channels last. No weights.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([28, 28, 8]);
    /// let y = MaxPooling2D::new().apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 14, 14, 8)");
    /// let y = MaxPooling2D::new().pool_size([3, 3]).strides(2).padding("same").apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 14, 14, 8)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    MaxPooling2D,
    "MaxPooling2D",
    "max_pooling2d",
    2,
    Max,
    default_pool = Some(2)
);

impl MaxPooling2D {
    /// A layer with Keras's defaults: a window of 2, strides equal to the window, `"valid"`
    /// padding, channels last.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self::with_pool_size(vec![2; 2])
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
            &MaxPooling2D::new(),
            &[Shape::batched([5, 5, 2])],
            Shape::batched([2, 2, 2]),
            0,
        );
        check_layer(
            &MaxPooling2D::new().pool_size(3).strides(2).padding("same"),
            &[Shape::batched([6, 6, 2])],
            Shape::batched([3, 3, 2]),
            0,
        );
        check_layer(
            &MaxPooling2D::new().pool_size([2, 3]).strides([1, 2]),
            &[Shape::batched([4, 7, 2])],
            Shape::batched([3, 3, 2]),
            0,
        );
        check_layer(
            &MaxPooling2D::new().pool_size(2).data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([2, 4, 5])],
            Shape::batched([2, 2, 2]),
            0,
        );
    }

    #[test]
    fn impossible_configurations_are_refused() {
        let err = MaxPooling2D::new()
            .pool_size(2)
            .name("p")
            .padding("causal")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("padding=causal"), "{err}");
        let err = MaxPooling2D::new()
            .pool_size(2)
            .name("p")
            .strides(0)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("strides="), "{err}");
        let err = MaxPooling2D::new()
            .pool_size(2)
            .name("p")
            .compute_output_shape(&[TensorType::f32(Shape::batched([6, 2]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an input of rank 4"), "{err}");
        let err = MaxPooling2D::new()
            .pool_size(2)
            .name("p")
            .compute_output_shape(&[TensorType::f32(Shape::batched([1, 5, 3]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("zero or negative"), "{err}");
    }

    #[test]
    fn keras_configs_are_imported() {
        let config: serde_json::Value = serde_json::from_str(
            r#"{"name": "max_pooling2d", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}"#,
        )
        .unwrap();
        let layer = crate::keras::layer_from_config("MaxPooling2D", &config).unwrap();
        let layer = layer.as_ref();
        assert_eq!(
            layer
                .compute_output_shape(&[TensorType::f32(Shape::batched([5, 5, 2]))])
                .unwrap()[0]
                .shape,
            Shape::batched([2, 2, 2])
        );
    }
}
