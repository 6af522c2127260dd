//! The one place where tolerances, gradient policies and known failures are stated.
//!
//! [`op_spec`] matches every [`Op`] variant (and every kind inside one) without a
//! wildcard arm, so a new op does not compile until it is given a tolerance and a
//! gradient policy here. Layer cases take the loosest tolerance of the ops their graph
//! contains, so layers need no entries of their own.

use crate::run::Phase;
use kiln_ir::{Activation, BinaryOp, CompareOp, DType, Op, PoolKind, ReduceOp, UnaryOp};
use std::fmt;

/// How close a backend's number must be to the reference's: `|got − want| ≤ abs + rel·|want|`
/// for every element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Absolute part.
    pub abs: f32,
    /// Relative part (a fraction of the reference value's magnitude).
    pub rel: f32,
    /// Why the entry departs from the suite's defaults, if it does.
    pub reason: Option<&'static str>,
}

impl Tolerance {
    /// Bit-for-bit equal: integer results and copies of the input.
    pub const EXACT: Tolerance = Tolerance {
        abs: 0.0,
        rel: 0.0,
        reason: None,
    };

    /// Element-wise f32 ops: 1e-5 absolute (inputs are kept within ±4, so this is a few
    /// ulps of the largest values).
    pub const ELEMENTWISE: Tolerance = Tolerance {
        abs: 1e-5,
        rel: 0.0,
        reason: None,
    };

    /// Reductions and matrix products: 1e-4 relative. The 1e-5 absolute floor (the
    /// element-wise tolerance) covers results that cancel to nearly zero, where engines
    /// summing in another order differ by a few ulps of the operands, not of the result.
    pub const REDUCTION: Tolerance = Tolerance {
        abs: 1e-5,
        rel: 1e-4,
        reason: None,
    };

    /// Training goldens: five optimizer steps on a two-layer model compound rounding;
    /// 1e-4 absolute on losses and weights, the value `kiln/tests/keras_goldens.rs` uses.
    pub const TRAINING: Tolerance = Tolerance {
        abs: 1e-4,
        rel: 0.0,
        reason: Some("five optimizer steps compound rounding (as kiln/tests/keras_goldens.rs)"),
    };

    /// This tolerance with a reason attached.
    pub const fn because(self, reason: &'static str) -> Tolerance {
        Tolerance {
            reason: Some(reason),
            ..self
        }
    }

    /// The largest difference allowed against the reference value `want`.
    pub fn allowed(&self, want: f32) -> f32 {
        self.abs + self.rel * want.abs()
    }

    /// The looser of two tolerances in each part (the first reason found is kept).
    pub fn loosest(self, other: Tolerance) -> Tolerance {
        Tolerance {
            abs: self.abs.max(other.abs),
            rel: self.rel.max(other.rel),
            reason: self.reason.or(other.reason),
        }
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rel == 0.0 && self.abs == 0.0 {
            f.write_str("exact")
        } else if self.rel == 0.0 {
            write!(f, "abs {:.0e}", self.abs)
        } else {
            write!(f, "abs {:.0e} + rel {:.0e}", self.abs, self.rel)
        }
    }
}

/// Whether an op's gradient is compared, and how closely.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gradient {
    /// Compare the gradients of every float operand with this tolerance.
    Check(Tolerance),
    /// No gradient to compare, and why.
    Skip(&'static str),
}

/// What the suite expects of one op.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpSpec {
    /// Tolerance of the forward result against the reference.
    pub forward: Tolerance,
    /// Gradient policy.
    pub gradient: Gradient,
}

impl OpSpec {
    const fn new(forward: Tolerance, gradient: Tolerance) -> OpSpec {
        OpSpec {
            forward,
            gradient: Gradient::Check(gradient),
        }
    }

    const fn forward_only(forward: Tolerance, why: &'static str) -> OpSpec {
        OpSpec {
            forward,
            gradient: Gradient::Skip(why),
        }
    }
}

const E: Tolerance = Tolerance::ELEMENTWISE;
const R: Tolerance = Tolerance::REDUCTION;
/// Gradients of broadcasting ops sum over the broadcast axes.
const BROADCAST_GRAD: Tolerance = R.because("the broadcast operand's gradient is a sum over the broadcast axes");
/// Axis-wise activations normalise by a sum along the axis, forward and backward.
const AXIS_WISE: Tolerance = R.because("normalises by a sum along the axis");

/// The tolerance and gradient policy of `op`: the suite's single table.
///
/// Exhaustive on purpose (no `_` arm): a new op, activation or kind fails to compile here
/// until it has an entry, and `ops.rs` fails the same way until it has sample cases.
pub fn op_spec(op: &Op) -> OpSpec {
    match op {
        Op::Matmul => OpSpec::new(R, R),
        Op::Binary { kind } => match kind {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Maximum | BinaryOp::Minimum => {
                OpSpec::new(E, BROADCAST_GRAD)
            }
            BinaryOp::Div => OpSpec::new(E, BROADCAST_GRAD),
            BinaryOp::Pow => OpSpec::new(E, BROADCAST_GRAD),
        },
        Op::BiasAdd => OpSpec::new(E, BROADCAST_GRAD),
        Op::Unary { kind } => match kind {
            UnaryOp::Neg
            | UnaryOp::Abs
            | UnaryOp::Exp
            | UnaryOp::Log
            | UnaryOp::Log1p
            | UnaryOp::Sqrt
            | UnaryOp::Square
            | UnaryOp::Sign
            | UnaryOp::StopGradient => OpSpec::new(E, E),
        },
        Op::Activation { kind } => match kind {
            Activation::Softmax { .. } | Activation::LogSoftmax { .. } | Activation::Sparsemax { .. } => {
                OpSpec::new(AXIS_WISE, AXIS_WISE)
            }
            Activation::Linear
            | Activation::Relu
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Gelu { .. }
            | Activation::Elu { .. }
            | Activation::Selu
            | Activation::Softplus
            | Activation::Softsign
            | Activation::Silu
            | Activation::LeakyRelu { .. }
            | Activation::HardSigmoid
            | Activation::Exponential
            | Activation::Relu6
            | Activation::ReluExt { .. }
            | Activation::Celu { .. }
            | Activation::Glu { .. }
            | Activation::HardSilu
            | Activation::HardTanh
            | Activation::HardShrink { .. }
            | Activation::SoftShrink { .. }
            | Activation::LogSigmoid
            | Activation::Mish
            | Activation::SparsePlus
            | Activation::SparseSigmoid
            | Activation::Squareplus { .. }
            | Activation::TanhShrink
            | Activation::Threshold { .. } => OpSpec::new(E, E),
        },
        Op::Clip { .. } => OpSpec::new(E, E),
        Op::Compare { kind } => match kind {
            CompareOp::Equal | CompareOp::Greater | CompareOp::GreaterEqual | CompareOp::Less => {
                OpSpec::forward_only(Tolerance::EXACT, "a comparison is piecewise constant: no gradient")
            }
        },
        Op::Constant { .. } => OpSpec::forward_only(Tolerance::EXACT, "a constant has no operands"),
        // Moves elements: exact forward. Gradients are read back as `before − after` of an
        // SGD step, whose f32 rounding is element-wise.
        Op::Reshape { .. } | Op::Concat { .. } => OpSpec::new(Tolerance::EXACT, E),
        Op::Reduce { kind, .. } => match kind {
            ReduceOp::Sum | ReduceOp::Mean => OpSpec::new(R, R),
            // Max and min select an element: exact forward, and the gradient routes the
            // upstream value to it.
            ReduceOp::Max | ReduceOp::Min => OpSpec::new(Tolerance::EXACT, E),
        },
        Op::Argmax { .. } => OpSpec::forward_only(Tolerance::EXACT, "an index is piecewise constant: no gradient"),
        Op::OneHot { .. } => OpSpec::forward_only(Tolerance::EXACT, "its operand is integer class indices"),
        Op::Cast { to } => match to {
            DType::F32 => OpSpec::new(Tolerance::EXACT, E),
            DType::I32 => OpSpec::forward_only(Tolerance::EXACT, "an integer result has no gradient"),
        },
        Op::Dropout { .. } | Op::Noise { .. } => OpSpec::new(E, E),
        // Sums over windows: forward and gradient accumulate like a matmul.
        Op::Conv { .. } | Op::ConvTranspose { .. } => OpSpec::new(R, R),
        Op::Pool { kind, .. } => match kind {
            PoolKind::Max => OpSpec::new(Tolerance::EXACT, E),
            PoolKind::Avg => OpSpec::new(R, R),
        },
        // Move or copy elements: exact forward; a repeat's or gather's gradient sums copies.
        Op::Transpose { .. } | Op::Slice { .. } | Op::Pad { .. } | Op::IfTraining | Op::ReplicaMean => {
            OpSpec::new(Tolerance::EXACT, E)
        }
        Op::Repeat { .. } | Op::Gather => OpSpec::new(Tolerance::EXACT, R),
    }
}

/// A check that fails on a backend for a known reason (an engine or lowering bug being
/// tracked). It is reported as "known", not as a failure; if it starts passing, the
/// summary says so.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KnownFailure {
    /// Case names starting with this.
    pub case_prefix: &'static str,
    /// Which check.
    pub phase: Phase,
    /// Backend name (`flex`, `wgpu`, `tch`, …).
    pub backend: &'static str,
    /// What goes wrong, with the numbers.
    pub reason: &'static str,
}

/// The known failures, each with its reason. Empty: exact GELU's gradient, wrong on ndarray and
/// wgpu through Burn 0.22.1's default `gelu_backward`, is lowered through erf instead.
pub const KNOWN_FAILURES: &[KnownFailure] = &[];

/// The known failure matching this check on this backend, if any.
pub fn known_failure(case: &str, phase: Phase, backend: &str) -> Option<&'static KnownFailure> {
    KNOWN_FAILURES
        .iter()
        .find(|k| k.backend == backend && k.phase == phase && case.starts_with(k.case_prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_follow_the_suite_rules() {
        assert_eq!(E.allowed(100.0), 1e-5);
        assert!((R.allowed(100.0) - (1e-5 + 1e-2)).abs() < 1e-9);
        assert_eq!(E.loosest(R).rel, 1e-4);
        assert_eq!(Tolerance::EXACT.to_string(), "exact");
        assert_eq!(R.to_string(), "abs 1e-5 + rel 1e-4");
    }
}
