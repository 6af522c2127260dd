//! Mixed precision: the matrix products and convolutions of a plan computed in a 16-bit
//! float type, everything else (and every weight) in f32.
//!
//! [`Plan::autocast`] marks the steps whose op is a matrix product or a convolution; each
//! marked step casts its operands to the compute type, runs there, and casts its result
//! back to f32. The casts are ops of the autodiff graph, so gradients flow back to the f32
//! weights in f32. Element-wise ops, reductions, softmax, normalisation and the losses
//! stay in f32, where 16-bit types lose the most.

use crate::device::EngineDevice;
use crate::plan::Plan;
use crate::slot::{FloatT, Slot};
use burn::tensor::FloatDType;
use kiln_ir::Op;
use std::fmt;

/// A 16-bit float type to compute in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComputeDType {
    /// IEEE half precision: 10 mantissa bits, largest value 65504 (needs loss scaling).
    F16,
    /// bfloat16: f32's range with 7 mantissa bits.
    BF16,
}

impl ComputeDType {
    /// Keras's name of the type: `float16`, `bfloat16`.
    pub fn name(self) -> &'static str {
        match self {
            ComputeDType::F16 => "float16",
            ComputeDType::BF16 => "bfloat16",
        }
    }

    pub(crate) fn burn(self) -> FloatDType {
        match self {
            ComputeDType::F16 => FloatDType::F16,
            ComputeDType::BF16 => FloatDType::BF16,
        }
    }
}

impl fmt::Display for ComputeDType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl EngineDevice {
    /// Whether the engine computes in `dtype` on this device (ndarray does not; flex and
    /// libtorch do; wgpu depends on the adapter).
    pub fn supports(&self, dtype: ComputeDType) -> bool {
        std::panic::catch_unwind(|| self.burn().supports_dtype(dtype.burn())).unwrap_or(false)
    }
}

/// Whether an op is computed in the 16-bit type under mixed precision.
fn autocast_op(op: &Op) -> bool {
    matches!(op, Op::Matmul | Op::Conv { .. } | Op::ConvTranspose { .. })
}

impl Plan {
    /// This plan with the matrix products and convolutions of each layer computed in
    /// `policy(layer name)` (`None`: f32). Replaces what an earlier call chose.
    pub fn autocast(mut self, policy: impl Fn(&str) -> Option<ComputeDType>) -> Plan {
        for step in &mut self.steps {
            step.compute = if autocast_op(&step.op) {
                policy(&step.label)
            } else {
                None
            };
        }
        self
    }

    /// The 16-bit types the plan computes in.
    pub fn compute_dtypes(&self) -> Vec<ComputeDType> {
        let mut out: Vec<ComputeDType> = Vec::new();
        for d in self.steps.iter().filter_map(|s| s.compute) {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        out
    }
}

/// `args` with their float operands cast to `dtype`.
pub(crate) fn cast_args(args: Vec<Slot>, dtype: ComputeDType) -> Vec<Slot> {
    args.into_iter()
        .map(|a| match a {
            Slot::F(t) => Slot::F(t.cast(dtype.burn())),
            s => s,
        })
        .collect()
}

/// A step's result back in f32.
pub(crate) fn to_f32(result: Slot) -> Slot {
    match result {
        Slot::F(t) => Slot::F(cast_f32(t)),
        s => s,
    }
}

pub(crate) fn cast_f32(t: FloatT) -> FloatT {
    t.cast(FloatDType::F32)
}

/// Dynamic loss scaling, as Keras's `LossScaleOptimizer`: the loss is multiplied by
/// `scale` before back-propagation and the gradients divided by it, so small float16
/// gradients do not flush to zero. A step whose gradients are not all finite is skipped
/// and halves the scale; `growth_steps` finite steps in a row double it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossScale {
    /// The current scale (Keras starts at 2¹⁵).
    pub scale: f32,
    /// Finite steps since the scale last changed.
    pub good_steps: u32,
    /// Finite steps after which the scale doubles (Keras: 2000).
    pub growth_steps: u32,
}

impl Default for LossScale {
    fn default() -> Self {
        LossScale {
            scale: 32768.0,
            good_steps: 0,
            growth_steps: 2000,
        }
    }
}

impl LossScale {
    /// Updates the scale after a step; returns whether the step's update is applied.
    pub(crate) fn after_step(&mut self, finite: bool) -> bool {
        if finite {
            self.good_steps += 1;
            if self.good_steps >= self.growth_steps {
                self.scale *= 2.0;
                self.good_steps = 0;
            }
        } else {
            self.scale = (self.scale / 2.0).max(1.0);
            self.good_steps = 0;
        }
        finite
    }
}

/// Whether every element of every gradient is finite: one value read back.
pub(crate) fn all_finite(grads: &[Option<FloatT>]) -> bool {
    // x·0 is 0 for a finite x and NaN for an infinite or NaN one.
    let total = grads
        .iter()
        .flatten()
        .map(|g| g.clone().mul_scalar(0.0).sum())
        .reduce(|a, b| a.add(b));
    match total {
        None => true,
        Some(t) => t.into_scalar::<f32>() == 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_halves_on_overflow_and_doubles_after_growth_steps() {
        let mut s = LossScale {
            growth_steps: 2,
            ..LossScale::default()
        };
        assert!(!s.after_step(false));
        assert_eq!(s.scale, 16384.0);
        assert!(s.after_step(true));
        assert_eq!((s.scale, s.good_steps), (16384.0, 1));
        assert!(s.after_step(true));
        assert_eq!((s.scale, s.good_steps), (32768.0, 0));
    }

    #[test]
    fn finiteness_of_gradients() {
        let device = burn::tensor::Device::flex();
        let t = |v: f32| Some(FloatT::full([1, 1, 1, 1, 1, 2], v, &device));
        assert!(all_finite(&[t(1.0), None, t(-3.0)]));
        assert!(!all_finite(&[t(1.0), t(f32::INFINITY)]));
        assert!(!all_finite(&[t(f32::NAN)]));
    }
}
