//! Small real datasets bundled with Kiln, in the spirit of `keras.datasets`.

pub mod digits;
