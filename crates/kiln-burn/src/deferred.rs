//! A run's scalar outputs left on the device, and their running sums there: what lets a
//! training loop read losses and metrics back only when it needs them.
//!
//! Reading a value back waits for the device to finish all queued work; on an engine with
//! an asynchronous queue (wgpu) doing that every step stalls the queue once per step.
//! [`Session::train_step_deferred`](crate::Session::train_step_deferred) returns the step's
//! outputs as [`DeviceOutputs`] instead, [`OutputSums::add`] folds them into weighted sums
//! on the device (as Keras's `Mean` metrics keep `total` and `count`), and
//! [`OutputSums::means`] reads the sums back — one transfer for all outputs.

use crate::device::EngineDevice;
use crate::error::EngineError;
use crate::session::guarded;
use crate::slot::{FloatT, MAX_RANK, Slot};
use burn::tensor::Tensor;

/// The first element of each output of one run, as one float tensor on the device
/// (Burn shape `[1, …, 1, outputs]`). Nothing has been read back.
#[derive(Clone)]
pub struct DeviceOutputs {
    device: EngineDevice,
    values: Option<FloatT>,
    len: usize,
}

/// Burn shape `[1, …, 1, n]`.
fn row(n: usize) -> [usize; MAX_RANK] {
    let mut dims = [1; MAX_RANK];
    dims[MAX_RANK - 1] = n;
    dims
}

impl DeviceOutputs {
    /// The outputs of a run (float or int, any shape; each contributes its first element),
    /// detached from any autodiff graph.
    pub(crate) fn new(device: &EngineDevice, outs: Vec<Slot>) -> DeviceOutputs {
        let len = outs.len();
        let parts: Vec<FloatT> = outs
            .into_iter()
            .map(|o| {
                let t = match o {
                    Slot::F(t) => t.inner(),
                    Slot::I(t) => t.float(),
                };
                let n = t.shape().num_elements();
                let flat = t.reshape(row(n));
                if n == 1 { flat } else { flat.narrow(MAX_RANK - 1, 0, 1) }
            })
            .collect();
        let values = match parts.len() {
            0 => None,
            1 => parts.into_iter().next(),
            _ => Some(Tensor::cat(parts, MAX_RANK - 1)),
        };
        DeviceOutputs {
            device: device.clone(),
            values,
            len,
        }
    }

    /// Number of outputs.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the run had no outputs.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The same outputs on `device` (nothing is read back to the host).
    pub(crate) fn to_device(&self, device: &EngineDevice) -> DeviceOutputs {
        DeviceOutputs {
            device: device.clone(),
            values: self.values.clone().map(|v| v.to_device(device.burn())),
            len: self.len,
        }
    }

    /// Reads the values back (waits for the device), in output order.
    pub fn to_host(&self) -> Result<Vec<f64>, EngineError> {
        match &self.values {
            None => Ok(Vec::new()),
            Some(v) => read(&self.device, v, 1.0),
        }
    }
}

/// Downloads `t` divided by `weight`, as f64.
fn read(device: &EngineDevice, t: &FloatT, weight: f64) -> Result<Vec<f64>, EngineError> {
    guarded(device, || {
        let v = t.clone().into_data().convert::<f32>().try_into_vec::<f32>();
        let v = v.map_err(|e| EngineError::Engine {
            engine: device.name().to_string(),
            message: format!("reading outputs back: {e:?}"),
        })?;
        Ok(v.into_iter().map(|x| x as f64 / weight).collect())
    })
}

/// Running sums of run outputs weighted by batch size, kept on the device in f32 (as
/// Keras's metric accumulators are); [`means`](OutputSums::means) reads them back.
#[derive(Clone, Default)]
pub struct OutputSums {
    sums: Option<(EngineDevice, FloatT)>,
    weight: f64,
    added: usize,
}

impl OutputSums {
    /// Empty sums.
    pub fn new() -> OutputSums {
        OutputSums::default()
    }

    /// Adds `outputs` times `weight` (the batch size) to the sums, on the device; nothing
    /// is read back. Every addition needs the same number of outputs.
    pub fn add(&mut self, outputs: &DeviceOutputs, weight: usize) -> Result<(), EngineError> {
        let Some(values) = &outputs.values else {
            self.weight += weight as f64;
            self.added += 1;
            return Ok(());
        };
        if let Some((_, sums)) = &self.sums
            && sums.dims()[MAX_RANK - 1] != outputs.len
        {
            return Err(EngineError::Input(format!(
                "summing {} outputs into sums of {}",
                outputs.len,
                sums.dims()[MAX_RANK - 1]
            )));
        }
        let device = &outputs.device;
        let next = guarded(device, || {
            let scaled = values.clone().mul_scalar(weight as f32);
            Ok(match self.sums.take() {
                Some((_, sums)) => sums.add(scaled),
                None => scaled,
            })
        })?;
        self.sums = Some((device.clone(), next));
        self.weight += weight as f64;
        self.added += 1;
        Ok(())
    }

    /// How many times [`add`](OutputSums::add) has been called.
    pub fn added(&self) -> usize {
        self.added
    }

    /// Reads the sums back (waits for the device) and divides them by the total weight:
    /// the weighted means of every output, in output order (empty before any addition).
    pub fn means(&self) -> Result<Vec<f64>, EngineError> {
        match &self.sums {
            None => Ok(Vec::new()),
            Some((device, sums)) => read(device, sums, self.weight.max(1.0)),
        }
    }
}
