//! A hand-written Burn training step and prediction, as in Burn's book: upload the batch,
//! forward, cross-entropy, backward, Adam's step; predict on the plain (non-autodiff)
//! device with `model.valid()` and read the probabilities back to the host.

use super::data::{Batch, SIDE};
use super::models_burn::Net;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Adam's learning rate, as Keras's default.
const LEARNING_RATE: f64 = 1e-3;

/// The batch as Burn's host data: images of `shape` (NCHW for the CNN) and labels.
pub struct BurnBatch<const D: usize> {
    x: TensorData,
    y: TensorData,
}

impl<const D: usize> BurnBatch<D> {
    /// `batch` with its images in `shape`, whose leading axis is the batch.
    pub fn new(batch: &Batch, shape: [usize; D]) -> Self {
        assert_eq!(shape.iter().product::<usize>(), batch.size * SIDE * SIDE, "{shape:?}");
        let labels: Vec<i64> = batch.labels.iter().map(|&l| i64::from(l)).collect();
        BurnBatch {
            x: TensorData::new(batch.pixels.clone(), shape),
            y: TensorData::new(labels, [batch.size]),
        }
    }
}

/// A Burn model with its Adam optimizer and loss, on the autodiff decorator of a device.
pub struct BurnTrainer<N> {
    model: Option<N>,
    optim: ModuleOptimizer,
    loss: CrossEntropyLoss,
    device: Device,
}

impl<N> BurnTrainer<N> {
    /// `make` builds the model on the autodiff decorator of `device`; Adam with epsilon
    /// 1e-7 (Keras's; Burn's default is 1e-5).
    pub fn new(device: &Device, make: impl FnOnce(&Device) -> N) -> Self {
        let device = device.clone().autodiff();
        BurnTrainer {
            model: Some(make(&device)),
            optim: AdamConfig::new().with_epsilon(1e-7).init(),
            loss: CrossEntropyLossConfig::new().init(&device),
            device,
        }
    }

    /// One training step on `batch`; returns the loss, read back to the host.
    pub fn step<const D: usize>(&mut self, batch: &BurnBatch<D>) -> f32
    where
        N: Net<D>,
    {
        let model = self.model.take().expect("the model is put back after each step");
        let x = Tensor::<D>::from_data(batch.x.clone(), &self.device);
        let y = Tensor::<1, Int>::from_data(batch.y.clone(), &self.device);
        let loss = self.loss.forward(model.forward(x), y);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optim.step(LEARNING_RATE, model, grads));
        loss.into_scalar::<f32>()
    }

    /// The model for inference: its weights on the plain device (`Module::valid`).
    pub fn inference<const D: usize>(&self) -> N
    where
        N: Net<D>,
    {
        self.model
            .as_ref()
            .expect("the model is put back after each step")
            .valid()
    }
}

/// The class probabilities of `batch` under `model` (on the plain device), read back to the host.
pub fn predict<N: Net<D>, const D: usize>(model: &N, batch: &BurnBatch<D>, device: &Device) -> TensorData {
    let x = Tensor::<D>::from_data(batch.x.clone(), device);
    softmax(model.forward(x), 1).into_data()
}
