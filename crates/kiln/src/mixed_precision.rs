//! Mixed precision, as Keras's `keras.mixed_precision`: compute in a 16-bit float type,
//! keep the weights and the optimizer in float32.
//!
//! ```
//! use kiln::prelude::*;
//!
//! let mut model = Sequential::new();
//! model.add(Dense::new(8).activation("relu").input_shape([4]))?;
//! model.add(Dense::new(3).activation("softmax"))?;
//! model.set_dtype_policy("mixed_bfloat16")?;
//! // Keras's advice: keep the output layer in float32.
//! model.set_layer_dtype_policy(&model.layer_names()[1], "float32")?;
//! model.compile("adam", "sparse_categorical_crossentropy", &[])?;
//! # Ok::<(), kiln::KilnError>(())
//! ```
//!
//! Under `mixed_float16` or `mixed_bfloat16`, each layer's matrix products and
//! convolutions — nearly all of a network's arithmetic — run in the 16-bit type: their
//! operands are cast to it and their results back to float32. Everything else
//! (activations, normalisation, softmax, the losses and metrics) stays in float32, as do
//! the weights, their gradients and the optimizer. Keras computes a mixed layer's
//! element-wise math in 16 bits as well; keeping it in float32 costs little and loses
//! less. `mixed_float16` also turns on dynamic loss scaling (Keras's
//! `LossScaleOptimizer`): the loss is multiplied by a scale (2¹⁵ at first) before
//! back-propagation and the gradients divided by it; a step with an infinite or NaN
//! gradient is skipped and halves the scale, 2000 finite steps in a row double it.
//!
//! The policy takes effect at `compile`, which checks that every device of the model
//! can compute in the 16-bit type: Burn's ndarray engine cannot (an error names the
//! engine and the type); flex and libtorch can; wgpu depends on the adapter.

use crate::error::{KilnError, Result};
use kiln_burn::ComputeDType;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

/// A dtype policy (Keras's `DTypePolicy`): what a layer computes in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DTypePolicy {
    /// Everything in float32 (the default).
    #[default]
    Float32,
    /// Matrix products and convolutions in float16, with dynamic loss scaling.
    MixedFloat16,
    /// Matrix products and convolutions in bfloat16.
    MixedBfloat16,
}

impl DTypePolicy {
    /// Keras's name: `float32`, `mixed_float16`, `mixed_bfloat16`.
    pub fn name(self) -> &'static str {
        match self {
            DTypePolicy::Float32 => "float32",
            DTypePolicy::MixedFloat16 => "mixed_float16",
            DTypePolicy::MixedBfloat16 => "mixed_bfloat16",
        }
    }

    /// The type the policy computes matrix products and convolutions in (`None`: float32).
    pub fn compute_dtype(self) -> Option<ComputeDType> {
        match self {
            DTypePolicy::Float32 => None,
            DTypePolicy::MixedFloat16 => Some(ComputeDType::F16),
            DTypePolicy::MixedBfloat16 => Some(ComputeDType::BF16),
        }
    }
}

impl FromStr for DTypePolicy {
    type Err = KilnError;

    fn from_str(s: &str) -> Result<DTypePolicy> {
        match s {
            "float32" => Ok(DTypePolicy::Float32),
            "mixed_float16" => Ok(DTypePolicy::MixedFloat16),
            "mixed_bfloat16" => Ok(DTypePolicy::MixedBfloat16),
            _ => Err(KilnError::UnknownName {
                kind: "dtype policy",
                name: s.to_string(),
                expected: "float32, mixed_float16, mixed_bfloat16".into(),
            }),
        }
    }
}

impl fmt::Display for DTypePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

static GLOBAL_POLICY: Mutex<DTypePolicy> = Mutex::new(DTypePolicy::Float32);

/// Sets the policy of every model that has none of its own, from its next `compile`
/// (Keras's `keras.mixed_precision.set_global_policy`).
///
/// ```
/// kiln::mixed_precision::set_global_policy("mixed_bfloat16")?;
/// assert_eq!(kiln::mixed_precision::global_policy().name(), "mixed_bfloat16");
/// kiln::mixed_precision::set_global_policy("float32")?;
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn set_global_policy(policy: &str) -> Result<()> {
    let policy = policy.parse()?;
    *GLOBAL_POLICY.lock().unwrap_or_else(|e| e.into_inner()) = policy;
    Ok(())
}

/// The global policy (`float32` unless [`set_global_policy`] changed it).
pub fn global_policy() -> DTypePolicy {
    *GLOBAL_POLICY.lock().unwrap_or_else(|e| e.into_inner())
}
