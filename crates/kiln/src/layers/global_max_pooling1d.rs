//! `GlobalMaxPooling1D`: the maximum over all steps of each channel.

super::pooling::global_pool_layer!(
    /// Global max pooling: the maximum over every step of each channel of `(batch, steps,
    /// features)` (channels first: `(batch, features, steps)`), as Keras's
    /// `GlobalMaxPooling1D`.
    ///
    /// Arguments and defaults follow Keras: `data_format` channels last, `keepdims` false
    /// (true keeps the reduced axes with length 1). No weights.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([10, 4]);
    /// let y = GlobalMaxPooling1D::new().apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 4)");
    /// let y = GlobalMaxPooling1D::new().keepdims(true).apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 1, 4)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    GlobalMaxPooling1D,
    "GlobalMaxPooling1D",
    "global_max_pooling1d",
    1,
    Max
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
            &GlobalMaxPooling1D::new(),
            &[Shape::batched([6, 3])],
            Shape::batched([3]),
            0,
        );
        check_layer(
            &GlobalMaxPooling1D::new().keepdims(true),
            &[Shape::batched([6, 3])],
            Shape::batched([1, 3]),
            0,
        );
        check_layer(
            &GlobalMaxPooling1D::new().data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([6, 3])],
            Shape::batched([6]),
            0,
        );
        check_layer(
            &GlobalMaxPooling1D::new()
                .data_format(DataFormat::ChannelsFirst)
                .keepdims(true),
            &[Shape::batched([6, 3])],
            Shape::batched([6, 1]),
            0,
        );
    }

    #[test]
    fn wrong_ranks_are_refused() {
        let err = GlobalMaxPooling1D::new()
            .name("g")
            .compute_output_shape(&[TensorType::f32(Shape::batched([4, 5, 3]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an input of rank 3"), "{err}");
    }
}
