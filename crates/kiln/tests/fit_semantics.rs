//! What `fit` means, as in Keras: dropout only in training, seeded determinism, the
//! validation split taken from the end, shuffling, and multi-output losses and logs.

use kiln::optimizers::Sgd;
use kiln::prelude::*;
use kiln::{PredictOptions, Result};

/// `n` rows of `d` deterministic features in [-1, 1].
fn features(n: usize, d: usize) -> Tensor {
    Tensor::from_f32((0..n * d).map(|i| ((i as f32) * 0.61 + 0.3).sin()).collect(), [n, d]).unwrap()
}

fn quiet(epochs: usize) -> FitOptions {
    FitOptions::new().epochs(epochs).verbose(0)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

// ---------------------------------------------------------------- (a) dropout

#[test]
fn dropout_is_the_identity_in_predict_and_evaluate() -> Result<()> {
    let input = Input::new([10]);
    let out = Dropout::new(0.5).apply(&input)?;
    let mut model = Model::new(&[&input], &[&out])?;
    let x = features(16, 10);
    let y = model.predict(&x)?;
    assert_eq!(y, x, "predict must not drop anything");
    let y = model.predict_with(&x, PredictOptions { batch_size: 3 })?;
    assert_eq!(y, x);

    model.compile("sgd", "mse", &[])?;
    let logs = model.evaluate(&x, &x)?;
    assert_eq!(logs["loss"], 0.0, "evaluate runs in inference mode");
    Ok(())
}

/// Input(10) → Dropout(0.5) → Dense(10) whose kernel is set to the identity and whose
/// bias is 0, trained with learning rate 0: the model is the identity in inference, and
/// in training it shows exactly what dropout did.
fn dropout_then_identity() -> Result<Model> {
    let input = Input::new([10]);
    let dropped = Dropout::new(0.5).apply(&input)?;
    let out = Dense::new(10).apply(&dropped)?;
    let mut model = Model::new(&[&input], &[&out])?;
    let eye: Vec<f32> = (0..100).map(|i| if i / 10 == i % 10 { 1.0 } else { 0.0 }).collect();
    model.set_weights(&[Tensor::from_f32(eye, [10, 10]).unwrap(), Tensor::zeros([10])])?;
    model.compile(Sgd::new().learning_rate(0.0), "mse", &[])?;
    Ok(model)
}

#[test]
fn dropout_is_active_in_training() -> Result<()> {
    kiln::set_random_seed(17);
    let mut model = dropout_then_identity()?;
    let x = features(16, 10);
    assert_eq!(model.predict(&x)?, x);
    // Training on y = x: every unit contributes x² whether it is dropped, (0 - x)², or
    // kept and scaled, (2x - x)²; so the training loss is mean(x²) with dropout, and
    // it would be 0 without.
    let mean_sq: f64 = x.to_f32().iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / 160.0;
    let logs = model.train_on_batch(&x, &x)?;
    assert!(
        close(logs["loss"], mean_sq, 1e-5),
        "train loss {} vs mean(x²) {mean_sq}",
        logs["loss"]
    );
    let history = model.fit(&x, &x, quiet(2).batch_size(16))?;
    for l in history.get("loss").unwrap() {
        assert!(close(*l, mean_sq, 1e-5), "fit loss {l} vs mean(x²) {mean_sq}");
    }
    // And inference is still the identity.
    assert!(model.evaluate(&x, &x)?["loss"] < 1e-12);
    assert_eq!(model.predict(&x)?, x);

    // Against zero targets the training loss is mean((2x)² · kept): about half the units
    // are kept (4 · mean(x²) if all were, 0 if none were).
    let zeros = Tensor::zeros([16, 10]);
    let kept = model.train_on_batch(&x, &zeros)?["loss"] / (4.0 * mean_sq);
    assert!(kept > 0.3 && kept < 0.7, "fraction kept {kept}");
    Ok(())
}

/// Keras trains (computes the loss, updates nothing) a model without trainable
/// weights; Kiln's engine panics inside Burn (`loss.backward()` on an untracked
/// tensor), and the panic surfaces as an obscure engine error.
#[test]
fn training_a_model_without_weights() -> Result<()> {
    let x = features(16, 10);
    // Only a Dropout layer: no weights at all.
    let input = Input::new([10]);
    let out = Dropout::new(0.5).apply(&input)?;
    let mut model = Model::new(&[&input], &[&out])?;
    model.compile("sgd", "mse", &[])?;
    let mean_sq: f64 = x.to_f32().iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / 160.0;
    let logs = model.train_on_batch(&x, &x)?;
    assert!(close(logs["loss"], mean_sq, 1e-5));
    Ok(())
}

/// The same with every layer frozen (`trainable(false)`): Keras computes the loss and
/// leaves the weights as they are.
#[test]
fn training_a_model_whose_layers_are_all_frozen() -> Result<()> {
    let input = Input::new([4]);
    let out = Dense::new(2).trainable(false).apply(&input)?;
    let mut model = Model::new(&[&input], &[&out])?;
    model.compile("adam", "mse", &[])?;
    let before = model.get_weights()?;
    let history = model.fit(features(8, 4), Tensor::zeros([8, 2]), quiet(2))?;
    assert_eq!(history.epoch.len(), 2);
    assert_eq!(model.get_weights()?, before);
    Ok(())
}

#[test]
fn frozen_layers_keep_their_weights_while_the_others_train() -> Result<()> {
    kiln::set_random_seed(13);
    let mut model = Sequential::new();
    model.add(Dense::new(4).activation("tanh").trainable(false).input_shape([3]))?;
    model.add(Dense::new(1))?;
    model.compile("adam", "mse", &[])?;
    let before = model.get_weights()?;
    let x = features(8, 3);
    let y = Tensor::from_f32((0..8).map(|i| i as f32 * 0.1).collect(), [8, 1]).unwrap();
    model.fit(&x, &y, quiet(2).batch_size(4))?;
    let after = model.get_weights()?;
    assert_eq!(after[..2], before[..2], "the frozen layer's kernel and bias");
    assert_ne!(after[2], before[2], "the trainable layer's kernel");
    Ok(())
}

#[test]
fn initial_epoch_numbers_the_epochs() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Dense::new(1).input_shape([3]))?;
    model.compile("sgd", "mse", &[])?;
    let x = features(8, 3);
    let y = Tensor::zeros([8, 1]);
    let history = model.fit(&x, &y, quiet(5).initial_epoch(3))?;
    assert_eq!(history.epoch, vec![3, 4]);
    assert_eq!(history.get("loss").unwrap().len(), 2);
    let history = model.fit(&x, &y, quiet(0))?;
    assert!(history.epoch.is_empty() && history.history.is_empty());
    Ok(())
}

// ---------------------------------------------------------------- (b) seeds

struct Run {
    initial: Vec<Tensor>,
    losses: Vec<f64>,
    final_weights: Vec<Tensor>,
}

/// Builds, compiles and trains the same small model after `set_random_seed(seed)`.
fn seeded_run(seed: u64) -> Result<Run> {
    kiln::set_random_seed(seed);
    let mut model = Sequential::new();
    model.add(Dense::new(8).activation("relu").input_shape([4]))?;
    model.add(Dropout::new(0.25))?;
    model.add(Dense::new(3).activation("softmax"))?;
    model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
    let initial = model.get_weights()?;
    let x = features(24, 4);
    let y = Tensor::from_i32((0..24).map(|i| (i * 5 + 2) % 3).collect(), [24]).unwrap();
    // Shuffling and dropout masks both come from the seed.
    let history = model.fit(&x, &y, quiet(3).batch_size(5).shuffle(true))?;
    Ok(Run {
        initial,
        losses: history.get("loss").unwrap().to_vec(),
        final_weights: model.get_weights()?,
    })
}

#[test]
fn the_same_seed_gives_the_same_weights_and_losses() -> Result<()> {
    let a = seeded_run(7)?;
    let b = seeded_run(7)?;
    assert_eq!(a.initial, b.initial, "same seed, same initial weights");
    assert_eq!(a.losses, b.losses, "same seed, same training losses");
    assert_eq!(a.final_weights, b.final_weights);

    let c = seeded_run(8)?;
    for (wa, wc) in a.initial.iter().zip(&c.initial) {
        if wa.to_f32().iter().any(|v| *v != 0.0) {
            assert_ne!(wa, wc, "different seeds, different kernels");
        }
    }
    assert_ne!(a.losses, c.losses);
    Ok(())
}

// ---------------------------------------------------------------- (c) validation_split

#[test]
fn validation_split_holds_out_the_last_samples() -> Result<()> {
    let n = 10;
    let x = features(n, 3);
    // The last two targets are far from the others.
    let y: Vec<f32> = (0..n).map(|i| if i >= 8 { 10.0 } else { 0.1 * i as f32 }).collect();
    let y = Tensor::from_f32(y, [n, 1]).unwrap();
    let (head, tail) = ((0..8).collect::<Vec<_>>(), vec![8, 9]);
    let first_two = vec![0, 1];

    // Learning rate 0: the weights stay put, so the logged losses are plain evaluations.
    kiln::set_random_seed(21);
    let mut model = Sequential::new();
    model.add(Dense::new(1).input_shape([3]))?;
    model.compile(Sgd::new().learning_rate(0.0), "mse", &[])?;
    let history = model.fit(&x, &y, quiet(2).validation_split(0.2).shuffle(true))?;
    let on_tail = model.evaluate(x.rows(&tail), y.rows(&tail))?["loss"];
    let on_head = model.evaluate(x.rows(&head), y.rows(&head))?["loss"];
    let on_first = model.evaluate(x.rows(&first_two), y.rows(&first_two))?["loss"];
    for v in history.get("val_loss").unwrap() {
        assert!(
            close(*v, on_tail, 1e-6),
            "val_loss {v} vs loss on the last 2 samples {on_tail}"
        );
        assert!(
            !close(*v, on_first, 1e-3),
            "val_loss {v} must not be the first samples' {on_first}"
        );
    }
    for l in history.get("loss").unwrap() {
        assert!(
            close(*l, on_head, 1e-6),
            "loss {l} vs loss on the first 8 samples {on_head}"
        );
    }

    // With real training, the last epoch's val_loss is the trained model's loss on them.
    let mut model = Sequential::new();
    model.add(Dense::new(1).input_shape([3]))?;
    model.compile(Sgd::new().learning_rate(0.05), "mse", &[])?;
    let history = model.fit(&x, &y, quiet(4).batch_size(3).validation_split(0.2))?;
    let on_tail = model.evaluate(x.rows(&tail), y.rows(&tail))?["loss"];
    let last = history.last("val_loss").unwrap();
    assert!(close(last, on_tail, 1e-6), "last val_loss {last} vs {on_tail}");
    Ok(())
}

// ---------------------------------------------------------------- (d) shuffle

#[test]
fn shuffled_and_unshuffled_training_both_train() -> Result<()> {
    let n = 8;
    let x = features(n, 2);
    let y: Vec<f32> = x.to_f32().chunks(2).map(|r| 2.0 * r[0] - r[1] + 0.3).collect();
    let y = Tensor::from_f32(y, [n, 1]).unwrap();
    kiln::set_random_seed(4);
    let mut model = Sequential::new();
    model.add(Dense::new(1).input_shape([2]))?;
    let initial = model.get_weights()?;

    let mut train = |shuffle: bool| -> Result<(Vec<f64>, Vec<Tensor>)> {
        model.set_weights(&initial)?;
        model.compile(Sgd::new().learning_rate(0.1), "mse", &[])?;
        let history = model.fit(&x, &y, quiet(6).batch_size(2).shuffle(shuffle))?;
        Ok((history.get("loss").unwrap().to_vec(), model.get_weights()?))
    };
    let (loss_a, w_a) = train(false)?;
    let (loss_b, w_b) = train(false)?;
    let (loss_c, w_c) = train(true)?;
    for loss in [&loss_a, &loss_c] {
        assert!(loss.iter().all(|l| l.is_finite()));
        assert!(
            loss[loss.len() - 1] < loss[0] * 0.5,
            "training reduces the loss: {loss:?}"
        );
    }
    assert_eq!(loss_a, loss_b, "without shuffling, training is the same each time");
    assert_eq!(w_a, w_b);
    assert_ne!(w_a, w_c, "shuffling changes the batch order, hence the weights");
    Ok(())
}

// ---------------------------------------------------------------- (e) multi-input, multi-output

#[test]
fn multi_input_multi_output_logs_per_output_losses_and_metrics() -> Result<()> {
    kiln::set_random_seed(9);
    let a = Input::named("a", [3]);
    let b = Input::named("b", [2]);
    let joined = Concatenate::new().apply_list(&[&a, &b])?;
    let hidden = Dense::new(6).activation("tanh").apply(&joined)?;
    let class_out = Dense::new(3).activation("softmax").name("class_out").apply(&hidden)?;
    let reg_out = Dense::new(1).name("reg_out").apply(&hidden)?;
    let mut model = Model::new(&[&a, &b], &[&class_out, &reg_out])?;
    assert_eq!(model.output_names(), ["class_out", "reg_out"]);
    model.compile("adam", vec!["categorical_crossentropy", "mse"], &["mae"])?;

    let n = 12;
    let (xa, xb) = (features(n, 3), features(n, 2));
    let classes: Vec<usize> = (0..n).map(|i| (i * 2 + 1) % 3).collect();
    let one_hot: Vec<f32> = classes
        .iter()
        .flat_map(|&c| (0..3).map(move |k| if k == c { 1.0 } else { 0.0 }))
        .collect();
    let ya = Tensor::from_f32(one_hot, [n, 3]).unwrap();
    let yb = Tensor::from_f32((0..n).map(|i| 0.2 * i as f32 - 1.0).collect(), [n, 1]).unwrap();

    let history = model.fit([&xa, &xb], [&ya, &yb], quiet(3).batch_size(4).validation_split(0.25))?;
    let keys: Vec<&str> = history.history.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "class_out_loss",
            "class_out_mae",
            "loss",
            "reg_out_loss",
            "reg_out_mae",
            "val_class_out_loss",
            "val_class_out_mae",
            "val_loss",
            "val_reg_out_loss",
            "val_reg_out_mae",
        ]
    );
    for prefix in ["", "val_"] {
        let total = history.get(&format!("{prefix}loss")).unwrap();
        let la = history.get(&format!("{prefix}class_out_loss")).unwrap();
        let lb = history.get(&format!("{prefix}reg_out_loss")).unwrap();
        for e in 0..3 {
            assert!(
                (total[e] - (la[e] + lb[e])).abs() < 1e-5,
                "{prefix}loss {} != {} + {}",
                total[e],
                la[e],
                lb[e]
            );
        }
    }

    // evaluate: the same keys without val_, the total is the sum, and each part matches
    // a hand computation from predict_multi.
    let logs = model.evaluate([&xa, &xb], [&ya, &yb])?;
    let keys: Vec<&str> = logs.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["class_out_loss", "class_out_mae", "loss", "reg_out_loss", "reg_out_mae"]
    );
    assert!((logs["loss"] - (logs["class_out_loss"] + logs["reg_out_loss"])).abs() < 1e-5);
    let outs = model.predict_multi([&xa, &xb], PredictOptions::default())?;
    assert_eq!(outs.len(), 2);
    assert_eq!(outs[0].shape(), &[n, 3]);
    assert_eq!(outs[1].shape(), &[n, 1]);
    let p = outs[0].to_f32();
    let mut cce = 0.0f64;
    for (i, &c) in classes.iter().enumerate() {
        let row = &p[i * 3..i * 3 + 3];
        let total: f32 = row.iter().sum();
        let q = (row[c] / total).clamp(1e-7, 1.0 - 1e-7);
        cce -= (q as f64).ln();
    }
    cce /= n as f64;
    let r = outs[1].to_f32();
    let t = yb.to_f32();
    let mse = r.iter().zip(&t).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>() / n as f64;
    assert!(
        (logs["class_out_loss"] - cce).abs() < 1e-5,
        "{} vs {cce}",
        logs["class_out_loss"]
    );
    assert!(
        (logs["reg_out_loss"] - mse).abs() < 1e-5,
        "{} vs {mse}",
        logs["reg_out_loss"]
    );
    assert!((logs["loss"] - (cce + mse)).abs() < 1e-5);

    // predict (one array) refuses a two-output model and says what to use.
    let err = model.predict([&xa, &xb]).unwrap_err().to_string();
    assert!(err.contains("the model has 2 outputs; use predict_multi"), "{err}");
    Ok(())
}
