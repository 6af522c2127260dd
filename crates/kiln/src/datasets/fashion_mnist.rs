//! Fashion-MNIST: 70,000 grayscale 28×28 images of clothing in 10 classes, as
//! `keras.datasets.fashion_mnist`.
//!
//! Zalando Research's dataset (MIT licence, <https://github.com/zalandoresearch/fashion-mnist>):
//! 60,000 training and 10,000 test images, 6,000 and 1,000 of each class. It is not bundled:
//! Kiln reads the four IDX files (see [`super::idx`]) from the first directory holding all
//! of them, of
//!
//! 1. the directory passed to [`load_data_from`] (and only it), or for [`load_data`]:
//! 2. `$KILN_DATA/fashion-mnist`, then `$KILN_DATA`,
//! 3. `/usr/share/datasets/fashion-mnist`, where Debian's and Ubuntu's package
//!    `dataset-fashion-mnist` installs them (`sudo apt install dataset-fashion-mnist`).
//!
//! The files are `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each plain or gzip-compressed
//! (`.gz`). When they are missing, the error lists every path tried and how to get them.

use super::Split;
use super::idx::IdxDataset;
use crate::error::Result;
use std::path::Path;

const DATASET: IdxDataset = IdxDataset {
    name: "fashion_mnist",
    dir_name: "fashion-mnist",
    debian: Some(("dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist")),
    source: "from https://github.com/zalandoresearch/fashion-mnist",
    classes: 10,
};

/// The names of the ten classes, indexed by label.
///
/// ```
/// use kiln::datasets::fashion_mnist::CLASS_NAMES;
/// assert_eq!(CLASS_NAMES[9], "Ankle boot");
/// ```
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Fashion-MNIST as `keras.datasets.fashion_mnist.load_data()` gives it:
/// `((x_train, y_train), (x_test, y_test))`, images f32 `[60000, 28, 28]` and
/// `[10000, 28, 28]` holding the pixel values 0–255 (Keras's uint8 values; divide by 255 to
/// scale them), labels i32 `[60000]` and `[10000]` (0–9, see [`CLASS_NAMES`]).
///
/// The files are looked for under `$KILN_DATA` and then where the Debian package
/// `dataset-fashion-mnist` puts them (see the [module documentation](self)). Missing files
/// give [`KilnError::Dataset`](crate::KilnError::Dataset) listing every path tried and how to
/// get the files; a corrupt file gives an error naming it and what is wrong.
///
/// ```no_run
/// let ((x_train, y_train), (x_test, y_test)) = kiln::datasets::fashion_mnist::load_data()?;
/// assert_eq!(x_train.shape(), &[60000, 28, 28]);
/// assert_eq!(y_train.shape(), &[60000]);
/// assert_eq!(x_test.shape(), &[10000, 28, 28]);
/// assert_eq!(y_test.shape(), &[10000]);
/// // Flattened and scaled to [0, 1] for a Dense network:
/// let x_train = kiln::Tensor::from_f32(x_train.to_f32().iter().map(|p| p / 255.0).collect(), [60000, 784])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_data() -> Result<Split> {
    DATASET.load_data()
}

/// As [`load_data`], with the files read from `dir` only.
///
/// ```no_run
/// let ((x_train, _), (x_test, _)) =
///     kiln::datasets::fashion_mnist::load_data_from("/usr/share/datasets/fashion-mnist")?;
/// assert_eq!(x_train.shape(), &[60000, 28, 28]);
/// assert_eq!(x_test.shape(), &[10000, 28, 28]);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn load_data_from(dir: impl AsRef<Path>) -> Result<Split> {
    DATASET.load_data_from(dir.as_ref())
}
