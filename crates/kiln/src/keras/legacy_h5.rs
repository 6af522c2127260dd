//! Legacy Keras HDF5 model files (`model.save("model.h5")` in Keras 2 and 3).
//!
//! The root's `model_config` attribute holds the model config as a JSON string
//! (`training_config`, the compile settings, is not read). The weights are under
//! `model_weights/<layer name>/`: the group's `weight_names` attribute lists the layer's
//! weights in `layer.weights` order, each the path of a dataset inside the group
//! (`sequential/dense/kernel` in Keras 3, `dense/kernel:0` in Keras 2).

use super::archive::io_error;
use super::h5_data::{self, Expected};
use super::weights_h5::Spec;
use crate::error::Result;
use hdf5_pure::File;
use kiln_ir::HostTensor;
use serde_json::Value;
use std::path::Path;

/// A legacy `.h5` model file: its model config and the file, to read the weights from.
pub(crate) struct LegacyFile {
    /// `model_config`, parsed.
    pub config: Value,
    file: File,
    len: u64,
}

/// Opens the legacy `.h5` file `bytes` (read from `path`) and parses its model config.
pub(crate) fn open(bytes: Vec<u8>, path: &Path) -> Result<LegacyFile> {
    const WHAT: &str = "the file";
    let len = bytes.len() as u64;
    let file = h5_data::open(bytes, path, WHAT)?;
    h5_data::guarded(path, WHAT, || {
        let attrs = file
            .root()
            .attrs()
            .map_err(|e| io_error(path, format!("cannot read the root attributes: {e}")))?;
        let Some(config) = attrs.get("model_config") else {
            let weights_only = attrs.contains_key("layer_names")
                || file.group("layers").is_ok()
                || file.group("model_weights").is_ok();
            let what = if weights_only {
                "a weights-only file (written by save_weights)"
            } else {
                "an HDF5 file that is not a Keras model"
            };
            return Err(io_error(
                path,
                format!(
                    "{what}: it has no 'model_config' attribute, so there is no architecture to build; \
                     build the model in Kiln and load the weights from a full model file (.keras or .h5 written by model.save)"
                ),
            ));
        };
        let text = config
            .as_str()
            .ok_or_else(|| io_error(path, "the 'model_config' attribute is not a string"))?;
        let config = serde_json::from_str(text)
            .map_err(|e| io_error(path, format!("the 'model_config' attribute is not valid JSON: {e}")))?;
        Ok(LegacyFile { config, file, len })
    })
}

impl LegacyFile {
    /// The model's weights in `specs` order, matched layer by layer (by name) with the
    /// groups of `model_weights/`, and within a layer by position in `weight_names`.
    pub(crate) fn weights(&self, specs: &[Spec], path: &Path) -> Result<Vec<HostTensor>> {
        h5_data::guarded(path, "the file", || self.read_weights(specs, path))
    }

    fn read_weights(&self, specs: &[Spec], path: &Path) -> Result<Vec<HostTensor>> {
        let root = self
            .file
            .group("model_weights")
            .map_err(|_| io_error(path, "the file has no 'model_weights' group: it holds no weights"))?;
        let mut values = Vec::with_capacity(specs.len());
        let mut i = 0;
        while i < specs.len() {
            let layer = specs[i].0.split('/').next().unwrap_or_default();
            let end = i + specs[i..]
                .iter()
                .take_while(|s| s.0.split('/').next() == Some(layer))
                .count();
            let group = root.group(layer).map_err(|_| {
                io_error(
                    path,
                    format!("the file has no weights for layer '{layer}' (no group 'model_weights/{layer}')"),
                )
            })?;
            let attrs = group.attrs().map_err(|e| {
                io_error(
                    path,
                    format!("cannot read the attributes of 'model_weights/{layer}': {e}"),
                )
            })?;
            let names: Vec<String> = attrs
                .get("weight_names")
                .and_then(|v| v.as_strings())
                .map(|v| v.to_vec())
                .ok_or_else(|| {
                    io_error(
                        path,
                        format!("'model_weights/{layer}' has no 'weight_names' attribute listing its weights"),
                    )
                })?;
            if names.len() != end - i {
                return Err(io_error(
                    path,
                    format!(
                        "layer '{layer}': the file holds {} weights ({}), the model's layer has {} ({})",
                        names.len(),
                        names.join(", "),
                        end - i,
                        specs[i..end]
                            .iter()
                            .map(|s| s.0.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            for (stored, (name, shape, dtype)) in names.iter().zip(&specs[i..end]) {
                let at = format!("model_weights/{layer}/{stored}");
                let ds = group.dataset(stored).map_err(|_| {
                    io_error(
                        path,
                        format!("'weight_names' of layer '{layer}' lists '{stored}', which the file does not hold"),
                    )
                })?;
                let want = Expected {
                    name,
                    layer,
                    shape,
                    dtype: *dtype,
                };
                values.push(h5_data::read_weight(&ds, &at, &want, self.len, path)?);
            }
            i = end;
        }
        // A layer of the file with weights that the model does not have.
        let ours: std::collections::HashSet<&str> = specs.iter().filter_map(|s| s.0.split('/').next()).collect();
        for layer in root.groups().unwrap_or_default() {
            if ours.contains(layer.as_str()) {
                continue;
            }
            let listed = root
                .group(&layer)
                .ok()
                .and_then(|g| g.attrs().ok())
                .and_then(|a| a.get("weight_names").and_then(|v| v.as_strings().map(<[String]>::len)))
                .unwrap_or(0);
            if listed > 0 {
                return Err(io_error(
                    path,
                    format!("the file holds {listed} weights for layer '{layer}', which has no weights in the model"),
                ));
            }
        }
        Ok(values)
    }
}
