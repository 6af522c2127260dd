//! Which engine a Burn device belongs to, for lowerings that pick a formulation per engine.

use burn::tensor::Device;

/// The engine behind a device, as far as the lowering's choices go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// Burn's ndarray CPU engine.
    NdArray,
    /// Any other engine (flex, libtorch, the CubeCL GPU engines, remote devices).
    Other,
}

impl Engine {
    /// The engine of `device`, autodiff or not. Burn 0.22's dispatch device names its
    /// engine only in its `Debug` form, and the enum's variants exist only when their
    /// engine is compiled in, which the lowering (engine-agnostic) cannot name.
    pub(crate) fn of(device: &Device) -> Engine {
        // `Device<NdArray(Cpu)>`, `Device<Autodiff { device: NdArray(Cpu), … }>`.
        let name = format!("{device:?}");
        let name = name.strip_prefix("Device<").unwrap_or(&name);
        let name = name.strip_prefix("Autodiff { device: ").unwrap_or(name);
        if name.starts_with("NdArray") {
            Engine::NdArray
        } else {
            Engine::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_cpu_engines() {
        #[allow(deprecated)]
        let ndarray = Device::ndarray();
        assert_eq!(Engine::of(&ndarray), Engine::NdArray);
        assert_eq!(Engine::of(&Device::flex()), Engine::Other);
    }

    #[test]
    fn sees_through_autodiff() {
        #[allow(deprecated)]
        let ndarray = Device::ndarray();
        let t = burn::tensor::Tensor::<2>::zeros([2, 2], &ndarray).autodiff();
        assert_eq!(Engine::of(&t.device()), Engine::NdArray);
    }
}
