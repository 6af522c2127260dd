//! Hostile files: every file of `tests/bad_files/` (written by
//! `tests/bad_files/make_bad_files.py`) is refused with an error that names the file and a
//! recognisable reason — no panic, no unbounded allocation, no long wait — and the good file
//! beside them loads with the weights the script wrote.

use kiln::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest one file may take to be refused.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// The most memory the whole test process may ever have held (resident), in bytes.
const MEMORY_LIMIT: u64 = 1 << 30;

fn corpus(folder: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/bad_files")
        .join(folder)
        .join(file)
}

/// The process's peak resident memory (Linux's `VmHWM`), if known.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Loads every `(file, reason)` of `cases` with `load` and checks that each is an error
/// naming the file and containing `reason`, in bounded time and memory.
fn check_refused(folder: &str, cases: &[(&str, &str)], load: impl Fn(&Path) -> kiln::Result<()>) {
    let mut failures = Vec::new();
    for (file, reason) in cases {
        let path = corpus(folder, file);
        assert!(
            path.exists(),
            "{} is missing: run tests/bad_files/make_bad_files.py",
            path.display()
        );
        let start = Instant::now();
        let result = load(&path);
        let took = start.elapsed();
        match result {
            Ok(()) => failures.push(format!("{folder}/{file}: loaded, but should be refused ({reason})")),
            Err(e) => {
                let message = e.to_string();
                println!("{folder}/{file}: {message}");
                if !message.contains(&path.display().to_string()) {
                    failures.push(format!("{folder}/{file}: the error does not name the file: {message}"));
                }
                if !message.contains(reason) {
                    failures.push(format!("{folder}/{file}: expected '{reason}' in: {message}"));
                }
            }
        }
        if took > TIME_LIMIT {
            failures.push(format!("{folder}/{file}: took {took:?}"));
        }
        if let Some(peak) = peak_memory()
            && peak > MEMORY_LIMIT
        {
            failures.push(format!("{folder}/{file}: peak memory {peak} bytes"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The weights the script writes into every good file: `dense/kernel` (4, 3) holds
/// 0.1, 0.2, …, 1.2 and `dense/bias` is (0.5, -0.5, 0.25).
fn check_script_weights(model: &Model) {
    let names = model.weight_names();
    let weights = model.get_weights().unwrap();
    let kernel = weights[names.iter().position(|n| n == "dense/kernel").unwrap()].to_f32();
    let bias = weights[names.iter().position(|n| n == "dense/bias").unwrap()].to_f32();
    let expected: Vec<f32> = (1..=12).map(|i| 0.1 * i as f32).collect();
    assert_eq!(kernel.len(), 12);
    for (k, e) in kernel.iter().zip(&expected) {
        assert!((k - e).abs() < 1e-6, "kernel {kernel:?}");
    }
    assert_eq!(bias, vec![0.5, -0.5, 0.25]);
}

/// Kiln model files (`Model::load`): each is `good.kiln` with one defect.
const KILN: &[(&str, &str)] = &[
    ("empty.kiln", "not a readable zip archive"),
    ("garbage.kiln", "not a readable zip archive"),
    ("truncated.kiln", "not a readable zip archive"),
    ("wrong_magic.kiln", "metadata.json"),
    (
        "wrong_format.kiln",
        "not a Kiln model file: metadata.json says format 'other-model'",
    ),
    ("future_version.kiln", "model file format version 99"),
    ("missing_weights.kiln", "the archive has no 'model.safetensors'"),
    (
        "huge_declared_shape.kiln",
        "model.safetensors is not valid safetensors data",
    ),
    (
        "mismatched_weight_shape.kiln",
        "weight 'dense/kernel' in model.safetensors has shape [3, 4]",
    ),
    ("wrong_dtype.kiln", "weight 'dense/kernel' has dtype F64"),
    (
        "weights_garbage.kiln",
        "model.safetensors is not valid safetensors data",
    ),
    ("unknown_layer_class.kiln", "unknown layer class 'Lambda'"),
    ("unknown_config_field.kiln", "unknown config field 'evil'"),
    ("unknown_model_field.kiln", "unknown field `evil`"),
    ("model_json_garbage.kiln", "'model.json' is not valid"),
    ("deep_json.kiln", "recursion limit exceeded"),
    ("deep_layer_nesting.kiln", "TimeDistributed"),
    ("dangling_reference.kiln", "refers to output 0 of layer call 7"),
    ("dense_units_huge.kiln", "is too large"),
    (
        "dense_units_large.kiln",
        "the weights are too large for the file: 400000000 elements up to 'dense/kernel'",
    ),
    ("dense_units_overflow.kiln", "is too large"),
    ("dense_units_negative.kiln", "invalid value: integer `-5`"),
    ("input_shape_huge.kiln", "is too large"),
    (
        "conv_kernel_huge.kiln",
        "weight 'conv/kernel' of shape [1000000, 1000000, 1, 4] is too large",
    ),
    ("reshape_huge.kiln", "Reshape"),
    ("embedding_huge.kiln", "is too large"),
    ("zip_bomb.kiln", "'model.json' declares 100 bytes but holds"),
    ("huge_declared_member.kiln", "'model.json' declares 4294967280 bytes"),
    (
        "duplicate_member.kiln",
        "the archive holds the member 'model.json' twice",
    ),
    ("many_members.kiln", "the archive has more members than the 64 allowed"),
];

#[test]
fn kiln_model_files_are_refused() {
    let good = Model::load(corpus("kiln", "good.kiln"), &Device::Ndarray).unwrap();
    check_script_weights(&good);
    check_refused("kiln", KILN, |path| Model::load(path, &Device::Ndarray).map(drop));
}

/// `save_weights` files (`Model::load_weights`) for a `Dense(3)` on 4 features.
const SAFETENSORS: &[(&str, &str)] = &[
    ("empty.safetensors", "the file is not valid safetensors data"),
    ("garbage.safetensors", "the file is not valid safetensors data"),
    ("truncated.safetensors", "the file is not valid safetensors data"),
    (
        "huge_header_length.safetensors",
        "the file is not valid safetensors data",
    ),
    (
        "huge_declared_shape.safetensors",
        "the file is not valid safetensors data",
    ),
    (
        "overflowing_shape.safetensors",
        "the file is not valid safetensors data",
    ),
    (
        "mismatched_shape.safetensors",
        "weight 'dense/kernel' in the file has shape [3, 4]",
    ),
    ("wrong_dtype.safetensors", "has dtype F"),
    ("unknown_dtype.safetensors", "the file is not valid safetensors data"),
    (
        "missing_weight.safetensors",
        "the model's weight 'dense/bias' (shape [3]) is missing",
    ),
    (
        "extra_weight.safetensors",
        "the file has weight 'dense/evil', which the model does not have",
    ),
    ("duplicate_name.safetensors", "names the tensor 'dense/kernel' twice"),
    (
        "deep_header.safetensors",
        "the file is not valid safetensors data: invalid JSON in header",
    ),
    ("offsets_past_end.safetensors", "the file is not valid safetensors data"),
    ("header_not_json.safetensors", "the file is not valid safetensors data"),
];

fn dense_model() -> Model {
    let mut model = Sequential::new();
    model.add(Dense::new(3).name("dense").input_shape([4])).unwrap();
    model
}

#[test]
fn weight_files_are_refused() {
    let mut model = dense_model();
    model.load_weights(corpus("safetensors", "good.safetensors")).unwrap();
    check_script_weights(&model);
    // A refused file leaves the model's weights as they were.
    let model = std::cell::RefCell::new(model);
    check_refused("safetensors", SAFETENSORS, |path| model.borrow_mut().load_weights(path));
    check_script_weights(&model.borrow());
}

/// NumPy files (`kiln::npy::read`).
const NPY: &[(&str, &str)] = &[
    ("empty.npy", "not a NumPy .npy file"),
    ("garbage.npy", "not a NumPy .npy file"),
    (
        "truncated.npy",
        "needs 48 bytes of data but the file holds 38 after its header (truncated?)",
    ),
    ("wrong_magic.npy", "not a NumPy .npy file"),
    ("huge_header_length.npy", "more than the 10000 allowed"),
    (
        "huge_declared_shape.npy",
        "the shape (1000000000000, 1000000000000) is too large",
    ),
    ("overflowing_shape.npy", "is too large"),
    ("object_dtype.npy", "dtype '|O' (Python objects) is not supported"),
    ("unknown_key.npy", "unexpected key 'evil'"),
    ("code_in_header.npy", "bad .npy header: expected '{' at byte 0"),
    ("deep_header.npy", "bad .npy header: expected a non-negative integer"),
];

#[test]
fn npy_files_are_refused() {
    let good = kiln::npy::read(corpus("npy", "good.npy")).unwrap();
    assert_eq!(good.shape(), &[4, 3]);
    for (i, v) in good.to_f32().iter().enumerate() {
        assert!((v - 0.1 * (i + 1) as f32).abs() < 1e-6, "{:?}", good.to_f32());
    }
    check_refused("npy", NPY, |path| kiln::npy::read(path).map(drop));
}

/// The script's control model (`Input((4,)) -> Dense(3)`) predicts `x · kernel + bias` for
/// x = (1, 2, 3, 4): 1·0.1 + 2·0.4 + 3·0.7 + 4·1.0 + 0.5 = 7.5, 0.2 + 1.0 + 2.4 + 4.4 - 0.5 =
/// 7.5 and 0.3 + 1.2 + 2.7 + 4.8 + 0.25 = 9.25 (by hand; Keras prints the same for the file).
fn check_script_prediction(model: &Model) {
    let x = Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0], vec![1, 4]).unwrap();
    let y = model.predict(&x).unwrap();
    assert_eq!(y.shape(), &[1, 3]);
    for (got, want) in y.to_f32().iter().zip([7.5f32, 7.5, 9.25]) {
        assert!((got - want).abs() < 1e-5, "prediction {:?}", y.to_f32());
    }
}

/// Keras 3 `.keras` files (`Model::load`), written by
/// `tests/bad_files/make_bad_keras_files.py`: each is `good.keras` with one defect.
const KERAS: &[(&str, &str)] = &[
    ("empty.keras", "not a readable zip archive"),
    ("garbage.keras", "not a readable zip archive"),
    ("truncated.keras", "not a readable zip archive"),
    ("wrong_magic.keras", "this is an HDF5 file, not a .keras archive"),
    ("lambda.keras", "Lambda layers hold Python code"),
    (
        "unknown_layer_class.keras",
        "a custom object registered as 'Evil>Doubler'",
    ),
    ("unknown_config_argument.keras", "unsupported argument(s): evil"),
    (
        "dense_units_huge.keras",
        "weight 'dense/kernel' of shape [4, 1000000000] is too large",
    ),
    (
        "dense_units_large.keras",
        "the weights are too large for the file: 400000000 elements up to 'dense/kernel'",
    ),
    (
        "mismatched_weight_shape.keras",
        "the file holds shape [4, 3], the model expects [4, 2]",
    ),
    ("deep_json.keras", "recursion limit exceeded"),
    ("zip_bomb.keras", "'config.json' declares 100 bytes but holds"),
    ("huge_declared_member.keras", "'config.json' declares 4294967280 bytes"),
    (
        "duplicate_member.keras",
        "the archive holds the member 'config.json' twice",
    ),
    ("many_members.keras", "the archive has more members than the 64 allowed"),
    ("missing_weights.keras", "the archive has no 'model.weights.h5'"),
];

#[test]
fn keras_files_are_refused() {
    let good = Model::load(corpus("keras", "good.keras"), &Device::Ndarray).unwrap();
    check_script_weights(&good);
    check_script_prediction(&good);
    check_refused("keras", KERAS, |path| Model::load(path, &Device::Ndarray).map(drop));
}

/// Legacy Keras `.h5` files (`Model::load`), written by
/// `tests/bad_files/make_bad_keras_files.py`: each is `good.h5` with one defect.
const H5: &[(&str, &str)] = &[
    ("empty.h5", "the file is not an HDF5 file (no HDF5 signature)"),
    ("garbage.h5", "the file is not an HDF5 file (no HDF5 signature)"),
    // Cut in half: the model config survives, the weights' groups do not.
    ("truncated.h5", "the file has no weights for layer 'dense'"),
    ("wrong_magic.h5", "this is a zip archive, not an HDF5 file"),
    ("weights_only.h5", "a weights-only file (written by save_weights)"),
    ("lambda.h5", "Lambda layers hold Python code"),
    // Keras's legacy writer puts the registered name in `class_name`.
    (
        "unknown_layer_class.h5",
        "Keras layer Evil>Doubler 'doubler': this layer class is not supported",
    ),
    (
        "mismatched_weight_shape.h5",
        "the file holds shape [4, 3], the model expects [4, 2]",
    ),
    (
        "dense_units_huge.h5",
        "weight 'dense/kernel' of shape [4, 1000000000] is too large",
    ),
    (
        "dense_units_large.h5",
        "the weights are too large for the file: 400000000 elements up to 'dense/kernel'",
    ),
    (
        "truncated_data.h5",
        "cannot read layer 'dense', weight 'dense/kernel': HDF5 format error: unexpected EOF",
    ),
    (
        "huge_dataset_dims.h5",
        "the file holds shape [4, 3000000000], the model expects [4, 3]",
    ),
    (
        "dataset_past_end.h5",
        "weight 'dense/kernel': HDF5 format error: data size mismatch: expected 8000000 bytes, got 48 bytes",
    ),
];

#[test]
fn legacy_h5_files_are_refused() {
    let good = Model::load(corpus("h5", "good.h5"), &Device::Ndarray).unwrap();
    check_script_weights(&good);
    check_script_prediction(&good);
    check_refused("h5", H5, |path| Model::load(path, &Device::Ndarray).map(drop));
}
