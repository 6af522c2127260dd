//! Loading Keras model files: Keras 3 `.keras` archives and legacy `.h5` files.

use crate::devices::Device;
use crate::error::{KilnError, Result};
use crate::model::Model;
use std::path::Path;

/// Loads the Keras model file at `path` (`.keras` or legacy `.h5`) onto `device`.
pub fn load(path: &Path, device: &Device) -> Result<Model> {
    let _ = device;
    Err(KilnError::Io {
        path: path.display().to_string(),
        message: "importing Keras files is not implemented yet".into(),
    })
}
