//! Options of `fit`, `evaluate` and `predict`, with Keras's defaults.

use crate::callbacks::Callback;
use crate::fit::Data;

/// Options of [`Model::fit`](crate::Model::fit).
///
/// ```
/// use kiln::FitOptions;
/// let opts = FitOptions::new().epochs(10).batch_size(64).validation_split(0.1).verbose(2);
/// ```
pub struct FitOptions {
    /// Samples per gradient step (default 32).
    pub batch_size: usize,
    /// Number of epochs (default 1).
    pub epochs: usize,
    /// 0 = silent, 1 = progress bar, 2 = one line per epoch (default 1).
    pub verbose: u8,
    /// Shuffle the training samples before each epoch (default true; seeded).
    pub shuffle: bool,
    /// Fraction of the samples (taken from the end, before shuffling) held out for
    /// validation (default 0).
    pub validation_split: f32,
    /// Explicit validation inputs and targets (takes precedence over the split).
    pub validation_data: Option<(Data, Data)>,
    /// Callbacks, called in order.
    pub callbacks: Vec<Box<dyn Callback>>,
    /// Epoch to start from (for resuming; default 0).
    pub initial_epoch: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            batch_size: 32,
            epochs: 1,
            verbose: 1,
            shuffle: true,
            validation_split: 0.0,
            validation_data: None,
            callbacks: Vec::new(),
            initial_epoch: 0,
        }
    }
}

impl FitOptions {
    /// Keras's defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the batch size.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }
    /// Sets the number of epochs.
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    /// Sets the verbosity (0, 1 or 2).
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }
    /// Shuffles or not.
    pub fn shuffle(mut self, s: bool) -> Self {
        self.shuffle = s;
        self
    }
    /// Holds out a fraction of the data for validation.
    pub fn validation_split(mut self, f: f32) -> Self {
        self.validation_split = f;
        self
    }
    /// Validates on the given data after each epoch.
    pub fn validation_data(mut self, x: impl Into<Data>, y: impl Into<Data>) -> Self {
        self.validation_data = Some((x.into(), y.into()));
        self
    }
    /// Adds a callback.
    pub fn callback(mut self, c: impl Callback + 'static) -> Self {
        self.callbacks.push(Box::new(c));
        self
    }
    /// Starts counting epochs from `e`.
    pub fn initial_epoch(mut self, e: usize) -> Self {
        self.initial_epoch = e;
        self
    }
}

/// Options of [`Model::evaluate_with`](crate::Model::evaluate_with).
#[derive(Clone, Debug)]
pub struct EvaluateOptions {
    /// Samples per batch (default 32).
    pub batch_size: usize,
    /// 0 = silent, 1 = progress bar (default 0 from `evaluate`).
    pub verbose: u8,
}

impl Default for EvaluateOptions {
    fn default() -> Self {
        EvaluateOptions {
            batch_size: 32,
            verbose: 0,
        }
    }
}

/// Options of [`Model::predict_with`](crate::Model::predict_with).
#[derive(Clone, Debug)]
pub struct PredictOptions {
    /// Samples per batch (default 32).
    pub batch_size: usize,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions { batch_size: 32 }
    }
}
