//! Reductions and arg-max.

use crate::slot::{FloatT, IntT, burn_axis, logical, padded};
use kiln_ir::ReduceOp;

pub(crate) fn reduce(kind: ReduceOp, x: FloatT, rank: usize, axes: &[usize], keepdims: bool) -> FloatT {
    let dims = logical(x.dims(), rank);
    let axes: Vec<usize> = if axes.is_empty() {
        (0..rank).collect()
    } else {
        axes.to_vec()
    };
    let mut y = x;
    for &a in &axes {
        let b = burn_axis(a, rank);
        y = match kind {
            ReduceOp::Sum => y.sum_dim(b),
            ReduceOp::Mean => y.mean_dim(b),
            ReduceOp::Max => y.max_dim(b),
            ReduceOp::Min => y.min_dim(b),
        };
    }
    if keepdims {
        return y;
    }
    let out: Vec<usize> = dims
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, d)| *d)
        .collect();
    y.reshape(padded(&out))
}

pub(crate) fn argmax(x: FloatT, rank: usize, axis: usize) -> IntT {
    let mut dims = logical(x.dims(), rank);
    dims.remove(axis);
    x.argmax(burn_axis(axis, rank)).reshape(padded(&dims))
}
