//! The three benchmark models written by hand with Burn, as a Burn user writes them:
//! `burn::nn` modules, NCHW images, logits out (the loss applies the softmax, as Burn's
//! `CrossEntropyLoss` expects; prediction applies it explicitly).

use super::data::{CLASSES, SIDE};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, Lstm, LstmConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// A classifier of rank-`D` inputs (batch first) into class logits `(batch, 10)`.
pub trait Net<const D: usize>: Module {
    /// The logits of a batch.
    fn forward(&self, x: Tensor<D>) -> Tensor<2>;
}

/// Dense 784-128(relu)-64(relu)-10.
#[derive(Module, Debug)]
pub struct Mlp {
    hidden1: Linear,
    hidden2: Linear,
    output: Linear,
}

impl Mlp {
    /// A new MLP on `device`.
    pub fn new(device: &Device) -> Mlp {
        Mlp {
            hidden1: LinearConfig::new(SIDE * SIDE, 128).init(device),
            hidden2: LinearConfig::new(128, 64).init(device),
            output: LinearConfig::new(64, CLASSES).init(device),
        }
    }
}

impl Net<2> for Mlp {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = relu(self.hidden1.forward(x));
        let x = relu(self.hidden2.forward(x));
        self.output.forward(x)
    }
}

/// conv32(3×3, relu)-maxpool2-conv64(3×3, relu)-maxpool2-flatten-dense10 on `(n, 1, 28, 28)`.
#[derive(Module, Debug)]
pub struct Cnn {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    output: Linear,
}

impl Cnn {
    /// A new CNN on `device`.
    pub fn new(device: &Device) -> Cnn {
        // 28 → conv 26 → pool 13 → conv 11 → pool 5: 64 × 5 × 5 features.
        let side = ((SIDE - 2) / 2 - 2) / 2;
        Cnn {
            conv1: Conv2dConfig::new([1, 32], [3, 3]).init(device),
            conv2: Conv2dConfig::new([32, 64], [3, 3]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            output: LinearConfig::new(64 * side * side, CLASSES).init(device),
        }
    }
}

impl Net<4> for Cnn {
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.pool.forward(relu(self.conv1.forward(x)));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let [n, c, h, w] = x.dims();
        self.output.forward(x.reshape([n, c * h * w]))
    }
}

/// LSTM 128 over the 28 rows of 28 features, its last hidden state into dense 10.
#[derive(Module, Debug)]
pub struct LstmNet {
    lstm: Lstm,
    output: Linear,
}

impl LstmNet {
    /// A new LSTM classifier on `device`.
    pub fn new(device: &Device) -> LstmNet {
        LstmNet {
            lstm: LstmConfig::new(SIDE, 128, true).init(device),
            output: LinearConfig::new(128, CLASSES).init(device),
        }
    }
}

impl Net<3> for LstmNet {
    fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let (_, state) = self.lstm.forward(x, None);
        self.output.forward(state.hidden)
    }
}
