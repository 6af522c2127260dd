//! `ModelCheckpoint` against Keras 3: on scripted log values (a callback before it sets
//! the monitored entry), which files it writes and what it prints must be what Keras's
//! `ModelCheckpoint` wrote and printed (`tests/keras/make_checkpoint_goldens.py`);
//! checkpoint files hold the weights of their epoch and load back.
//!
//! To capture what the callback prints, each scenario runs in a child process: this test
//! binary again, with `KILN_CHECKPOINT_SCENARIO` naming the scenario.

use crate::common;
use common::TempDir;

use kiln::callbacks::{Logs, Mode, SaveFreq};
use kiln::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const SCENARIO_ENV: &str = "KILN_CHECKPOINT_SCENARIO";
const DIR_ENV: &str = "KILN_CHECKPOINT_DIR";

/// Keras's file names with Kiln's extensions.
fn kiln_name(keras: &str) -> String {
    keras
        .replace(".weights.h5", ".weights.safetensors")
        .replace(".keras", ".kiln")
}

/// Sets `logs[key]` to `values[epoch]` at the end of each epoch.
struct Script {
    key: String,
    values: Vec<f64>,
}

impl Callback for Script {
    fn on_epoch_end(&mut self, _model: &mut Model, epoch: usize, logs: &mut Logs) -> kiln::Result<()> {
        logs.insert(self.key.clone(), self.values[epoch]);
        Ok(())
    }
}

fn scenario(name: &str) -> Value {
    let golden = common::golden("model_checkpoint.json");
    golden["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no scenario '{name}'"))
        .clone()
}

/// The Keras scenario's `ModelCheckpoint` arguments as Kiln's builder calls.
fn checkpoint(args: &Value, dir: &Path) -> ModelCheckpoint {
    let file = kiln_name(args["filepath"].as_str().unwrap());
    let mut c = ModelCheckpoint::new(dir.join(file));
    if let Some(m) = args["monitor"].as_str() {
        c = c.monitor(m);
    }
    if let Some(v) = args["verbose"].as_u64() {
        c = c.verbose(v as u8);
    }
    if let Some(b) = args["save_best_only"].as_bool() {
        c = c.save_best_only(b);
    }
    if let Some(w) = args["save_weights_only"].as_bool() {
        c = c.save_weights_only(w);
    }
    match args["mode"].as_str() {
        Some("min") => c = c.mode(Mode::Min),
        Some("max") => c = c.mode(Mode::Max),
        _ => {}
    }
    if let Some(n) = args["save_freq"].as_u64() {
        c = c.save_freq(n as usize);
    }
    if let Some(t) = args["initial_value_threshold"].as_f64() {
        c = c.initial_value_threshold(t);
    }
    c
}

/// The same model and data as the Keras script: Dense(1) on 3 features, SGD, MSE.
fn small_model(samples: usize) -> (Model, Tensor, Tensor) {
    kiln::clear_session();
    kiln::set_random_seed(1);
    let mut model = Sequential::new();
    model.add(Dense::new(1).input_shape([3])).unwrap();
    model.compile("sgd", "mse", &[]).unwrap();
    let n = samples * 3;
    let x = (0..n).map(|i| -1.0 + 2.0 * i as f32 / (n - 1) as f32).collect();
    (
        model,
        Tensor::from_f32(x, [samples, 3]).unwrap(),
        Tensor::zeros([samples, 1]),
    )
}

/// The child: runs one scenario in the given directory, printing what the callback prints.
#[test]
#[ignore = "a child process of checkpoints_match_keras, run by it"]
fn scenario_process() {
    let name = std::env::var(SCENARIO_ENV).expect("run by checkpoints_match_keras");
    let dir = PathBuf::from(std::env::var(DIR_ENV).unwrap());
    let s = scenario(&name);
    let (mut model, x, y) = small_model(s["samples"].as_u64().unwrap() as usize);
    let mut options = FitOptions::new()
        .epochs(s["epochs"].as_u64().unwrap() as usize)
        .batch_size(s["batch_size"].as_u64().unwrap() as usize)
        .shuffle(false)
        .verbose(0);
    if let Some(script) = s["script"].as_object() {
        options = options.callback(Script {
            key: script["key"].as_str().unwrap().into(),
            values: script["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect(),
        });
    }
    options = options.callback(checkpoint(&s["checkpoint"], &dir));
    model.fit(&x, &y, options).unwrap();
}

#[test]
fn checkpoints_match_keras() {
    let golden = common::golden("model_checkpoint.json");
    let exe = std::env::current_exe().unwrap();
    for s in golden["scenarios"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        let dir = TempDir::new(name);
        let out = Command::new(&exe)
            .args([
                &crate::common::test_path(module_path!(), "scenario_process"),
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SCENARIO_ENV, name)
            .env(DIR_ENV, &dir.0)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: the scenario failed:\n{stdout}\n{stderr}");

        let mut files: Vec<String> = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut expected: Vec<String> = s["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| kiln_name(f.as_str().unwrap()))
            .collect();
        expected.sort();
        assert_eq!(files, expected, "{name}: the files written");

        let prefix = format!("{}/", dir.0.display());
        let printed: Vec<String> = stdout
            .lines()
            .filter(|l| l.starts_with("Epoch "))
            .map(|l| l.replace(&prefix, ""))
            .collect();
        let keras: Vec<String> = s["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| kiln_name(m.as_str().unwrap()))
            .collect();
        assert_eq!(printed, keras, "{name}: the messages");

        let warned: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Can save best")).collect();
        let keras_warned: Vec<&str> = s["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert_eq!(warned, keras_warned, "{name}: the warnings");
    }
}

/// Records the weights at the end of every epoch.
struct Recorder(std::rc::Rc<std::cell::RefCell<Vec<Vec<Tensor>>>>);

impl Callback for Recorder {
    fn on_epoch_end(&mut self, model: &mut Model, _epoch: usize, _logs: &mut Logs) -> kiln::Result<()> {
        self.0.borrow_mut().push(model.get_weights()?);
        Ok(())
    }
}

#[test]
fn weights_only_checkpoints_hold_their_epochs_weights() {
    let dir = TempDir::new("weights");
    let (mut model, x, y) = small_model(8);
    let recorded = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let options = FitOptions::new()
        .epochs(3)
        .batch_size(4)
        .verbose(0)
        .callback(Recorder(recorded.clone()))
        .callback(ModelCheckpoint::new(dir.0.join("w-{epoch:02d}.weights.safetensors")).save_weights_only(true));
    model.fit(&x, &y, options).unwrap();
    let recorded = recorded.borrow();
    assert_eq!(recorded.len(), 3);
    assert_ne!(recorded[0], recorded[2], "training changes the weights");
    for (epoch, weights) in recorded.iter().enumerate() {
        let (mut fresh, _, _) = small_model(8);
        fresh
            .load_weights(dir.0.join(format!("w-{:02}.weights.safetensors", epoch + 1)))
            .unwrap();
        assert_eq!(&fresh.get_weights().unwrap(), weights, "epoch {}", epoch + 1);
    }
}

#[test]
fn model_checkpoints_are_named_from_history_and_load_compiled() {
    let dir = TempDir::new("history");
    let (mut model, x, y) = small_model(8);
    let options = FitOptions::new()
        .epochs(3)
        .batch_size(4)
        .verbose(0)
        .callback(ModelCheckpoint::new(dir.0.join("ckpt-{epoch:02d}-{loss:.4f}.kiln")));
    let history = model.fit(&x, &y, options).unwrap();
    let losses = history.get("loss").unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let expected: Vec<String> = losses
        .iter()
        .enumerate()
        .map(|(e, l)| format!("ckpt-{:02}-{l:.4}.kiln", e + 1))
        .collect();
    assert_eq!(files, expected);
    let last = Model::load(dir.0.join(&expected[2]), &Device::Ndarray).unwrap();
    assert_eq!(last.get_weights().unwrap(), model.get_weights().unwrap());
    assert_eq!(last.optimizer_iterations().unwrap(), 6, "3 epochs of 2 batches");
}

#[test]
fn bad_paths_are_errors_before_training() {
    let dir = TempDir::new("bad");
    let fit_err = |c: ModelCheckpoint| {
        let (mut model, x, y) = small_model(8);
        let before = model.get_weights().unwrap();
        let err = model
            .fit(&x, &y, FitOptions::new().epochs(1).verbose(0).callback(c))
            .unwrap_err()
            .to_string();
        (err, before == model.get_weights().unwrap())
    };
    let (err, untouched) = fit_err(ModelCheckpoint::new(dir.0.join("model.h5")));
    assert!(
        err.contains("ModelCheckpoint") && err.contains("must end in `.kiln`"),
        "{err}"
    );
    assert!(untouched, "refused before the first step");
    let (err, _) = fit_err(ModelCheckpoint::new(dir.0.join("w.kiln")).save_weights_only(true));
    assert!(err.contains("`.weights.safetensors` or `.safetensors`"), "{err}");
    let (err, _) = fit_err(ModelCheckpoint::new(dir.0.join("m.kiln")).save_freq(SaveFreq::Batches(0)));
    assert!(err.contains("save_freq"), "{err}");
    let (err, _) = fit_err(ModelCheckpoint::new(dir.0.join("{val_acc:.2f}.kiln")));
    assert!(
        err.contains("Failed to format this callback filepath") && err.contains("'val_acc'"),
        "{err}"
    );
    // A checkpoint in a directory that does not exist yet: the directory is made.
    let (mut model, x, y) = small_model(8);
    let nested = dir.0.join("a/b/model.kiln");
    model
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(1)
                .verbose(0)
                .callback(ModelCheckpoint::new(&nested)),
        )
        .unwrap();
    assert!(Model::load(&nested, &Device::Ndarray).is_ok());
}
