//! Weights in the safetensors layout, by Kiln weight name (`dense/kernel`, …).

use crate::error::{KilnError, Result};
use kiln_ir::{DType, HostTensor};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub(super) fn io_error(path: &Path, message: impl Into<String>) -> KilnError {
    KilnError::Io {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Serialises named tensors (f32 or i32, little-endian) to safetensors bytes.
pub(super) fn encode(names: &[String], tensors: &[HostTensor], path: &Path) -> Result<Vec<u8>> {
    let bytes: Vec<(Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|t| {
            let (dtype, data) = match t.dtype() {
                DType::F32 => (Dtype::F32, t.to_f32().iter().flat_map(|v| v.to_le_bytes()).collect()),
                DType::I32 => (
                    Dtype::I32,
                    t.as_i32()
                        .unwrap_or_default()
                        .iter()
                        .flat_map(|v| v.to_le_bytes())
                        .collect(),
                ),
            };
            (dtype, t.shape().to_vec(), data)
        })
        .collect();
    let mut views = Vec::with_capacity(names.len());
    for (name, (dtype, shape, data)) in names.iter().zip(&bytes) {
        let view = TensorView::new(*dtype, shape.clone(), data)
            .map_err(|e| io_error(path, format!("cannot write weight '{name}': {e}")))?;
        views.push((name.as_str(), view));
    }
    let metadata = HashMap::from([
        ("format".to_string(), "kiln".to_string()),
        ("kiln_version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
    ]);
    safetensors::serialize(views, Some(metadata)).map_err(|e| io_error(path, format!("cannot write the weights: {e}")))
}

/// Reads every tensor of safetensors bytes, by name. `what` names the data in errors
/// (`model.safetensors`, or the file itself).
pub(super) fn decode(bytes: &[u8], path: &Path, what: &str) -> Result<BTreeMap<String, HostTensor>> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| io_error(path, format!("{what} is not valid safetensors data: {e}")))?;
    if let Some(name) = duplicate_name(bytes) {
        return Err(io_error(
            path,
            format!("{what} is not valid safetensors data: it names the tensor '{name}' twice"),
        ));
    }
    let mut out = BTreeMap::new();
    for (name, view) in file.tensors() {
        let shape = view.shape().to_vec();
        let data = view.data();
        let tensor = match view.dtype() {
            Dtype::F32 => HostTensor::from_f32(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                shape,
            ),
            Dtype::I32 => HostTensor::from_i32(
                data.chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                shape,
            ),
            other => {
                return Err(io_error(
                    path,
                    format!("{what}: weight '{name}' has dtype {other:?}; Kiln reads F32 and I32 weights"),
                ));
            }
        }
        .map_err(|e| io_error(path, format!("{what}: weight '{name}': {e}")))?;
        out.insert(name, tensor);
    }
    Ok(out)
}

/// A name that the safetensors header (already checked by `SafeTensors::deserialize`)
/// gives twice: the safetensors crate would keep the last silently.
fn duplicate_name(bytes: &[u8]) -> Option<String> {
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<serde::de::IgnoredAny>()?;
                if !seen.insert(key.clone()) {
                    return Ok(Some(key));
                }
            }
            Ok(None)
        }
    }
    let len = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let header = bytes.get(8..8usize.checked_add(len)?)?;
    serde::Deserializer::deserialize_map(&mut serde_json::Deserializer::from_slice(header), Keys).ok()?
}

/// Orders `found` as `expected` (name, shape, dtype): a missing, extra or wrongly shaped
/// weight is an error naming it.
pub(super) fn match_weights(
    expected: &[(String, Vec<usize>, DType)],
    mut found: BTreeMap<String, HostTensor>,
    path: &Path,
    what: &str,
) -> Result<Vec<HostTensor>> {
    let mut ordered = Vec::with_capacity(expected.len());
    for (name, shape, dtype) in expected {
        let tensor = found.remove(name).ok_or_else(|| {
            io_error(
                path,
                format!("the model's weight '{name}' (shape {shape:?}) is missing from {what}"),
            )
        })?;
        if tensor.shape() != shape.as_slice() || tensor.dtype() != *dtype {
            return Err(io_error(
                path,
                format!(
                    "weight '{name}' in {what} has shape {:?} ({}); the model expects {shape:?} ({})",
                    tensor.shape(),
                    tensor.dtype().name(),
                    dtype.name()
                ),
            ));
        }
        ordered.push(tensor);
    }
    if let Some(extra) = found.keys().next() {
        let names: Vec<&str> = found.keys().map(String::as_str).collect();
        return Err(io_error(
            path,
            format!(
                "{what} has weight '{extra}', which the model does not have (unexpected weights: {})",
                names.join(", ")
            ),
        ));
    }
    Ok(ordered)
}
