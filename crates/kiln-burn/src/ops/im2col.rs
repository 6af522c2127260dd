//! Convolution as patches times a matrix (im2col + matmul), channels last inside.
//!
//! Burn's ndarray engine convolves with direct loops whose backward pass is very slow
//! (about 4 s for one 3×3 convolution of 128 13×13×32 images into 64 channels, on
//! 2 cores). This formulation builds the patch matrix from `kh·kw` strided slices of the
//! padded input, channels last, and multiplies it by the kernel: every piece is a plain
//! tensor op whose gradient Burn already has (slices, concatenation, matmul), and the
//! matmul runs on the engine's GEMM. [`super::conv`] decides when to use it.

use burn::tensor::{Slice, Tensor};

/// The geometry of a 2-D convolution: strides, `(before, after)` padding and dilation per
/// spatial axis.
pub struct Geometry {
    pub strides: [usize; 2],
    pub padding: [(usize, usize); 2],
    pub dilation: [usize; 2],
}

/// `x [N, C, H, W]` convolved with `kernel [O, C, KH, KW]` (one group), as Burn's
/// `conv2d`: returns `[N, O, OH, OW]`.
pub fn conv2d(x: Tensor<4>, kernel: Tensor<4>, g: &Geometry) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let [o, _, kh, kw] = kernel.dims();
    let [(pt, pb), (pl, pr)] = g.padding;
    let (hp, wp) = (h + pt + pb, w + pl + pr);
    let out_len = |len: usize, k: usize, s: usize, d: usize| (len - d * (k - 1) - 1) / s + 1;
    let oh = out_len(hp, kh, g.strides[0], g.dilation[0]);
    let ow = out_len(wp, kw, g.strides[1], g.dilation[1]);
    // Channels last: a patch's `kh·kw·C` values then sit side by side in one row.
    let mut x = x.permute([0, 2, 3, 1]);
    if pt + pb + pl + pr > 0 {
        x = x.pad(
            [(0, 0), (pt, pb), (pl, pr), (0, 0)],
            burn::tensor::ops::PadMode::Constant(0.0),
        );
    }
    let window = |start: usize, count: usize, step: usize| {
        Slice::new(
            start as isize,
            Some((start + (count - 1) * step + 1) as isize),
            step as isize,
        )
    };
    let mut columns = Vec::with_capacity(kh * kw);
    for i in 0..kh {
        for j in 0..kw {
            columns.push(x.clone().slice([
                Slice::full(),
                window(i * g.dilation[0], oh, g.strides[0]),
                window(j * g.dilation[1], ow, g.strides[1]),
                Slice::full(),
            ]));
        }
    }
    let patches = if columns.len() == 1 {
        columns.remove(0)
    } else {
        Tensor::cat(columns, 3)
    }
    .reshape([n * oh * ow, kh * kw * c]);
    // [O, C, KH, KW] → [KH, KW, C, O]: rows in the patches' order.
    let matrix = kernel.permute([2, 3, 1, 0]).reshape([kh * kw * c, o]);
    patches.matmul(matrix).reshape([n, oh, ow, o]).permute([0, 3, 1, 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module::conv2d as burn_conv2d;
    use burn::tensor::ops::ConvOptions;
    use burn::tensor::{Device, Distribution};

    fn close(a: Tensor<4>, b: Tensor<4>, tol: f32) {
        assert_eq!(a.dims(), b.dims());
        let scale = b.clone().abs().max().into_scalar::<f32>().max(1.0);
        let diff = (a - b).abs().max().into_scalar::<f32>();
        assert!(diff <= tol * scale, "max difference {diff} (scale {scale})");
    }

    /// Forward values and both gradients agree with Burn's own `conv2d` (flex's kernel,
    /// an independent implementation) for strides, asymmetric padding and dilation.
    #[test]
    fn matches_burns_conv2d_with_gradients() {
        let device = Device::flex();
        let cases = [
            ([2, 3, 9, 8], [4, 3, 3, 3], [1, 1], [(0, 0), (0, 0)], [1, 1]),
            ([2, 3, 9, 8], [4, 3, 3, 2], [2, 3], [(1, 2), (0, 1)], [1, 1]),
            ([1, 2, 10, 11], [3, 2, 3, 3], [1, 2], [(2, 2), (1, 1)], [2, 3]),
            ([3, 5, 7, 7], [2, 5, 1, 1], [2, 2], [(0, 0), (0, 0)], [1, 1]),
        ];
        for (xs, ks, strides, padding, dilation) in cases {
            let x = Tensor::<4>::random(xs, Distribution::Normal(0.0, 1.0), &device);
            let k = Tensor::<4>::random(ks, Distribution::Normal(0.0, 1.0), &device);
            let g = Geometry {
                strides,
                padding,
                dilation,
            };
            let options = ConvOptions::new_with_padding(strides, padding, dilation, 1);
            let (xa, ka) = (x.clone().autodiff().require_grad(), k.clone().autodiff().require_grad());
            let (xb, kb) = (x.autodiff().require_grad(), k.autodiff().require_grad());
            let ya = conv2d(xa.clone(), ka.clone(), &g);
            let yb = burn_conv2d(xb.clone(), kb.clone(), None, options);
            close(ya.clone().inner(), yb.clone().inner(), 1e-5);
            // A loss that weighs every output differently.
            let weights = Tensor::<4>::random(yb.dims(), Distribution::Normal(0.0, 1.0), &device).autodiff();
            let ga = (ya * weights.clone()).sum().backward();
            let gb = (yb * weights).sum().backward();
            close(xa.grad(&ga).unwrap(), xb.grad(&gb).unwrap(), 1e-5);
            close(ka.grad(&ga).unwrap(), kb.grad(&gb).unwrap(), 1e-5);
        }
    }
}
