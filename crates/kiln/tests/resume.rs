//! Resuming training from Kiln's model file: 4 epochs in one `fit` against 2 epochs →
//! save → load → 2 more epochs give the same per-epoch losses, because the file holds
//! the compile configuration, the optimizer's slots and step count, and the seed of
//! `fit`'s shuffling and dropout streams.

use crate::common;
use common::TempDir;

use kiln::optimizers::Optimizer;
use kiln::prelude::*;
use std::io::{Read, Write};
use std::path::Path;

const SAMPLES: usize = 40;
const BATCH: usize = 8;

/// 40 samples of 6 features and one-hot targets over 3 classes.
fn data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..SAMPLES * 6).map(|i| ((i * 37 % 29) as f32 - 14.0) / 9.0).collect();
    let mut y = vec![0.0f32; SAMPLES * 3];
    for s in 0..SAMPLES {
        y[s * 3 + (s * 7 % 3)] = 1.0;
    }
    (
        Tensor::from_f32(x, [SAMPLES, 6]).unwrap(),
        Tensor::from_f32(y, [SAMPLES, 3]).unwrap(),
    )
}

/// Dense → BatchNormalization → Dropout → Dense, compiled with `optimizer`, on ndarray.
fn build(optimizer: Optimizer) -> Model {
    let mut model = Sequential::new();
    model.add(Dense::new(16).activation("relu").input_shape([6])).unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(Dropout::new(0.3)).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model.to_device(&Device::Ndarray).unwrap();
    model
        .compile(optimizer, "categorical_crossentropy", &["accuracy"])
        .unwrap();
    model
}

fn fit(model: &mut Model, initial_epoch: usize, epochs: usize) -> (Vec<f64>, Vec<f64>) {
    let (x, y) = data();
    let options = FitOptions::new()
        .epochs(epochs)
        .initial_epoch(initial_epoch)
        .batch_size(BATCH)
        .shuffle(true)
        .verbose(0);
    let history = model.fit(&x, &y, options).unwrap();
    (
        history.get("loss").unwrap().to_vec(),
        history.get("accuracy").unwrap().to_vec(),
    )
}

/// The reference: 4 epochs in one `fit` from seed 7.
struct Reference {
    losses: Vec<f64>,
    accuracy: Vec<f64>,
    weights: Vec<Tensor>,
}

fn reference(optimizer: &Optimizer) -> Reference {
    kiln::set_random_seed(7);
    let mut model = build(optimizer.clone());
    let (losses, accuracy) = fit(&mut model, 0, 4);
    assert_eq!(model.optimizer_iterations().unwrap(), 4 * (SAMPLES / BATCH) as u64);
    Reference {
        losses,
        accuracy,
        weights: model.get_weights().unwrap(),
    }
}

/// 2 epochs from seed 7, saved; returns the file and the model's predictions.
fn first_half(optimizer: &Optimizer, reference: &Reference, file: &Path) -> Tensor {
    kiln::set_random_seed(7);
    let mut model = build(optimizer.clone());
    let (losses, _) = fit(&mut model, 0, 2);
    assert_eq!(losses, reference.losses[..2], "the first two epochs are the same run");
    model.save(file).unwrap();
    model.predict(&data().0).unwrap()
}

fn resumes_exactly(optimizer: Optimizer, tag: &str) {
    let reference = reference(&optimizer);
    // Dropout and shuffling make every epoch's loss differ: a restart would show.
    assert!(reference.losses.windows(2).all(|w| w[0] != w[1]));
    let dir = TempDir::new(tag);
    let file = dir.path("model.kiln");
    let predicted = first_half(&optimizer, &reference, &file);

    // Whatever the program drew since, the file carries fit's streams.
    kiln::set_random_seed(999);
    let mut loaded = Model::load(&file, &Device::Ndarray).unwrap();
    assert_eq!(
        loaded.predict(&data().0).unwrap(),
        predicted,
        "{tag}: save → load → predict"
    );
    assert_eq!(loaded.optimizer_iterations().unwrap(), 2 * (SAMPLES / BATCH) as u64);
    assert_eq!(loaded.learning_rate().unwrap(), optimizer.learning_rate);
    let (losses, accuracy) = fit(&mut loaded, 2, 4);
    assert_eq!(losses, reference.losses[2..], "{tag}: epochs 3 and 4 after loading");
    assert_eq!(accuracy, reference.accuracy[2..], "{tag}: accuracy of epochs 3 and 4");
    assert_eq!(loaded.get_weights().unwrap(), reference.weights, "{tag}: final weights");

    // Onto flex: the same update rules, another engine's float arithmetic.
    let mut on_flex = Model::load(&file, &Device::Flex).unwrap();
    assert_eq!(on_flex.device(), &Device::Flex);
    let (losses, _) = fit(&mut on_flex, 2, 4);
    let largest = losses
        .iter()
        .zip(&reference.losses[2..])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!("{tag}: flex against ndarray, largest loss difference {largest:e}");
    for (epoch, (a, b)) in losses.iter().zip(&reference.losses[2..]).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6,
            "{tag}: flex epoch {}: {a} against {b}",
            epoch + 3
        );
    }
    for (a, b) in on_flex.get_weights().unwrap().iter().zip(&reference.weights) {
        for (p, q) in a.to_f32().iter().zip(b.to_f32()) {
            assert!((p - q).abs() <= 1e-5, "{tag}: flex final weight {p} against {q}");
        }
    }

    // The same continuation without the optimizer's state (a fresh compile) differs:
    // the comparison above can fail.
    let mut recompiled = Model::load(&file, &Device::Ndarray).unwrap();
    recompiled
        .compile(optimizer.clone(), "categorical_crossentropy", &["accuracy"])
        .unwrap();
    let (losses, _) = fit(&mut recompiled, 2, 4);
    assert_ne!(
        losses,
        reference.losses[2..],
        "{tag}: a reset optimizer changes training"
    );
}

#[test]
fn adam_resumes_exactly() {
    resumes_exactly(Adam::new().learning_rate(0.01).into(), "adam");
}

#[test]
fn sgd_momentum_resumes_exactly() {
    resumes_exactly(Sgd::new().learning_rate(0.05).momentum(0.9).into(), "sgd");
}

#[test]
fn rmsprop_centered_resumes_exactly() {
    resumes_exactly(RmsProp::new().momentum(0.5).centered(true).into(), "rmsprop");
}

/// Reads every member of a model file.
fn members(file: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(file).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_string(), data)
        })
        .collect()
}

/// Writes a model file with the given members.
fn write_members(file: &Path, members: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
    }
    std::fs::write(file, zip.finish().unwrap().into_inner()).unwrap();
}

fn training_json(file: &Path) -> serde_json::Value {
    let (_, bytes) = members(file)
        .into_iter()
        .find(|(n, _)| n == "training.json")
        .expect("training.json");
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn training_json_holds_the_compile_configuration() {
    kiln::set_random_seed(3);
    let dir = TempDir::new("config");
    let file = dir.path("model.kiln");
    let mut model = build(Sgd::new().learning_rate(0.05).momentum(0.9).nesterov(true).into());
    fit(&mut model, 0, 1);
    model.set_learning_rate(0.0125).unwrap();
    model.save(&file).unwrap();
    let json = training_json(&file);
    assert_eq!(json["optimizer"]["class"], "sgd");
    assert_eq!(json["optimizer"]["momentum"].as_f64(), Some(0.9));
    assert_eq!(json["optimizer"]["nesterov"], true);
    assert_eq!(json["optimizer"]["learning_rate"].as_f64(), Some(0.0125));
    assert_eq!(json["losses"][0]["class"], "categorical_crossentropy");
    assert_eq!(json["losses"][0]["from_logits"], false);
    assert_eq!(json["metrics"], serde_json::json!(["accuracy"]));
    assert_eq!(json["iterations"], 5);
    let names: Vec<String> = members(&file).into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"optimizer.safetensors".to_string()), "{names:?}");

    let loaded = Model::load(&file, &Device::Ndarray).unwrap();
    assert_eq!(loaded.learning_rate().unwrap(), 0.0125);
    assert_eq!(loaded.optimizer_iterations().unwrap(), 5);
    // The momentum of each trainable weight (BatchNormalization's moving statistics are
    // not trained) and nothing else.
    let (_, state) = members(&file)
        .into_iter()
        .find(|(n, _)| n == "optimizer.safetensors")
        .unwrap();
    let state = safetensors::SafeTensors::deserialize(&state).unwrap();
    let mut slots: Vec<String> = state.names().into_iter().map(String::from).collect();
    slots.sort();
    let mut expected: Vec<String> = model
        .weight_names()
        .into_iter()
        .filter(|n| !n.contains("moving_"))
        .map(|n| format!("{n}/momentum"))
        .collect();
    expected.sort();
    assert_eq!(slots, expected);
}

#[test]
fn compiled_but_untrained_and_uncompiled_models() {
    let dir = TempDir::new("untrained");
    // Compiled, never trained: training.json without optimizer state; fit works after.
    let file = dir.path("compiled.kiln");
    let model = build(Adam::new().into());
    model.save(&file).unwrap();
    let names: Vec<String> = members(&file).into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"training.json".to_string()));
    assert!(!names.contains(&"optimizer.safetensors".to_string()));
    let mut loaded = Model::load(&file, &Device::Ndarray).unwrap();
    assert_eq!(loaded.optimizer_iterations().unwrap(), 0);
    fit(&mut loaded, 0, 1);
    assert_eq!(loaded.optimizer_iterations().unwrap(), 5);

    // Uncompiled: the file has neither member and the model comes back uncompiled.
    let file = dir.path("plain.kiln");
    let mut plain = Sequential::new();
    plain.add(Dense::new(2).input_shape([6])).unwrap();
    plain.save(&file).unwrap();
    let names: Vec<String> = members(&file).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["metadata.json", "model.json", "graph.json", "model.safetensors"]
    );
    let mut loaded = Model::load(&file, &Device::Ndarray).unwrap();
    let err = loaded
        .fit(&data().0, Tensor::zeros([SAMPLES, 2]), FitOptions::new().verbose(0))
        .unwrap_err();
    assert!(matches!(err, KilnError::NotCompiled(_)), "{err}");
}

#[test]
fn damaged_training_members_are_errors_naming_them() {
    kiln::set_random_seed(5);
    let dir = TempDir::new("damaged");
    let file = dir.path("model.kiln");
    let mut model = build(Adam::new().into());
    fit(&mut model, 0, 1);
    model.save(&file).unwrap();
    let good = members(&file);
    let load_err = |members: &[(String, Vec<u8>)]| {
        let broken = dir.path("broken.kiln");
        write_members(&broken, members);
        Model::load(&broken, &Device::Ndarray).unwrap_err().to_string()
    };

    let without_state: Vec<_> = good
        .iter()
        .filter(|(n, _)| n != "optimizer.safetensors")
        .cloned()
        .collect();
    let err = load_err(&without_state);
    assert!(
        err.contains("broken.kiln") && err.contains("taken 5 steps") && err.contains("optimizer.safetensors"),
        "{err}"
    );

    let mut json = training_json(&file);
    json["optimizer"]["class"] = "adamw".into();
    let unknown: Vec<_> = good
        .iter()
        .map(|(n, b)| {
            let b = if n == "training.json" {
                serde_json::to_vec(&json).unwrap()
            } else {
                b.clone()
            };
            (n.clone(), b)
        })
        .collect();
    let err = load_err(&unknown);
    assert!(err.contains("training.json") && err.contains("adamw"), "{err}");

    // Adam's state without its velocities (as SGD with momentum would leave it).
    let (_, state) = good.iter().find(|(n, _)| n == "optimizer.safetensors").unwrap();
    let state = safetensors::SafeTensors::deserialize(state).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView)> = state
        .tensors()
        .into_iter()
        .filter(|(n, _)| !n.ends_with("/velocity"))
        .collect();
    assert!(!kept.is_empty() && kept.len() < state.len());
    let momentum_only = safetensors::serialize(kept, None).unwrap();
    let mixed: Vec<_> = good
        .iter()
        .map(|(n, b)| {
            let b = if n == "optimizer.safetensors" {
                momentum_only.clone()
            } else {
                b.clone()
            };
            (n.clone(), b)
        })
        .collect();
    let err = load_err(&mixed);
    assert!(
        err.contains("broken.kiln") && err.contains("/kernel/velocity") && err.contains("momentum, velocity"),
        "{err}"
    );
}
