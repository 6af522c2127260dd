//! Kiln's adapter for Burn's libtorch engine: `tch:cpu` and `tch:cuda:N`.

use burn::tensor::{Device, DeviceType};
use kiln_burn::EngineDevice;

/// The backend name.
pub const BACKEND: &str = "tch";

/// The libtorch CPU device.
pub fn cpu() -> EngineDevice {
    // burn 0.22 deprecates burn-tch; Kiln keeps it for libtorch's speed and CUDA support.
    #[allow(deprecated)]
    let device = Device::libtorch();
    EngineDevice::new(device, BACKEND, "tch:cpu")
}

/// Number of CUDA devices libtorch sees (asked once per process).
pub fn cuda_count() -> usize {
    static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| {
        std::panic::catch_unwind(|| Device::enumerate(DeviceType::LibTorch).into_vec().len()).unwrap_or(0)
    })
}

/// The `index`-th CUDA device, or a message saying what is missing.
pub fn cuda(index: usize) -> Result<EngineDevice, String> {
    let count = cuda_count();
    if index >= count {
        return Err(if count == 0 {
            "libtorch sees no CUDA device: this needs an NVIDIA GPU with its driver and the CUDA build of libtorch (./scripts/setup installs it where `nvidia-smi` works)".into()
        } else {
            format!("tch:cuda:{index} does not exist; libtorch sees {count} CUDA device(s)")
        });
    }
    #[allow(deprecated)]
    let device = Device::libtorch_cuda(index);
    Ok(EngineDevice::new(device, BACKEND, format!("tch:cuda:{index}")))
}

/// The devices this engine offers here: the CPU, then every CUDA device.
pub fn devices() -> Vec<EngineDevice> {
    let mut out = vec![cpu()];
    out.extend((0..cuda_count()).filter_map(|i| cuda(i).ok()));
    out
}
