//! Optimizers with Keras 3's defaults and update rules.

use crate::error::{KilnError, Result};
use kiln_ir::OptimizerKind;
use serde::{Deserialize, Serialize};

/// An optimizer: its update rule and learning rate.
///
/// It serialises (as the model file's `training.json` holds it) to its class, its
/// hyper-parameters and its current learning rate:
///
/// ```
/// use kiln::optimizers::{Adam, Optimizer};
/// let adam: Optimizer = Adam::new().learning_rate(0.01).into();
/// let json = serde_json::to_value(&adam).unwrap();
/// assert_eq!(json["class"], "adam");
/// assert_eq!(json["beta_1"], serde_json::json!(0.9f32));
/// assert_eq!(serde_json::from_value::<Optimizer>(json).unwrap(), adam);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Optimizer {
    /// The update rule and its hyper-parameters.
    #[serde(flatten)]
    pub kind: OptimizerKind,
    /// The learning rate (callbacks may change it during `fit`).
    pub learning_rate: f32,
}

/// Every optimizer name Kiln accepts.
pub const OPTIMIZER_NAMES: &[&str] = &["sgd", "adam", "rmsprop"];

impl Optimizer {
    /// The optimizer Keras knows by `name`, with its defaults.
    pub fn from_name(name: &str) -> Result<Optimizer> {
        match name.to_ascii_lowercase().as_str() {
            "sgd" => Ok(Sgd::new().into()),
            "adam" => Ok(Adam::new().into()),
            "rmsprop" => Ok(RmsProp::new().into()),
            _ => Err(KilnError::UnknownName {
                kind: "optimizer",
                name: name.into(),
                expected: OPTIMIZER_NAMES.join(", "),
            }),
        }
    }

    /// The Keras name.
    pub fn name(&self) -> &'static str {
        match self.kind {
            OptimizerKind::Sgd { .. } => "sgd",
            OptimizerKind::Adam { .. } => "adam",
            OptimizerKind::Rmsprop { .. } => "rmsprop",
        }
    }
}

/// An optimizer given by name or in full, as `compile` takes it.
#[derive(Clone, Debug, PartialEq)]
pub enum OptimizerArg {
    /// A Keras name.
    Name(String),
    /// A configured optimizer.
    Optimizer(Optimizer),
}

impl From<&str> for OptimizerArg {
    fn from(s: &str) -> Self {
        OptimizerArg::Name(s.into())
    }
}

macro_rules! optimizer_arg_from {
    ($($t:ty),*) => {$(
        impl From<$t> for OptimizerArg {
            fn from(o: $t) -> Self {
                OptimizerArg::Optimizer(o.into())
            }
        }
    )*};
}
optimizer_arg_from!(Optimizer, Sgd, Adam, RmsProp);

impl OptimizerArg {
    pub(crate) fn resolve(self) -> Result<Optimizer> {
        match self {
            OptimizerArg::Name(n) => Optimizer::from_name(&n),
            OptimizerArg::Optimizer(o) => Ok(o),
        }
    }
}

/// Stochastic gradient descent: `w -= lr * g`, or with momentum
/// `m = momentum * m - lr * g; w += m` (Nesterov: `w += momentum * m - lr * g`).
/// Defaults: `learning_rate=0.01`, `momentum=0`, `nesterov=false`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd {
    /// Learning rate.
    pub learning_rate: f32,
    /// Momentum.
    pub momentum: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl Sgd {
    /// Keras's defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Sgd {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false,
        }
    }
    /// Sets the learning rate.
    pub fn learning_rate(mut self, lr: f32) -> Self {
        self.learning_rate = lr;
        self
    }
    /// Sets the momentum.
    pub fn momentum(mut self, m: f32) -> Self {
        self.momentum = m;
        self
    }
    /// Uses Nesterov momentum.
    pub fn nesterov(mut self, n: bool) -> Self {
        self.nesterov = n;
        self
    }
}

impl From<Sgd> for Optimizer {
    fn from(o: Sgd) -> Self {
        Optimizer {
            kind: OptimizerKind::Sgd {
                momentum: o.momentum,
                nesterov: o.nesterov,
            },
            learning_rate: o.learning_rate,
        }
    }
}

/// Adam: `m += (g - m)(1 - β1)`, `v += (g² - v)(1 - β2)`,
/// `w -= lr·√(1-β2ᵗ)/(1-β1ᵗ) · m / (√v + ε)`; AMSGrad keeps the largest `v`.
/// Defaults: `learning_rate=0.001`, `beta_1=0.9`, `beta_2=0.999`, `epsilon=1e-7`.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    /// Learning rate.
    pub learning_rate: f32,
    /// First-moment decay.
    pub beta_1: f32,
    /// Second-moment decay.
    pub beta_2: f32,
    /// Denominator fuzz (outside the square root).
    pub epsilon: f32,
    /// AMSGrad variant.
    pub amsgrad: bool,
}

impl Adam {
    /// Keras's defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Adam {
            learning_rate: 0.001,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
        }
    }
    /// Sets the learning rate.
    pub fn learning_rate(mut self, lr: f32) -> Self {
        self.learning_rate = lr;
        self
    }
    /// Sets β1.
    pub fn beta_1(mut self, b: f32) -> Self {
        self.beta_1 = b;
        self
    }
    /// Sets β2.
    pub fn beta_2(mut self, b: f32) -> Self {
        self.beta_2 = b;
        self
    }
    /// Sets ε.
    pub fn epsilon(mut self, e: f32) -> Self {
        self.epsilon = e;
        self
    }
    /// Uses AMSGrad.
    pub fn amsgrad(mut self, a: bool) -> Self {
        self.amsgrad = a;
        self
    }
}

impl From<Adam> for Optimizer {
    fn from(o: Adam) -> Self {
        Optimizer {
            kind: OptimizerKind::Adam {
                beta_1: o.beta_1,
                beta_2: o.beta_2,
                epsilon: o.epsilon,
                amsgrad: o.amsgrad,
            },
            learning_rate: o.learning_rate,
        }
    }
}

/// RMSprop: `v = ρv + (1-ρ)g²`, `w -= lr · g / √(v + ε)` (centered: `√(v - ḡ² + ε)`),
/// optionally through a momentum accumulator.
/// Defaults: `learning_rate=0.001`, `rho=0.9`, `momentum=0`, `epsilon=1e-7`, `centered=false`.
#[derive(Clone, Debug, PartialEq)]
pub struct RmsProp {
    /// Learning rate.
    pub learning_rate: f32,
    /// Decay of the squared-gradient average.
    pub rho: f32,
    /// Momentum.
    pub momentum: f32,
    /// Fuzz inside the square root.
    pub epsilon: f32,
    /// Centered variant.
    pub centered: bool,
}

impl RmsProp {
    /// Keras's defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        RmsProp {
            learning_rate: 0.001,
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
        }
    }
    /// Sets the learning rate.
    pub fn learning_rate(mut self, lr: f32) -> Self {
        self.learning_rate = lr;
        self
    }
    /// Sets ρ.
    pub fn rho(mut self, r: f32) -> Self {
        self.rho = r;
        self
    }
    /// Sets the momentum.
    pub fn momentum(mut self, m: f32) -> Self {
        self.momentum = m;
        self
    }
    /// Sets ε.
    pub fn epsilon(mut self, e: f32) -> Self {
        self.epsilon = e;
        self
    }
    /// Uses the centered variant.
    pub fn centered(mut self, c: bool) -> Self {
        self.centered = c;
        self
    }
}

impl From<RmsProp> for Optimizer {
    fn from(o: RmsProp) -> Self {
        Optimizer {
            kind: OptimizerKind::Rmsprop {
                rho: o.rho,
                momentum: o.momentum,
                epsilon: o.epsilon,
                centered: o.centered,
            },
            learning_rate: o.learning_rate,
        }
    }
}
