//! Activation functions by their Keras names (`keras.activations`).

use crate::error::{KilnError, Result};
use kiln_ir::{Activation, Op, TensorType};

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
    "relu6",
    "celu",
    "glu",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "hard_shrink",
    "soft_shrink",
    "log_sigmoid",
    "mish",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "tanh_shrink",
    "threshold",
];

/// The activation named `name` with Keras's default arguments, for an input of `rank`
/// (softmax, log_softmax, sparsemax and glu work on the last axis; glu halves it).
///
/// `"threshold"` is a Keras name without defaults (`keras.activations.threshold(x,
/// threshold, default_value)`): it is refused here, as calling it without arguments fails
/// in Keras; build [`Activation::Threshold`] in the IR to use it.
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
        "relu6" => Activation::Relu6,
        "celu" => Activation::Celu { alpha: 1.0 },
        "glu" => Activation::Glu { axis: last },
        "hard_silu" | "hard_swish" => Activation::HardSilu,
        "hard_tanh" => Activation::HardTanh,
        "hard_shrink" => Activation::HardShrink { threshold: 0.5 },
        "soft_shrink" => Activation::SoftShrink { threshold: 0.5 },
        "log_sigmoid" => Activation::LogSigmoid,
        "mish" => Activation::Mish,
        "sparse_plus" => Activation::SparsePlus,
        "sparse_sigmoid" => Activation::SparseSigmoid,
        "sparsemax" => Activation::Sparsemax { axis: last },
        "squareplus" => Activation::Squareplus { b: 4.0 },
        "tanh_shrink" => Activation::TanhShrink,
        "threshold" => {
            return Err(KilnError::Data(
                "activation 'threshold' has no default arguments: keras.activations.threshold(x, threshold, default_value) needs both (build kiln::ir::Activation::Threshold to use it)".into(),
            ));
        }
        other => {
            return Err(KilnError::UnknownName {
                kind: "activation",
                name: other.to_string(),
                expected: ACTIVATION_NAMES.join(", "),
            });
        }
    })
}

/// The type `kind` gives for an input of type `input`: the input's, except that glu halves
/// its axis. Errors (an axis out of range, an odd glu axis) are the IR's messages.
pub(crate) fn output_type(kind: Activation, input: &TensorType) -> std::result::Result<TensorType, String> {
    Op::Activation { kind }.infer(&[input])
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_ir::Shape;

    #[test]
    fn every_name_is_known_and_aliases_agree() {
        for name in ACTIVATION_NAMES {
            match activation(name, 2) {
                Ok(kind) => assert!(
                    kind.name() == *name || matches!(*name, "swish" | "hard_swish"),
                    "{name}"
                ),
                Err(e) => assert_eq!(*name, "threshold", "{name}: {e}"),
            }
        }
        assert_eq!(activation("swish", 2).unwrap(), activation("silu", 2).unwrap());
        assert_eq!(
            activation("hard_swish", 2).unwrap(),
            activation("hard_silu", 2).unwrap()
        );
        assert_eq!(activation("", 2).unwrap(), Activation::Linear);
        let err = activation("threshold", 2).unwrap_err().to_string();
        assert!(err.contains("needs both"), "{err}");
    }

    #[test]
    fn keras_defaults() {
        assert_eq!(
            activation("leaky_relu", 2).unwrap(),
            Activation::LeakyRelu { negative_slope: 0.2 }
        );
        assert_eq!(activation("gelu", 2).unwrap(), Activation::Gelu { approximate: false });
        assert_eq!(activation("squareplus", 2).unwrap(), Activation::Squareplus { b: 4.0 });
        assert_eq!(
            activation("soft_shrink", 2).unwrap(),
            Activation::SoftShrink { threshold: 0.5 }
        );
        assert_eq!(activation("sparsemax", 3).unwrap(), Activation::Sparsemax { axis: 2 });
    }

    #[test]
    fn glu_halves_its_axis() {
        let x = TensorType::f32(Shape::batched([3, 6]));
        let glu = activation("glu", 3).unwrap();
        assert_eq!(output_type(glu, &x).unwrap(), TensorType::f32(Shape::batched([3, 3])));
        assert_eq!(
            output_type(Activation::Glu { axis: 0 }, &x).unwrap(),
            TensorType::f32(Shape::batched([3, 6]))
        );
        let err = output_type(Activation::Glu { axis: 1 }, &x).unwrap_err();
        assert_eq!(
            err,
            "glu splits axis 1 into two halves: its size must be even, received f32[?,3,6]"
        );
        let tanh = activation("tanh", 3).unwrap();
        assert_eq!(output_type(tanh, &x).unwrap(), x);
    }
}
