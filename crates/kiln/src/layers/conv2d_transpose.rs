//! `Conv2DTranspose`: the transposed (fractionally strided) 2D convolution.

super::conv::conv_layer!(
    /// Transposed 2D convolution, as Keras's `Conv2DTranspose`: the output of `"same"`
    /// padding is `input * strides`, of `"valid"` padding
    /// `(input - 1) * strides + max(kernel, strides)`; `output_padding` (set with
    /// [`Conv2DTranspose::output_padding`]) overrides the inferred extra rows/columns.
    /// Weights: `kernel` `(kh, kw, filters, channels)` and `bias` `(filters,)`.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([7, 7, 8]);
    /// let y = Conv2DTranspose::new(4, 3).strides(2).padding("same").apply(&x)?;
    /// assert_eq!(y.shape().keras_string(), "(None, 14, 14, 4)");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    Conv2DTranspose,
    "Conv2DTranspose",
    "conv2d_transpose",
    2,
    transposed = true
);

impl Conv2DTranspose {
    /// Sets the output padding (each entry smaller than the stride).
    pub fn output_padding(mut self, padding: impl crate::layers::Sizes) -> Self {
        self.args.output_padding = Some(padding.sizes(2));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use kiln_ir::Shape;

    #[test]
    fn output_sizes_follow_keras() {
        check_layer(
            &Conv2DTranspose::new(2, 3),
            &[Shape::batched([4, 5, 3])],
            Shape::batched([6, 7, 2]),
            56,
        );
        check_layer(
            &Conv2DTranspose::new(2, 3).strides(2).padding("same"),
            &[Shape::batched([4, 5, 3])],
            Shape::batched([8, 10, 2]),
            56,
        );
        check_layer(
            &Conv2DTranspose::new(2, 2).strides(3),
            &[Shape::batched([4, 4, 3])],
            Shape::batched([12, 12, 2]),
            26,
        );
        check_layer(
            &Conv2DTranspose::new(2, 3).strides(2).output_padding(1),
            &[Shape::batched([4, 4, 3])],
            Shape::batched([10, 10, 2]),
            56,
        );
    }
}
