//! MNIST: 70,000 grayscale 28×28 images of handwritten digits, as `keras.datasets.mnist`.
//!
//! The MNIST database of Yann LeCun, Corinna Cortes and Christopher J. C. Burges: 60,000
//! training and 10,000 test images. It is not bundled and has no Debian package: Kiln reads
//! the four IDX files (see [`super::idx`]) from the first directory holding all of them, of
//!
//! 1. the directory passed to [`load_data_from`] (and only it), or for [`load_data`]:
//! 2. `$KILN_DATA/mnist`, then `$KILN_DATA`.
//!
//! The files are `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each plain or gzip-compressed
//! (`.gz`), as first published at <http://yann.lecun.com/exdb/mnist/> and mirrored at
//! <https://ossci-datasets.s3.amazonaws.com/mnist/>. When they are missing, the error lists
//! every path tried and how to get them.

use super::Split;
use super::idx::IdxDataset;
use crate::error::Result;
use std::path::Path;

const DATASET: IdxDataset = IdxDataset {
    name: "mnist",
    dir_name: "mnist",
    debian: None,
    source: "(first published at http://yann.lecun.com/exdb/mnist/, mirrored at \
             https://ossci-datasets.s3.amazonaws.com/mnist/)",
    classes: 10,
};

/// MNIST as `keras.datasets.mnist.load_data()` gives it: `((x_train, y_train), (x_test,
/// y_test))`, images f32 `[60000, 28, 28]` and `[10000, 28, 28]` holding the pixel values
/// 0–255 (Keras's uint8 values; divide by 255 to scale them), labels i32 `[60000]` and
/// `[10000]` (the digits 0–9).
///
/// The files are looked for in `$KILN_DATA/mnist` and `$KILN_DATA` (see the [module
/// documentation](self)). Missing files give [`KilnError::Dataset`](crate::KilnError::Dataset)
/// listing every path tried and how to get the files; a corrupt file gives an error naming it
/// and what is wrong.
///
/// ```no_run
/// // With the four files in $KILN_DATA/mnist:
/// let ((x_train, y_train), (x_test, y_test)) = kiln::datasets::mnist::load_data()?;
/// assert_eq!(x_train.shape(), &[60000, 28, 28]);
/// assert_eq!(y_train.shape(), &[60000]);
/// assert_eq!(x_test.shape(), &[10000, 28, 28]);
/// assert_eq!(y_test.shape(), &[10000]);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn load_data() -> Result<Split> {
    DATASET.load_data()
}

/// As [`load_data`], with the files read from `dir` only.
///
/// ```
/// // An empty directory: the error names every file looked for.
/// let dir = std::env::temp_dir().join(format!("kiln-doc-mnist-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let err = kiln::datasets::mnist::load_data_from(&dir).unwrap_err();
/// assert!(err.to_string().contains("t10k-labels-idx1-ubyte"));
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub fn load_data_from(dir: impl AsRef<Path>) -> Result<Split> {
    DATASET.load_data_from(dir.as_ref())
}
