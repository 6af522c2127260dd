//! Tensors of any IR rank held at one Burn rank.

use burn::tensor::{Int, Tensor};

/// The Burn rank every value is held at; IR values may have at most this rank.
pub const MAX_RANK: usize = 6;

/// A float tensor at [`MAX_RANK`].
pub(crate) type FloatT = Tensor<MAX_RANK>;
/// An int tensor at [`MAX_RANK`].
pub(crate) type IntT = Tensor<MAX_RANK, Int>;

/// A value during execution.
#[derive(Clone, Debug)]
pub(crate) enum Slot {
    F(FloatT),
    I(IntT),
}

/// `dims` with leading ones up to [`MAX_RANK`].
pub(crate) fn padded(dims: &[usize]) -> [usize; MAX_RANK] {
    let mut out = [1; MAX_RANK];
    out[MAX_RANK - dims.len()..].copy_from_slice(dims);
    out
}

/// The Burn axis of logical axis `axis` of a rank-`rank` value.
pub(crate) fn burn_axis(axis: usize, rank: usize) -> usize {
    axis + MAX_RANK - rank
}

/// The logical dims of a rank-`rank` value held at [`MAX_RANK`].
pub(crate) fn logical(dims: [usize; MAX_RANK], rank: usize) -> Vec<usize> {
    dims[MAX_RANK - rank..].to_vec()
}

impl Slot {
    pub(crate) fn dims(&self) -> [usize; MAX_RANK] {
        match self {
            Slot::F(t) => t.dims(),
            Slot::I(t) => t.dims(),
        }
    }
}
