//! Ready-made architectures in the spirit of `keras.applications`: built layer for layer
//! as Keras builds them (same layer names, shapes and parameter counts), with fresh weights.

mod mobilenet_v2;

pub use mobilenet_v2::mobilenet_v2;
