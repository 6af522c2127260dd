//! Writing Kiln models as Keras 3 `.keras` files.

use crate::error::{KilnError, Result};
use crate::model::Model;
use std::path::Path;

/// Writes `model` to `path` as a Keras 3 `.keras` file, atomically.
pub fn save(model: &Model, path: &Path) -> Result<()> {
    let _ = model;
    Err(KilnError::Io {
        path: path.display().to_string(),
        message: "exporting Keras files is not implemented yet".into(),
    })
}
