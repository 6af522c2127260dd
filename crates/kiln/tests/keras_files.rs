//! Keras model files: every `.keras` and legacy `.h5` file written by Keras in
//! `tests/keras/goldens/files/` (by `tests/keras/make_keras_files.py`) loads with
//! `Model::load`, and `predict` gives Keras's outputs (the layer goldens' `outputs`, or the
//! `.npy` files Keras's `predict` wrote); a model saved back to `.keras` by Kiln loads
//! again with the same predictions; damaged files give errors, not panics.
//!
//! With `KILN_EXPORT_DIR` set, every golden model is also exported there as `.keras`, with
//! its inputs as `.npy`, for `tests/keras/check_export.py` to load with Keras.

use crate::common;
use common::TempDir;

use kiln::{Device, KilnError, Model, PredictOptions, Tensor};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

fn files_dir() -> PathBuf {
    common::goldens_dir().join("files")
}

fn manifest() -> Value {
    common::golden("files/manifest.json")
}

/// Layers whose goldens are compared within 1e-4 (long chains of float32 operations).
const LOOSE: &[&str] = &[
    "LSTM",
    "GRU",
    "SimpleRNN",
    "Bidirectional",
    "Embedding",
    "Masking",
    "MultiHeadAttention",
    "Attention",
    "AdditiveAttention",
];

fn tolerance(class: &str) -> f32 {
    if LOOSE.contains(&class) { 1e-4 } else { 1e-5 }
}

/// The golden cases of a layer class, by name.
fn golden_cases(cache: &mut HashMap<String, HashMap<String, Value>>, class: &str) -> HashMap<String, Value> {
    cache
        .entry(class.to_string())
        .or_insert_with(|| {
            common::golden(&format!("layers/{class}.json"))["cases"]
                .as_array()
                .expect("cases")
                .iter()
                .map(|c| (c["name"].as_str().unwrap().to_string(), c.clone()))
                .collect()
        })
        .clone()
}

fn golden_tensor(v: &Value, dtype: &str) -> Tensor {
    if dtype.starts_with("int") {
        common::i32_tensor(v)
    } else {
        common::f32_tensor(v)
    }
}

fn predict(model: &Model, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
    model
        .predict_multi(inputs.to_vec(), PredictOptions::default())
        .map_err(|e| format!("predict: {e}"))
}

/// Largest difference scaled by max(1, |want|); an error on a shape or count mismatch.
fn worst(got: &[Tensor], want: &[Tensor]) -> Result<f32, String> {
    if got.len() != want.len() {
        return Err(format!("{} outputs, Keras has {}", got.len(), want.len()));
    }
    let mut worst = 0.0f32;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.shape() != w.shape() {
            return Err(format!("output {i} has shape {:?}, Keras's {:?}", g.shape(), w.shape()));
        }
        for (a, b) in g.to_f32().iter().zip(w.to_f32()) {
            let d = (a - b).abs() / b.abs().max(1.0);
            if d.is_nan() || a.is_nan() != b.is_nan() {
                return Err(format!("output {i}: NaN where Keras has {b}"));
            }
            worst = worst.max(d);
        }
    }
    Ok(worst)
}

fn identical(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.shape() == y.shape()
                && x.to_f32()
                    .iter()
                    .zip(y.to_f32())
                    .all(|(p, q)| p.to_bits() == q.to_bits())
        })
}

fn export_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("KILN_EXPORT_DIR")?);
    std::fs::create_dir_all(&dir).expect("KILN_EXPORT_DIR");
    Some(dir)
}

/// Exports `model` as `<stem>.keras` into KILN_EXPORT_DIR with `<stem>.input_<i>.npy`.
fn export(dir: &Path, stem: &str, model: &Model, inputs: &[Tensor]) -> Result<(), String> {
    model
        .save(dir.join(format!("{stem}.keras")))
        .map_err(|e| format!("export: {e}"))?;
    for (i, x) in inputs.iter().enumerate() {
        kiln::npy::write(dir.join(format!("{stem}.input_{i}.npy")), x).map_err(|e| format!("export: {e}"))?;
    }
    Ok(())
}

/// Loads `file`, checks `predict` against `want`, round-trips it through a Kiln-written
/// `.keras` file and returns the worst difference.
fn check_file(
    file: &Path,
    inputs: &[Tensor],
    want: &[Tensor],
    tol: f32,
    scratch: &TempDir,
) -> Result<(f32, Model), String> {
    let model = Model::load(file, &Device::Ndarray).map_err(|e| format!("load: {e}"))?;
    let got = predict(&model, inputs)?;
    let w = worst(&got, want)?;
    if w > tol {
        return Err(format!(
            "predictions differ from Keras's by {w:.2e} (tolerance {tol:.0e})"
        ));
    }
    let again = scratch.path("round_trip.keras");
    model.save(&again).map_err(|e| format!("save as .keras: {e}"))?;
    let reloaded = Model::load(&again, &Device::Ndarray).map_err(|e| format!("reload of Kiln's .keras: {e}"))?;
    if reloaded.weight_names() != model.weight_names() {
        return Err(format!(
            "round trip: weights {:?} came back as {:?}",
            model.weight_names(),
            reloaded.weight_names()
        ));
    }
    if !identical(&predict(&reloaded, inputs)?, &got) {
        return Err("round trip through Kiln's .keras changed the predictions".into());
    }
    Ok((w, model))
}

/// Failures of other parts of Kiln that these files expose (file stem, the error's text):
/// reported, and not counted as failures while the error is exactly this one.
const KNOWN_GAPS: &[(&str, &str)] = &[];

struct Report {
    known: Vec<String>,
    checked: usize,
    worst: f32,
    worst_at: String,
    failures: Vec<String>,
}

impl Report {
    fn new() -> Report {
        Report {
            known: Vec::new(),
            checked: 0,
            worst: 0.0,
            worst_at: String::new(),
            failures: Vec::new(),
        }
    }

    fn record(&mut self, what: &str, result: Result<f32, String>) {
        match result {
            Ok(w) => {
                self.checked += 1;
                if w >= self.worst {
                    self.worst = w;
                    self.worst_at = what.to_string();
                }
            }
            Err(e) if KNOWN_GAPS.iter().any(|(f, m)| what.starts_with(f) && e.contains(m)) => {
                self.known.push(format!("{what}: {e}"));
            }
            Err(e) => self.failures.push(format!("{what}: {e}")),
        }
    }

    fn finish(self, kind: &str) {
        println!(
            "{kind}: {} files match Keras; worst difference {:.2e} ({})",
            self.checked, self.worst, self.worst_at
        );
        for k in &self.known {
            println!("known gap: {k}");
        }
        assert!(
            self.failures.is_empty(),
            "{} of {} {kind} failed:\n{}",
            self.failures.len(),
            self.failures.len() + self.checked,
            self.failures.join("\n")
        );
        assert!(self.checked > 0, "no {kind} checked");
    }
}

fn layer_case_files(key: &str) {
    let manifest = manifest();
    let export_to = export_dir();
    let scratch = TempDir::new(key);
    let mut cache = HashMap::new();
    let mut report = Report::new();
    for case in manifest["layer_cases"].as_array().expect("layer_cases") {
        let Some(file) = case[key].as_str() else { continue };
        let class = case["class"].as_str().unwrap();
        let name = case["case"].as_str().unwrap();
        let golden = &golden_cases(&mut cache, class)[name];
        let dtypes: Vec<&str> = golden["input_dtypes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let inputs: Vec<Tensor> = golden["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&dtypes)
            .map(|(v, d)| golden_tensor(v, d))
            .collect();
        let want: Vec<Tensor> = golden["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(common::f32_tensor)
            .collect();
        let result =
            check_file(&files_dir().join(file), &inputs, &want, tolerance(class), &scratch).and_then(|(w, model)| {
                if let (Some(dir), "keras") = (&export_to, key) {
                    export(dir, &format!("{class}__{name}"), &model, &inputs)?;
                }
                Ok(w)
            });
        report.record(file, result);
    }
    report.finish(&format!(".{key} layer-golden files"));
}

#[test]
fn every_layer_golden_keras_file_loads_and_predicts_like_keras() {
    layer_case_files("keras");
}

#[test]
fn legacy_h5_layer_files_load_and_predict_like_keras() {
    layer_case_files("h5");
}

#[test]
fn multi_layer_models_load_and_predict_like_keras() {
    let manifest = manifest();
    let export_to = export_dir();
    let scratch = TempDir::new("models");
    let mut report = Report::new();
    let models = manifest["models"].as_array().expect("models");
    assert!(models.len() >= 3, "the manifest lists {} models", models.len());
    for m in models {
        let npys = |k: &str| -> Vec<Tensor> {
            m[k].as_array()
                .unwrap()
                .iter()
                .map(|f| kiln::npy::read(files_dir().join(f.as_str().unwrap())).expect("golden .npy"))
                .collect()
        };
        let (inputs, want) = (npys("inputs"), npys("outputs"));
        let tol = if m["recurrent"].as_bool() == Some(true) {
            1e-4
        } else {
            1e-5
        };
        for key in ["keras", "h5"] {
            let Some(file) = m[key].as_str() else { continue };
            let result = check_file(&files_dir().join(file), &inputs, &want, tol, &scratch).and_then(|(w, model)| {
                if let (Some(dir), "keras") = (&export_to, key) {
                    export(dir, m["name"].as_str().unwrap(), &model, &inputs)?;
                }
                Ok(w)
            });
            report.record(file, result);
        }
    }
    report.finish("multi-layer model files");
}

/// Every compiled engine whose device is available here.
fn engines() -> Vec<Device> {
    ["ndarray", "flex", "wgpu:0", "tch:cpu", "tch:cuda:0"]
        .iter()
        .filter_map(|s| s.parse::<Device>().ok())
        .filter(|d| kiln::devices().iter().any(|i| i.device == *d))
        .collect()
}

#[test]
fn model_files_round_trip_on_every_compiled_engine() {
    let scratch = TempDir::new("engines");
    let manifest = manifest();
    let engines = engines();
    assert!(engines.len() >= 2, "at least ndarray and flex are compiled in");
    for device in &engines {
        for m in manifest["models"].as_array().expect("models") {
            let npys = |k: &str| -> Vec<Tensor> {
                m[k].as_array()
                    .unwrap()
                    .iter()
                    .map(|f| kiln::npy::read(files_dir().join(f.as_str().unwrap())).expect("golden .npy"))
                    .collect()
            };
            let (inputs, want) = (npys("inputs"), npys("outputs"));
            for key in ["keras", "h5"] {
                let Some(file) = m[key].as_str() else { continue };
                let at = format!("{file} on {device}");
                let model = Model::load(files_dir().join(file), device).unwrap_or_else(|e| panic!("{at}: {e}"));
                let got = predict(&model, &inputs).unwrap();
                // The parity suite's tolerance between engines; Keras ran on the CPU.
                let w = worst(&got, &want).unwrap();
                assert!(w <= 1e-4, "{at}: predictions differ from Keras's by {w:.2e}");
                for (ext, what) in [("kiln", "Kiln's file"), ("keras", "a Kiln-written .keras")] {
                    let again = scratch.path(&format!("again.{ext}"));
                    model.save(&again).unwrap_or_else(|e| panic!("{at}: save {what}: {e}"));
                    let reloaded = Model::load(&again, device).unwrap_or_else(|e| panic!("{at}: load {what}: {e}"));
                    assert!(
                        identical(&predict(&reloaded, &inputs).unwrap(), &got),
                        "{at}: a round trip through {what} changed the predictions"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Damaged and mismatched files
// ---------------------------------------------------------------------------------------

/// The members of a `.keras` file, in order.
fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_string(), data)
        })
        .collect()
}

fn write_zip(path: &Path, members: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in members {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
    }
    std::fs::write(path, zip.finish().unwrap().into_inner()).unwrap();
}

fn member<'a>(members: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &members.iter().find(|m| m.0 == name).unwrap().1
}

fn replaced(members: &[(String, Vec<u8>)], name: &str, data: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    members
        .iter()
        .map(|(n, d)| (n.clone(), if n == name { data.clone() } else { d.clone() }))
        .collect()
}

fn load_err(path: &Path) -> String {
    match Model::load(path, &Device::Ndarray) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e @ KilnError::Io { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with(&path.display().to_string()),
                "the error does not name the file: {text}"
            );
            text
        }
        Err(e) => panic!("expected an I/O error naming the file, got {e:?}"),
    }
}

fn golden_file(name: &str) -> PathBuf {
    files_dir().join(name)
}

#[test]
fn wrong_shape_weights_are_refused_naming_layer_weight_and_shapes() {
    // Config of Dense(units=4) on 5 features, weights of Dense(units=3) on 4 features: the
    // shapes come from the two golden cases.
    let dir = TempDir::new("shape");
    let relu = members(&golden_file("Dense__dense_relu.keras"));
    let rank3 = members(&golden_file("Dense__dense_rank3.keras"));
    let mixed = replaced(&relu, "model.weights.h5", member(&rank3, "model.weights.h5").to_vec());
    let path = dir.path("mixed.keras");
    write_zip(&path, &mixed);
    let err = load_err(&path);
    for part in ["layer 'dense'", "weight 'dense/kernel'", "[4, 3]", "[5, 4]"] {
        assert!(err.contains(part), "'{part}' missing from: {err}");
    }
}

#[test]
fn missing_and_extra_weights_are_refused() {
    let dir = TempDir::new("extra");
    // A Conv2D without a bias given the weights of one with: vars/1 is not the model's.
    let conv_bias = members(&golden_file("Conv2D__conv2d_relu.keras"));
    let conv_no_bias = members(&golden_file("Conv2D__conv2d_no_bias.keras"));
    let mut cfg_bias: Value = serde_json::from_slice(member(&conv_bias, "config.json")).unwrap();
    cfg_bias["config"]["layers"][1]["config"]["use_bias"] = Value::Bool(false);
    let path = dir.path("extra.keras");
    write_zip(
        &path,
        &replaced(&conv_bias, "config.json", serde_json::to_vec(&cfg_bias).unwrap()),
    );
    let err = load_err(&path);
    assert!(
        err.contains("layers/conv2d/vars/1") && err.contains("not a weight of the model"),
        "{err}"
    );

    // The other way round: a bias the file does not hold.
    let mut cfg_more = serde_json::from_slice::<Value>(member(&conv_no_bias, "config.json")).unwrap();
    cfg_more["config"]["layers"][1]["config"]["use_bias"] = Value::Bool(true);
    let path = dir.path("missing.keras");
    write_zip(
        &path,
        &replaced(&conv_no_bias, "config.json", serde_json::to_vec(&cfg_more).unwrap()),
    );
    let err = load_err(&path);
    assert!(
        err.contains("no 'layers/conv2d/vars/1'") && err.contains("conv2d/bias"),
        "{err}"
    );
}

#[test]
fn damaged_keras_files_give_errors() {
    let dir = TempDir::new("damaged");
    let good = std::fs::read(golden_file("LSTM__lstm_default.keras")).unwrap();
    let parts = members(&golden_file("LSTM__lstm_default.keras"));

    let path = dir.path("truncated.keras");
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    assert!(load_err(&path).contains("zip"), "truncated archive");

    let path = dir.path("no_config.keras");
    let without: Vec<_> = parts.iter().filter(|m| m.0 != "config.json").cloned().collect();
    write_zip(&path, &without);
    assert!(load_err(&path).contains("no 'config.json'"));

    let path = dir.path("garbage_weights.keras");
    write_zip(
        &path,
        &replaced(&parts, "model.weights.h5", b"not hdf5 at all".to_vec()),
    );
    assert!(load_err(&path).contains("not an HDF5 file"));

    let h5 = member(&parts, "model.weights.h5").to_vec();
    let path = dir.path("half_weights.keras");
    write_zip(
        &path,
        &replaced(&parts, "model.weights.h5", h5[..h5.len() / 2].to_vec()),
    );
    let err = load_err(&path);
    assert!(err.contains("model.weights.h5"), "{err}");

    let path = dir.path("bad_json.keras");
    write_zip(&path, &replaced(&parts, "config.json", b"{\"class_name\": ".to_vec()));
    assert!(load_err(&path).contains("config.json"));

    // Bytes overwritten all over the HDF5 data: an error or a model, never a panic.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut errors = 0;
    for round in 0..60 {
        let mut bad = h5.clone();
        for _ in 0..1 + round % 4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Half the rounds hit the first 4 KiB, where the HDF5 metadata is.
            let span = if round % 2 == 0 { bad.len().min(4096) } else { bad.len() };
            let at = (state % span as u64) as usize;
            bad[at] = (state >> 32) as u8;
        }
        let path = dir.path(&format!("flipped_{round}.keras"));
        write_zip(&path, &replaced(&parts, "model.weights.h5", bad));
        let loaded = std::panic::catch_unwind(|| Model::load(&path, &Device::Ndarray).map(|_| ()));
        match loaded {
            Ok(Ok(())) => {}
            Ok(Err(_)) => errors += 1,
            Err(_) => panic!("loading {} panicked", path.display()),
        }
    }
    println!("{errors} of 60 damaged weights files refused");
}

#[test]
fn damaged_and_weights_only_h5_files_are_refused() {
    let dir = TempDir::new("h5");
    // A weights-only legacy file (save_weights in Keras 2: `layer_names` at the root).
    let mut b = hdf5_pure::FileBuilder::new();
    b.set_attr(
        "layer_names",
        hdf5_pure::AttrValue::AsciiStringArray(vec!["dense".into()]),
    );
    let mut g = b.create_group("dense");
    g.set_attr(
        "weight_names",
        hdf5_pure::AttrValue::AsciiStringArray(vec!["kernel:0".into()]),
    );
    g.create_dataset("kernel:0")
        .with_f32_data(&[1.0, 2.0])
        .with_shape(&[1, 2]);
    b.add_group(g.finish());
    let path = dir.path("weights_only.h5");
    std::fs::write(&path, b.finish().unwrap()).unwrap();
    let err = load_err(&path);
    assert!(err.contains("weights-only") && err.contains("model_config"), "{err}");

    // A .keras archive named .h5, and an .h5 named .keras.
    let path = dir.path("archive.h5");
    std::fs::copy(golden_file("Dense__dense_relu.keras"), &path).unwrap();
    assert!(load_err(&path).contains("name it .keras"));
    let path = dir.path("hdf5.keras");
    std::fs::copy(golden_file("Dense__dense_relu.h5"), &path).unwrap();
    assert!(load_err(&path).contains("name it .h5"));

    // Truncated legacy file.
    let good = std::fs::read(golden_file("Dense__dense_relu.h5")).unwrap();
    let path = dir.path("truncated.h5");
    std::fs::write(&path, &good[..good.len() * 2 / 3]).unwrap();
    load_err(&path);

    // Weights of another shape under the same layer name: Dense(4) on 5 features given
    // Dense(3) on 4 (the two golden cases' shapes).
    let relu = std::fs::read(golden_file("Dense__dense_relu.h5")).unwrap();
    let rank3 = hdf5_pure::File::from_bytes(std::fs::read(golden_file("Dense__dense_rank3.h5")).unwrap()).unwrap();
    let config = hdf5_pure::File::from_bytes(relu).unwrap().root().attrs().unwrap()["model_config"]
        .as_str()
        .unwrap()
        .to_string();
    let mut b = hdf5_pure::FileBuilder::new();
    b.set_attr("model_config", hdf5_pure::AttrValue::VarLenString(config));
    let mut mw = b.create_group("model_weights");
    let mut dense = mw.create_group("dense");
    let names = rank3.group("model_weights/dense").unwrap().attrs().unwrap()["weight_names"]
        .as_strings()
        .unwrap()
        .to_vec();
    dense.set_attr("weight_names", hdf5_pure::AttrValue::VarLenStringArray(names.clone()));
    // Keras 3 names them `dense/kernel` (`<model>/dense/kernel` in a Sequential model):
    // one group per component but the last.
    let prefix: Vec<&str> = names[0].split('/').collect();
    let prefix = &prefix[..prefix.len() - 1];
    let mut chain: Vec<hdf5_pure::GroupBuilder> = prefix.iter().map(|p| dense.create_group(p)).collect();
    for n in &names {
        let ds = rank3.dataset(&format!("model_weights/dense/{n}")).unwrap();
        let shape = ds.shape().unwrap();
        let leaf = n.rsplit('/').next().unwrap();
        chain
            .last_mut()
            .unwrap()
            .create_dataset(leaf)
            .with_f32_data(&ds.read_f32().unwrap())
            .with_shape(&shape);
    }
    while chain.len() > 1 {
        let inner = chain.pop().unwrap();
        chain.last_mut().unwrap().add_group(inner.finish());
    }
    dense.add_group(chain.pop().unwrap().finish());
    mw.add_group(dense.finish());
    b.add_group(mw.finish());
    let path = dir.path("wrong_shape.h5");
    std::fs::write(&path, b.finish().unwrap()).unwrap();
    let err = load_err(&path);
    for part in ["layer 'dense'", "weight 'dense/kernel'", "[4, 3]", "[5, 4]"] {
        assert!(err.contains(part), "'{part}' missing from: {err}");
    }
}

#[test]
fn float64_weights_are_converted() {
    // The Dense golden's weights stored as float64 (written here; Keras writes float32):
    // the model predicts the golden outputs all the same.
    let dir = TempDir::new("f64");
    let parts = members(&golden_file("Dense__dense_relu.keras"));
    let h5 = hdf5_pure::File::from_bytes(member(&parts, "model.weights.h5").to_vec()).unwrap();
    let mut b = hdf5_pure::FileBuilder::new();
    let mut layers = b.create_group("layers");
    let mut dense = layers.create_group("dense");
    let mut vars = dense.create_group("vars");
    for i in ["0", "1"] {
        let ds = h5.dataset(&format!("layers/dense/vars/{i}")).unwrap();
        let values: Vec<f64> = ds.read_f32().unwrap().into_iter().map(f64::from).collect();
        vars.create_dataset(i)
            .with_f64_data(&values)
            .with_shape(&ds.shape().unwrap());
    }
    dense.add_group(vars.finish());
    layers.add_group(dense.finish());
    b.add_group(layers.finish());
    let path = dir.path("f64.keras");
    write_zip(&path, &replaced(&parts, "model.weights.h5", b.finish().unwrap()));
    let model = Model::load(&path, &Device::Ndarray).unwrap();
    let case = &golden_cases(&mut HashMap::new(), "Dense")["dense_relu"];
    let got = predict(&model, &[common::f32_tensor(&case["inputs"][0])]).unwrap();
    let w = worst(&got, &[common::f32_tensor(&case["outputs"][0])]).unwrap();
    assert!(w <= 1e-5, "float64 weights: predictions differ by {w}");
}
