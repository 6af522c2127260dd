//! Loss functions with Keras 3's formulas (`keras/src/losses/losses.py`), written as IR so
//! they run on every engine.
//!
//! Each loss computes a per-sample value and reduces it with Keras's default
//! `sum_over_batch_size`: the mean over every remaining element.

use crate::error::{KilnError, Result};
use crate::graph_ops::Ops;
use kiln_ir::{Activation, DType, Graph, Op, Shape, TensorType, UnaryOp, ValueId};
use serde::{Deserialize, Serialize};

/// Keras's fuzz factor, `keras.backend.epsilon()`.
pub const EPSILON: f32 = 1e-7;

/// A loss and its arguments.
///
/// ```
/// use kiln::losses::Loss;
/// assert_eq!(Loss::from_name("mse").unwrap(), Loss::MeanSquaredError);
/// assert_eq!(Loss::CategoricalCrossentropy { from_logits: true }.name(), "categorical_crossentropy");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Loss {
    /// `-sum(y_true * log(y_pred))` over the last axis; `y_true` one-hot.
    CategoricalCrossentropy {
        /// `y_pred` holds logits rather than probabilities.
        from_logits: bool,
    },
    /// Categorical cross-entropy with integer class labels.
    SparseCategoricalCrossentropy {
        /// `y_pred` holds logits rather than probabilities.
        from_logits: bool,
    },
    /// `-mean(y log p + (1 - y) log(1 - p))` over the last axis.
    BinaryCrossentropy {
        /// `y_pred` holds logits rather than probabilities.
        from_logits: bool,
    },
    /// `mean((y_pred - y_true)^2)` over the last axis.
    MeanSquaredError,
    /// `mean(|y_pred - y_true|)` over the last axis.
    MeanAbsoluteError,
    /// Quadratic below `delta`, linear above, averaged over the last axis.
    Huber {
        /// Where the loss turns linear (Keras default 1.0).
        delta: f32,
    },
}

/// Every loss name Kiln accepts.
pub const LOSS_NAMES: &[&str] = &[
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "huber",
];

impl Loss {
    /// The loss Keras knows by `name`, with its default arguments.
    pub fn from_name(name: &str) -> Result<Loss> {
        Ok(match name {
            "categorical_crossentropy" => Loss::CategoricalCrossentropy { from_logits: false },
            "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy { from_logits: false },
            "binary_crossentropy" => Loss::BinaryCrossentropy { from_logits: false },
            "mean_squared_error" | "mse" => Loss::MeanSquaredError,
            "mean_absolute_error" | "mae" => Loss::MeanAbsoluteError,
            "huber" | "huber_loss" => Loss::Huber { delta: 1.0 },
            other => {
                return Err(KilnError::UnknownName {
                    kind: "loss",
                    name: other.into(),
                    expected: LOSS_NAMES.join(", "),
                });
            }
        })
    }

    /// The Keras function name.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::CategoricalCrossentropy { .. } => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
            Loss::BinaryCrossentropy { .. } => "binary_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
            Loss::Huber { .. } => "huber",
        }
    }

    /// The type of `y_true` for predictions of type `pred`: integer labels without the
    /// class axis for the sparse loss, the prediction's type otherwise.
    pub fn target_type(&self, pred: &TensorType) -> TensorType {
        match self {
            Loss::SparseCategoricalCrossentropy { .. } => {
                let mut dims = pred.shape.dims().to_vec();
                dims.pop();
                TensorType::new(DType::I32, Shape(dims))
            }
            _ => pred.clone(),
        }
    }

    /// Emits the per-sample loss (`y_pred`'s shape without the last axis).
    pub(crate) fn emit_per_sample(&self, ops: &mut Ops, y_true: ValueId, y_pred: ValueId) -> Result<ValueId> {
        match *self {
            Loss::CategoricalCrossentropy { from_logits } => categorical(ops, y_true, y_pred, from_logits),
            Loss::SparseCategoricalCrossentropy { from_logits } => {
                let depth = ops.last_dim(y_pred).unwrap_or(1);
                let one_hot = ops.push(Op::OneHot { depth }, &[y_true])?;
                categorical(ops, one_hot, y_pred, from_logits)
            }
            Loss::BinaryCrossentropy { from_logits } => {
                let per_element = if from_logits {
                    // -(y log σ(x) + (1-y) log σ(-x)) = y softplus(-x) + (1-y) softplus(x)
                    let neg = ops.unary(UnaryOp::Neg, y_pred)?;
                    let sp_neg = ops.activation(Activation::Softplus, neg)?;
                    let sp_pos = ops.activation(Activation::Softplus, y_pred)?;
                    let a = ops.mul(y_true, sp_neg)?;
                    let one = ops.constant(1.0)?;
                    let not_y = ops.sub(one, y_true)?;
                    let b = ops.mul(not_y, sp_pos)?;
                    ops.add(a, b)?
                } else {
                    let p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)?;
                    let log_p = ops.unary(UnaryOp::Log, p)?;
                    let one = ops.constant(1.0)?;
                    let q = ops.sub(one, p)?;
                    let log_q = ops.unary(UnaryOp::Log, q)?;
                    let not_y = ops.sub(one, y_true)?;
                    let a = ops.mul(y_true, log_p)?;
                    let b = ops.mul(not_y, log_q)?;
                    let sum = ops.add(a, b)?;
                    ops.unary(UnaryOp::Neg, sum)?
                };
                ops.mean_last(per_element)
            }
            Loss::MeanSquaredError => {
                let d = ops.sub(y_pred, y_true)?;
                let sq = ops.unary(UnaryOp::Square, d)?;
                ops.mean_last(sq)
            }
            Loss::MeanAbsoluteError => {
                let d = ops.sub(y_pred, y_true)?;
                let abs = ops.unary(UnaryOp::Abs, d)?;
                ops.mean_last(abs)
            }
            Loss::Huber { delta } => {
                let d = ops.sub(y_pred, y_true)?;
                let abs = ops.unary(UnaryOp::Abs, d)?;
                let delta_v = ops.constant(delta)?;
                let quadratic = ops.binary(kiln_ir::BinaryOp::Minimum, abs, delta_v)?;
                let linear = ops.sub(abs, quadratic)?;
                let q2 = ops.unary(UnaryOp::Square, quadratic)?;
                let half_q2 = ops.scale(q2, 0.5)?;
                let lin = ops.scale(linear, delta)?;
                let total = ops.add(half_q2, lin)?;
                ops.mean_last(total)
            }
        }
    }

    /// Emits the reduced (scalar) loss under `label`; where the prediction carries a
    /// `mask` (a sequence output after `Embedding(mask_zero=True)`), masked steps do not
    /// count, as in Keras.
    pub(crate) fn emit(
        &self,
        g: &mut Graph,
        label: &str,
        y_true: ValueId,
        y_pred: ValueId,
        mask: Option<ValueId>,
    ) -> Result<ValueId> {
        let mut ops = Ops::new(g, label);
        let per_sample = self.emit_per_sample(&mut ops, y_true, y_pred)?;
        ops.masked_mean(per_sample, mask)
    }
}

fn categorical(ops: &mut Ops, y_true: ValueId, y_pred: ValueId, from_logits: bool) -> Result<ValueId> {
    let log_p = if from_logits {
        let axis = ops.rank(y_pred) - 1;
        ops.activation(Activation::LogSoftmax { axis }, y_pred)?
    } else {
        // Keras rescales so the probabilities sum to one, then clips.
        let total = ops.sum_last(y_pred, true)?;
        let p = ops.div(y_pred, total)?;
        let p = ops.clip(p, EPSILON, 1.0 - EPSILON)?;
        ops.unary(UnaryOp::Log, p)?
    };
    let prod = ops.mul(y_true, log_p)?;
    let sum = ops.sum_last(prod, false)?;
    ops.unary(UnaryOp::Neg, sum)
}
