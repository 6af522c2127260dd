//! Kiln's adapter for Burn's wgpu engine: GPUs through Vulkan, Metal or DX12, and
//! lavapipe (a CPU Vulkan driver from Mesa) on machines without one.
//!
//! Devices are the adapters wgpu finds, in its order: `wgpu:0`, `wgpu:1`, …

use burn::tensor::{Device, DeviceType};
use kiln_burn::EngineDevice;

/// The backend name.
pub const BACKEND: &str = "wgpu";

/// A wgpu adapter: its device and whether it is a real GPU (not a software rasterizer).
#[derive(Clone)]
pub struct Adapter {
    /// The device.
    pub device: EngineDevice,
    /// `false` for software drivers such as lavapipe (`llvmpipe`).
    pub is_gpu: bool,
}

fn describe(index: usize, device: Device) -> Option<Adapter> {
    let identity = std::panic::catch_unwind(|| device.identity()).ok().flatten()?;
    let is_gpu = identity.physical.is_some();
    let name = format!("wgpu:{index} ({})", identity.name);
    Some(Adapter {
        device: EngineDevice::new(device, BACKEND, name),
        is_gpu,
    })
}

/// Every adapter wgpu can open on this machine (empty without a Vulkan/Metal/DX12 driver).
/// Enumerating opens every device, so it is done once per process.
pub fn adapters() -> Vec<Adapter> {
    static ADAPTERS: std::sync::OnceLock<Vec<Adapter>> = std::sync::OnceLock::new();
    ADAPTERS
        .get_or_init(|| {
            let found = std::panic::catch_unwind(|| Device::enumerate(DeviceType::Wgpu).into_vec()).unwrap_or_default();
            found
                .into_iter()
                .enumerate()
                .filter_map(|(i, d)| describe(i, d))
                .collect()
        })
        .clone()
}

/// The devices this engine offers here.
pub fn devices() -> Vec<EngineDevice> {
    adapters().into_iter().map(|a| a.device).collect()
}

/// The `index`-th adapter, or a message saying what is missing and how to install it.
pub fn device(index: usize) -> Result<EngineDevice, String> {
    let mut all = adapters();
    if index < all.len() {
        return Ok(all.swap_remove(index).device);
    }
    Err(if all.is_empty() {
        "no wgpu adapter found: install a Vulkan driver (on a machine without a GPU, Mesa's lavapipe: `apt-get install mesa-vulkan-drivers libvulkan1`, or run ./scripts/setup)".into()
    } else {
        format!(
            "wgpu:{index} does not exist; this machine has {} wgpu adapter(s): wgpu:0 to wgpu:{}",
            all.len(),
            all.len() - 1
        )
    })
}
