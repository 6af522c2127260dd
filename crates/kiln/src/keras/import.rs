//! Loading Keras model files: Keras 3 `.keras` archives and legacy `.h5` files.
//!
//! The model is built from the file's model config by
//! [`model_from_keras_config`](crate::keras::model_from_keras_config), then every weight
//! is read from the file, its shape checked against the layer's, and set. What the file
//! holds beyond the architecture and the weights is not read: the optimizer's state (the
//! `optimizer/` group of `model.weights.h5`), the compile configuration
//! (`compile_config`, `training_config`) and any assets.

use super::archive::{self, io_error};
use super::weights_h5::{self, Spec};
use super::{legacy_h5, model_from_keras_config};
use crate::devices::Device;
use crate::error::{KilnError, Result};
use crate::model::Model;
use kiln_ir::HostTensor;
use serde_json::Value;
use std::path::Path;

/// Loads the Keras model file at `path` (`.keras` or legacy `.h5`/`.hdf5`, told apart by
/// the extension) onto `device`. The model comes back uncompiled.
pub fn load(path: &Path, device: &Device) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, format!("cannot read the file: {e}")))?;
    load_bytes(bytes, path, device)
}

/// [`load`] for a file already in memory; `path` names it and its extension tells a
/// legacy `.h5`/`.hdf5` file from a `.keras` archive.
pub(crate) fn load_bytes(bytes: Vec<u8>, path: &Path, device: &Device) -> Result<Model> {
    let legacy = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("h5") || e.eq_ignore_ascii_case("hdf5"));
    let mut model = if legacy {
        load_legacy(bytes, path)?
    } else {
        load_keras(bytes, path)?
    };
    model.to_device(device)?;
    Ok(model)
}

fn load_keras(bytes: Vec<u8>, path: &Path) -> Result<Model> {
    // A zip archive starts with a local file header; an HDF5 file may hide its signature
    // after a user block (and a stored zip member may put one at such an offset).
    if !bytes.starts_with(b"PK") && hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(io_error(
            path,
            "this is an HDF5 file, not a .keras archive: name it .h5 to load it as a legacy Keras model file",
        ));
    }
    let archive = archive::read(&bytes, path)?;
    drop(bytes);
    let budget = weight_budget(archive.weights.len());
    let mut model = crate::model::with_weight_budget(budget, || build(&archive.config, path, archive::CONFIG))?;
    let entries = weights_h5::layer_entries(&archive.config).map_err(|e| in_file(path, archive::CONFIG, e))?;
    let specs = specs(&model)?;
    let values = weights_h5::read(archive.weights, path, &entries, &specs)?;
    set(&mut model, &values, path)?;
    Ok(model)
}

fn load_legacy(bytes: Vec<u8>, path: &Path) -> Result<Model> {
    if bytes.starts_with(b"PK") {
        return Err(io_error(
            path,
            "this is a zip archive, not an HDF5 file: name it .keras to load it as a Keras 3 model file",
        ));
    }
    let budget = weight_budget(bytes.len());
    let file = legacy_h5::open(bytes, path)?;
    let mut model = crate::model::with_weight_budget(budget, || build(&file.config, path, "model_config"))?;
    let specs = specs(&model)?;
    let values = file.weights(&specs, path)?;
    set(&mut model, &values, path)?;
    Ok(model)
}

/// The most weight elements `bytes` of HDF5 can hold: 4 bytes an element (Keras writes
/// float32), times 1032, deflate's largest ratio, as HDF5 datasets may be compressed. A
/// small hostile file cannot make the loader draw gigabytes of initial weights.
fn weight_budget(bytes: usize) -> u64 {
    (bytes as u64).saturating_mul(1032) / 4
}

/// The model of the Keras model config `config` (found in `what` of the file).
fn build(config: &Value, path: &Path, what: &str) -> Result<Model> {
    model_from_keras_config(config).map_err(|e| in_file(path, what, e))
}

/// An error about part `what` of the file at `path`.
fn in_file(path: &Path, what: &str, e: KilnError) -> KilnError {
    io_error(path, format!("{what}: {e}"))
}

/// The model's weights: name, shape and type, in `get_weights` order.
pub(crate) fn specs(model: &Model) -> Result<Vec<Spec>> {
    Ok(model
        .graph()?
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.dims(), p.ty.dtype))
        .collect())
}

fn set(model: &mut Model, values: &[HostTensor], path: &Path) -> Result<()> {
    model.set_weights(values).map_err(|e| in_file(path, "weights", e))
}
