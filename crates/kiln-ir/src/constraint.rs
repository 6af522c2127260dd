//! Weight constraints, applied to a parameter after every optimizer step.

use serde::{Deserialize, Serialize};

/// A projection applied to a weight after each update, as `keras.constraints`.
///
/// Norms are taken over `axes` (Keras's `axis`; for a `Dense` kernel `[0]`, for a
/// `Conv2D` kernel `[0, 1, 2]`), with Keras's epsilon `1e-7` in the denominator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class_name", rename_all = "snake_case")]
pub enum Constraint {
    /// Rescales to norm at most `max_value`.
    MaxNorm {
        /// Largest norm.
        max_value: f32,
        /// Axes the norm is taken over.
        axes: Vec<usize>,
    },
    /// Sets negative entries to zero.
    NonNeg,
    /// Rescales to norm 1.
    UnitNorm {
        /// Axes the norm is taken over.
        axes: Vec<usize>,
    },
    /// Rescales the norm into `[min_value, max_value]`, moving `rate` of the way.
    MinMaxNorm {
        /// Smallest norm.
        min_value: f32,
        /// Largest norm.
        max_value: f32,
        /// Fraction of the way to the clipped norm (1 = all the way).
        rate: f32,
        /// Axes the norm is taken over.
        axes: Vec<usize>,
    },
}

impl Constraint {
    /// Keras's epsilon in the norm's denominator.
    pub const EPSILON: f32 = 1e-7;

    /// The axes the norm is taken over (empty for element-wise constraints).
    pub fn axes(&self) -> &[usize] {
        match self {
            Constraint::MaxNorm { axes, .. } | Constraint::UnitNorm { axes } | Constraint::MinMaxNorm { axes, .. } => {
                axes
            }
            Constraint::NonNeg => &[],
        }
    }
}
