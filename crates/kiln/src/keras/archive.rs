//! The zip container of a Keras 3 `.keras` file: `metadata.json`, `config.json` and
//! `model.weights.h5`, stored uncompressed in that order, as Keras writes them.

use crate::error::{KilnError, Result};
use crate::saving::archive_checks;
use std::io::{Cursor, Write};
use std::path::Path;

/// The archive member holding the model's config.
pub(crate) const CONFIG: &str = "config.json";
/// The archive member holding the Keras and save-date metadata.
pub(crate) const METADATA: &str = "metadata.json";
/// The archive member holding the weights (HDF5).
pub(crate) const WEIGHTS: &str = "model.weights.h5";
/// Keras's other weights layout, which Kiln does not read.
const WEIGHTS_NPZ: &str = "model.weights.npz";
/// The largest JSON member read (bytes, uncompressed).
const MAX_JSON_BYTES: u64 = 256 << 20;
/// The most members a `.keras` archive may have.
const MAX_MEMBERS: usize = 64;

/// A `KilnError::Io` for `path`.
pub(crate) fn io_error(path: &Path, message: impl Into<String>) -> KilnError {
    KilnError::Io {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// The members of a `.keras` file that Kiln reads.
pub(crate) struct KerasArchive {
    /// `config.json`, parsed.
    pub config: serde_json::Value,
    /// `model.weights.h5`, raw.
    pub weights: Vec<u8>,
}

/// Reads `config.json` and `model.weights.h5` from the `.keras` file `bytes` (read from `path`).
pub(crate) fn read(bytes: &[u8], path: &Path) -> Result<KerasArchive> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        io_error(
            path,
            format!("not a Keras .keras file, or a truncated one (not a readable zip archive): {e}"),
        )
    })?;
    // Keras writes three members; a few more (assets) are allowed, thousands are not.
    archive_checks::check_members(&zip, bytes, MAX_MEMBERS, path)?;
    let len = bytes.len() as u64;
    let config_bytes = member(&mut zip, CONFIG, MAX_JSON_BYTES, len, path)?;
    let config = serde_json::from_slice(&config_bytes)
        .map_err(|e| io_error(path, format!("'{CONFIG}' is not valid JSON: {e}")))?;
    if zip.index_for_name(WEIGHTS).is_none() && zip.index_for_name(WEIGHTS_NPZ).is_some() {
        return Err(io_error(
            path,
            format!(
                "the weights are in '{WEIGHTS_NPZ}' (Keras's npz weights format); Kiln reads '{WEIGHTS}' only: save with weights_format=\"h5\" (the default)"
            ),
        ));
    }
    let weights = member(&mut zip, WEIGHTS, u64::MAX, len, path)?;
    Ok(KerasArchive { config, weights })
}

/// Reads one member of the `.keras` archive (see [`archive_checks::read_member`]).
fn member(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
    archive_len: u64,
    path: &Path,
) -> Result<Vec<u8>> {
    archive_checks::read_member(zip, name, limit, archive_len, path, "Keras .keras file")
}

/// A zip archive of `members`, uncompressed and in the given order, as Keras writes
/// `.keras` files.
pub(crate) fn write(members: &[(&str, &[u8])], path: &Path) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in members {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        zip.start_file(*name, options)
            .map_err(|e| io_error(path, format!("cannot write '{name}': {e}")))?;
        zip.write_all(bytes)
            .map_err(|e| io_error(path, format!("cannot write '{name}': {e}")))?;
    }
    Ok(zip
        .finish()
        .map_err(|e| io_error(path, format!("cannot write the archive: {e}")))?
        .into_inner())
}
