//! Shared logic of callbacks that watch a logged quantity.

use serde::{Deserialize, Serialize};

/// Whether a monitored quantity should go down (`Min`), up (`Max`), or be guessed from
/// its name (`Auto`: up for accuracy-like names, down otherwise), as in Keras.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Mode {
    /// Guess from the name.
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl Mode {
    /// `true` when higher values of `monitor` are better.
    pub(crate) fn higher_is_better(self, monitor: &str) -> bool {
        match self {
            Mode::Min => false,
            Mode::Max => true,
            Mode::Auto => {
                monitor.ends_with("acc")
                    || monitor.ends_with("accuracy")
                    || monitor.ends_with("auc")
                    || monitor.starts_with("fmeasure")
            }
        }
    }

    /// The worst possible value of `monitor`, where a search for its best starts.
    pub(crate) fn worst(self, monitor: &str) -> f64 {
        if self.higher_is_better(monitor) {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    }

    /// Whether `value` beats `reference` by more than `min_delta` (≥ 0) for `monitor`.
    pub(crate) fn improves(self, monitor: &str, value: f64, reference: f64, min_delta: f64) -> bool {
        if self.higher_is_better(monitor) {
            value > reference + min_delta
        } else {
            value < reference - min_delta
        }
    }
}
