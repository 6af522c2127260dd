//! Devices: which engine and which of its devices a model runs on, chosen at run time.

use crate::error::{KilnError, Result};
use kiln_burn::EngineDevice;
use std::fmt;
use std::str::FromStr;

/// A device, parsed from strings:
///
/// | string | device |
/// |---|---|
/// | `ndarray` | Burn's ndarray CPU engine |
/// | `flex` | Burn's flex CPU engine |
/// | `cpu` | the fastest CPU engine compiled in: `tch:cpu`, else `flex`, else `ndarray` |
/// | `wgpu`, `wgpu:N` | the N-th wgpu adapter (a GPU, or lavapipe without one) |
/// | `tch:cpu` (or `tch`) | libtorch on the CPU |
/// | `tch:cuda:N` (or `tch:cuda`) | libtorch on the N-th CUDA GPU |
/// | `gpu` | the first GPU: `tch:cuda:0`, else the first wgpu adapter that is a real GPU |
/// | `remote:ws://HOST:PORT` (`#N`) | device N (default 0) of a `kiln serve` server (Cargo feature `remote`) |
///
/// The default comes from the `KILN_DEVICE` environment variable (as Keras reads
/// `KERAS_BACKEND`), else `cpu`.
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
    /// Burn's flex engine on the CPU.
    Flex,
    /// The N-th wgpu adapter.
    Wgpu(usize),
    /// libtorch on the CPU.
    TchCpu,
    /// libtorch on the N-th CUDA device.
    TchCuda(usize),
    /// Device `index` of the Kiln server at `url` (`ws://HOST:PORT`), through Burn's remote
    /// engine. The server's token, if it has one, comes from `KILN_REMOTE_TOKEN`.
    Remote {
        /// The server's WebSocket address, `ws://HOST:PORT`.
        url: String,
        /// Which of the server's devices.
        index: usize,
    },
}

fn not_compiled(device: &str, feature: &str) -> KilnError {
    KilnError::Device(format!(
        "device '{device}' needs a backend that is not compiled into this build: enable Kiln's Cargo feature `{feature}` (e.g. `--features kiln/{feature}`)"
    ))
}

#[cfg_attr(not(any(feature = "wgpu", feature = "tch")), allow(dead_code))]
fn unavailable(device: &Device, why: String) -> KilnError {
    KilnError::Device(format!("device '{device}' is not available on this machine: {why}"))
}

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

    /// The Cargo feature (and backend name) this device needs.
    pub fn backend(&self) -> &'static str {
        match self {
            Device::Ndarray => "ndarray",
            Device::Flex => "flex",
            Device::Wgpu(_) => "wgpu",
            Device::TchCpu | Device::TchCuda(_) => "tch",
            Device::Remote { .. } => "remote",
        }
    }

    /// Whether this device's backend is compiled in.
    pub fn is_compiled(&self) -> bool {
        backends().contains(&self.backend())
    }

    /// The engine device behind this device.
    /// The engine device, for running IR plans directly with `kiln_burn`.
    pub fn engine(&self) -> Result<EngineDevice> {
        if !self.is_compiled() {
            return Err(not_compiled(&self.to_string(), self.backend()));
        }
        match self {
            #[cfg(feature = "ndarray")]
            Device::Ndarray => Ok(kiln_ndarray::device()),
            #[cfg(feature = "flex")]
            Device::Flex => Ok(kiln_flex::device()),
            #[cfg(feature = "wgpu")]
            Device::Wgpu(i) => kiln_wgpu::device(*i).map_err(|why| unavailable(self, why)),
            #[cfg(feature = "tch")]
            Device::TchCpu => Ok(kiln_tch::cpu()),
            #[cfg(feature = "tch")]
            Device::TchCuda(i) => kiln_tch::cuda(*i).map_err(|why| unavailable(self, why)),
            #[cfg(feature = "remote")]
            Device::Remote { url, index } => kiln_remote::device(url, *index, kiln_remote::token_from_env().as_deref())
                .map_err(|why| unavailable(self, why)),
            #[allow(unreachable_patterns)]
            _ => Err(not_compiled(&self.to_string(), self.backend())),
        }
    }

    /// A remote device from the part after `remote:`: `ws://HOST:PORT`, optionally `#N`.
    fn remote(address: &str) -> Result<Device> {
        let whole = format!("remote:{address}");
        let (url, index) = match address.split_once('#') {
            Some((url, n)) => (url, index(n, &whole)?),
            None => (address, 0),
        };
        let host = url.strip_prefix("ws://").unwrap_or("");
        let port = host.rsplit_once(':').map(|(_, p)| p);
        if host.is_empty() || host.contains('/') || port.is_none_or(|p| p.parse::<u16>().is_err()) {
            return Err(KilnError::Device(format!(
                "'{whole}': expected a remote device as 'remote:ws://HOST:PORT' or 'remote:ws://HOST:PORT#N' (a `kiln serve` address), received '{address}'"
            )));
        }
        if !cfg!(feature = "remote") {
            return Err(not_compiled(&whole, "remote"));
        }
        Ok(Device::Remote {
            url: url.to_string(),
            index,
        })
    }

    /// The fastest CPU device compiled in.
    fn fastest_cpu() -> Result<Device> {
        [Device::TchCpu, Device::Flex, Device::Ndarray]
            .into_iter()
            .find(Device::is_compiled)
            .ok_or_else(|| {
                KilnError::Device(
                    "no CPU backend is compiled in: enable Kiln's Cargo feature `flex` or `ndarray`".into(),
                )
            })
    }

    /// The first GPU of the compiled backends.
    fn first_gpu() -> Result<Device> {
        #[allow(unused_mut)]
        let mut looked: Vec<&str> = Vec::new();
        #[cfg(feature = "tch")]
        {
            if kiln_tch::cuda_count() > 0 {
                return Ok(Device::TchCuda(0));
            }
            looked.push("libtorch sees no CUDA device");
        }
        #[cfg(feature = "wgpu")]
        {
            let adapters = kiln_wgpu::adapters();
            if let Some(i) = adapters.iter().position(|a| a.is_gpu) {
                return Ok(Device::Wgpu(i));
            }
            looked.push(if adapters.is_empty() {
                "wgpu finds no adapter"
            } else {
                "wgpu finds only software adapters (use 'wgpu' to run on them anyway)"
            });
        }
        if looked.is_empty() {
            return Err(KilnError::Device(
                "device 'gpu' needs a GPU backend: enable Kiln's Cargo feature `wgpu` or `tch`".into(),
            ));
        }
        Err(KilnError::Device(format!("no GPU found: {}", looked.join("; "))))
    }
}

fn index(s: &str, what: &str) -> Result<usize> {
    s.parse()
        .map_err(|_| KilnError::Device(format!("'{what}': expected a device index, received '{s}'")))
}

impl FromStr for Device {
    type Err = KilnError;

    fn from_str(s: &str) -> Result<Device> {
        if let Some(address) = s.strip_prefix("remote:") {
            return Device::remote(address);
        }
        let parts: Vec<&str> = s.split(':').collect();
        let device = match parts.as_slice() {
            ["ndarray"] => Device::Ndarray,
            ["flex"] => Device::Flex,
            ["cpu"] => return Device::fastest_cpu(),
            ["gpu"] => return Device::first_gpu(),
            ["wgpu"] => Device::Wgpu(0),
            ["wgpu", n] => Device::Wgpu(index(n, s)?),
            ["tch"] | ["tch", "cpu"] => Device::TchCpu,
            ["tch", "cuda"] => Device::TchCuda(0),
            ["tch", "cuda", n] => Device::TchCuda(index(n, s)?),
            _ => {
                return Err(KilnError::UnknownName {
                    kind: "device",
                    name: s.to_string(),
                    expected: "ndarray, flex, cpu, wgpu, wgpu:N, tch:cpu, tch:cuda:N, gpu, remote:ws://HOST:PORT"
                        .into(),
                });
            }
        };
        if !device.is_compiled() {
            return Err(not_compiled(s, device.backend()));
        }
        Ok(device)
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Ndarray => f.write_str("ndarray"),
            Device::Flex => f.write_str("flex"),
            Device::Wgpu(i) => write!(f, "wgpu:{i}"),
            Device::TchCpu => f.write_str("tch:cpu"),
            Device::TchCuda(i) => write!(f, "tch:cuda:{i}"),
            Device::Remote { url, index: 0 } => write!(f, "remote:{url}"),
            Device::Remote { url, index } => write!(f, "remote:{url}#{index}"),
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
    /// What the engine calls it (for wgpu, the adapter's name).
    pub name: String,
}

/// Every device compiled in and available here, CPU engines first.
pub fn devices() -> Vec<DeviceInfo> {
    #[allow(unused_mut)]
    let mut out: Vec<DeviceInfo> = Vec::new();
    #[allow(unused_macros)]
    macro_rules! add {
        ($device:expr, $engine:expr) => {
            out.push(DeviceInfo {
                device: $device,
                backend: $engine.backend(),
                name: $engine.name().to_string(),
            })
        };
    }
    #[cfg(feature = "ndarray")]
    add!(Device::Ndarray, kiln_ndarray::device());
    #[cfg(feature = "flex")]
    add!(Device::Flex, kiln_flex::device());
    #[cfg(feature = "tch")]
    {
        add!(Device::TchCpu, kiln_tch::cpu());
        for i in 0..kiln_tch::cuda_count() {
            if let Ok(d) = kiln_tch::cuda(i) {
                add!(Device::TchCuda(i), d);
            }
        }
    }
    #[cfg(feature = "wgpu")]
    for (i, a) in kiln_wgpu::adapters().into_iter().enumerate() {
        add!(Device::Wgpu(i), a.device);
    }
    out
}

/// The backends compiled into this build.
pub fn backends() -> Vec<&'static str> {
    let mut out = Vec::new();
    for (compiled, name) in [
        (cfg!(feature = "ndarray"), "ndarray"),
        (cfg!(feature = "flex"), "flex"),
        (cfg!(feature = "wgpu"), "wgpu"),
        (cfg!(feature = "tch"), "tch"),
        (cfg!(feature = "remote"), "remote"),
    ] {
        if compiled {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_round_trips_and_unknowns_are_named() {
        for s in ["ndarray", "flex"] {
            assert_eq!(s.parse::<Device>().unwrap().to_string(), s);
        }
        let err = "tpu".parse::<Device>().unwrap_err().to_string();
        assert!(
            err.starts_with("unknown device 'tpu'. Expected one of: ndarray"),
            "{err}"
        );
        let err = "wgpu:x".parse::<Device>().unwrap_err().to_string();
        assert!(
            err.contains("expected a device index, received 'x'") || err.contains("feature `wgpu`"),
            "{err}"
        );
    }

    #[test]
    fn remote_devices_parse_and_bad_addresses_are_named() {
        for s in ["remote:ws://127.0.0.1:3000", "remote:ws://gpu-box:3001#2"] {
            match s.parse::<Device>() {
                Ok(d) => assert_eq!(d.to_string(), s),
                Err(e) => assert!(
                    cfg!(not(feature = "remote")) && e.to_string().contains("feature `remote`"),
                    "{e}"
                ),
            }
        }
        if cfg!(feature = "remote") {
            let d: Device = "remote:ws://h:1#0".parse().unwrap();
            assert_eq!(
                d,
                Device::Remote {
                    url: "ws://h:1".into(),
                    index: 0
                }
            );
            assert_eq!(d.to_string(), "remote:ws://h:1");
        }
        for bad in [
            "remote:",
            "remote:http://h:1",
            "remote:ws://h",
            "remote:ws://h:port",
            "remote:ws://h:1/x",
        ] {
            let err = bad.parse::<Device>().unwrap_err().to_string();
            assert!(
                err.contains("expected a remote device as 'remote:ws://HOST:PORT'"),
                "{bad}: {err}"
            );
        }
        let err = "remote:ws://h:1#x".parse::<Device>().unwrap_err().to_string();
        assert!(err.contains("expected a device index, received 'x'"), "{err}");
    }

    #[test]
    fn cpu_is_the_fastest_compiled_cpu_engine() {
        let expected = if cfg!(feature = "tch") {
            Device::TchCpu
        } else if cfg!(feature = "flex") {
            Device::Flex
        } else {
            Device::Ndarray
        };
        assert_eq!("cpu".parse::<Device>().unwrap(), expected);
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn a_backend_that_is_not_compiled_names_its_feature() {
        let err = "wgpu:0".parse::<Device>().unwrap_err().to_string();
        assert_eq!(
            err,
            "device 'wgpu:0' needs a backend that is not compiled into this build: enable Kiln's Cargo feature `wgpu` (e.g. `--features kiln/wgpu`)"
        );
    }
}
