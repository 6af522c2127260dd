//! Activation functions, with Keras 3's definitions.
//!
//! Piecewise functions are written with masks so that autodiff gives the gradient JAX gives
//! Keras at the kinks too: `jnp.where` picks one branch's derivative, `jnp.maximum` and
//! `jnp.clip` split a tie evenly (0.5 each), and `jax.nn.relu`/`relu6` take 0 at their kinks.

use crate::slot::{FloatT, burn_axis};
use burn::tensor::activation as act;
use kiln_ir::Activation;

/// SELU's constants, as Keras defines them.
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

pub(crate) fn activation(kind: Activation, x: FloatT, rank: usize) -> FloatT {
    match kind {
        Activation::Linear => x,
        Activation::Relu => act::relu(x),
        Activation::Sigmoid => act::sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Softmax { axis } => act::softmax(x, burn_axis(axis, rank)),
        Activation::LogSoftmax { axis } => act::log_softmax(x, burn_axis(axis, rank)),
        // Written with erf so autodiff differentiates the exact function: Burn 0.22.1's default
        // gelu backward (used by ndarray and wgpu) is the tanh approximation's derivative.
        Activation::Gelu { approximate: false } => {
            x.clone() * (x.mul_scalar(std::f64::consts::FRAC_1_SQRT_2).erf().add_scalar(1.0)).mul_scalar(0.5)
        }
        Activation::Gelu { approximate: true } => act::gelu_approximate(x),
        Activation::Elu { alpha } => elu(x, alpha as f64),
        Activation::Selu => elu(x, SELU_ALPHA).mul_scalar(SELU_SCALE),
        Activation::Softplus => act::softplus(x, 1.0),
        Activation::Softsign => act::softsign(x),
        Activation::Silu => act::silu(x),
        Activation::LeakyRelu { negative_slope } => leaky_relu(x, negative_slope as f64),
        // relu6(x + 3) / 6, as jax.nn.hard_sigmoid (its gradient is 0 at ±3).
        Activation::HardSigmoid => relu6(x.add_scalar(3.0)).div_scalar(6.0),
        Activation::Exponential => x.exp(),
        Activation::Relu6 => relu6(x),
        Activation::ReluExt {
            negative_slope,
            max_value,
            threshold,
        } => relu_ext(x, negative_slope as f64, max_value.map(f64::from), threshold as f64),
        Activation::Celu { alpha } => celu(x, alpha as f64),
        Activation::Glu { axis } => act::glu(x, burn_axis(axis, rank)),
        // x * relu6(x + 3) / 6, as jax.nn.hard_silu.
        Activation::HardSilu => x.clone() * relu6(x.add_scalar(3.0)).div_scalar(6.0),
        // where(x > 1, 1, where(x < -1, -1, x)): the gradient is 1 on [-1, 1].
        Activation::HardTanh => {
            let above = x.clone().greater_elem(1.0);
            let below = x.clone().lower_elem(-1.0);
            x.mask_fill(above, 1.0).mask_fill(below, -1.0)
        }
        // where(|x| > threshold, x, 0).
        Activation::HardShrink { threshold } => {
            let inside = x.clone().abs().greater_elem(threshold).bool_not();
            x.mask_fill(inside, 0.0)
        }
        // where(x > t, x - t, where(x < -t, x + t, 0)).
        Activation::SoftShrink { threshold } => {
            let t = threshold as f64;
            let above = x.clone().greater_elem(t);
            let below = x.clone().lower_elem(-t);
            x.zeros_like()
                .mask_where(below, x.clone().add_scalar(t))
                .mask_where(above, x.sub_scalar(t))
        }
        // -softplus(-x): smooth, so the gradient at 0 is 0.5 as JAX's.
        Activation::LogSigmoid => act::softplus(x.neg(), 1.0).neg(),
        Activation::Mish => x.clone() * act::softplus(x, 1.0).tanh(),
        // where(x <= -1, 0, where(x >= 1, x, (x + 1)² / 4)).
        Activation::SparsePlus => {
            let high = x.clone().greater_equal_elem(1.0);
            let low = x.clone().lower_equal_elem(-1.0);
            x.clone()
                .add_scalar(1.0)
                .square()
                .div_scalar(4.0)
                .mask_where(high, x)
                .mask_fill(low, 0.0)
        }
        // 0.5 * clip(x + 1, 0, 2).
        Activation::SparseSigmoid => clip(x.add_scalar(1.0), 0.0, 2.0).mul_scalar(0.5),
        Activation::Sparsemax { axis } => sparsemax(x, burn_axis(axis, rank)),
        // (x + sqrt(x² + b)) / 2.
        Activation::Squareplus { b } => (x.clone() + x.square().add_scalar(b).sqrt()).div_scalar(2.0),
        Activation::TanhShrink => x.clone() - x.tanh(),
        // where(x > threshold, x, default_value).
        Activation::Threshold {
            threshold,
            default_value,
        } => {
            let replaced = x.clone().greater_elem(threshold).bool_not();
            x.mask_fill(replaced, default_value)
        }
    }
}

/// `t` in the forward pass with half its gradient: how JAX differentiates `maximum` and
/// `minimum` where both operands are equal.
fn half_gradient(t: FloatT) -> FloatT {
    t.clone().mul_scalar(0.5) + t.detach().mul_scalar(0.5)
}

/// `jnp.maximum(x, lo)`: gradient 1 above `lo`, 0.5 at it, 0 below.
fn maximum(x: FloatT, lo: f64) -> FloatT {
    let below = x.clone().lower_elem(lo);
    let tie = x.clone().equal_elem(lo);
    x.clone().mask_fill(below, lo).mask_where(tie, half_gradient(x))
}

/// `jnp.minimum(x, hi)`: gradient 1 below `hi`, 0.5 at it, 0 above.
fn minimum(x: FloatT, hi: f64) -> FloatT {
    let above = x.clone().greater_elem(hi);
    let tie = x.clone().equal_elem(hi);
    x.clone().mask_fill(above, hi).mask_where(tie, half_gradient(x))
}

/// `jnp.clip(x, lo, hi)`, which is `minimum(maximum(x, lo), hi)`.
fn clip(x: FloatT, lo: f64, hi: f64) -> FloatT {
    minimum(maximum(x, lo), hi)
}

/// `jax.nn.relu6`: gradient 1 strictly between 0 and 6, else 0.
fn relu6(x: FloatT) -> FloatT {
    let low = x.clone().lower_equal_elem(0.0);
    let high = x.clone().greater_equal_elem(6.0);
    x.mask_fill(low, 0.0).mask_fill(high, 6.0)
}

/// `where(x >= 0, x, negative_slope * x)`: gradient 1 at 0.
fn leaky_relu(x: FloatT, negative_slope: f64) -> FloatT {
    let negative = x.clone().lower_elem(0.0);
    x.clone().mask_where(negative, x.mul_scalar(negative_slope))
}

/// `where(x > 0, x, alpha * (exp(x) - 1))`. The exponential only sees the non-positive part,
/// so a large `x` cannot make it infinite (and its gradient NaN).
fn elu(x: FloatT, alpha: f64) -> FloatT {
    let positive = x.clone().greater_elem(0.0);
    let negative_part = x.clone().mask_fill(positive.clone(), 0.0);
    let scaled = negative_part.exp().sub_scalar(1.0).mul_scalar(alpha);
    scaled.mask_where(positive, x)
}

/// `max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)`: smooth at 0 (gradient 1).
fn celu(x: FloatT, alpha: f64) -> FloatT {
    let negative = x.clone().lower_elem(0.0);
    let negative_part = x.clone().mask_fill(negative.clone().bool_not(), 0.0);
    let scaled = negative_part.div_scalar(alpha).exp().sub_scalar(1.0).mul_scalar(alpha);
    x.mask_where(negative, scaled)
}

/// `keras.activations.relu(x, negative_slope, max_value, threshold)`, step by step as
/// Keras's `ReLU.static_call` computes it (so the gradients at the kinks are Keras's too).
fn relu_ext(x: FloatT, negative_slope: f64, max_value: Option<f64>, threshold: f64) -> FloatT {
    if negative_slope != 0.0 && max_value.is_none() && threshold == 0.0 {
        return leaky_relu(x, negative_slope);
    }
    let negative_part = (negative_slope != 0.0).then(|| act::relu(x.clone().neg().add_scalar(threshold)));
    let mut clip_max = max_value.is_some();
    let mut y = if threshold != 0.0 {
        let damped = x.clone().greater_elem(threshold).bool_not();
        x.mask_fill(damped, 0.0)
    } else if max_value == Some(6.0) {
        clip_max = false;
        relu6(x)
    } else {
        act::relu(x)
    };
    if let (true, Some(max_value)) = (clip_max, max_value) {
        y = clip(y, 0.0, max_value);
    }
    match negative_part {
        Some(n) => y - n.mul_scalar(negative_slope),
        None => y,
    }
}

/// Sparsemax along `dim`: `max(x - τ, 0)` where `τ = (Σ_{j∈S} x_j − 1) / |S|` and the support
/// `S` holds the `k` largest entries, `k` the largest with `z_k > (Σ_{i≤k} z_i − 1) / k` for
/// the entries `z` sorted in decreasing order.
///
/// This is the threshold of Martins & Astudillo (2016) and of keras-team/keras#23469. Keras
/// 3.15.1 itself computes `τ` from the sum of the cumulative sums over the support
/// (keras-team/keras#23425), which is wrong whenever two or more entries are in it.
///
/// The support is found on the detached values (sorting needs no gradient); `τ` is then a
/// differentiable sum over it in the original order, so the gradient is JAX's:
/// `g_i − mean_{j∈S} g_j` on the support and 0 elsewhere.
fn sparsemax(x: FloatT, dim: usize) -> FloatT {
    let dims = x.dims();
    let z = x.clone().detach();
    let sorted = z.clone().sort_descending(dim);
    let cumsum = sorted.clone().cumsum(dim);
    let r = sorted.ones_like().cumsum(dim);
    let support = (sorted.clone() - cumsum.sub_scalar(1.0) / r).greater_elem(0.0);
    let k = support.clone().float().sum_dim(dim);
    // The k-th largest entry; every entry at least as large is in the support.
    let kth = sorted.mask_fill(support.bool_not(), f32::INFINITY).min_dim(dim);
    let in_support = z.greater_equal(kth.expand(dims)).float();
    let tau = ((x.clone() * in_support).sum_dim(dim).sub_scalar(1.0) / k).expand(dims);
    maximum(x - tau, 0.0)
}
