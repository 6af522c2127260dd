//! Training and inference over several devices, as Keras's `keras.distribution`.
//!
//! [`DataParallel`] names the devices once; a model given it (with
//! [`Model::set_distribution`], or every model compiled after
//! [`set_distribution`]) splits each batch of `fit`, `evaluate` and `predict` across them.
//! The first device is the main one: it holds the weights and the optimizer state. Every
//! step sends the weights to the other devices, runs each device's rows of the batch at
//! the same time, gathers the gradients on the main device (weighted by each device's
//! share of the rows) and takes one optimizer step there, so the replicas never drift
//! apart and the losses are those of one device with the same global batch. Dropout
//! draws the whole batch's masks, and batch normalization normalises every part with the
//! whole batch's statistics (`docs/scale.md` says how).
//!
//! ```
//! use kiln::distribution::DataParallel;
//! use kiln::prelude::*;
//!
//! let mut model = Sequential::new();
//! model.add(Dense::new(4).input_shape([3]))?;
//! // Two parts of every batch: here the same CPU engine twice, in practice
//! // ["tch:cuda:0", "tch:cuda:1"] or remote devices ("remote:ws://host:3000").
//! model.set_distribution(Some(DataParallel::new(["ndarray", "ndarray"])?))?;
//! model.compile("sgd", "mse", &[])?;
//! let x = Tensor::from_f32(vec![0.5; 12], [4, 3])?;
//! let y = Tensor::from_f32(vec![1.0; 16], [4, 4])?;
//! let history = model.fit(&x, &y, FitOptions::default().epochs(1).verbose(0))?;
//! assert!(history.last("loss").unwrap().is_finite());
//! # Ok::<(), kiln::KilnError>(())
//! ```

use crate::devices::Device;
use crate::error::{KilnError, Result};
use kiln_burn::EngineDevice;
use std::sync::Mutex;

/// Data parallelism over a list of devices (Keras's `keras.distribution.DataParallel`).
///
/// Devices are given as [`Device`]s or device strings: local engines, GPUs, remote
/// devices, or a mix. Listing one device twice is allowed (each part of the batch runs on
/// it in turn with the others), which is how the splitting can be checked on one machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataParallel {
    devices: Vec<Device>,
}

impl DataParallel {
    /// Data parallelism over `devices`, the first being the main device.
    ///
    /// ```
    /// let dp = kiln::distribution::DataParallel::new(["ndarray", "flex"])?;
    /// assert_eq!(dp.devices().len(), 2);
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    pub fn new<I>(devices: I) -> Result<DataParallel>
    where
        I: IntoIterator,
        I::Item: IntoDevice,
    {
        let devices = devices
            .into_iter()
            .map(IntoDevice::into_device)
            .collect::<Result<Vec<_>>>()?;
        if devices.is_empty() {
            return Err(KilnError::Device(
                "DataParallel needs at least one device. Received an empty list".into(),
            ));
        }
        Ok(DataParallel { devices })
    }

    /// Data parallelism over a comma-separated list of device strings
    /// (`"tch:cuda:0,tch:cuda:1"`), as the command line and examples take it.
    pub fn parse_list(list: &str) -> Result<DataParallel> {
        DataParallel::new(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// The devices, main device first.
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// The main device: it holds the weights and the optimizer state.
    pub fn main_device(&self) -> &Device {
        &self.devices[0]
    }

    /// Connects every device (remote ones open their sessions here).
    pub(crate) fn engines(&self) -> Result<Vec<EngineDevice>> {
        self.devices.iter().map(Device::engine).collect()
    }
}

/// What [`DataParallel::new`] accepts as a device: a [`Device`] or a device string.
pub trait IntoDevice {
    /// The device, or an error naming the string that is not one.
    fn into_device(self) -> Result<Device>;
}

impl IntoDevice for Device {
    fn into_device(self) -> Result<Device> {
        Ok(self)
    }
}

impl IntoDevice for &Device {
    fn into_device(self) -> Result<Device> {
        Ok(self.clone())
    }
}

impl IntoDevice for &str {
    fn into_device(self) -> Result<Device> {
        self.parse()
    }
}

impl IntoDevice for &&str {
    fn into_device(self) -> Result<Device> {
        self.parse()
    }
}

impl IntoDevice for String {
    fn into_device(self) -> Result<Device> {
        self.parse()
    }
}

impl IntoDevice for &String {
    fn into_device(self) -> Result<Device> {
        self.parse()
    }
}

static DISTRIBUTION: Mutex<Option<DataParallel>> = Mutex::new(None);

/// Sets the distribution every model takes at `compile` unless it has one of its own
/// (Keras's `keras.distribution.set_distribution`); `None` goes back to one device.
pub fn set_distribution(distribution: Option<DataParallel>) {
    *DISTRIBUTION.lock().unwrap_or_else(|e| e.into_inner()) = distribution;
}

/// The distribution set by [`set_distribution`], if any.
pub fn distribution() -> Option<DataParallel> {
    DISTRIBUTION.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A model's distribution with its devices connected.
#[derive(Clone, Debug)]
pub(crate) struct Replicas {
    pub plan: DataParallel,
    pub engines: Vec<EngineDevice>,
}

impl Replicas {
    pub(crate) fn new(plan: DataParallel) -> Result<Replicas> {
        let engines = plan.engines()?;
        Ok(Replicas { plan, engines })
    }

    /// Splits the rows `idx` of `data` (and of `targets`) into one shard per device.
    pub(crate) fn shards(
        &self,
        data: &crate::fit::Data,
        targets: Option<&crate::fit::Data>,
        idx: &[usize],
    ) -> Vec<kiln_burn::Shard> {
        shards(self.engines.len(), data, targets, idx)
    }
}

/// Splits the rows `idx` of `data` (and of `targets`) into at most `parts` shards.
pub(crate) fn shards(
    parts: usize,
    data: &crate::fit::Data,
    targets: Option<&crate::fit::Data>,
    idx: &[usize],
) -> Vec<kiln_burn::Shard> {
    kiln_burn::split_rows(idx.len(), parts)
        .into_iter()
        .map(|(start, rows)| {
            let part = &idx[start..start + rows];
            let mut inputs = data.rows(part);
            if let Some(t) = targets {
                inputs.extend(t.rows(part));
            }
            kiln_burn::Shard {
                inputs,
                rows,
                row_offset: start,
            }
        })
        .collect()
}
