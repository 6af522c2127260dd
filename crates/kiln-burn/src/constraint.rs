//! Weight constraints, applied after each optimizer step.

use crate::slot::{FloatT, burn_axis};
use kiln_ir::Constraint;

/// The norm of `w` over `axes` (logical axes of a rank-`rank` value), kept as size 1.
fn norms(w: &FloatT, axes: &[usize], rank: usize) -> FloatT {
    let mut s = w.clone().square();
    for &a in axes {
        s = s.sum_dim(burn_axis(a, rank));
    }
    s.sqrt()
}

/// `constraint` applied to `w`, as `keras.constraints` computes it.
pub(crate) fn apply(constraint: &Constraint, w: FloatT, rank: usize) -> FloatT {
    let eps = Constraint::EPSILON as f64;
    match constraint {
        Constraint::NonNeg => {
            let keep = w.clone().greater_equal_elem(0.0).float();
            w * keep
        }
        Constraint::MaxNorm { max_value, axes } => {
            let n = norms(&w, axes, rank);
            let desired = n.clone().clamp(0.0, *max_value);
            w * (desired / n.add_scalar(eps))
        }
        Constraint::UnitNorm { axes } => {
            let n = norms(&w, axes, rank);
            w / n.add_scalar(eps)
        }
        Constraint::MinMaxNorm {
            min_value,
            max_value,
            rate,
            axes,
        } => {
            let n = norms(&w, axes, rank);
            let desired = n
                .clone()
                .clamp(*min_value, *max_value)
                .mul_scalar(*rate as f64)
                .add(n.clone().mul_scalar(1.0 - *rate as f64));
            w * (desired / n.add_scalar(eps))
        }
    }
}
