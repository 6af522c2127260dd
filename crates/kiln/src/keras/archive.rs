//! The zip container of a Keras 3 `.keras` file: `metadata.json`, `config.json` and
//! `model.weights.h5`, stored uncompressed in that order, as Keras writes them.

use crate::error::{KilnError, Result};
use std::io::{Cursor, Read, Write};
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

/// Reads one member, refusing one that declares more than `limit` bytes or more than
/// deflate can expand the archive's `archive_len` bytes to.
fn member(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
    archive_len: u64,
    path: &Path,
) -> Result<Vec<u8>> {
    let limit = limit.min(archive_len.saturating_mul(1032));
    let mut file = zip.by_name(name).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => io_error(
            path,
            format!("not a complete Keras .keras file: the archive has no '{name}'"),
        ),
        e => io_error(path, format!("cannot read '{name}' from the archive: {e}")),
    })?;
    let size = file.size();
    if size > limit {
        return Err(io_error(
            path,
            format!("'{name}' declares {size} bytes, more than the {limit} allowed"),
        ));
    }
    // The declared size is not trusted for the allocation: the buffer grows as data comes.
    let mut bytes = Vec::with_capacity(size.min(archive_len) as usize);
    (&mut file)
        .take(size + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, format!("cannot read '{name}' from the archive: {e}")))?;
    if bytes.len() as u64 != size {
        return Err(io_error(
            path,
            format!("'{name}' declares {size} bytes but holds {}", bytes.len()),
        ));
    }
    Ok(bytes)
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
