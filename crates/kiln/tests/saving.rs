//! Kiln's model file: save → load → predict gives the same numbers; weights alone round
//! trip; bad files are clean errors naming the file.

use crate::common;
use common::TempDir;

use kiln::ir::{Shape, TensorType, ValueId};
use kiln::prelude::*;
use kiln::{DType, EmitContext, Layer};
use serde::{Deserialize, Serialize};

fn floats(n: usize, shape: &[usize], seed: usize) -> Tensor {
    let data = (0..n).map(|i| (((i + seed) * 37 % 23) as f32 - 11.0) / 7.0).collect();
    Tensor::from_f32(data, shape.to_vec()).unwrap()
}

/// Saves `model`, loads it on the same device and on flex, and checks predictions.
fn round_trip(model: &Model, x: &[Tensor], tag: &str) -> Model {
    let dir = TempDir::new(tag);
    let file = dir.path("model.kiln");
    model.save(&file).unwrap();
    let before = model
        .predict_multi(x.to_vec(), kiln::PredictOptions::default())
        .unwrap();
    let loaded = Model::load(&file, model.device()).unwrap();
    assert_eq!(loaded.name(), model.name());
    assert_eq!(loaded.weight_names(), model.weight_names());
    assert_eq!(loaded.summary_string(), model.summary_string());
    assert_eq!(loaded.get_weights().unwrap(), model.get_weights().unwrap());
    let after = loaded
        .predict_multi(x.to_vec(), kiln::PredictOptions::default())
        .unwrap();
    assert_eq!(after, before, "{tag}: same device, same numbers");
    let flex = Model::load(&file, &Device::Flex).unwrap();
    assert_eq!(flex.device(), &Device::Flex);
    let on_flex = flex.predict_multi(x.to_vec(), kiln::PredictOptions::default()).unwrap();
    for (a, b) in on_flex.iter().zip(&before) {
        assert_eq!(a.shape(), b.shape());
        let worst = a
            .to_f32()
            .iter()
            .zip(b.to_f32())
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-5, "{tag}: flex differs by {worst}");
    }
    loaded
}

#[test]
fn sequential_round_trips() {
    kiln::set_random_seed(1);
    let mut model = Sequential::new();
    model.add(Dense::new(8).activation("relu").input_shape([5])).unwrap();
    model.add(Dropout::new(0.3)).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model.to_device(&Device::Ndarray).unwrap();
    let mut loaded = round_trip(&model, &[floats(20, &[4, 5], 0)], "sequential");
    // Still a Sequential model: it takes more layers, and it trains once compiled again.
    loaded.add(Dense::new(2)).unwrap();
    loaded.compile("adam", "mse", &[]).unwrap();
    loaded
        .train_on_batch(floats(20, &[4, 5], 1), floats(8, &[4, 2], 2))
        .unwrap();
}

#[test]
fn functional_with_two_inputs_and_a_shared_layer_round_trips() {
    kiln::set_random_seed(2);
    let a = Input::named("left", [6]);
    let b = Input::named("right", [6]);
    let shared = Dense::new(4).activation("tanh").name("shared");
    let ha = shared.apply(&a).unwrap();
    let hb = shared.apply(&b).unwrap();
    let merged = Concatenate::new().apply_list(&[&ha, &hb]).unwrap();
    let out1 = Dense::new(2).name("head").apply(&merged).unwrap();
    let out2 = Add::new().apply_list(&[&ha, &hb]).unwrap();
    let model = Model::new(&[&a, &b], &[&out1, &out2]).unwrap().with_name("two_heads");
    let loaded = round_trip(&model, &[floats(18, &[3, 6], 0), floats(18, &[3, 6], 5)], "functional");
    assert_eq!(loaded.output_names(), model.output_names());
}

#[test]
fn conv_batchnorm_dense_round_trips_after_training() {
    kiln::set_random_seed(3);
    let x = Input::new([8, 8, 2]);
    let h = Conv2D::new(4, 3).padding("same").apply(&x).unwrap();
    let h = BatchNormalization::new().apply(&h).unwrap();
    let h = Activation::new("relu").apply(&h).unwrap();
    let h = Flatten::new().apply(&h).unwrap();
    let y = Dense::new(3).activation("softmax").apply(&h).unwrap();
    let mut model = Model::new(&[&x], &[&y]).unwrap();
    model.to_device(&Device::Ndarray).unwrap();
    model.compile("adam", "sparse_categorical_crossentropy", &[]).unwrap();
    let data = floats(4 * 8 * 8 * 2, &[4, 8, 8, 2], 3);
    let labels = Tensor::from_i32(vec![0, 1, 2, 1], vec![4]).unwrap();
    // Moves the batch-norm statistics away from their initial values.
    model.train_on_batch(&data, &labels).unwrap();
    round_trip(&model, &[data], "conv");
}

#[test]
fn embedding_with_mask_and_lstm_round_trips() {
    kiln::set_random_seed(4);
    let tokens = Input::with_dtype([5], DType::I32);
    let e = Embedding::new(10, 4).mask_zero(true).apply(&tokens).unwrap();
    let h = LSTM::new(3).apply(&e).unwrap();
    let y = Dense::new(1).apply(&h).unwrap();
    let model = Model::new(&[&tokens], &[&y]).unwrap();
    let ids = Tensor::from_i32(vec![1, 2, 3, 0, 0, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0], vec![3, 5]).unwrap();
    round_trip(&model, &[ids], "lstm");
}

#[test]
fn an_explicit_mask_is_reconnected() {
    kiln::set_random_seed(5);
    let x = Input::new([4, 2]);
    let keep = Input::with_dtype([4], DType::I32);
    let y = LSTM::new(3).apply_with_mask(&x, &keep).unwrap();
    let model = Model::new(&[&x, &keep], &[&y[0]]).unwrap();
    let mask = Tensor::from_i32(vec![1, 1, 0, 0, 1, 1, 1, 0], vec![2, 4]).unwrap();
    round_trip(&model, &[floats(16, &[2, 4, 2], 0), mask], "mask");
}

#[test]
fn weights_alone_round_trip_by_name() {
    kiln::set_random_seed(6);
    let make = || {
        let mut model = Sequential::new();
        model.add(Dense::new(3).name("first").input_shape([2])).unwrap();
        model.add(Dense::new(1).name("second")).unwrap();
        model
    };
    let source = make();
    let mut target = make();
    assert_ne!(source.get_weights().unwrap(), target.get_weights().unwrap());
    let dir = TempDir::new("weights");
    let file = dir.path("w.safetensors");
    source.save_weights(&file).unwrap();
    target.load_weights(&file).unwrap();
    assert_eq!(source.get_weights().unwrap(), target.get_weights().unwrap());

    // A model with other weights refuses the file, naming the weight and the file.
    let mut other = Sequential::new();
    other.add(Dense::new(3).name("first").input_shape([2])).unwrap();
    other.add(Dense::new(2).name("second")).unwrap();
    let before = other.get_weights().unwrap();
    let err = other.load_weights(&file).unwrap_err().to_string();
    assert!(err.contains("second/kernel") && err.contains("w.safetensors"), "{err}");
    assert_eq!(other.get_weights().unwrap(), before, "left as it was");

    let mut bigger = Sequential::new();
    bigger.add(Dense::new(3).name("first").input_shape([2])).unwrap();
    bigger.add(Dense::new(1).name("second")).unwrap();
    bigger.add(Dense::new(1).name("third")).unwrap();
    let err = bigger.load_weights(&file).unwrap_err().to_string();
    assert!(err.contains("third/kernel") && err.contains("missing"), "{err}");

    let mut smaller = Sequential::new();
    smaller.add(Dense::new(3).name("first").input_shape([2])).unwrap();
    let err = smaller.load_weights(&file).unwrap_err().to_string();
    assert!(err.contains("second/") && err.contains("does not have"), "{err}");
}

fn small_model() -> Model {
    let mut model = Sequential::new();
    model.add(Dense::new(2).name("only").input_shape([3])).unwrap();
    model
}

/// Rewrites the zip at `file` with `edit` applied to its members.
fn rewrite(file: &std::path::Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    use std::io::{Read, Write};
    let bytes = std::fs::read(file).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).unwrap();
        let name = member.name().to_string();
        let mut data = Vec::new();
        member.read_to_end(&mut data).unwrap();
        if let Some(data) = edit(&name, data) {
            out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            out.write_all(&data).unwrap();
        }
    }
    std::fs::write(file, out.finish().unwrap().into_inner()).unwrap();
}

#[test]
fn bad_files_are_errors_naming_the_file() {
    let dir = TempDir::new("bad");
    let file = dir.path("model.kiln");
    small_model().save(&file).unwrap();
    let good = std::fs::read(&file).unwrap();
    let load = |name: &str| {
        let err = Model::load(dir.path(name), &Device::Ndarray).unwrap_err();
        assert!(matches!(err, KilnError::Io { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(name), "{text}");
        text
    };

    std::fs::write(dir.path("truncated.kiln"), &good[..good.len() / 2]).unwrap();
    let err = load("truncated.kiln");
    assert!(err.contains("zip") || err.contains("archive"), "{err}");

    std::fs::write(dir.path("text.kiln"), b"hello, I am not a model").unwrap();
    let err = load("text.kiln");
    assert!(err.contains("not a Kiln model file"), "{err}");

    let err = load("absent.kiln");
    assert!(err.contains("cannot read"), "{err}");

    for (member, name) in [
        ("model.safetensors", "no_weights.kiln"),
        ("model.json", "no_model.kiln"),
        ("metadata.json", "no_metadata.kiln"),
    ] {
        let f = dir.path(name);
        std::fs::write(&f, &good).unwrap();
        rewrite(&f, |n, data| (n != member).then_some(data));
        let err = load(name);
        assert!(err.contains(member), "{err}");
    }

    let f = dir.path("bad_json.kiln");
    std::fs::write(&f, &good).unwrap();
    rewrite(&f, |n, data| {
        Some(if n == "model.json" {
            b"{\"name\": ".to_vec()
        } else {
            data
        })
    });
    let err = load("bad_json.kiln");
    assert!(err.contains("model.json") && err.contains("not valid"), "{err}");

    let f = dir.path("future.kiln");
    std::fs::write(&f, &good).unwrap();
    rewrite(&f, |n, data| {
        if n != "metadata.json" {
            return Some(data);
        }
        let mut meta: serde_json::Value = serde_json::from_slice(&data).unwrap();
        meta["format_version"] = 99.into();
        Some(serde_json::to_vec(&meta).unwrap())
    });
    let err = load("future.kiln");
    assert!(err.contains("version 99"), "{err}");

    // A missing weight names the weight.
    let f = dir.path("missing_weight.kiln");
    std::fs::write(&f, &good).unwrap();
    let mut smaller = Sequential::new();
    smaller
        .add(Dense::new(2).name("only").use_bias(false).input_shape([3]))
        .unwrap();
    let weights_only = dir.path("kernel_only.safetensors");
    smaller.save_weights(&weights_only).unwrap();
    let kernel_only = std::fs::read(&weights_only).unwrap();
    rewrite(&f, |n, data| {
        Some(if n == "model.safetensors" {
            kernel_only.clone()
        } else {
            data
        })
    });
    let err = load("missing_weight.kiln");
    assert!(err.contains("'only/bias'") && err.contains("missing"), "{err}");

    // A wrongly shaped weight names the weight and both shapes.
    let f = dir.path("reshaped.kiln");
    std::fs::write(&f, &good).unwrap();
    let mut wider = Sequential::new();
    wider.add(Dense::new(5).name("only").input_shape([3])).unwrap();
    wider.save_weights(&weights_only).unwrap();
    let wide = std::fs::read(&weights_only).unwrap();
    rewrite(&f, |n, data| {
        Some(if n == "model.safetensors" { wide.clone() } else { data })
    });
    let err = load("reshaped.kiln");
    assert!(err.contains("'only/bias'") || err.contains("'only/kernel'"), "{err}");
    assert!(err.contains("expects"), "{err}");

    // Saving is atomic: a failed load leaves nothing behind, the good file still loads.
    Model::load(&file, &Device::Ndarray).unwrap();
}

/// `x * scale` with a trainable scale per feature.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Scale {
    name: String,
}

impl Layer for Scale {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "saving_tests>Scale"
    }
    fn compute_output_shape(&self, inputs: &[TensorType]) -> kiln::Result<Vec<TensorType>> {
        Ok(inputs.to_vec())
    }
    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> kiln::Result<Vec<ValueId>> {
        let width = ctx.shape(inputs[0])?.last().flatten().unwrap_or(0);
        let scale = ctx.weight(
            "scale",
            Shape::fixed([width]),
            kiln::ir::Initializer::RandomNormal { mean: 0.0, stddev: 1.0 },
        )?;
        Ok(vec![ctx.mul(inputs[0], scale)?])
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap()
    }
}

/// Never registered.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Unregistered {
    name: String,
}

impl Layer for Unregistered {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "saving_tests>Unregistered"
    }
    fn compute_output_shape(&self, inputs: &[TensorType]) -> kiln::Result<Vec<TensorType>> {
        Ok(inputs.to_vec())
    }
    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> kiln::Result<Vec<ValueId>> {
        Ok(vec![ctx.scale(inputs[0], 3.0)?])
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap()
    }
}

#[test]
fn custom_layers_load_once_registered() {
    kiln::registry::register_layer::<Scale>("saving_tests>Scale").unwrap();
    kiln::set_random_seed(7);
    let mut model = Sequential::new();
    model.add(Input::new([3])).unwrap();
    model.add(Scale { name: "scale".into() }).unwrap();
    model.add(Dense::new(2)).unwrap();
    round_trip(&model, &[floats(6, &[2, 3], 0)], "custom");

    let mut model = Sequential::new();
    model.add(Input::new([3])).unwrap();
    model.add(Unregistered { name: "triple".into() }).unwrap();
    let dir = TempDir::new("unregistered");
    let file = dir.path("custom.kiln");
    model.save(&file).unwrap();
    let err = Model::load(&file, &Device::Ndarray).unwrap_err().to_string();
    assert!(
        err.contains("saving_tests>Unregistered") && err.contains("register_layer") && err.contains("custom.kiln"),
        "{err}"
    );
}
