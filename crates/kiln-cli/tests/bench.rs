//! `kiln bench` as a user runs it, and the `train_on_batch` / `predict_on_batch` steps it
//! times.

use crate::common;
use common::{assert_error, fresh_dir, kiln, s, stdout};

use kiln::optimizers::Sgd;
use kiln::prelude::*;
use kiln::{DType, PredictOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    fresh_dir("kiln-cli-bench", name)
}

fn save(model: &Model, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    model.save(&path).unwrap();
    path
}

/// `kiln bench ARGS --json`, parsed.
fn bench_json(args: &[&str]) -> Value {
    let mut all = vec!["bench"];
    all.extend(args);
    all.push("--json");
    let text = stdout(&kiln(&all));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Checks one timing object: positive, ordered, `steps` steps, throughput from the median.
fn check_timing(t: &Value, steps: usize, batch: f64) {
    let f = |k: &str| t[k].as_f64().unwrap_or_else(|| panic!("'{k}' missing in {t}"));
    let (median, min, max) = (f("median_ms"), f("min_ms"), f("max_ms"));
    assert!(min > 0.0 && min <= median && median <= max, "{t}");
    let per_second = f("samples_per_second");
    assert!((per_second - batch * 1000.0 / median).abs() <= 1e-9 * per_second, "{t}");
    let each: Vec<f64> = t["step_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(each.len(), steps, "{t}");
    let lo = each.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = each.iter().copied().fold(0.0, f64::max);
    assert_eq!((lo, hi), (min, max), "{t}");
}

#[test]
fn bench_json_of_a_compiled_model_uses_its_optimizer_and_loss() {
    let d = dir("compiled");
    kiln::set_random_seed(3);
    let mut model = Sequential::new();
    model.add(Dense::new(8).activation("relu").input_shape([4])).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model
        .compile("sgd", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    let path = save(&model, &d, "model.kiln");
    let r = bench_json(&[
        s(&path),
        "--steps",
        "3",
        "--warmup",
        "1",
        "--batch-size",
        "8",
        "--device",
        "ndarray",
    ]);
    assert_eq!(r["device"], "ndarray");
    assert_eq!(r["batch_size"], 8);
    assert_eq!(r["steps"], 3);
    assert_eq!(r["warmup"], 1);
    assert_eq!(r["input_shapes"], serde_json::json!([[8, 4]]));
    assert_eq!(r["compiled"], true);
    assert_eq!(r["optimizer"], "sgd");
    assert_eq!(strings(&r["losses"]), ["sparse_categorical_crossentropy"]);
    assert_eq!(strings(&r["output_activations"]), ["softmax"]);
    check_timing(&r["train"], 3, 8.0);
    check_timing(&r["predict"], 3, 8.0);
    if cfg!(target_os = "linux") {
        // This process's peak resident memory: at least the binary's own pages.
        assert!(r["peak_rss_bytes"].as_u64().unwrap() > 1 << 20, "{r}");
    } else {
        assert!(r["peak_rss_bytes"].is_null());
    }
}

#[test]
fn an_uncompiled_model_gets_adam_and_a_loss_for_each_output_activation() {
    let d = dir("uncompiled");
    kiln::set_random_seed(4);
    let x = Input::new([4]);
    let cls = Dense::new(3).activation("softmax").name("cls").apply(&x).unwrap();
    let bin = Dense::new(1).activation("sigmoid").name("bin").apply(&x).unwrap();
    let reg = Dense::new(2).name("reg").apply(&x).unwrap();
    let model = Model::new(&[&x], &[&cls, &bin, &reg]).unwrap();
    let path = save(&model, &d, "three.kiln");
    let r = bench_json(&[s(&path), "--steps", "2", "--warmup", "0", "--batch-size", "5"]);
    assert_eq!(r["compiled"], false);
    assert_eq!(r["optimizer"], "adam");
    assert_eq!(
        strings(&r["losses"]),
        ["categorical_crossentropy", "binary_crossentropy", "mean_squared_error"]
    );
    assert_eq!(strings(&r["output_activations"]), ["softmax", "sigmoid", "linear"]);
    check_timing(&r["train"], 2, 5.0);
    check_timing(&r["predict"], 2, 5.0);

    // The table says the same, and which loss was chosen for what.
    let text = stdout(&kiln(&["bench", s(&path), "--steps", "2", "--batch-size", "5"]));
    for wanted in [
        "batch size: 5   inputs: (5, 4)",
        "steps:      2 timed, after 3 warm-up",
        "categorical_crossentropy (output ends in softmax)",
        "binary_crossentropy (output ends in sigmoid)",
        "mean_squared_error (output ends in linear)",
        "median ms",
        "samples/s",
        "peak resident memory: ",
    ] {
        assert!(text.contains(wanted), "'{wanted}' missing in:\n{text}");
    }
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("train ") || l.starts_with("predict "))
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    for row in rows {
        let numbers: Vec<f64> = row.split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect();
        assert_eq!(numbers.len(), 4, "{row}");
        assert!(numbers.iter().all(|v| *v > 0.0), "{row}");
    }
}

#[test]
fn int32_token_inputs_and_keras_files_are_benched() {
    let d = dir("tokens");
    kiln::set_random_seed(14);
    let tokens = Input::with_dtype([6], DType::I32);
    let e = Embedding::new(20, 4).apply(&tokens).unwrap();
    let p = GlobalAveragePooling1D::new().apply(&e).unwrap();
    let y = Dense::new(1).activation("sigmoid").apply(&p).unwrap();
    let model = Model::new(&[&tokens], &[&y]).unwrap();
    let path = save(&model, &d, "tokens.keras");
    let r = bench_json(&[s(&path), "--steps", "2", "--warmup", "1"]);
    assert_eq!(r["input_shapes"], serde_json::json!([[32, 6]]));
    assert_eq!(strings(&r["losses"]), ["binary_crossentropy"]);
    check_timing(&r["train"], 2, 32.0);
}

#[test]
fn unknown_input_dimensions_need_input_shape() {
    // Input((None, 8)) -> GlobalAveragePooling1D -> Dense(2, softmax), made by
    // tests/keras/make_bench_files.py.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench_ragged.keras");
    let out = kiln(&["bench", s(&path)]);
    assert_error(
        &out,
        s(&path),
        "input 'sequence' has shape (None, None, 8), with unknown dimensions besides the batch; give its shape without the batch (e.g. `kiln bench --input-shape 10,8`",
    );
    let r = bench_json(&[s(&path), "--input-shape", "5,8", "--steps", "2", "--batch-size", "4"]);
    assert_eq!(r["input_shapes"], serde_json::json!([[4, 5, 8]]));
    check_timing(&r["train"], 2, 4.0);
    let out = kiln(&["bench", s(&path), "--input-shape", "5,9"]);
    assert_error(
        &out,
        s(&path),
        "the shape given for input 'sequence', (32, 5, 9), does not fit its shape (None, None, 8)",
    );
    let out = kiln(&["bench", s(&path), "--input-shape", "5,8", "--input-shape", "2"]);
    assert_error(&out, s(&path), "takes 1 input(s) but 2 input shapes were given");
}

#[test]
fn bench_usage_errors_exit_2_and_file_errors_exit_1() {
    for args in [
        vec!["bench"],
        vec!["bench", "m.kiln", "--steps", "0"],
        vec!["bench", "m.kiln", "--batch-size", "0"],
        vec!["bench", "m.kiln", "--input-shape", "5,x"],
        vec!["bench", "m.kiln", "--warmup", "-1"],
    ] {
        let out = kiln(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let d = dir("missing");
    let missing = d.join("missing.kiln");
    assert_error(&kiln(&["bench", s(&missing)]), s(&missing), "cannot read the file");
}

/// A `Dense(1)` with known weights: kernel (0.5, -0.25), bias 0.1.
fn linear_unit() -> Model {
    let mut model = Sequential::new();
    model.add(Dense::new(1).input_shape([2])).unwrap();
    let kernel = Tensor::from_f32(vec![0.5, -0.25], [2, 1]).unwrap();
    let bias = Tensor::from_f32(vec![0.1], [1]).unwrap();
    model.set_weights(&[kernel, bias]).unwrap();
    model
}

#[test]
fn train_on_batch_takes_the_hand_derived_sgd_step() {
    let mut model = linear_unit();
    model.compile(Sgd::new().learning_rate(0.1), "mse", &[]).unwrap();
    let x = Tensor::from_f32(vec![1.0, 2.0, 3.0, -1.0], [2, 2]).unwrap();
    let y = Tensor::from_f32(vec![1.0, 0.0], [2, 1]).unwrap();
    // pred = (0.1, 1.85), err = (-0.9, 1.85): loss = (0.81 + 3.4225) / 2 = 2.11625;
    // dL/dpred = err, so dL/dw = x^T err = (4.65, -3.65), dL/db = 0.95; w -= 0.1 * grad.
    let logs = model.train_on_batch(&x, &y).unwrap();
    assert!((logs["loss"] - 2.11625).abs() < 1e-6, "{logs:?}");
    let w = model.get_weights().unwrap();
    let expected = [[0.035, 0.115].as_slice(), [0.005].as_slice()];
    for (got, want) in w.iter().zip(expected) {
        for (g, e) in got.to_f32().iter().zip(want) {
            assert!((g - e).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }
    // predict_on_batch runs the updated weights: 0.035 + 0.23 + 0.005 and 0.105 - 0.115 + 0.005.
    let out = model.predict_on_batch(&x).unwrap();
    assert_eq!(out.len(), 1);
    for (g, e) in out[0].to_f32().iter().zip([0.27f32, -0.005]) {
        assert!((g - e).abs() < 1e-6, "{:?}", out[0]);
    }
}

#[test]
fn train_on_batch_changes_the_weights_as_one_fit_step_does() {
    let build = || {
        kiln::set_random_seed(21);
        let mut model = Sequential::new();
        model.add(Dense::new(5).activation("tanh").input_shape([3])).unwrap();
        model.add(Dense::new(2).activation("softmax")).unwrap();
        model
            .compile("adam", "categorical_crossentropy", &["accuracy"])
            .unwrap();
        model
    };
    let x = Tensor::from_f32((0..12).map(|i| (i as f32 * 0.37).sin()).collect(), [4, 3]).unwrap();
    let y = Tensor::from_f32(vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0], [4, 2]).unwrap();
    let mut stepped = build();
    let mut fitted = build();
    let initial = stepped.get_weights().unwrap();
    assert_eq!(initial, fitted.get_weights().unwrap());
    let logs = stepped.train_on_batch(&x, &y).unwrap();
    let history = fitted
        .fit(
            &x,
            &y,
            FitOptions::new().epochs(1).batch_size(4).shuffle(false).verbose(0),
        )
        .unwrap();
    let after = stepped.get_weights().unwrap();
    assert_ne!(after, initial, "the step must change the weights");
    assert_eq!(after, fitted.get_weights().unwrap());
    assert!(
        (logs["loss"] - history.get("loss").unwrap()[0]).abs() < 1e-12,
        "{logs:?} {history:?}"
    );
    assert_eq!(stepped.optimizer_iterations().unwrap(), 1);
    // And predict_on_batch agrees with predict on the same batch.
    let one = stepped.predict_on_batch(&x).unwrap();
    let batched = stepped.predict_with(&x, PredictOptions { batch_size: 3 }).unwrap();
    assert_eq!(one[0], batched);
}
