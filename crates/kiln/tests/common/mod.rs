//! Reading the Keras goldens written by `tests/keras/make_goldens.py`.
#![allow(dead_code)]

pub mod layer_cases;
mod temp_dir;

#[allow(unused_imports)]
pub use temp_dir::TempDir;

use kiln::Tensor;
use serde_json::Value;
use std::path::PathBuf;

/// The repository's `tests/keras/goldens` directory.
pub fn goldens_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/keras/goldens")
}

/// A golden JSON file.
pub fn golden(name: &str) -> Value {
    let path = goldens_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("golden JSON")
}

/// A golden text file.
pub fn golden_text(name: &str) -> String {
    let path = goldens_dir().join("text").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

/// A `{"shape", "data"}` array as an f32 tensor.
pub fn f32_tensor(v: &Value) -> Tensor {
    let data = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    Tensor::from_f32(data, shape(v)).unwrap()
}

/// A `{"shape", "data"}` array of integers as an i32 tensor.
pub fn i32_tensor(v: &Value) -> Tensor {
    let data = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.as_i64().unwrap() as i32)
        .collect();
    Tensor::from_i32(data, shape(v)).unwrap()
}

/// Largest absolute difference; panics on a shape mismatch.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.to_f32()
        .iter()
        .zip(b.to_f32())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The full name of the test `name` in the module at `module_path` (`module_path!()` at the
/// call), as the test binary's `--exact` filter takes it: the module path without the
/// binary's own name (`atomic_save::writer_process`). Tests that run one of their file's
/// tests in a child process name it with this.
pub fn test_path(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_, module)) => format!("{module}::{name}"),
        None => name.to_string(),
    }
}
