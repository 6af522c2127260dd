//! `GRU`: gated recurrent unit.

use super::rnn::{Cell, RnnArgs, rnn_builders, rnn_layer_methods};
use crate::error::Result;
use crate::layer::Layer;
use crate::names::unique_name;
use serde::{Deserialize, Serialize};

/// Gated recurrent unit (Cho et al. 2014), as Keras's `GRU`: gates in Keras's order
/// z, r, h; `h = z * h + (1 - z) * activation(x W_h + r * (h U_h + b_h'))` with
/// `reset_after` (the default, cuDNN-compatible), or `activation(x W_h + (r * h) U_h + b_h)`
/// without.
///
/// # Arguments
/// `units`; `activation` (`"tanh"`), `recurrent_activation` (`"sigmoid"`), `use_bias`,
/// `kernel_initializer` (`"glorot_uniform"`), `recurrent_initializer` (`"orthogonal"`),
/// `bias_initializer` (`"zeros"`), `reset_after` (`true`), regularizers and constraints of
/// the three weights, `activity_regularizer`, `dropout` and `recurrent_dropout` (training
/// only, one mask per sequence; per gate with recurrent dropout, as Keras),
/// `return_sequences`, `return_state`, `go_backwards`, `unroll`, `zero_output_for_mask`.
/// `stateful` must stay `false`. See [`RnnArgs`].
///
/// # Shapes
/// Input `(batch, timesteps, features)` with a known number of timesteps. Output
/// `(batch, units)`, or `(batch, timesteps, units)` with `return_sequences`; with
/// `return_state` the final state follows. Weights `gru_cell/kernel` `(features, 3 units)`,
/// `gru_cell/recurrent_kernel` `(units, 3 units)`, `gru_cell/bias` `(2, 3 units)` (input and
/// recurrent biases) with `reset_after`, else `(3 units,)`.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([12, 3]);
/// let y = GRU::new(4).apply(&x)?;
/// let model = Model::new(&[&x], &[&y])?;
/// assert_eq!(model.count_params(), 3 * (3 * 4 + 4 * 4 + 2 * 4));
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GRU {
    /// The arguments every recurrent layer shares.
    #[serde(flatten)]
    pub args: RnnArgs,
    /// Activation of the gates z and r.
    pub recurrent_activation: String,
    /// Apply the reset gate after the recurrent matrix product (separate recurrent bias).
    pub reset_after: bool,
}

impl GRU {
    /// A `GRU` of `units` with Keras's defaults.
    pub fn new(units: usize) -> Self {
        GRU {
            args: RnnArgs::new(unique_name("gru"), units),
            recurrent_activation: "sigmoid".into(),
            reset_after: true,
        }
    }

    /// The gates' activation (default `"sigmoid"`).
    pub fn recurrent_activation(mut self, name: &str) -> Self {
        self.recurrent_activation = name.to_string();
        self
    }

    /// Reset gate after (default `true`) or before the recurrent matrix product.
    pub fn reset_after(mut self, yes: bool) -> Self {
        self.reset_after = yes;
        self
    }

    pub(crate) fn cell_kind(&self) -> Cell<'_> {
        Cell::Gru {
            recurrent_activation: &self.recurrent_activation,
            reset_after: self.reset_after,
        }
    }
}

rnn_builders!(GRU);

impl Layer for GRU {
    fn class_name(&self) -> &'static str {
        "GRU"
    }

    rnn_layer_methods!();
}

impl crate::keras::FromKeras for GRU {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = GRU {
            args: RnnArgs::from_keras(c, "gru")?,
            recurrent_activation: "sigmoid".into(),
            reset_after: true,
        };
        if let Some(a) = c.activation("recurrent_activation")? {
            layer.recurrent_activation = a;
        }
        if let Some(b) = c.bool("reset_after")? {
            layer.reset_after = b;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use kiln_ir::Shape;

    #[test]
    fn shapes_params_and_config() {
        check_layer(&GRU::new(3), &[Shape::batched([4, 2])], Shape::batched([3]), 63);
        check_layer(
            &GRU::new(3).reset_after(false).return_sequences(true),
            &[Shape::batched([4, 2])],
            Shape::batched([4, 3]),
            54,
        );
        check_layer(
            &GRU::new(2).dropout(0.5).recurrent_dropout(0.25).go_backwards(true),
            &[Shape::batched([3, 2])],
            Shape::batched([2]),
            36,
        );
        check_layer(
            &GRU::new(2).reset_after(false).recurrent_dropout(0.25).use_bias(false),
            &[Shape::batched([3, 2])],
            Shape::batched([2]),
            24,
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        let err = GRU::new(2)
            .name("g")
            .recurrent_activation("sigmod")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("layer 'g' (GRU): recurrent_activation: unknown activation 'sigmod'"),
            "{err}"
        );
    }
}
