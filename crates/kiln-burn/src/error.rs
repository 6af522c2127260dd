//! The lowering's error type.

/// An error raised while compiling or running a plan.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The graph cannot be lowered (an op or rank the lowering does not support).
    #[error("cannot compile the graph for {engine}: {message}")]
    Unsupported {
        /// The engine.
        engine: String,
        /// What is unsupported.
        message: String,
    },
    /// An input tensor does not fit the graph.
    #[error("{0}")]
    Input(String),
    /// The graph itself is invalid.
    #[error(transparent)]
    Ir(#[from] kiln_ir::IrError),
    /// The engine failed while running.
    #[error("the {engine} engine failed: {message}")]
    Engine {
        /// The engine.
        engine: String,
        /// Its message.
        message: String,
    },
}
