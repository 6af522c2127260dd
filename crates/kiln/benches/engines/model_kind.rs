//! The three benchmark models the benches share.

/// The benchmark models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// Dense 784-128-64-10.
    Mlp,
    /// Two convolution + pooling blocks, then dense 10.
    Cnn,
    /// LSTM 128 over 28 rows, then dense 10.
    Lstm,
}

impl ModelKind {
    /// Every model, in the order they run.
    pub const ALL: [ModelKind; 3] = [ModelKind::Mlp, ModelKind::Cnn, ModelKind::Lstm];

    /// The name in group ids and tables.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Cnn => "cnn",
            ModelKind::Lstm => "lstm",
        }
    }
}
