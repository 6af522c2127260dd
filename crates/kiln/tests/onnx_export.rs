//! ONNX export (`Model::to_onnx_bytes` / `export_onnx`) of every layer golden model
//! (`tests/keras/goldens/layers/<Class>.json`, Keras's weights set) and of two applications.
//!
//! Always: each model exports (every op it uses has a translation) and the file decodes
//! back with the model's inputs (names, dtypes, shapes with a symbolic batch), one output
//! per model output, and the weights as initializers with Keras's values.
//!
//! With `KILN_ONNX_DIR` set, each model is also written there as `<case>/model.onnx` with
//! its inputs (`input_<i>.npy`) and Kiln's predictions (`output_<k>.npy`), for
//! `tests/onnx/check_onnx.py` to run through `onnx.checker` and ONNX Runtime.

mod common;

use common::layer_cases::*;
use kiln::onnx::proto::{FLOAT, INT32, ModelProto, TensorProto};
use kiln::prelude::*;
use kiln::{DType, PredictOptions};
use std::path::{Path, PathBuf};

/// Weights the inference graph never reads, so not exported: Normalization's `count`
/// (only `adapt` uses it).
fn read_in_inference(name: &str) -> bool {
    !name.ends_with("/count")
}

fn raw_f32(t: &Tensor) -> Vec<u8> {
    t.to_f32().iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Decodes the export and checks its inputs, outputs and initializers against the model.
fn check_decoded(model: &Model, bytes: &[u8], weights: &[Tensor]) -> Result<(), String> {
    let proto = ModelProto::from_bytes(bytes)?;
    if proto.opset_import.first().map(|o| o.version) != Some(17) {
        return Err(format!("opset {:?}, expected 17", proto.opset_import));
    }
    let g = proto.graph.ok_or("no graph")?;
    let ir = model.graph().map_err(|e| e.to_string())?;
    if g.input.len() != ir.inputs().len() {
        return Err(format!("{} inputs, the model has {}", g.input.len(), ir.inputs().len()));
    }
    for (got, want) in g.input.iter().zip(ir.inputs()) {
        let ty = ir.value_type(want.value).map_err(|e| e.to_string())?;
        let (elem, dims) = got
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_parts())
            .ok_or("untyped input")?;
        let want_elem = if ty.dtype == DType::F32 { FLOAT } else { INT32 };
        let want_dims: Vec<Option<i64>> = ty.shape.dims().iter().map(|d| d.map(|n| n as i64)).collect();
        if got.name != want.name || elem != want_elem || dims != want_dims || dims.first() != Some(&None) {
            return Err(format!(
                "input '{}' {elem} {dims:?}, expected '{}' {want_elem} {want_dims:?} with a symbolic batch",
                got.name, want.name
            ));
        }
    }
    let outputs: Vec<&str> = g.output.iter().map(|o| o.name.as_str()).collect();
    if outputs.len() != model.output_names().len()
        || outputs.first().copied() != model.output_names().first().map(String::as_str)
    {
        return Err(format!("outputs {outputs:?}, model outputs {:?}", model.output_names()));
    }
    let names = model.weight_names();
    let expected: Vec<&String> = names.iter().filter(|n| read_in_inference(n)).collect();
    if g.initializer.len() != expected.len() {
        return Err(format!(
            "{} initializers, expected {} ({expected:?})",
            g.initializer.len(),
            expected.len()
        ));
    }
    for init in &g.initializer {
        let i = names
            .iter()
            .position(|n| *n == init.name)
            .ok_or_else(|| format!("initializer '{}' is no weight", init.name))?;
        let dims: Vec<i64> = weights[i].shape().iter().map(|&d| d as i64).collect();
        let want = TensorProto {
            dims,
            data_type: FLOAT,
            name: init.name.clone(),
            raw_data: raw_f32(&weights[i]),
        };
        if *init != want {
            return Err(format!("initializer '{}' differs from the weight", init.name));
        }
    }
    Ok(())
}

/// Writes the model, its inputs and Kiln's predictions under `dir/<name>/`.
fn write_case(dir: &Path, name: &str, model: &Model, inputs: &[Tensor]) -> Result<(), String> {
    let case = dir.join(name);
    std::fs::create_dir_all(&case).map_err(|e| e.to_string())?;
    model.export_onnx(case.join("model.onnx")).map_err(|e| e.to_string())?;
    let outputs = model
        .predict_multi(inputs.to_vec(), PredictOptions::default())
        .map_err(|e| e.to_string())?;
    for (i, x) in inputs.iter().enumerate() {
        kiln::npy::write(case.join(format!("input_{i}.npy")), x).map_err(|e| e.to_string())?;
    }
    for (k, y) in outputs.iter().enumerate() {
        kiln::npy::write(case.join(format!("output_{k}.npy")), y).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn export_case(case: &serde_json::Value, dir: Option<&Path>, name: &str) -> Result<(), String> {
    let inputs = case_inputs(case)?;
    let (mut model, layers) = build(case, &inputs)?;
    let (weights, _) = case_weights(case, &model, &layers)?;
    model.set_weights(&weights).map_err(|e| e.to_string())?;
    let bytes = model.to_onnx_bytes().map_err(|e| e.to_string())?;
    check_decoded(&model, &bytes, &weights)?;
    match dir {
        Some(dir) => write_case(dir, name, &model, &inputs),
        None => Ok(()),
    }
}

/// A deterministic input in [-1, 1] of `shape`.
fn wave(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_f32((0..n).map(|i| ((i as f32) * 0.37).sin()).collect(), shape.to_vec()).unwrap()
}

#[test]
fn every_golden_model_exports_to_onnx() {
    let dir = std::env::var_os("KILN_ONNX_DIR").map(PathBuf::from);
    let mut failures = Vec::new();
    let mut exported = 0;
    for (class, file) in golden_files() {
        for case in file["cases"].as_array().into_iter().flatten() {
            let name = format!("{class}__{}", case["name"].as_str().unwrap_or("?"));
            kiln::clear_session();
            match export_case(case, dir.as_deref(), &name) {
                Ok(()) => exported += 1,
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
    }
    let apps: [(&str, fn() -> kiln::Result<Model>); 2] = [
        ("mobilenet_v2", || {
            kiln::applications::mobilenet_v2([64, 64, 3], 0.35, 10)
        }),
        ("mobilenet_v3_small", || {
            kiln::applications::mobilenet_v3_small([64, 64, 3], 0.75, 10)
        }),
    ];
    for (name, make) in apps {
        kiln::clear_session();
        let result = make().map_err(|e| e.to_string()).and_then(|model| {
            let weights = model.get_weights().map_err(|e| e.to_string())?;
            let bytes = model.to_onnx_bytes().map_err(|e| e.to_string())?;
            check_decoded(&model, &bytes, &weights)?;
            match &dir {
                Some(dir) => write_case(dir, &format!("applications__{name}"), &model, &[wave(&[2, 64, 64, 3])]),
                None => Ok(()),
            }
        });
        match result {
            Ok(()) => exported += 1,
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!("{exported} models exported to ONNX");
    assert!(exported > 200, "only {exported} models exported");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn an_unwritable_path_is_an_error_naming_it() {
    let mut model = Sequential::new();
    model.add(Dense::new(2).input_shape([3])).unwrap();
    let err = model
        .export_onnx("/nonexistent-dir/model.onnx")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/nonexistent-dir/model.onnx: cannot write"), "{err}");
}
