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
}
