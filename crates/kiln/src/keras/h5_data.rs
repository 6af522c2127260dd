//! Reading weight datasets out of Keras's HDF5 files (`model.weights.h5` of a `.keras`
//! file, a legacy `.h5` file) with their shapes and sizes checked before any data is read.

use super::archive::io_error;
use crate::error::Result;
use hdf5_pure::{Dataset, File};
use kiln_ir::{DType, HostTensor};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// Deflate expands data at most 1032-fold: no dataset can hold more than this many bytes
/// per byte of the file.
const MAX_EXPANSION: u64 = 1032;

/// Runs `f` over HDF5 data that may be malformed; a panic in the HDF5 reader becomes an
/// error naming the file.
pub(crate) fn guarded<T>(path: &Path, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown failure".into());
            Err(io_error(path, format!("{what} is malformed HDF5 ({message})")))
        }
    }
}

/// Opens HDF5 bytes (`what` names them in errors: `model.weights.h5`, `the file`).
pub(crate) fn open(bytes: Vec<u8>, path: &Path, what: &str) -> Result<File> {
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(io_error(
            path,
            format!("{what} is not an HDF5 file (no HDF5 signature)"),
        ));
    }
    guarded(path, what, || {
        File::from_bytes(bytes).map_err(|e| io_error(path, format!("{what} is not a readable HDF5 file: {e}")))
    })
}

/// What one weight of the model must be.
pub(crate) struct Expected<'a> {
    /// Kiln's weight name (`dense/kernel`).
    pub name: &'a str,
    /// Its layer's name.
    pub layer: &'a str,
    pub shape: &'a [usize],
    pub dtype: DType,
}

/// Reads dataset `ds` (at `at` in the file) as the weight `want`. The shape is compared
/// with the expected one and the declared size with the file's before anything is read;
/// float16/32/64, bfloat16 (Keras's `uint16` + `dtype="bfloat16"` attribute) and integer
/// data are converted to the weight's type.
pub(crate) fn read_weight(ds: &Dataset, at: &str, want: &Expected, file_len: u64, path: &Path) -> Result<HostTensor> {
    let bad = |message: String| io_error(path, format!("'{at}': {message}"));
    let layer_weight = format!("layer '{}', weight '{}'", want.layer, want.name);
    let shape = ds
        .shape()
        .map_err(|e| bad(format!("cannot read the shape of {layer_weight}: {e}")))?;
    let same = shape.len() == want.shape.len() && shape.iter().zip(want.shape).all(|(a, &b)| *a == b as u64);
    if !same {
        return Err(bad(format!(
            "{layer_weight}: the file holds shape {shape:?}, the model expects {:?}",
            want.shape
        )));
    }
    let count: usize = want.shape.iter().product();
    let element = ds
        .element_size()
        .map_err(|e| bad(format!("cannot read the type of {layer_weight}: {e}")))?;
    let bytes = (count as u64).saturating_mul(element);
    if bytes > file_len.saturating_mul(MAX_EXPANSION) {
        return Err(bad(format!(
            "{layer_weight} declares {bytes} bytes of data, more than a file of {file_len} bytes can hold"
        )));
    }
    let datatype = ds
        .datatype()
        .map_err(|e| bad(format!("cannot read the type of {layer_weight}: {e}")))?;
    let read_err = |e: hdf5_pure::Error| bad(format!("cannot read {layer_weight}: {e}"));
    use hdf5_pure::Datatype as H;
    let values: Values = match &datatype {
        H::FloatingPoint { size: 4, .. } => Values::F32(ds.read_f32().map_err(read_err)?),
        H::FloatingPoint { size: 8, .. } => {
            Values::F32(ds.read_f64().map_err(read_err)?.into_iter().map(|v| v as f32).collect())
        }
        H::FloatingPoint {
            size: 2, byte_order, ..
        } => {
            let raw = ds.read_raw().map_err(read_err)?;
            let big = matches!(byte_order, hdf5_pure::DatatypeByteOrder::BigEndian);
            Values::F32(raw.chunks_exact(2).map(|b| f16_to_f32(pair(b, big))).collect())
        }
        H::FixedPoint { size: 2, layout, .. } if !layout.signed && is_bfloat16(ds) => {
            let bits = ds.read_u16().map_err(read_err)?;
            Values::F32(bits.into_iter().map(|b| f32::from_bits(u32::from(b) << 16)).collect())
        }
        H::FixedPoint { size: 1..=8, .. } => Values::Int(ds.read_i64().map_err(read_err)?),
        other => {
            return Err(bad(format!(
                "{layer_weight} has HDF5 type {other:?}; Kiln reads float (16, 32, 64-bit) and integer weights"
            )));
        }
    };
    if values.len() != count {
        return Err(bad(format!(
            "{layer_weight}: {} values read, the shape {:?} needs {count}",
            values.len(),
            want.shape
        )));
    }
    let tensor = match (values, want.dtype) {
        (Values::F32(v), DType::F32) => HostTensor::from_f32(v, want.shape.to_vec()),
        (Values::Int(v), DType::F32) => {
            HostTensor::from_f32(v.into_iter().map(|x| x as f32).collect(), want.shape.to_vec())
        }
        (Values::Int(v), DType::I32) => {
            let v = v
                .into_iter()
                .map(|x| i32::try_from(x).map_err(|_| bad(format!("{layer_weight}: value {x} does not fit in int32"))))
                .collect::<Result<Vec<_>>>()?;
            HostTensor::from_i32(v, want.shape.to_vec())
        }
        (Values::F32(_), DType::I32) => {
            return Err(bad(format!(
                "{layer_weight} is an integer weight but the file holds floats"
            )));
        }
    };
    tensor.map_err(|e| bad(format!("{layer_weight}: {e}")))
}

enum Values {
    F32(Vec<f32>),
    Int(Vec<i64>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::Int(v) => v.len(),
        }
    }
}

fn is_bfloat16(ds: &Dataset) -> bool {
    ds.attrs()
        .ok()
        .and_then(|a| a.get("dtype").and_then(|v| v.as_str().map(|s| s == "bfloat16")))
        .unwrap_or(false)
}

fn pair(b: &[u8], big_endian: bool) -> u16 {
    let (x, y) = (b[0], b[1]);
    if big_endian {
        u16::from_be_bytes([x, y])
    } else {
        u16::from_le_bytes([x, y])
    }
}

/// IEEE 754 half precision to single precision (exact).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: m · 2^-24.
            let v = m as f32 * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_precision_values() {
        // Reference bit patterns from IEEE 754 binary16.
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }
}
