//! Dropout with masks drawn on the host, so every engine drops the same units.

use crate::convert::upload_f32;
use crate::plan::Ctx;
use crate::slot::FloatT;
use kiln_ir::Rng;

pub(crate) fn dropout(x: FloatT, rate: f32, ctx: &Ctx) -> FloatT {
    if rate <= 0.0 {
        return x;
    }
    let dims = x.dims();
    let n: usize = dims.iter().product();
    let keep = 1.0 - rate;
    let mut rng = Rng::new(ctx.seed);
    let mask: Vec<f32> = (0..n)
        .map(|_| if (rng.uniform() as f32) < keep { 1.0 / keep } else { 0.0 })
        .collect();
    x * upload_f32(mask, &dims, ctx.device)
}
