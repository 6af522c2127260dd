//! Activation functions, with Keras 3's definitions.

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
        Activation::Elu { alpha } => act::elu(x, alpha as f64),
        Activation::Selu => act::elu(x, SELU_ALPHA).mul_scalar(SELU_SCALE),
        Activation::Softplus => act::softplus(x, 1.0),
        Activation::Softsign => act::softsign(x),
        Activation::Silu => act::silu(x),
        Activation::LeakyRelu { negative_slope } => act::leaky_relu(x, negative_slope as f64),
        Activation::HardSigmoid => act::hard_sigmoid(x, 1.0 / 6.0, 0.5),
        Activation::Exponential => x.exp(),
    }
}
