//! Checks on an untrusted zip archive (a Kiln model file, a `.keras` file) before any of
//! its members is read: a bounded member count and no member name given twice. The `zip`
//! crate keeps only the last of two members with one name, so a second `model.json`
//! would silently replace the first; such a file is refused instead.

use crate::error::{KilnError, Result};
use std::collections::HashSet;
use std::io::{Read, Seek};
use std::path::Path;

/// The signature of a central directory entry.
const CENTRAL_ENTRY: &[u8; 4] = b"PK\x01\x02";
/// The fixed part of a central directory entry, before its name, extra field and comment.
const CENTRAL_ENTRY_LEN: usize = 46;

/// Refuses an archive of more than `max_members` members, or one naming a member twice.
/// `bytes` is the whole file, `zip` the archive read from it; `path` names it in errors.
pub(crate) fn check_members<R: std::io::Read + std::io::Seek>(
    zip: &zip::ZipArchive<R>,
    bytes: &[u8],
    max_members: usize,
    path: &Path,
) -> Result<()> {
    let error = |message: String| KilnError::Io {
        path: path.display().to_string(),
        message,
    };
    let mut names = HashSet::new();
    let mut pos = usize::try_from(zip.central_directory_start()).unwrap_or(usize::MAX);
    // The central directory lists every entry, duplicates included (the zip crate's index
    // does not): walk it.
    while let Some(entry) = pos
        .checked_add(CENTRAL_ENTRY_LEN)
        .and_then(|end| bytes.get(pos..end))
        .filter(|e| e.starts_with(CENTRAL_ENTRY))
    {
        let field = |at: usize| usize::from(u16::from_le_bytes([entry[at], entry[at + 1]]));
        let (name_len, extra_len, comment_len) = (field(28), field(30), field(32));
        let start = pos + CENTRAL_ENTRY_LEN;
        let Some(name) = bytes.get(start..start + name_len) else {
            break;
        };
        if !names.insert(name) {
            return Err(error(format!(
                "the archive holds the member '{}' twice",
                String::from_utf8_lossy(name)
            )));
        }
        if names.len() > max_members {
            break;
        }
        pos = start + name_len + extra_len + comment_len;
    }
    if names.len().max(zip.len()) > max_members {
        return Err(error(format!(
            "the archive has more members than the {max_members} allowed"
        )));
    }
    Ok(())
}

/// Reads member `name` of `zip` (from a file of `archive_len` bytes, a `kind` such as
/// "Kiln model file"), refusing one that declares more than `limit` bytes or more than
/// deflate can expand the archive to (1032-fold at most), or that holds other than it
/// declares. The declared size is not trusted for the allocation.
pub(crate) fn read_member<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
    archive_len: u64,
    path: &Path,
    kind: &str,
) -> Result<Vec<u8>> {
    let error = |message: String| KilnError::Io {
        path: path.display().to_string(),
        message,
    };
    let limit = limit.min(archive_len.saturating_mul(1032));
    let mut file = zip.by_name(name).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => error(format!("not a complete {kind}: the archive has no '{name}'")),
        e => error(format!("cannot read '{name}' from the archive: {e}")),
    })?;
    let size = file.size();
    if size > limit {
        return Err(error(format!(
            "'{name}' declares {size} bytes, more than the {limit} allowed"
        )));
    }
    let mut bytes = Vec::with_capacity(size.min(archive_len) as usize);
    (&mut file)
        .take(size + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(format!("cannot read '{name}' from the archive: {e}")))?;
    if bytes.len() as u64 != size {
        return Err(error(format!(
            "'{name}' declares {size} bytes but holds {}",
            bytes.len()
        )));
    }
    Ok(bytes)
}
