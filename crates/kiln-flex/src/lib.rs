//! Kiln's adapter for Burn's flex engine: the fast pure-Rust CPU backend.
//!
//! ```
//! let device = kiln_flex::device();
//! assert_eq!(device.name(), "flex");
//! ```

use kiln_burn::EngineDevice;

/// The backend name.
pub const BACKEND: &str = "flex";

/// The flex CPU device.
pub fn device() -> EngineDevice {
    EngineDevice::new(burn::tensor::Device::flex(), BACKEND, "flex")
}

/// The devices this engine offers: one CPU device, always available.
pub fn devices() -> Vec<EngineDevice> {
    vec![device()]
}
