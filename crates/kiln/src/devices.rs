//! Devices: which engine and which of its devices a model runs on, chosen at run time.

use crate::error::{KilnError, Result};
use kiln_burn::EngineDevice;
use std::fmt;
use std::str::FromStr;

/// A device, parsed from strings such as `"ndarray"` or `"cpu"`.
///
/// The default comes from the `KILN_DEVICE` environment variable (as Keras reads
/// `KERAS_BACKEND`), else `cpu`: the fastest CPU engine compiled in.
///
/// ```
/// use kiln::Device;
/// let d: Device = "ndarray".parse()?;
/// assert_eq!(d.to_string(), "ndarray");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    /// Burn's ndarray engine on the CPU.
    Ndarray,
}

/// The Cargo feature each known backend name needs.
const BACKEND_FEATURES: &[(&str, &str)] = &[
    ("flex", "flex"),
    ("wgpu", "wgpu"),
    ("tch", "tch"),
    ("gpu", "wgpu` or `tch"),
];

impl Device {
    /// The default device: `KILN_DEVICE` if set, else `cpu`.
    pub fn default_device() -> Result<Device> {
        match std::env::var("KILN_DEVICE") {
            Ok(s) if !s.trim().is_empty() => s
                .trim()
                .parse()
                .map_err(|e: KilnError| KilnError::Device(format!("KILN_DEVICE={s}: {e}"))),
            _ => "cpu".parse(),
        }
    }

    /// The engine device behind this device.
    pub(crate) fn engine(&self) -> Result<EngineDevice> {
        match self {
            #[cfg(feature = "ndarray")]
            Device::Ndarray => Ok(kiln_ndarray::device()),
            #[cfg(not(feature = "ndarray"))]
            Device::Ndarray => Err(not_compiled("ndarray", "ndarray")),
        }
    }
}

fn not_compiled(device: &str, feature: &str) -> KilnError {
    KilnError::Device(format!(
        "device '{device}' needs a backend that is not compiled into this build: enable Kiln's Cargo feature `{feature}`"
    ))
}

impl FromStr for Device {
    type Err = KilnError;

    fn from_str(s: &str) -> Result<Device> {
        let backend = s.split(':').next().unwrap_or_default();
        match s {
            "ndarray" | "cpu" => Ok(Device::Ndarray),
            _ => match BACKEND_FEATURES.iter().find(|(b, _)| *b == backend) {
                Some((_, feature)) => Err(not_compiled(s, feature)),
                None => Err(KilnError::UnknownName {
                    kind: "device",
                    name: s.to_string(),
                    expected: "ndarray, cpu, flex, wgpu, wgpu:N, tch:cpu, tch:cuda:N, gpu".into(),
                }),
            },
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Ndarray => f.write_str("ndarray"),
        }
    }
}

/// A device that is compiled in and available on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device.
    pub device: Device,
    /// The backend name.
    pub backend: &'static str,
    /// What the engine calls it.
    pub name: String,
}

/// Every device compiled in and available here.
pub fn devices() -> Vec<DeviceInfo> {
    let mut out = Vec::new();
    #[cfg(feature = "ndarray")]
    for d in kiln_ndarray::devices() {
        out.push(DeviceInfo {
            device: Device::Ndarray,
            backend: d.backend(),
            name: d.name().to_string(),
        });
    }
    out
}

/// The backends compiled into this build.
pub fn backends() -> Vec<&'static str> {
    let mut out = Vec::new();
    if cfg!(feature = "ndarray") {
        out.push("ndarray");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_names_features_and_unknowns() {
        assert_eq!("cpu".parse::<Device>().unwrap(), Device::Ndarray);
        let err = "wgpu:0".parse::<Device>().unwrap_err().to_string();
        assert_eq!(
            err,
            "device 'wgpu:0' needs a backend that is not compiled into this build: enable Kiln's Cargo feature `wgpu`"
        );
        let err = "tpu".parse::<Device>().unwrap_err().to_string();
        assert!(
            err.starts_with("unknown device 'tpu'. Expected one of: ndarray"),
            "{err}"
        );
    }
}
