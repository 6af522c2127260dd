//! Kiln's adapter for Burn's ndarray engine: a pure-Rust CPU backend.
//!
//! ```
//! let device = kiln_ndarray::device();
//! assert_eq!(device.name(), "ndarray");
//! ```

use kiln_burn::EngineDevice;

/// The backend name.
pub const BACKEND: &str = "ndarray";

/// The ndarray CPU device.
pub fn device() -> EngineDevice {
    // burn 0.22 deprecates ndarray in favour of flex; Kiln keeps it because users ask for it.
    #[allow(deprecated)]
    let device = burn::tensor::Device::ndarray();
    EngineDevice::new(device, BACKEND, "ndarray")
}

/// The devices this engine offers: one CPU device, always available.
pub fn devices() -> Vec<EngineDevice> {
    vec![device()]
}
