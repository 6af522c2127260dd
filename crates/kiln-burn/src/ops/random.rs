//! Dropout with masks drawn on the host, so every engine drops the same units.

use crate::convert::upload_f32;
use crate::plan::Ctx;
use crate::slot::{FloatT, burn_axis};
use kiln_ir::{NoiseKind, Rng};

/// Inverted dropout; one mask value is shared along `shared_axes` (logical axes of a
/// rank-`rank` value).
pub(crate) fn dropout(x: FloatT, rate: f32, rank: usize, shared_axes: &[usize], ctx: &Ctx) -> FloatT {
    if rate <= 0.0 {
        return x;
    }
    let mut dims = x.dims();
    for &a in shared_axes {
        dims[burn_axis(a, rank)] = 1;
    }
    let n: usize = dims.iter().product();
    let keep = 1.0 - rate;
    let mut rng = Rng::new(ctx.seed);
    if rank > 0 && !shared_axes.contains(&0) {
        rng.skip((ctx.row_offset * (n / dims[burn_axis(0, rank)].max(1))) as u64);
    }
    let mask: Vec<f32> = (0..n)
        .map(|_| if (rng.uniform() as f32) < keep { 1.0 / keep } else { 0.0 })
        .collect();
    x * upload_f32(mask, &dims, ctx.device)
}

/// Gaussian noise, added or multiplied, drawn on the host like dropout masks.
pub(crate) fn noise(x: FloatT, kind: NoiseKind, stddev: f32, rank: usize, ctx: &Ctx) -> FloatT {
    let dims = x.dims();
    let n: usize = dims.iter().product();
    let mut rng = Rng::new(ctx.seed);
    if rank > 0 {
        // Two uniform draws per normal.
        rng.skip(2 * (ctx.row_offset * (n / dims[burn_axis(0, rank)].max(1))) as u64);
    }
    let mean = match kind {
        NoiseKind::Additive => 0.0,
        NoiseKind::Multiplicative => 1.0,
    };
    let values: Vec<f32> = (0..n).map(|_| mean + stddev * rng.normal() as f32).collect();
    let n = upload_f32(values, &dims, ctx.device);
    match kind {
        NoiseKind::Additive => x + n,
        NoiseKind::Multiplicative => x * n,
    }
}
