//! Legacy Keras `.h5` model files (`Model::load` on a `.h5` file): the whole input is the
//! file. Keras's HDF5 files (superblock version 0) carry no checksums, so mutations reach
//! the `model_config` attribute, the group tree and the weight datasets.
#![no_main]

use kiln::{Device, Model};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = Model::load_keras_bytes(data.to_vec(), Path::new("fuzz.h5"), &Device::Ndarray);
});
