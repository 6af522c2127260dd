//! The IDX file format of MNIST and Fashion-MNIST, and the loader the two datasets share.
//!
//! An IDX file is a big-endian header followed by its elements in row-major order: the
//! magic number `0x000008NN` (`08`: unsigned bytes, `NN`: the number of dimensions), one
//! `u32` per dimension, then the bytes. Image files have the magic number
//! [`IMAGES_MAGIC`] (`0x00000803`, shape `[n, rows, cols]`), label files [`LABELS_MAGIC`]
//! (`0x00000801`, shape `[n]`). A file may be gzip-compressed: that is recognised by the
//! gzip magic bytes `1f 8b` at its start, whatever the file is called.
//!
//! ```
//! use kiln::datasets::idx;
//!
//! // Two 1×2 images, written as an uncompressed IDX file.
//! let path = std::env::temp_dir().join(format!("kiln-doc-idx-{}", std::process::id()));
//! std::fs::write(&path, [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 7, 9]).unwrap();
//! let x = idx::load_images(&path)?;
//! assert_eq!(x.shape(), &[2, 1, 2]);
//! assert_eq!(x.as_f32(), Some(&[0.0, 255.0, 7.0, 9.0][..]));
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), kiln::KilnError>(())
//! ```

use super::Split;
use crate::error::{KilnError, Result};
use kiln_ir::HostTensor;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The magic number of an IDX file of unsigned-byte images, shape `[n, rows, cols]`.
///
/// ```
/// assert_eq!(kiln::datasets::idx::IMAGES_MAGIC, 0x0000_0803);
/// ```
pub const IMAGES_MAGIC: u32 = 0x0000_0803;

/// The magic number of an IDX file of unsigned-byte labels, shape `[n]`.
///
/// ```
/// assert_eq!(kiln::datasets::idx::LABELS_MAGIC, 0x0000_0801);
/// ```
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads an IDX image file (magic number `0x00000803`), gzip-compressed or plain, as an
/// f32 tensor `[n, rows, cols]` holding the pixel values 0–255 unchanged.
///
/// A file that cannot be read or is not such an IDX file (bad magic number, truncated,
/// extra bytes, broken gzip stream) gives [`KilnError::Io`] naming the file and the fault.
///
/// ```no_run
/// let x = kiln::datasets::idx::load_images("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")?;
/// assert_eq!(x.shape(), &[10000, 28, 28]);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn load_images(path: impl AsRef<Path>) -> Result<HostTensor> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let (dims, data) = parse(&bytes, IMAGES_MAGIC).map_err(|m| corrupt(path, m))?;
    let pixels = data.iter().map(|&b| f32::from(b)).collect();
    HostTensor::from_f32(pixels, dims).map_err(|e| corrupt(path, e.to_string()))
}

/// Reads an IDX label file (magic number `0x00000801`), gzip-compressed or plain, as an
/// i32 tensor `[n]`.
///
/// Errors as [`load_images`].
///
/// ```
/// // Three labels, 7, 2 and 1, written as an uncompressed IDX file.
/// let path = std::env::temp_dir().join(format!("kiln-doc-labels-{}", std::process::id()));
/// std::fs::write(&path, [0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]).unwrap();
/// let y = kiln::datasets::idx::load_labels(&path)?;
/// assert_eq!(y.as_i32(), Some(&[7, 2, 1][..]));
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn load_labels(path: impl AsRef<Path>) -> Result<HostTensor> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let (dims, data) = parse(&bytes, LABELS_MAGIC).map_err(|m| corrupt(path, m))?;
    let labels = data.iter().map(|&b| i32::from(b)).collect();
    HostTensor::from_i32(labels, dims).map_err(|e| corrupt(path, e.to_string()))
}

fn corrupt(path: &Path, message: String) -> KilnError {
    KilnError::Io {
        path: path.display().to_string(),
        message,
    }
}

/// The file's bytes, decompressed when they start with the gzip magic bytes.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| corrupt(path, e.to_string()))?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut bytes = Vec::new();
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut bytes)
        .map_err(|e| corrupt(path, format!("broken gzip stream: {e}")))?;
    Ok(bytes)
}

fn describe(magic: u32) -> &'static str {
    match magic {
        IMAGES_MAGIC => "IDX images, unsigned bytes [n, rows, cols]",
        LABELS_MAGIC => "IDX labels, unsigned bytes [n]",
        _ => "IDX data",
    }
}

fn declared(dims: &[usize]) -> String {
    match dims {
        [n] => format!("{n} labels"),
        [n, rows, cols] => format!("{n} images of {rows}×{cols}"),
        _ => format!("shape {dims:?}"),
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Splits an IDX file with the magic number `magic` into its dimensions and elements; the
/// error says what is wrong with it.
fn parse(bytes: &[u8], magic: u32) -> std::result::Result<(Vec<usize>, &[u8]), String> {
    let expected = describe(magic);
    if bytes.len() < 4 {
        return Err(format!(
            "truncated: {} bytes, too short for the header of an IDX file ({expected})",
            bytes.len()
        ));
    }
    let found = be_u32(bytes, 0);
    if found != magic {
        let hint = match found {
            IMAGES_MAGIC | LABELS_MAGIC => format!(", which is the magic number of {}", describe(found)),
            _ => "; this is not an IDX file of unsigned bytes".to_string(),
        };
        return Err(format!(
            "bad magic number 0x{found:08x}: expected 0x{magic:08x} ({expected}){hint}"
        ));
    }
    let rank = (magic & 0xff) as usize;
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(format!(
            "truncated: {} bytes, shorter than the {header}-byte header of {expected}",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = (0..rank).map(|i| be_u32(bytes, 4 + 4 * i) as usize).collect();
    let body = &bytes[header..];
    match dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(size) if size == body.len() => Ok((dims, body)),
        Some(size) if size > body.len() => Err(format!(
            "truncated: the header declares {} ({size} bytes) but only {} bytes follow it",
            declared(&dims),
            body.len()
        )),
        Some(size) => Err(format!(
            "the header declares {} ({size} bytes) but {} bytes follow it",
            declared(&dims),
            body.len()
        )),
        None => Err(format!(
            "the header declares {}, more bytes than memory can hold",
            declared(&dims)
        )),
    }
}

/// The four files of an MNIST-style dataset, without `.gz`: training images and labels,
/// test images and labels.
const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// An MNIST-style dataset: the four [`FILES`], looked for in a directory given by the
/// caller, or else under `$KILN_DATA` and in a system-wide directory.
pub(crate) struct IdxDataset {
    /// The module name, as in messages (`fashion_mnist`).
    pub name: &'static str,
    /// The directory name under `$KILN_DATA` (`fashion-mnist`).
    pub dir_name: &'static str,
    /// The Debian package and the directory it installs the files into, if there is one.
    pub debian: Option<(&'static str, &'static str)>,
    /// Where to download the files from, as a phrase ("from https://…").
    pub source: &'static str,
    /// The number of classes: every label is below it.
    pub classes: usize,
}

impl IdxDataset {
    /// Loads from the first directory holding all four files, of: `$KILN_DATA/<dir_name>`,
    /// `$KILN_DATA`, the Debian package's directory.
    pub(crate) fn load_data(&self) -> Result<Split> {
        let (dirs, notes) = self.search_dirs(std::env::var_os("KILN_DATA"));
        self.load_first(&dirs, &notes)
    }

    /// Loads from `dir` only.
    pub(crate) fn load_data_from(&self, dir: &Path) -> Result<Split> {
        self.load_first(&[dir.to_path_buf()], &[])
    }

    /// The directories to search, in order, given the value of `KILN_DATA`, and notes on
    /// what was not searched.
    fn search_dirs(&self, kiln_data: Option<OsString>) -> (Vec<PathBuf>, Vec<String>) {
        let mut dirs = Vec::new();
        let mut notes = Vec::new();
        match kiln_data.filter(|v| !v.is_empty()) {
            Some(root) => {
                let root = PathBuf::from(root);
                dirs.push(root.join(self.dir_name));
                dirs.push(root);
            }
            None => notes.push("KILN_DATA is not set".to_string()),
        }
        if let Some((_, dir)) = self.debian {
            dirs.push(PathBuf::from(dir));
        }
        (dirs, notes)
    }

    fn load_first(&self, dirs: &[PathBuf], notes: &[String]) -> Result<Split> {
        let mut tried = Vec::new();
        for dir in dirs {
            match find_files(dir) {
                Ok(paths) => return self.load_files(&paths),
                Err(missing) => tried.extend(missing),
            }
        }
        Err(self.not_found(&tried, notes))
    }

    fn load_files(&self, paths: &[PathBuf; 4]) -> Result<Split> {
        let train = self.load_pair(&paths[0], &paths[1])?;
        let test = self.load_pair(&paths[2], &paths[3])?;
        Ok((train, test))
    }

    fn load_pair(&self, images: &Path, labels: &Path) -> Result<(HostTensor, HostTensor)> {
        let x = load_images(images)?;
        let y = load_labels(labels)?;
        let count = |t: &HostTensor| t.shape().first().copied().unwrap_or(0);
        let (n_images, n_labels) = (count(&x), count(&y));
        if n_images != n_labels {
            return Err(KilnError::Dataset {
                name: self.name.into(),
                message: format!(
                    "{} holds {n_images} images but {} holds {n_labels} labels",
                    images.display(),
                    labels.display()
                ),
            });
        }
        let classes = self.classes;
        if let Some((i, l)) = y
            .as_i32()
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .find(|(_, l)| **l as usize >= classes)
        {
            return Err(corrupt(
                labels,
                format!(
                    "label {l} at index {i} is not a class of {} (0 to {})",
                    self.name,
                    classes - 1
                ),
            ));
        }
        Ok((x, y))
    }

    fn not_found(&self, tried: &[String], notes: &[String]) -> KilnError {
        let mut message = "its four IDX files were not found.".to_string();
        if tried.is_empty() {
            message += &format!(" {}, so there was nowhere to look.\n", notes.join("; "));
        } else {
            message += " Looked for (each plain or gzip-compressed, .gz):\n";
            for line in tried
                .iter()
                .cloned()
                .chain(notes.iter().map(|note| format!("({note})")))
            {
                message += &format!("  {line}\n");
            }
        }
        message += "To get them: ";
        if let Some((package, dir)) = self.debian {
            message += &format!(
                "on Debian or Ubuntu, `sudo apt install {package}` (it puts them into {dir}, where Kiln looks); or "
            );
        }
        let files: Vec<String> = FILES.iter().map(|f| format!("{f}.gz")).collect();
        message += &format!(
            "download the four IDX files {} {} into a directory DIR, then set KILN_DATA=DIR \
             (or put them in $KILN_DATA/{}) or call kiln::datasets::{}::load_data_from(DIR).",
            files.join(", "),
            self.source,
            self.dir_name,
            self.name
        );
        KilnError::Dataset {
            name: self.name.into(),
            message,
        }
    }
}

/// The four files in `dir`, each plain or with `.gz` (plain first), or the paths of the
/// missing ones, as `dir/name[.gz]`.
fn find_files(dir: &Path) -> std::result::Result<[PathBuf; 4], Vec<String>> {
    let mut found: [PathBuf; 4] = Default::default();
    let mut missing = Vec::new();
    for (slot, name) in found.iter_mut().zip(FILES) {
        let plain = dir.join(name);
        let gz = dir.join(format!("{name}.gz"));
        if plain.is_file() {
            *slot = plain;
        } else if gz.is_file() {
            *slot = gz;
        } else {
            missing.push(format!("{}[.gz]", plain.display()));
        }
    }
    if missing.is_empty() { Ok(found) } else { Err(missing) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    /// A fresh, empty directory for one test, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("kiln-idx-{}-{test}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut bytes = magic.to_be_bytes().to_vec();
        for d in dims {
            bytes.extend(d.to_be_bytes());
        }
        bytes.extend(data);
        bytes
    }

    /// `n` images of 2×3 pixels; pixel `v` (in file order) holds `v * 41 % 256`.
    fn images(n: u32) -> Vec<u8> {
        let data: Vec<u8> = (0..n * 6).map(|v| (v * 41 % 256) as u8).collect();
        idx(IMAGES_MAGIC, &[n, 2, 3], &data)
    }

    fn labels(values: &[u8]) -> Vec<u8> {
        idx(LABELS_MAGIC, &[values.len() as u32], values)
    }

    fn message(err: KilnError) -> String {
        err.to_string()
    }

    const TEST: IdxDataset = IdxDataset {
        name: "test_set",
        dir_name: "test-set",
        debian: Some(("dataset-test", "/nonexistent/kiln/test-set")),
        source: "from https://example.org/test-set",
        classes: 10,
    };

    #[test]
    fn plain_images_and_labels() {
        let dir = TempDir::new("plain");
        let x = load_images(dir.write("img", &images(2))).unwrap();
        assert_eq!(x.shape(), &[2, 2, 3]);
        let expected: Vec<f32> = (0..12u32).map(|v| (v * 41 % 256) as f32).collect();
        assert_eq!(x.as_f32().unwrap(), expected.as_slice());
        let y = load_labels(dir.write("lbl", &labels(&[3, 0, 9]))).unwrap();
        assert_eq!(y.shape(), &[3]);
        assert_eq!(y.as_i32().unwrap(), &[3, 0, 9]);
    }

    #[test]
    fn gzip_is_recognised_by_its_magic_bytes_not_by_the_name() {
        let dir = TempDir::new("gzip");
        let plain = load_images(dir.write("a", &images(3))).unwrap();
        // Compressed without .gz, and plain with .gz: both read.
        let gz = load_images(dir.write("images-no-suffix", &gzip(&images(3)))).unwrap();
        let misnamed = load_images(dir.write("plain.gz", &images(3))).unwrap();
        assert_eq!(gz, plain);
        assert_eq!(misnamed, plain);
        let y = load_labels(dir.write("l.gz", &gzip(&labels(&[1, 2])))).unwrap();
        assert_eq!(y.as_i32().unwrap(), &[1, 2]);
        // A gzip file of several members (concatenated streams) is read whole.
        let mut two = gzip(&images(3)[..20]);
        two.extend(gzip(&images(3)[20..]));
        assert_eq!(load_images(dir.write("two.gz", &two)).unwrap(), plain);
    }

    #[test]
    fn bad_magic_names_the_file_and_the_numbers() {
        let dir = TempDir::new("magic");
        let path = dir.write("labels-as-images", &labels(&[1, 2, 3]));
        let err = load_images(&path).unwrap_err();
        let text = message(err);
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(
            text.contains("bad magic number 0x00000801: expected 0x00000803"),
            "{text}"
        );
        assert!(text.contains("magic number of IDX labels"), "{text}");

        let path = dir.write("text.gz", &gzip(b"hello, this is not IDX data"));
        let text = message(load_labels(&path).unwrap_err());
        assert!(
            text.contains("bad magic number 0x68656c6c: expected 0x00000801"),
            "{text}"
        );
        assert!(text.contains("not an IDX file"), "{text}");
    }

    #[test]
    fn truncated_and_oversized_files_are_refused() {
        let dir = TempDir::new("truncated");
        let full = images(4);
        let cases: [(&str, &[u8], &str); 4] = [
            ("empty", &[], "truncated: 0 bytes, too short for the header"),
            (
                "header",
                &full[..10],
                "truncated: 10 bytes, shorter than the 16-byte header",
            ),
            (
                "data",
                &full[..30],
                "truncated: the header declares 4 images of 2×3 (24 bytes) but only 14 bytes follow it",
            ),
            (
                "one-short",
                &full[..full.len() - 1],
                "(24 bytes) but only 23 bytes follow it",
            ),
        ];
        for (name, bytes, expected) in cases {
            let path = dir.write(name, bytes);
            let text = message(load_images(&path).unwrap_err());
            assert!(text.starts_with(&path.display().to_string()), "{text}");
            assert!(text.contains(expected), "{name}: {text}");
        }
        let mut long = full.clone();
        long.push(0);
        let text = message(load_images(dir.write("long", &long)).unwrap_err());
        assert!(
            text.contains("declares 4 images of 2×3 (24 bytes) but 25 bytes follow it"),
            "{text}"
        );
        let text = message(load_labels(dir.write("l", &idx(LABELS_MAGIC, &[5], &[1, 2]))).unwrap_err());
        assert!(
            text.contains("declares 5 labels (5 bytes) but only 2 bytes follow it"),
            "{text}"
        );
        // A header declaring more than can be addressed is refused before any allocation.
        let huge = idx(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[]);
        let text = message(load_images(dir.write("huge", &huge)).unwrap_err());
        assert!(text.contains("more bytes than memory can hold"), "{text}");
    }

    #[test]
    fn a_truncated_gzip_stream_is_refused() {
        let dir = TempDir::new("badgzip");
        let gz = gzip(&images(50));
        let path = dir.write("cut.gz", &gz[..gz.len() / 2]);
        let text = message(load_images(&path).unwrap_err());
        assert!(text.starts_with(&path.display().to_string()), "{text}");
        assert!(text.contains("gzip") || text.contains("truncated"), "{text}");
        // A damaged checksum.
        let mut bad = gz.clone();
        let at = bad.len() - 6;
        bad[at] ^= 0xff;
        let text = message(load_images(dir.write("crc.gz", &bad)).unwrap_err());
        assert!(text.contains("broken gzip stream"), "{text}");
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let dir = TempDir::new("missing");
        let path = dir.0.join("nothing-here");
        let err = load_labels(&path).unwrap_err();
        assert!(matches!(&err, KilnError::Io { path: p, .. } if *p == path.display().to_string()));
    }

    fn write_dataset(dir: &TempDir, train: (u32, &[u8]), test: (u32, &[u8]), gz: bool) {
        let files = [images(train.0), labels(train.1), images(test.0), labels(test.1)];
        for (name, bytes) in FILES.iter().zip(files) {
            if gz {
                dir.write(&format!("{name}.gz"), &gzip(&bytes));
            } else {
                dir.write(name, &bytes);
            }
        }
    }

    #[test]
    fn a_dataset_directory_loads_as_keras_splits() {
        for gz in [false, true] {
            let dir = TempDir::new(&format!("dataset-{gz}"));
            write_dataset(&dir, (3, &[1, 2, 3]), (2, &[9, 0]), gz);
            let ((x_train, y_train), (x_test, y_test)) = TEST.load_data_from(&dir.0).unwrap();
            assert_eq!(x_train.shape(), &[3, 2, 3]);
            assert_eq!(y_train.as_i32().unwrap(), &[1, 2, 3]);
            assert_eq!(x_test.shape(), &[2, 2, 3]);
            assert_eq!(y_test.as_i32().unwrap(), &[9, 0]);
        }
    }

    #[test]
    fn mismatched_counts_name_both_files() {
        let dir = TempDir::new("counts");
        write_dataset(&dir, (3, &[1, 2, 3]), (2, &[9, 0, 4]), false);
        let err = TEST.load_data_from(&dir.0).unwrap_err();
        let text = message(err);
        assert!(text.starts_with("dataset 'test_set': "), "{text}");
        let images = dir.0.join("t10k-images-idx3-ubyte").display().to_string();
        let labels = dir.0.join("t10k-labels-idx1-ubyte").display().to_string();
        assert!(
            text.contains(&format!("{images} holds 2 images but {labels} holds 3 labels")),
            "{text}"
        );
    }

    #[test]
    fn labels_outside_the_classes_are_refused() {
        let dir = TempDir::new("classes");
        write_dataset(&dir, (2, &[1, 12]), (1, &[0]), false);
        let text = message(TEST.load_data_from(&dir.0).unwrap_err());
        assert!(text.contains("train-labels-idx1-ubyte"), "{text}");
        assert!(
            text.contains("label 12 at index 1 is not a class of test_set (0 to 9)"),
            "{text}"
        );
    }

    #[test]
    fn missing_files_list_every_path_tried_and_how_to_get_them() {
        let dir = TempDir::new("partial");
        write_dataset(&dir, (1, &[1]), (1, &[1]), true);
        std::fs::remove_file(dir.0.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        let err = TEST.load_data_from(&dir.0).unwrap_err();
        assert!(matches!(&err, KilnError::Dataset { name, .. } if name == "test_set"));
        let text = message(err);
        let tried = format!("{}[.gz]", dir.0.join("t10k-labels-idx1-ubyte").display());
        assert!(text.contains(&tried), "{text}");
        assert!(
            !text.contains("train-images-idx3-ubyte[.gz]"),
            "only the missing file is listed: {text}"
        );
        assert!(text.contains("`sudo apt install dataset-test`"), "{text}");
        assert!(text.contains("https://example.org/test-set"), "{text}");
        assert!(text.contains("KILN_DATA=DIR"), "{text}");
        assert!(text.contains("kiln::datasets::test_set::load_data_from(DIR)"), "{text}");
    }

    #[test]
    fn the_search_order_is_kiln_data_subdirectory_kiln_data_then_debian() {
        let (dirs, notes) = TEST.search_dirs(Some("/data".into()));
        let expected: Vec<PathBuf> = ["/data/test-set", "/data", "/nonexistent/kiln/test-set"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(dirs, expected);
        assert!(notes.is_empty());
        for unset in [None, Some(OsString::new())] {
            let (dirs, notes) = TEST.search_dirs(unset);
            assert_eq!(dirs, vec![PathBuf::from("/nonexistent/kiln/test-set")]);
            assert_eq!(notes, vec!["KILN_DATA is not set".to_string()]);
        }
        let no_debian = IdxDataset { debian: None, ..TEST };
        assert!(no_debian.search_dirs(None).0.is_empty());
        let (dirs, notes) = no_debian.search_dirs(None);
        let text = message(no_debian.load_first(&dirs, &notes).unwrap_err());
        assert!(
            text.starts_with("dataset 'test_set': its four IDX files were not found. KILN_DATA is not set, so there was nowhere to look.\nTo get them: download"),
            "{text}"
        );
        assert!(!text.contains("apt"), "{text}");
    }

    #[test]
    fn the_first_complete_directory_wins() {
        let partial = TempDir::new("first-partial");
        write_dataset(&partial, (1, &[5]), (1, &[5]), false);
        std::fs::remove_file(partial.0.join("train-images-idx3-ubyte")).unwrap();
        let complete = TempDir::new("first-complete");
        write_dataset(&complete, (2, &[7, 8]), (1, &[6]), true);
        let ((_, y_train), _) = TEST.load_first(&[partial.0.clone(), complete.0.clone()], &[]).unwrap();
        assert_eq!(y_train.as_i32().unwrap(), &[7, 8]);
    }
}
