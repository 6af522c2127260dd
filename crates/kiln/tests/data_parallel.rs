//! Data parallelism on this machine's CPU engines: a batch split across devices trains,
//! evaluates and predicts as one device with the same global batch.

use kiln::distribution::{DataParallel, set_distribution};
use kiln::prelude::*;
use kiln::{EvaluateOptions, PredictOptions};

/// A classifier with dropout, its weights drawn from a fixed seed.
fn classifier() -> Model {
    kiln::set_random_seed(11);
    let mut model = Sequential::new();
    model.add(Dense::new(12).activation("relu").input_shape([5])).unwrap();
    model.add(Dropout::new(0.3)).unwrap();
    model.add(Dense::new(4).activation("softmax")).unwrap();
    model
}

fn data(n: usize) -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..n * 5).map(|i| ((i * 29 % 23) as f32 / 23.0) - 0.4).collect();
    let y: Vec<i32> = (0..n as i32).map(|i| (i * 7) % 4).collect();
    (Tensor::from_f32(x, [n, 5]).unwrap(), Tensor::from_i32(y, [n]).unwrap())
}

struct Run {
    losses: Vec<f64>,
    accuracy: Vec<f64>,
    weights: Vec<Tensor>,
    evaluation: Vec<f64>,
    predictions: Tensor,
}

/// Two epochs of 23 samples in batches of 7 (the last batch has 2 rows), no shuffling.
fn run(mut model: Model, devices: &[&str]) -> Run {
    model
        .set_distribution(Some(DataParallel::new(devices).unwrap()))
        .unwrap();
    model
        .compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    let (x, y) = data(23);
    let options = FitOptions::new().epochs(2).batch_size(7).shuffle(false).verbose(0);
    let history = model.fit(&x, &y, options).unwrap();
    let evaluation = model
        .evaluate_with(
            &x,
            &y,
            EvaluateOptions {
                batch_size: 5,
                verbose: 0,
            },
        )
        .unwrap();
    Run {
        losses: history.get("loss").unwrap().to_vec(),
        accuracy: history.get("accuracy").unwrap().to_vec(),
        weights: model.get_weights().unwrap(),
        evaluation: vec![evaluation["loss"], evaluation["accuracy"]],
        predictions: model.predict_with(&x, PredictOptions { batch_size: 6 }).unwrap(),
    }
}

fn close(what: &str, a: &[f32], b: &[f32], tolerance: f32) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tolerance * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
    }
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn assert_same(a: &Run, b: &Run) {
    close("loss", &f32s(&a.losses), &f32s(&b.losses), 1e-5);
    close("accuracy", &f32s(&a.accuracy), &f32s(&b.accuracy), 1e-6);
    for (w, v) in a.weights.iter().zip(&b.weights) {
        close("weight", &w.to_f32(), &v.to_f32(), 1e-5);
    }
    close("evaluate", &f32s(&a.evaluation), &f32s(&b.evaluation), 1e-5);
    assert_eq!(a.predictions.shape(), b.predictions.shape());
    close("predict", &a.predictions.to_f32(), &b.predictions.to_f32(), 1e-5);
}

#[test]
fn two_and_three_parts_train_as_one_device() {
    let one = run(classifier(), &["ndarray"]);
    assert_same(&run(classifier(), &["ndarray", "ndarray"]), &one);
    // 7 rows in 3 parts (3 + 2 + 2); the last batch of 2 runs on two devices only.
    assert_same(&run(classifier(), &["ndarray", "ndarray", "ndarray"]), &one);
}

#[test]
fn parts_on_different_engines_train_as_one_device() {
    let one = run(classifier(), &["flex"]);
    assert_same(&run(classifier(), &["flex", "ndarray"]), &one);
}

#[test]
fn the_split_draws_the_dropout_masks_of_the_whole_batch() {
    // A model that is all dropout: its training output shows the mask.
    let input = Input::new([6]);
    let out = Dropout::new(0.5).apply(&input).unwrap();
    let masks = |devices: &[&str]| {
        let mut model = Model::new(&[&input], &[&out]).unwrap();
        model
            .set_distribution(Some(DataParallel::new(devices).unwrap()))
            .unwrap();
        model.compile("sgd", "mse", &[]).unwrap();
        let x = Tensor::from_f32(vec![1.0; 5 * 6], [5, 6]).unwrap();
        kiln::set_random_seed(3);
        // The mean squared distance to all-ones: the share of dropped units (each kept
        // unit is 2, each dropped one 0, both 1 away).
        let logs = model.train_on_batch(&x, &x).unwrap();
        logs["loss"]
    };
    let one = masks(&["ndarray"]);
    let split = masks(&["ndarray", "ndarray"]);
    assert!((one - split).abs() < 1e-6, "{one} vs {split}");
}

/// The classifier with batch normalization between its layers: its training output
/// depends on every row of the batch. The layers before a normalization have no bias, as
/// usual: its gradient is zero up to rounding noise, which Adam would blow up to full
/// steps in either direction.
fn normalized_classifier() -> Model {
    kiln::set_random_seed(13);
    let mut model = Sequential::new();
    model.add(Dense::new(12).use_bias(false).input_shape([5])).unwrap();
    model.add(BatchNormalization::new().momentum(0.8)).unwrap();
    model.add(Activation::new("relu")).unwrap();
    model.add(Dropout::new(0.3)).unwrap();
    model.add(Dense::new(6).use_bias(false)).unwrap();
    model.add(BatchNormalization::new().momentum(0.8)).unwrap();
    model.add(Dense::new(4).activation("softmax")).unwrap();
    model
}

#[test]
fn batch_norm_trains_on_split_batches_as_on_one_device() {
    // Losses, gradients (through the weights after two epochs), moving statistics,
    // evaluation and predictions all match: the parts normalise with the whole batch's
    // statistics, and the gradient flows through them to every part.
    let one = run(normalized_classifier(), &["ndarray"]);
    assert_same(&run(normalized_classifier(), &["ndarray", "ndarray"]), &one);
    // 7 rows in 3 parts (3 + 2 + 2), and the last batch of 2 rows on two devices.
    assert_same(&run(normalized_classifier(), &["ndarray", "ndarray", "ndarray"]), &one);
    assert_same(&run(normalized_classifier(), &["flex", "ndarray"]), &one);
}

#[test]
fn a_split_batch_is_normalised_with_the_whole_batch_statistics() {
    // A model that is one batch normalization, trained towards zeros: the mean squared
    // error is the mean square of the normalised values.
    let input = Input::new([2]);
    let out = BatchNormalization::new().apply(&input).unwrap();
    let loss = |devices: &[&str]| {
        let mut model = Model::new(&[&input], &[&out]).unwrap();
        model
            .set_distribution(Some(DataParallel::new(devices).unwrap()))
            .unwrap();
        model.compile("sgd", "mse", &[]).unwrap();
        let x = Tensor::from_f32(vec![0.0, 0.0, 2.0, 2.0, 10.0, 10.0, 12.0, 12.0], [4, 2]).unwrap();
        let zeros = Tensor::from_f32(vec![0.0; 8], [4, 2]).unwrap();
        model.train_on_batch(&x, &zeros).unwrap()["loss"]
    };
    // By hand (epsilon 0.001): over all four rows each column is 0, 2, 10, 12 (mean 6,
    // variance 26), so the mean square is 26 / 26.001. Each half on its own (0, 2 and
    // 10, 12: variance 1) would give 1 / 1.001, about 1e-3 less.
    let whole = 26.0 / 26.001;
    for devices in [&["ndarray"][..], &["ndarray", "ndarray"]] {
        let loss = loss(devices);
        assert!((loss - whole).abs() < 1e-6, "{devices:?}: {loss} vs {whole}");
    }
}

#[test]
fn batch_norm_moving_statistics_are_those_of_the_whole_batch() {
    let build = || {
        kiln::set_random_seed(5);
        let mut model = Sequential::new();
        model.add(BatchNormalization::new().input_shape([3])).unwrap();
        model
    };
    let x: Vec<f32> = (0..8 * 3).map(|i| (i * i % 11) as f32).collect();
    let x = Tensor::from_f32(x, [8, 3]).unwrap();
    let moving = |devices: &[&str]| {
        let mut model = build();
        model
            .set_distribution(Some(DataParallel::new(devices).unwrap()))
            .unwrap();
        model.compile("sgd", "mse", &[]).unwrap();
        model.train_on_batch(&x, &x).unwrap();
        let names = model.weight_names();
        let weights = model.get_weights().unwrap();
        let find = |suffix: &str| weights[names.iter().position(|n| n.ends_with(suffix)).unwrap()].to_f32();
        (find("moving_mean"), find("moving_variance"))
    };
    // Hand-derived: momentum 0.99 from zeros and ones, so 0.01 × the column means and
    // 0.99 + 0.01 × the columns' biased variances.
    let column = |c: usize| {
        (0..8)
            .map(|r| ((r * 3 + c) * (r * 3 + c) % 11) as f32)
            .collect::<Vec<_>>()
    };
    let means: Vec<f32> = (0..3).map(|c| column(c).iter().sum::<f32>() / 8.0).collect();
    let variances: Vec<f32> = (0..3)
        .map(|c| column(c).iter().map(|v| (v - means[c]).powi(2)).sum::<f32>() / 8.0)
        .collect();
    let moving_mean: Vec<f32> = means.iter().map(|m| 0.01 * m).collect();
    let moving_variance: Vec<f32> = variances.iter().map(|v| 0.99 + 0.01 * v).collect();
    for devices in [
        &["ndarray"][..],
        &["ndarray", "ndarray"],
        &["ndarray", "ndarray", "ndarray"],
    ] {
        let (mean, variance) = moving(devices);
        close(&format!("moving mean on {devices:?}"), &mean, &moving_mean, 1e-6);
        close(
            &format!("moving variance on {devices:?}"),
            &variance,
            &moving_variance,
            1e-6,
        );
    }
}

#[test]
fn the_global_distribution_applies_at_compile() {
    // `set_distribution` is process-wide: it runs in a child process, away from the
    // other tests of this binary.
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            &crate::common::test_path(module_path!(), "global_distribution_process"),
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env("KILN_TEST_GLOBAL_DISTRIBUTION", "1")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
#[ignore = "run in a child process by the_global_distribution_applies_at_compile"]
fn global_distribution_process() {
    if std::env::var("KILN_TEST_GLOBAL_DISTRIBUTION").is_err() {
        return;
    }
    set_distribution(Some(DataParallel::new(["ndarray", "ndarray"]).unwrap()));
    let mut model = classifier();
    assert_eq!(model.distribution_devices().len(), 1);
    model.compile("sgd", "sparse_categorical_crossentropy", &[]).unwrap();
    set_distribution(None);
    assert_eq!(model.distribution_devices().len(), 2);
    model.to_device(&"ndarray".parse().unwrap()).unwrap();
    assert_eq!(model.distribution_devices().len(), 1);
}

#[test]
fn bad_device_lists_are_errors_naming_the_device() {
    let err = DataParallel::new(["ndarray", "tpu"]).unwrap_err().to_string();
    assert!(err.starts_with("unknown device 'tpu'"), "{err}");
    let err = DataParallel::new(Vec::<&str>::new()).unwrap_err().to_string();
    assert!(err.contains("at least one device"), "{err}");
    let err = DataParallel::parse_list("ndarray,remote:http://x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("remote:ws://HOST:PORT"), "{err}");
}
