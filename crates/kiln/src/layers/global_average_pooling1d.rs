//! `GlobalAveragePooling1D`: the mean over all steps of each channel.

super::pooling::global_pool_layer!(
    /// Global average pooling: the mean over every step of each channel of `(batch, steps,
    /// features)` (channels first: `(batch, features, steps)`), as Keras's
    /// `GlobalAveragePooling1D`.
    ///
    /// Arguments and defaults follow Keras: `data_format` channels last, `keepdims` false
    /// (true keeps the reduced axes with length 1). No weights.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([10, 4]);
    /// let y = GlobalAveragePooling1D::new().apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 4)");
    /// let y = GlobalAveragePooling1D::new().keepdims(true).apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 1, 4)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    GlobalAveragePooling1D,
    "GlobalAveragePooling1D",
    "global_average_pooling1d",
    1,
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
            &GlobalAveragePooling1D::new(),
            &[Shape::batched([6, 3])],
            Shape::batched([3]),
            0,
        );
        check_layer(
            &GlobalAveragePooling1D::new().keepdims(true),
            &[Shape::batched([6, 3])],
            Shape::batched([1, 3]),
            0,
        );
        check_layer(
            &GlobalAveragePooling1D::new().data_format(DataFormat::ChannelsFirst),
            &[Shape::batched([6, 3])],
            Shape::batched([6]),
            0,
        );
        check_layer(
            &GlobalAveragePooling1D::new()
                .data_format(DataFormat::ChannelsFirst)
                .keepdims(true),
            &[Shape::batched([6, 3])],
            Shape::batched([6, 1]),
            0,
        );
    }

    #[test]
    fn a_mask_averages_only_the_kept_steps() {
        use crate::layers::Masking;
        use crate::model::{Apply, Input, Model};
        let x = Input::new([3, 2]);
        let m = Masking::new().apply(&x).unwrap();
        let y = GlobalAveragePooling1D::new().apply(&m).unwrap();
        assert!(y.mask_shape().is_none());
        let z = GlobalAveragePooling1D::new()
            .data_format(DataFormat::ChannelsFirst)
            .keepdims(true)
            .apply(&x)
            .unwrap();
        let model = Model::new(&[&x], &[&y, &z]).unwrap();
        let input = crate::Tensor::from_f32(vec![1.0, 2.0, 0.0, 0.0, 3.0, 5.0], vec![1, 3, 2]).unwrap();
        let out = model.predict_multi(input, crate::PredictOptions::default()).unwrap();
        assert_eq!(out[0].to_f32(), vec![2.0, 3.5]);
        assert_eq!(out[1].to_f32(), vec![1.5, 0.0, 4.0]);
    }

    #[test]
    fn wrong_ranks_are_refused() {
        let err = GlobalAveragePooling1D::new()
            .name("g")
            .compute_output_shape(&[TensorType::f32(Shape::batched([4, 5, 3]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an input of rank 3"), "{err}");
    }
}
