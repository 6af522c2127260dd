//! `AveragePooling1D`: average pooling over 1 spatial axis.

super::pooling::pool_layer!(
    /// Average pooling over windows of `(batch, steps, features)` (or channels first
    /// `(batch, features, steps)`), as Keras's `AveragePooling1D`.
    ///
    /// Arguments and defaults follow Keras: `pool_size` (required), `strides` equal to
    /// `pool_size`, `padding` `"valid"` or `"same"` (an odd total padding puts the extra
    /// element at the end, as Keras; a window hanging over the edge averages only the
    /// elements inside the input (padding is not counted), as Keras), `data_format`
    /// channels last. No weights.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([8, 3]);
    /// let y = AveragePooling1D::new(2).apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 4, 3)");
    /// let y = AveragePooling1D::new(3).strides(2).padding("same").apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 4, 3)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    AveragePooling1D,
    "AveragePooling1D",
    "average_pooling1d",
    1,
    Avg,
    default_pool = None
);

impl AveragePooling1D {
    /// A layer averaging windows of `pool_size` (one number for every axis or one per
    /// axis), with strides equal to the window, `"valid"` padding, channels last.
    pub fn new(pool_size: impl super::Sizes) -> Self {
        Self::with_pool_size(pool_size.sizes(1))
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
            &AveragePooling1D::new(2),
            &[Shape::batched([7, 3])],
            Shape::batched([3, 3]),
            0,
        );
        check_layer(
            &AveragePooling1D::new(3).strides(2).padding("same"),
            &[Shape::batched([8, 3])],
            Shape::batched([4, 3]),
            0,
        );
        check_layer(
            &AveragePooling1D::new(3).strides(2),
            &[Shape::batched([9, 2])],
            Shape::batched([4, 2]),
            0,
        );
        check_layer(
            &AveragePooling1D::new(2).data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([3, 6])],
            Shape::batched([3, 3]),
            0,
        );
    }

    #[test]
    fn impossible_configurations_are_refused() {
        let err = AveragePooling1D::new(2)
            .name("p")
            .padding("causal")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("padding=causal"), "{err}");
        let err = AveragePooling1D::new(2)
            .name("p")
            .strides(0)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("strides="), "{err}");
        let err = AveragePooling1D::new(2)
            .name("p")
            .compute_output_shape(&[TensorType::f32(Shape::batched([6, 2, 2]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an input of rank 3"), "{err}");
        let err = AveragePooling1D::new(2)
            .name("p")
            .compute_output_shape(&[TensorType::f32(Shape::batched([1, 3]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("zero or negative"), "{err}");
    }

    #[test]
    fn keras_configs_are_imported() {
        let config: serde_json::Value = serde_json::from_str(
            r#"{"name": "average_pooling1d", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "pool_size": [3], "padding": "same", "strides": [3], "data_format": "channels_last"}"#,
        )
        .unwrap();
        let layer = crate::keras::layer_from_config("AveragePooling1D", &config).unwrap();
        let layer = layer.as_ref();
        assert_eq!(
            layer
                .compute_output_shape(&[TensorType::f32(Shape::batched([7, 2]))])
                .unwrap()[0]
                .shape,
            Shape::batched([3, 2])
        );
        let err = crate::keras::layer_from_config("AveragePooling1D", &serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pool_size"), "{err}");
    }
}
