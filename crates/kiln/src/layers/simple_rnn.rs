//! `SimpleRNN`: a fully connected recurrent layer.

use super::rnn::{Cell, RnnArgs, rnn_builders, rnn_layer_methods};
use crate::error::Result;
use crate::layer::Layer;
use crate::names::unique_name;
use serde::{Deserialize, Serialize};

/// Fully connected recurrent layer, as Keras's `SimpleRNN`: at each timestep
/// `h = activation(x W + h U + b)`, from zero states.
///
/// # Arguments
/// `units`; `activation` (`"tanh"`), `use_bias`, `kernel_initializer`
/// (`"glorot_uniform"`), `recurrent_initializer` (`"orthogonal"`), `bias_initializer`
/// (`"zeros"`), regularizers and constraints of the three weights, `activity_regularizer`,
/// `dropout` and `recurrent_dropout` (training only, one mask per sequence),
/// `return_sequences`, `return_state`, `go_backwards`, `unroll`, `zero_output_for_mask`.
/// `stateful` must stay `false`. See [`RnnArgs`].
///
/// # Shapes
/// Input `(batch, timesteps, features)`, with a known number of timesteps: Kiln unrolls
/// the loop when the model is built. Output `(batch, units)`, or `(batch, timesteps,
/// units)` with `return_sequences`; with `return_state` the final state `(batch, units)`
/// follows. Weights `simple_rnn_cell/kernel` `(features, units)`,
/// `simple_rnn_cell/recurrent_kernel` `(units, units)`, `simple_rnn_cell/bias` `(units,)`.
/// A mask on the input (from `Masking` or `Embedding(mask_zero)`) makes masked steps keep
/// the previous state.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([10, 8]);
/// let y = SimpleRNN::new(4).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 4)");
/// let outs = SimpleRNN::new(4).return_sequences(true).return_state(true).apply_all(&[&x])?;
/// assert_eq!(outs[0].shape().keras_string(), "(None, 10, 4)");
/// assert_eq!(outs[1].shape().keras_string(), "(None, 4)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimpleRNN {
    /// The arguments.
    pub args: RnnArgs,
}

impl SimpleRNN {
    /// A `SimpleRNN` of `units` with Keras's defaults.
    pub fn new(units: usize) -> Self {
        SimpleRNN {
            args: RnnArgs::new(unique_name("simple_rnn"), units),
        }
    }

    pub(crate) fn cell_kind(&self) -> Cell<'_> {
        Cell::Simple
    }
}

rnn_builders!(SimpleRNN);

impl Layer for SimpleRNN {
    fn class_name(&self) -> &'static str {
        "SimpleRNN"
    }

    rnn_layer_methods!();
}

impl crate::keras::FromKeras for SimpleRNN {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        Ok(SimpleRNN {
            args: RnnArgs::from_keras(c, "simple_rnn")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use crate::model::{Apply, Input, Model};
    use kiln_ir::{Shape, TensorType};

    #[test]
    fn shapes_params_and_config() {
        check_layer(&SimpleRNN::new(3), &[Shape::batched([4, 2])], Shape::batched([3]), 18);
        check_layer(
            &SimpleRNN::new(3)
                .return_sequences(true)
                .use_bias(false)
                .go_backwards(true),
            &[Shape::batched([4, 2])],
            Shape::batched([4, 3]),
            15,
        );
        check_layer(
            &SimpleRNN::new(2).activation("relu").dropout(0.5).recurrent_dropout(0.5),
            &[Shape::batched([3, 2])],
            Shape::batched([2]),
            10,
        );
    }

    #[test]
    fn return_state_gives_the_last_state() {
        let x = Input::new([5, 2]);
        let outs = SimpleRNN::new(3).return_state(true).apply_all(&[&x]).unwrap();
        assert_eq!(outs.len(), 2);
        let model = Model::new(&[&x], &[&outs[0], &outs[1]]).unwrap();
        let xs = crate::Tensor::from_f32((0..20).map(|i| (i as f32 * 0.3).sin()).collect(), vec![2, 5, 2]).unwrap();
        let ys = model.predict_multi(xs, Default::default()).unwrap();
        assert_eq!(ys[0].to_f32(), ys[1].to_f32());
    }

    #[test]
    fn bad_arguments_and_inputs_are_named() {
        let err = SimpleRNN::new(0).name("r").validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 'r' (SimpleRNN): Received an invalid value for argument `units`, expected a positive integer, got 0."
        );
        let err = SimpleRNN::new(2)
            .name("r")
            .stateful(true)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("stateful=True is not supported"), "{err}");
        let err = SimpleRNN::new(2)
            .name("r")
            .compute_output_shape(&[TensorType::f32(Shape::batched([3]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'r' (SimpleRNN) is incompatible with its input: expected ndim=3, found ndim=2. Full shape received: (None, 3) (recurrent layers take (batch, timesteps, features))"
        );
        let err = SimpleRNN::new(2)
            .name("r")
            .compute_output_shape(&[TensorType::f32(Shape(vec![None, None, Some(3)]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("the number of timesteps must be known"), "{err}");
        let err = crate::keras::layer_from_config("SimpleRNN", &serde_json::json!({"units": 2, "stateful": true}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("argument `stateful`"), "{err}");
    }
}
