//! `LSTM`: long short-term memory.

use super::rnn::{Cell, RnnArgs, rnn_builders, rnn_layer_methods};
use crate::error::Result;
use crate::layer::Layer;
use crate::names::unique_name;
use serde::{Deserialize, Serialize};

/// Long short-term memory layer (Hochreiter & Schmidhuber 1997), as Keras's `LSTM`:
/// gates in Keras's order i, f, c, o;
/// `c = f * c + i * activation(x W_c + h U_c + b_c)`, `h = o * activation(c)`.
///
/// # Arguments
/// `units`; `activation` (`"tanh"`), `recurrent_activation` (`"sigmoid"`), `use_bias`,
/// `kernel_initializer` (`"glorot_uniform"`), `recurrent_initializer` (`"orthogonal"`),
/// `bias_initializer` (`"zeros"`), `unit_forget_bias` (`true`: the forget gate's bias
/// starts at 1), regularizers and constraints of the three weights,
/// `activity_regularizer`, `dropout` and `recurrent_dropout` (training only, one mask per
/// sequence; per gate with recurrent dropout, as Keras), `return_sequences`,
/// `return_state`, `go_backwards`, `unroll`, `zero_output_for_mask`. `stateful` must stay
/// `false`. See [`RnnArgs`].
///
/// # Shapes
/// Input `(batch, timesteps, features)` with a known number of timesteps (the loop is
/// unrolled when the model is built). Output `(batch, units)`, or `(batch, timesteps,
/// units)` with `return_sequences`; with `return_state` the final `h` and `c` follow.
/// Weights `lstm_cell/kernel` `(features, 4 units)`, `lstm_cell/recurrent_kernel`
/// `(units, 4 units)`, `lstm_cell/bias` `(4 units,)`. Masked steps (from `Masking` or
/// `Embedding(mask_zero)`) keep the previous states.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([12, 3]);
/// let h = LSTM::new(8).return_sequences(true).apply(&x)?;
/// let y = LSTM::new(4).apply(&h)?;
/// assert_eq!(y.shape().keras_string(), "(None, 4)");
/// let model = Model::new(&[&x], &[&y])?;
/// assert_eq!(model.count_params(), 4 * (3 * 8 + 8 * 8 + 8) + 4 * (8 * 4 + 4 * 4 + 4));
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LSTM {
    /// The arguments every recurrent layer shares.
    #[serde(flatten)]
    pub args: RnnArgs,
    /// Activation of the gates i, f, o.
    pub recurrent_activation: String,
    /// Start the forget gate's bias at 1 (added to `bias_initializer`'s values).
    pub unit_forget_bias: bool,
}

impl LSTM {
    /// An `LSTM` of `units` with Keras's defaults.
    pub fn new(units: usize) -> Self {
        LSTM {
            args: RnnArgs::new(unique_name("lstm"), units),
            recurrent_activation: "sigmoid".into(),
            unit_forget_bias: true,
        }
    }

    /// The gates' activation (default `"sigmoid"`).
    pub fn recurrent_activation(mut self, name: &str) -> Self {
        self.recurrent_activation = name.to_string();
        self
    }

    /// Whether the forget gate's bias starts at 1 (default `true`).
    pub fn unit_forget_bias(mut self, yes: bool) -> Self {
        self.unit_forget_bias = yes;
        self
    }

    pub(crate) fn cell_kind(&self) -> Cell<'_> {
        Cell::Lstm {
            recurrent_activation: &self.recurrent_activation,
            unit_forget_bias: self.unit_forget_bias,
        }
    }
}

rnn_builders!(LSTM);

impl Layer for LSTM {
    fn class_name(&self) -> &'static str {
        "LSTM"
    }

    rnn_layer_methods!();
}

impl crate::keras::FromKeras for LSTM {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = LSTM {
            args: RnnArgs::from_keras(c, "lstm")?,
            recurrent_activation: "sigmoid".into(),
            unit_forget_bias: true,
        };
        if let Some(a) = c.activation("recurrent_activation")? {
            layer.recurrent_activation = a;
        }
        if let Some(b) = c.bool("unit_forget_bias")? {
            layer.unit_forget_bias = b;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use crate::model::{Apply, Input, Model};
    use kiln_ir::Shape;

    #[test]
    fn shapes_params_and_config() {
        check_layer(&LSTM::new(3), &[Shape::batched([4, 2])], Shape::batched([3]), 72);
        check_layer(
            &LSTM::new(3).return_sequences(true).go_backwards(true).use_bias(false),
            &[Shape::batched([4, 2])],
            Shape::batched([4, 3]),
            60,
        );
        check_layer(
            &LSTM::new(2)
                .dropout(0.25)
                .recurrent_dropout(0.5)
                .unit_forget_bias(false),
            &[Shape::batched([3, 2])],
            Shape::batched([2]),
            40,
        );
    }

    #[test]
    fn the_forget_bias_starts_at_one() {
        let x = Input::new([2, 3]);
        let y = LSTM::new(2).apply(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let w = model.get_weights().unwrap();
        assert_eq!(model.weight_names()[2], format!("{}/lstm_cell/bias", y.producer_name()));
        assert_eq!(w[2].to_f32(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn return_state_gives_h_and_c() {
        let x = Input::new([3, 2]);
        let outs = LSTM::new(4).return_state(true).apply_all(&[&x]).unwrap();
        let shapes: Vec<String> = outs.iter().map(|t| t.shape().keras_string()).collect();
        assert_eq!(shapes, ["(None, 4)", "(None, 4)", "(None, 4)"]);
    }

    #[test]
    fn keras_configs_are_read() {
        let layer = crate::keras::layer_from_config(
            "LSTM",
            &serde_json::json!({
                "name": "lstm_7", "trainable": true, "units": 3, "activation": "tanh",
                "recurrent_activation": "sigmoid", "use_bias": true,
                "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}},
                "recurrent_initializer": {"module": "keras.initializers", "class_name": "Orthogonal", "config": {"gain": 1.0, "seed": null}},
                "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}},
                "unit_forget_bias": true, "kernel_regularizer": null, "recurrent_regularizer": null,
                "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null,
                "recurrent_constraint": null, "bias_constraint": null, "dropout": 0.0,
                "recurrent_dropout": 0.0, "seed": null, "return_sequences": false,
                "return_state": false, "go_backwards": false, "stateful": false, "unroll": false,
                "zero_output_for_mask": false
            }),
        )
        .unwrap();
        assert_eq!(layer.name(), "lstm_7");
        assert_eq!(layer.config()["recurrent_initializer"]["class"], "orthogonal");
    }
}
