//! `GlobalAveragePooling2D`: the mean over all spatial positions of each channel.

super::pooling::global_pool_layer!(
    /// Global average pooling: the mean over every position of each channel of `(batch,
    /// height, width, channels)` (or channels first), as Keras's `GlobalAveragePooling2D`.
    ///
    /// Arguments and defaults follow Keras: `data_format` channels last, `keepdims` false
    /// (true keeps the reduced axes with length 1). No weights.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([7, 7, 32]);
    /// let y = GlobalAveragePooling2D::new().apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 32)");
    /// let y = GlobalAveragePooling2D::new().keepdims(true).apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 1, 1, 32)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    GlobalAveragePooling2D,
    "GlobalAveragePooling2D",
    "global_average_pooling2d",
    2,
    Mean
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
            &GlobalAveragePooling2D::new(),
            &[Shape::batched([4, 5, 3])],
            Shape::batched([3]),
            0,
        );
        check_layer(
            &GlobalAveragePooling2D::new().keepdims(true),
            &[Shape::batched([4, 5, 3])],
            Shape::batched([1, 1, 3]),
            0,
        );
        check_layer(
            &GlobalAveragePooling2D::new().data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([4, 5, 3])],
            Shape::batched([4]),
            0,
        );
        check_layer(
            &GlobalAveragePooling2D::new()
                .data_format(DataFormat::ChannelsFirst)
                .keepdims(true),
            &[Shape::batched([4, 5, 3])],
            Shape::batched([4, 1, 1]),
            0,
        );
    }

    #[test]
    fn wrong_ranks_are_refused() {
        let err = GlobalAveragePooling2D::new()
            .name("g")
            .compute_output_shape(&[TensorType::f32(Shape::batched([6, 3]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an input of rank 4"), "{err}");
    }

    #[test]
    fn keras_configs_are_imported() {
        let config: serde_json::Value = serde_json::from_str(
            r#"{"name": "global_average_pooling2d", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "keepdims": true}"#,
        )
        .unwrap();
        let layer = crate::keras::layer_from_config("GlobalAveragePooling2D", &config).unwrap();
        let layer = layer.as_ref();
        assert_eq!(
            layer
                .compute_output_shape(&[TensorType::f32(Shape::batched([4, 5, 3]))])
                .unwrap()[0]
                .shape,
            Shape::batched([1, 1, 3])
        );
    }
}
