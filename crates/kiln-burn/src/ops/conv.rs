//! Convolution, transposed convolution and pooling over 1 or 2 spatial axes, channels
//! first, on Burn's module ops.

use super::im2col;
use crate::engine::Engine;
use crate::slot::{FloatT, MAX_RANK, logical, padded};
use burn::tensor::Tensor;
use burn::tensor::module::{
    avg_pool1d, avg_pool2d, conv_transpose1d, conv_transpose2d, conv1d, conv2d, max_pool1d, max_pool2d,
};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, ConvTransposeOptions, MaxPoolOptions};
use kiln_ir::PoolKind;

fn arr<const N: usize>(v: &[usize]) -> Result<[usize; N], String> {
    v.try_into()
        .map_err(|_| format!("expected {N} entries per spatial axis, received {v:?}"))
}

fn pairs<const N: usize>(v: &[(usize, usize)]) -> Result<[(usize, usize); N], String> {
    v.try_into()
        .map_err(|_| format!("expected {N} padding pairs, received {v:?}"))
}

/// The logical dims of a rank-`rank` operand, and the operand at Burn rank `R`.
fn at_rank<const R: usize>(x: FloatT, rank: usize) -> (Vec<usize>, Tensor<R>) {
    let dims = logical(x.dims(), rank);
    let t = x.reshape::<R, _>(<[usize; R]>::try_from(dims.as_slice()).expect("rank checked by the caller"));
    (dims, t)
}

fn back<const R: usize>(t: Tensor<R>) -> FloatT {
    let dims = t.dims();
    t.reshape::<MAX_RANK, _>(padded(&dims))
}

/// Where a convolution's window goes: per spatial axis, as in `Op::Conv`.
pub(crate) struct ConvGeometry<'a> {
    pub(crate) strides: &'a [usize],
    pub(crate) padding: &'a [(usize, usize)],
    pub(crate) dilation: &'a [usize],
    pub(crate) groups: usize,
}

/// Convolution: `x [N, C, *spatial]`, kernel `[O, C / groups, *window]`, and an optional
/// bias `[O]` that the engine's kernel adds to its output.
pub(crate) fn conv(
    x: FloatT,
    kernel: FloatT,
    bias: Option<FloatT>,
    rank: usize,
    geometry: &ConvGeometry<'_>,
) -> Result<FloatT, String> {
    let ConvGeometry {
        strides,
        padding,
        dilation,
        groups,
    } = *geometry;
    let bias = bias.map(|b| {
        let len = b.dims().iter().product::<usize>();
        b.reshape::<1, _>([len])
    });
    let tracked = x.is_tracked() || kernel.is_tracked() || bias.as_ref().is_some_and(|b| b.is_tracked());
    match rank {
        3 => {
            let (dims, x) = at_rank::<3>(x, 3);
            let (kdims, k) = at_rank::<3>(kernel, 3);
            if unfolds(&x.device(), groups, tracked) {
                // A 1-D convolution is a 2-D one over a height of 1.
                let x = x.reshape([dims[0], dims[1], 1, dims[2]]);
                let k = k.reshape([kdims[0], kdims[1], 1, kdims[2]]);
                let [(b, e)] = pairs(padding)?;
                let geometry = im2col::Geometry {
                    strides: [1, arr::<1>(strides)?[0]],
                    padding: [(0, 0), (b, e)],
                    dilation: [1, arr::<1>(dilation)?[0]],
                };
                let y = im2col::conv2d(x, k, &geometry);
                let [n, o, _, l] = y.dims();
                let y = y.reshape([n, o, l]);
                return Ok(back(match bias {
                    Some(b) => y + b.reshape([1, o, 1]),
                    None => y,
                }));
            }
            let options = ConvOptions::new_with_padding(arr(strides)?, pairs(padding)?, arr(dilation)?, groups);
            Ok(back(conv1d(x, k, bias, options)))
        }
        4 => {
            let (_, x) = at_rank::<4>(x, 4);
            let (_, k) = at_rank::<4>(kernel, 4);
            if unfolds(&x.device(), groups, tracked) {
                let geometry = im2col::Geometry {
                    strides: arr(strides)?,
                    padding: pairs(padding)?,
                    dilation: arr(dilation)?,
                };
                let y = im2col::conv2d(x, k, &geometry);
                let o = y.dims()[1];
                return Ok(back(match bias {
                    Some(b) => y + b.reshape([1, o, 1, 1]),
                    None => y,
                }));
            }
            let options = ConvOptions::new_with_padding(arr(strides)?, pairs(padding)?, arr(dilation)?, groups);
            Ok(back(conv2d(x, k, bias, options)))
        }
        _ => Err(format!("convolution over rank {rank} is not supported")),
    }
}

/// Whether a convolution runs as patches times a matrix ([`im2col`]) instead of the
/// engine's own kernel. Chosen by measurement (`cargo bench -p kiln-burn --bench convolution`
/// and `cargo bench -p kiln --bench engines`, batch 128, 2 cores): only on ndarray and only
/// with gradients, where ndarray's direct convolution trains 2.6× (3×3 over 1 channel) to
/// 17× (3×3 over 32 channels) slower than im2col. Without gradients ndarray's own kernel
/// wins (the CNN predicts 4.6× slower through im2col). flex's kernel is im2col with a
/// tiled GEMM already, faster than this formulation; libtorch and the GPU engines have
/// their own tuned kernels. Grouped convolutions keep the engine's kernel.
fn unfolds(device: &burn::tensor::Device, groups: usize, tracked: bool) -> bool {
    groups == 1 && tracked && Engine::of(device) == Engine::NdArray
}

/// The full transposed convolution: `x [N, C, *spatial]`, kernel `[C, O / groups, *window]`.
pub(crate) fn conv_transpose(
    x: FloatT,
    kernel: FloatT,
    rank: usize,
    strides: &[usize],
    dilation: &[usize],
    groups: usize,
) -> Result<FloatT, String> {
    match rank {
        3 => {
            let (_, x) = at_rank::<3>(x, 3);
            let (_, k) = at_rank::<3>(kernel, 3);
            let options = ConvTransposeOptions::new(arr(strides)?, [0], [0], arr(dilation)?, groups);
            Ok(back(conv_transpose1d(x, k, None, options)))
        }
        4 => {
            let (_, x) = at_rank::<4>(x, 4);
            let (_, k) = at_rank::<4>(kernel, 4);
            let options = ConvTransposeOptions::new(arr(strides)?, [0, 0], [0, 0], arr(dilation)?, groups);
            Ok(back(conv_transpose2d(x, k, None, options)))
        }
        _ => Err(format!("transposed convolution over rank {rank} is not supported")),
    }
}

/// Max or average pooling; averages leave the padding out.
pub(crate) fn pool(
    kind: PoolKind,
    x: FloatT,
    rank: usize,
    window: &[usize],
    strides: &[usize],
    padding: &[(usize, usize)],
) -> Result<FloatT, String> {
    match (rank, kind) {
        (3, PoolKind::Max) => {
            let (_, x) = at_rank::<3>(x, 3);
            let options = MaxPoolOptions::new(arr(window)?)
                .with_stride(arr(strides)?)
                .with_padding_pairs(pairs(padding)?);
            Ok(back(max_pool1d(x, options)))
        }
        (4, PoolKind::Max) => {
            let (_, x) = at_rank::<4>(x, 4);
            let options = MaxPoolOptions::new(arr(window)?)
                .with_stride(arr(strides)?)
                .with_padding_pairs(pairs(padding)?);
            Ok(back(max_pool2d(x, options)))
        }
        (3, PoolKind::Avg) => {
            let (_, x) = at_rank::<3>(x, 3);
            let options = AvgPoolOptions::new(arr(window)?)
                .with_stride(arr(strides)?)
                .with_padding_pairs(pairs(padding)?)
                .with_count_include_pad(false);
            Ok(back(avg_pool1d(x, options)))
        }
        (4, PoolKind::Avg) => {
            let (_, x) = at_rank::<4>(x, 4);
            let options = AvgPoolOptions::new(arr(window)?)
                .with_stride(arr(strides)?)
                .with_padding_pairs(pairs(padding)?)
                .with_count_include_pad(false);
            Ok(back(avg_pool2d(x, options)))
        }
        _ => Err(format!("pooling over rank {rank} is not supported")),
    }
}
