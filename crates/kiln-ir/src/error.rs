//! The IR's error type.

use crate::entities::ValueId;

/// An error raised while building, checking or reading a graph.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IrError {
    /// An op received operands it cannot take.
    #[error("{label}: {op} {message}")]
    Op {
        /// The layer or place that emitted the op.
        label: String,
        /// The op as printed in the text IR.
        op: String,
        /// What is wrong.
        message: String,
    },
    /// A value id that the graph does not hold.
    #[error("unknown value {0}")]
    UnknownValue(ValueId),
    /// A parameter whose initial data does not fit it.
    #[error("parameter '{name}': {message}")]
    Param {
        /// Parameter name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The verifier found problems (one line each).
    #[error("the graph failed verification:\n{}", .0.join("\n"))]
    Verify(Vec<String>),
    /// A serialized graph could not be read.
    #[error("cannot read the graph: {0}")]
    Format(String),
}
