//! Moving tensors between the host and a device.

use crate::error::EngineError;
use crate::slot::{FloatT, IntT, Slot, logical, padded};
use burn::tensor::{Device, TensorData};
use kiln_ir::{HostData, HostTensor};

/// Uploads a host tensor.
pub(crate) fn upload(t: &HostTensor, device: &Device) -> Slot {
    let shape = padded(t.shape());
    match t.data() {
        HostData::F32(v) => Slot::F(FloatT::from_data(TensorData::new(v.clone(), shape), device)),
        HostData::I32(v) => Slot::I(IntT::from_data(TensorData::new(v.clone(), shape), device)),
    }
}

/// Uploads a host tensor, moving its elements instead of copying them.
pub(crate) fn upload_owned(t: HostTensor, device: &Device) -> Slot {
    let (shape, data) = t.into_parts();
    let shape = padded(&shape);
    match data {
        HostData::F32(v) => Slot::F(FloatT::from_data(TensorData::new(v, shape), device)),
        HostData::I32(v) => Slot::I(IntT::from_data(TensorData::new(v, shape), device)),
    }
}

/// Uploads a run's inputs, moving their elements.
pub(crate) fn upload_all(inputs: Vec<HostTensor>, device: &Device) -> Vec<Slot> {
    inputs.into_iter().map(|t| upload_owned(t, device)).collect()
}

/// Uploads f32 data of logical shape `dims`.
pub(crate) fn upload_f32(v: Vec<f32>, dims: &[usize], device: &Device) -> FloatT {
    FloatT::from_data(TensorData::new(v, padded(dims)), device)
}

/// Downloads a value of logical rank `rank`.
pub(crate) fn download(slot: Slot, rank: usize) -> Result<HostTensor, EngineError> {
    let dims = logical(slot.dims(), rank);
    let fail = |e: String| EngineError::Engine {
        engine: "burn".into(),
        message: e,
    };
    let t = match slot {
        Slot::F(t) => {
            let v = t.inner().into_data().convert::<f32>().try_into_vec::<f32>();
            HostTensor::from_f32(v.map_err(|e| fail(format!("{e:?}")))?, dims)
        }
        Slot::I(t) => {
            let v = t.into_data().convert::<i32>().try_into_vec::<i32>();
            HostTensor::from_i32(v.map_err(|e| fail(format!("{e:?}")))?, dims)
        }
    };
    t.map_err(|e| fail(e.to_string()))
}
