//! The backends this build can compare: every device of every compiled engine, and the
//! compiled ones this machine cannot run, with the reason.

use kiln_burn::EngineDevice;

/// One device the suite runs on.
#[derive(Clone, Debug)]
pub struct Backend {
    /// The engine device the IR cases run on.
    pub engine: EngineDevice,
    /// The same device for the Keras API (training goldens).
    pub device: kiln::Device,
}

impl Backend {
    /// The device's short name, as Kiln parses it (`ndarray`, `wgpu:0`, `tch:cpu`).
    pub fn name(&self) -> String {
        self.device.to_string()
    }

    /// What the engine calls the device (`wgpu:0 (llvmpipe (LLVM 15.0.6, 256 bits))`).
    pub fn description(&self) -> &str {
        self.engine.name()
    }

    /// The backend name (`ndarray`, `flex`, `wgpu`, `tch`).
    pub fn backend(&self) -> &'static str {
        self.engine.backend()
    }

    /// Whether this is the reference every other backend is compared with.
    pub fn is_reference(&self) -> bool {
        self.backend() == "ndarray"
    }
}

/// A compiled backend (or device) this machine cannot run, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    /// The device (`wgpu`, `tch:cuda`).
    pub name: String,
    /// What is missing.
    pub reason: String,
}

/// The result of looking for devices.
#[derive(Clone, Debug)]
pub struct Backends {
    /// Devices to run on; the ndarray reference first.
    pub available: Vec<Backend>,
    /// Compiled but not runnable here.
    pub unavailable: Vec<Unavailable>,
}

#[cfg(not(feature = "ndarray"))]
compile_error!("kiln-parity compares every backend with ndarray: enable its `ndarray` feature (a default one)");

/// Every device of every compiled engine, ndarray first.
pub fn discover() -> Backends {
    #[allow(unused_mut)]
    let mut available = vec![Backend {
        engine: kiln_ndarray::device(),
        device: kiln::Device::Ndarray,
    }];
    #[allow(unused_mut)]
    let mut unavailable = Vec::new();
    #[cfg(feature = "flex")]
    available.push(Backend {
        engine: kiln_flex::device(),
        device: kiln::Device::Flex,
    });
    #[cfg(feature = "wgpu")]
    {
        let adapters = kiln_wgpu::adapters();
        if adapters.is_empty() {
            unavailable.push(Unavailable {
                name: "wgpu".into(),
                reason: kiln_wgpu::device(0).err().unwrap_or_default(),
            });
        }
        for (i, a) in adapters.into_iter().enumerate() {
            available.push(Backend {
                engine: a.device,
                device: kiln::Device::Wgpu(i),
            });
        }
    }
    #[cfg(feature = "tch")]
    {
        available.push(Backend {
            engine: kiln_tch::cpu(),
            device: kiln::Device::TchCpu,
        });
        let count = kiln_tch::cuda_count();
        if count == 0 {
            unavailable.push(Unavailable {
                name: "tch:cuda".into(),
                reason: kiln_tch::cuda(0).err().unwrap_or_default(),
            });
        }
        for i in 0..count {
            match kiln_tch::cuda(i) {
                Ok(engine) => available.push(Backend {
                    engine,
                    device: kiln::Device::TchCuda(i),
                }),
                Err(reason) => unavailable.push(Unavailable {
                    name: format!("tch:cuda:{i}"),
                    reason,
                }),
            }
        }
    }
    Backends { available, unavailable }
}
