//! Metrics, averaged over the samples of an epoch as Keras's `MeanMetricWrapper` does.

use crate::error::{KilnError, Result};
use crate::graph_ops::Ops;
use crate::losses::Loss;
use kiln_ir::{CompareOp, DType, Graph, Op, TensorType, UnaryOp, ValueId};
use serde::{Deserialize, Serialize};

/// A metric function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Metric {
    /// `argmax(y_true) == argmax(y_pred)`.
    CategoricalAccuracy,
    /// `y_true == argmax(y_pred)` with integer labels.
    SparseCategoricalAccuracy,
    /// `y_true == (y_pred > threshold)`, averaged over the last axis.
    BinaryAccuracy {
        /// Decision threshold (Keras default 0.5).
        threshold: f32,
    },
    /// Mean squared error.
    MeanSquaredError,
    /// Mean absolute error.
    MeanAbsoluteError,
}

/// Every metric name Kiln accepts.
pub const METRIC_NAMES: &[&str] = &[
    "accuracy",
    "acc",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "binary_accuracy",
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
];

/// A metric with the name it is logged under (the name it was asked for, as in Keras).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamedMetric {
    /// Log key.
    pub name: String,
    /// The function.
    pub metric: Metric,
}

impl Metric {
    /// Resolves `name` for an output trained with `loss` and predicting `pred`.
    /// `"accuracy"` becomes binary, sparse categorical or categorical accuracy as Keras
    /// decides: binary when the prediction has one column or the loss is binary
    /// cross-entropy, sparse when the labels are integers, categorical otherwise.
    pub fn resolve(name: &str, loss: &Loss, pred: &TensorType) -> Result<Metric> {
        Ok(match name {
            "accuracy" | "acc" => {
                if pred.shape.last().flatten() == Some(1) || matches!(loss, Loss::BinaryCrossentropy { .. }) {
                    Metric::BinaryAccuracy { threshold: 0.5 }
                } else if matches!(loss, Loss::SparseCategoricalCrossentropy { .. }) {
                    Metric::SparseCategoricalAccuracy
                } else {
                    Metric::CategoricalAccuracy
                }
            }
            "categorical_accuracy" => Metric::CategoricalAccuracy,
            "sparse_categorical_accuracy" => Metric::SparseCategoricalAccuracy,
            "binary_accuracy" => Metric::BinaryAccuracy { threshold: 0.5 },
            "mean_squared_error" | "mse" => Metric::MeanSquaredError,
            "mean_absolute_error" | "mae" => Metric::MeanAbsoluteError,
            other => {
                return Err(KilnError::UnknownName {
                    kind: "metric",
                    name: other.into(),
                    expected: METRIC_NAMES.join(", "),
                });
            }
        })
    }

    /// Emits the batch mean of the metric (over the unmasked steps where the prediction
    /// carries a `mask`).
    pub(crate) fn emit(
        &self,
        g: &mut Graph,
        label: &str,
        y_true: ValueId,
        y_pred: ValueId,
        mask: Option<ValueId>,
    ) -> Result<ValueId> {
        let mut ops = Ops::new(g, label);
        let per_sample = match *self {
            Metric::CategoricalAccuracy => {
                let t = ops.argmax_last(y_true)?;
                let p = ops.argmax_last(y_pred)?;
                ops.compare(CompareOp::Equal, t, p)?
            }
            Metric::SparseCategoricalAccuracy => {
                let p = ops.argmax_last(y_pred)?;
                let t = if ops.dtype(y_true) == DType::I32 {
                    y_true
                } else {
                    ops.push(Op::Cast { to: DType::I32 }, &[y_true])?
                };
                ops.compare(CompareOp::Equal, t, p)?
            }
            Metric::BinaryAccuracy { threshold } => {
                let th = ops.constant(threshold)?;
                let decided = ops.compare(CompareOp::Greater, y_pred, th)?;
                let hit = ops.compare(CompareOp::Equal, y_true, decided)?;
                ops.mean_last(hit)?
            }
            Metric::MeanSquaredError => {
                let d = ops.sub(y_pred, y_true)?;
                let sq = ops.unary(UnaryOp::Square, d)?;
                ops.mean_last(sq)?
            }
            Metric::MeanAbsoluteError => {
                let d = ops.sub(y_pred, y_true)?;
                let abs = ops.unary(UnaryOp::Abs, d)?;
                ops.mean_last(abs)?
            }
        };
        ops.masked_mean(per_sample, mask)
    }
}
