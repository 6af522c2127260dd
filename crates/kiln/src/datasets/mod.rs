//! Real datasets in the spirit of `keras.datasets`: the 8×8 [`digits`] bundled with Kiln,
//! and [`mnist`] and [`fashion_mnist`] read from their standard [`idx`] files (found in a
//! given directory, under `$KILN_DATA`, or where a Debian package installs them).

pub mod digits;
pub mod fashion_mnist;
pub mod idx;
pub mod mnist;

pub use digits::Split;
