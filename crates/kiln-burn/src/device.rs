//! Devices as the lowering sees them: a Burn device plus the adapter's name for it.

use burn::tensor::Device;
use std::fmt;

/// One engine device. Adapter crates construct it; the API crate only passes it around.
#[derive(Clone, Debug)]
pub struct EngineDevice {
    device: Device,
    backend: &'static str,
    name: String,
}

impl EngineDevice {
    /// Wraps a Burn device. `backend` is the Kiln backend name (`ndarray`, `flex`, …) and
    /// `name` what the adapter calls this device (`ndarray`, `wgpu:0 (llvmpipe)`, …).
    pub fn new(device: Device, backend: &'static str, name: impl Into<String>) -> Self {
        EngineDevice {
            device,
            backend,
            name: name.into(),
        }
    }

    /// The Burn device.
    pub fn burn(&self) -> &Device {
        &self.device
    }

    /// The backend name.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for EngineDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}
