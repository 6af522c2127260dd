//! Portable optimizer descriptions: hyper-parameters and the names of their state slots.
//!
//! The update rules are Keras 3's (`keras/src/optimizers/*.py`); the lowering implements
//! them on each engine.

use serde::{Deserialize, Serialize};

/// An optimizer and its hyper-parameters (the learning rate is passed per step, so
/// schedules and `ReduceLROnPlateau` can change it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Stochastic gradient descent with optional (Nesterov) momentum.
    Sgd {
        /// Momentum factor (0 disables it).
        momentum: f32,
        /// Use Nesterov momentum.
        nesterov: bool,
    },
    /// Adam, optionally AMSGrad.
    Adam {
        /// Decay of the first moment.
        beta_1: f32,
        /// Decay of the second moment.
        beta_2: f32,
        /// Added to the denominator's square root.
        epsilon: f32,
        /// Keep the maximum of past second moments.
        amsgrad: bool,
    },
    /// RMSprop, optionally centered and with momentum.
    Rmsprop {
        /// Decay of the moving average of squared gradients.
        rho: f32,
        /// Momentum factor (0 disables it).
        momentum: f32,
        /// Added to the denominator before the square root.
        epsilon: f32,
        /// Divide by the gradient's estimated variance instead of its second moment.
        centered: bool,
    },
}

impl OptimizerKind {
    /// The per-parameter state slots this optimizer keeps, in order.
    pub fn slots(&self) -> Vec<&'static str> {
        match self {
            OptimizerKind::Sgd { momentum, .. } if *momentum != 0.0 => vec!["momentum"],
            OptimizerKind::Sgd { .. } => vec![],
            OptimizerKind::Adam { amsgrad: true, .. } => {
                vec!["momentum", "velocity", "velocity_hat"]
            }
            OptimizerKind::Adam { .. } => vec!["momentum", "velocity"],
            OptimizerKind::Rmsprop { momentum, centered, .. } => {
                let mut s = vec!["velocity"];
                if *momentum > 0.0 {
                    s.push("momentum");
                }
                if *centered {
                    s.push("average_gradient");
                }
                s
            }
        }
    }
}
