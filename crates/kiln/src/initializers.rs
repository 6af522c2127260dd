//! Weight initializers by their Keras names (`keras.initializers`).

use crate::error::{KilnError, Result};
pub use kiln_ir::Initializer;

/// Every initializer name Kiln accepts.
pub const INITIALIZER_NAMES: &[&str] = &[
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "zeros",
    "ones",
];

/// An initializer given by name (Keras defaults for its arguments) or in full.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum InitializerArg {
    /// A Keras name such as `"he_normal"`.
    Name(String),
    /// A fully specified initializer.
    Spec(Initializer),
}

impl From<&str> for InitializerArg {
    fn from(s: &str) -> Self {
        InitializerArg::Name(s.to_string())
    }
}

impl From<Initializer> for InitializerArg {
    fn from(i: Initializer) -> Self {
        InitializerArg::Spec(i)
    }
}

impl InitializerArg {
    /// Resolves the name (Keras's defaults: `random_normal` has stddev 0.05,
    /// `random_uniform` the range ±0.05).
    pub fn resolve(&self) -> Result<Initializer> {
        let name = match self {
            InitializerArg::Spec(i) => return Ok(i.clone()),
            InitializerArg::Name(n) => n.as_str(),
        };
        Ok(match name {
            "glorot_uniform" => Initializer::GlorotUniform,
            "glorot_normal" => Initializer::GlorotNormal,
            "he_normal" => Initializer::HeNormal,
            "he_uniform" => Initializer::HeUniform,
            "lecun_normal" => Initializer::LecunNormal,
            "lecun_uniform" => Initializer::LecunUniform,
            "orthogonal" => Initializer::Orthogonal { gain: 1.0 },
            // Keras's aliases "normal" and "uniform" (Embedding's default).
            "random_normal" | "normal" => Initializer::RandomNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "random_uniform" | "uniform" => Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            "truncated_normal" => Initializer::TruncatedNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "zeros" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            other => {
                return Err(KilnError::UnknownName {
                    kind: "initializer",
                    name: other.to_string(),
                    expected: INITIALIZER_NAMES.join(", "),
                });
            }
        })
    }
}
