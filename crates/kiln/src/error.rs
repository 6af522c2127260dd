//! Kiln's error type.

use kiln_burn::EngineError;
use kiln_ir::IrError;

/// Everything that can go wrong in Kiln's API. Messages name the layer, argument or
/// file involved, what was expected and what was received.
#[derive(Debug, thiserror::Error)]
pub enum KilnError {
    /// A layer argument is invalid (found when the layer is first used).
    #[error("layer '{layer}' ({class}): {message}")]
    Argument {
        /// Layer name.
        layer: String,
        /// Layer class (`Dense`, …).
        class: String,
        /// What is wrong, with the received value.
        message: String,
    },
    /// A layer cannot take the inputs it was connected to.
    #[error("layer '{layer}' ({class}) is incompatible with its input: {message}")]
    Incompatible {
        /// Layer name.
        layer: String,
        /// Layer class.
        class: String,
        /// Expected against received shapes.
        message: String,
    },
    /// A model is put together wrongly (no input, disconnected graph, …).
    #[error("model '{model}': {message}")]
    Model {
        /// Model name.
        model: String,
        /// What is wrong.
        message: String,
    },
    /// A name (loss, metric, optimizer, activation, initializer, device) that Kiln does
    /// not know.
    #[error("unknown {kind} '{name}'. Expected one of: {expected}")]
    UnknownName {
        /// What kind of name.
        kind: &'static str,
        /// The name received.
        name: String,
        /// The names accepted.
        expected: String,
    },
    /// Data passed to `fit`, `evaluate` or `predict` does not fit the model.
    #[error("{0}")]
    Data(String),
    /// `fit` or `evaluate` before `compile`.
    #[error("model '{0}' must be compiled before training or evaluation: call compile(optimizer, loss, metrics) first")]
    NotCompiled(String),
    /// A device string that cannot be used here.
    #[error("{0}")]
    Device(String),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A dataset of [`crate::datasets`] cannot be loaded: its files are missing (the message
    /// lists every path tried and how to get them) or do not agree with each other.
    #[error("dataset '{name}': {message}")]
    Dataset {
        /// The dataset (`mnist`, `fashion_mnist`).
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A Keras layer configuration Kiln cannot build (unknown class, unsupported or
    /// malformed argument).
    #[error("Keras layer {class}: {message}")]
    Keras {
        /// The Keras class name.
        class: String,
        /// What is wrong, naming the argument.
        message: String,
    },
    /// A tensor's data does not fit its shape.
    #[error(transparent)]
    Tensor(#[from] kiln_ir::SizeMismatch),
    /// The IR refused a graph.
    #[error(transparent)]
    Ir(#[from] IrError),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A callback failed.
    #[error("callback '{callback}': {message}")]
    Callback {
        /// The callback.
        callback: String,
        /// What failed.
        message: String,
    },
}

/// `Result` with [`KilnError`].
pub type Result<T, E = KilnError> = std::result::Result<T, E>;
