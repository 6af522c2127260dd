//! # Kiln: Keras for Rust
//!
//! Build models the Keras way — [`Sequential`] or Functional ([`Input`] → layers →
//! [`Model::new`]) — then [`compile`](Model::compile), [`fit`](Model::fit),
//! [`evaluate`](Model::evaluate), [`predict`](Model::predict) and
//! [`summary`](Model::summary), with Keras 3's defaults and numerics. Models compile to
//! a portable IR ([`kiln_ir`]) that runs on Burn's engines; the device is chosen at run
//! time ([`Device`]).
//!
//! ```
//! use kiln::prelude::*;
//!
//! let mut model = Sequential::new();
//! model.add(Dense::new(16).activation("relu").input_shape([4]))?;
//! model.add(Dense::new(3).activation("softmax"))?;
//! model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
//!
//! // Four samples of four features, and their class labels.
//! let x = Tensor::from_f32(vec![0.1; 16], [4, 4])?;
//! let y = Tensor::from_i32(vec![0, 1, 2, 1], [4])?;
//! let history = model.fit(&x, &y, FitOptions::new().epochs(2).verbose(0))?;
//! assert_eq!(history.get("loss").unwrap().len(), 2);
//! let probabilities = model.predict(&x)?;
//! assert_eq!(probabilities.shape(), &[4, 3]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod activations;
pub mod applications;
pub mod bench;
pub mod callbacks;
pub mod constraints;
pub mod datasets;
mod denormals;
mod devices;
pub mod distribution;
mod error;
mod fit;
mod graph_ops;
pub mod initializers;
pub mod io;
pub mod keras;
mod layer;
mod layer_ops;
pub mod layers;
pub mod losses;
pub mod metrics;
pub mod mixed_precision;
mod model;
mod names;
pub mod npy;
pub mod onnx;
pub mod optimizers;
pub mod plot;
mod random;
pub mod registry;
pub mod regularizers;
mod saving;
#[cfg(feature = "remote")]
mod serve;
mod summary;

pub use denormals::{flush_denormals, set_flush_denormals};
pub use devices::{Device, DeviceInfo, backends, devices};
pub use error::{KilnError, Result};
pub use fit::{Data, EvaluateOptions, FitOptions, LossArg, PredictOptions, ProgressBar};
pub use kiln_ir::{DType, HostTensor as Tensor, Shape};
pub use layer::{EmitContext, Layer};
pub use model::{Apply, Input, Model, Sequential, SequentialEntry, SymbolicTensor, WithInputShape};
pub use names::clear_session;
pub use random::set_random_seed;
#[cfg(feature = "remote")]
pub use serve::serve;

/// The IR crate, for custom layers that emit ops.
pub use kiln_ir as ir;

/// The names most programs use.
pub mod prelude {
    pub use crate::callbacks::{
        Callback, CsvLogger, EarlyStopping, History, LearningRateScheduler, ModelCheckpoint, ReduceLrOnPlateau,
        TensorBoard, TerminateOnNaN,
    };
    pub use crate::layers::{self, *};
    pub use crate::optimizers::{Adam, RmsProp, Sgd};
    pub use crate::{Apply, Device, FitOptions, Input, KilnError, Model, Sequential, Tensor, WithInputShape};
}
