//! Activation functions by their Keras names (`keras.activations`).

use crate::error::{KilnError, Result};
use kiln_ir::Activation;

/// Every activation name Kiln accepts, as Keras spells them.
pub const ACTIVATION_NAMES: &[&str] = &[
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "gelu",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "silu",
    "swish",
    "leaky_relu",
    "hard_sigmoid",
    "exponential",
];

/// The activation named `name` with Keras's default arguments, for an input of `rank`
/// (softmax and log_softmax work on the last axis).
///
/// ```
/// use kiln::activations::activation;
/// assert!(activation("relu", 2).is_ok());
/// let err = activation("rellu", 2).unwrap_err().to_string();
/// assert!(err.starts_with("unknown activation 'rellu'. Expected one of: linear, relu"));
/// ```
pub fn activation(name: &str, rank: usize) -> Result<Activation> {
    let last = rank.saturating_sub(1);
    Ok(match name {
        "linear" | "" => Activation::Linear,
        "relu" => Activation::Relu,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "softmax" => Activation::Softmax { axis: last },
        "log_softmax" => Activation::LogSoftmax { axis: last },
        "gelu" => Activation::Gelu { approximate: false },
        "elu" => Activation::Elu { alpha: 1.0 },
        "selu" => Activation::Selu,
        "softplus" => Activation::Softplus,
        "softsign" => Activation::Softsign,
        "silu" | "swish" => Activation::Silu,
        "leaky_relu" => Activation::LeakyRelu { negative_slope: 0.2 },
        "hard_sigmoid" => Activation::HardSigmoid,
        "exponential" => Activation::Exponential,
        other => {
            return Err(KilnError::UnknownName {
                kind: "activation",
                name: other.to_string(),
                expected: ACTIVATION_NAMES.join(", "),
            });
        }
    })
}
