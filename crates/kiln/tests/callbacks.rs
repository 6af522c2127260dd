//! Callbacks: EarlyStopping, ReduceLrOnPlateau, LearningRateScheduler, TerminateOnNaN,
//! CsvLogger, user callbacks, the order of the hooks, and what History holds.

use crate::common;
use common::TempDir;

use kiln::callbacks::{Logs, Mode};
use kiln::optimizers::{Adam, Sgd};
use kiln::prelude::*;
use kiln::{KilnError, Result};
use std::cell::RefCell;
use std::rc::Rc;

/// `n` rows of `d` deterministic features in [-1, 1].
fn features(n: usize, d: usize) -> Tensor {
    Tensor::from_f32((0..n * d).map(|i| ((i as f32) * 0.37 + 0.2).sin()).collect(), [n, d]).unwrap()
}

/// Targets `sign * (x0 - 2 x1 + 0.5)`, one column.
fn linear_targets(x: &Tensor, sign: f32) -> Tensor {
    let d = x.shape()[1];
    let v = x.to_f32();
    let y: Vec<f32> = v.chunks(d).map(|r| sign * (r[0] - 2.0 * r[1] + 0.5)).collect();
    Tensor::from_f32(y.clone(), [y.len(), 1]).unwrap()
}

/// A linear regressor (2 features → 1) starting from zero weights.
fn regressor(optimizer: impl Into<kiln::optimizers::OptimizerArg>) -> Model {
    let mut model = Sequential::new();
    model
        .add(Dense::new(1).kernel_initializer("zeros").input_shape([2]))
        .unwrap();
    model.compile(optimizer, "mse", &[]).unwrap();
    model
}

/// A small classifier (4 features → 3 classes).
fn classifier() -> Model {
    kiln::set_random_seed(11);
    let mut model = Sequential::new();
    model.add(Dense::new(8).activation("relu").input_shape([4])).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model
        .compile(
            Adam::new().learning_rate(0.01),
            "sparse_categorical_crossentropy",
            &["accuracy"],
        )
        .unwrap();
    model
}

fn class_labels(n: usize) -> Tensor {
    Tensor::from_i32((0..n as i32).map(|i| (i * 7 + 1) % 3).collect(), [n]).unwrap()
}

fn quiet(epochs: usize) -> FitOptions {
    FitOptions::new().epochs(epochs).verbose(0)
}

/// Records the weights at the end of every epoch.
struct WeightRecorder(Rc<RefCell<Vec<Vec<Tensor>>>>);

impl Callback for WeightRecorder {
    fn on_epoch_end(&mut self, model: &mut Model, _epoch: usize, _logs: &mut Logs) -> Result<()> {
        self.0.borrow_mut().push(model.get_weights()?);
        Ok(())
    }
}

// ---------------------------------------------------------------- EarlyStopping

#[test]
fn early_stopping_stops_after_patience_epochs_without_improvement() -> Result<()> {
    for patience in [0, 1, 3] {
        // Learning rate 0: the weights never move, so val_loss never improves after epoch 0.
        let mut model = regressor(Sgd::new().learning_rate(0.0));
        let x = features(8, 2);
        let y = linear_targets(&x, 1.0);
        let es = EarlyStopping::new().monitor("val_loss").patience(patience);
        let history = model.fit(&x, &y, quiet(20).validation_split(0.25).callback(es))?;
        // Epoch 0 improves on +inf; each of the next `patience` epochs does not; Keras
        // never stops at epoch 0.
        let last = patience.max(1);
        assert_eq!(history.epoch, (0..=last).collect::<Vec<_>>(), "patience {patience}");
        assert_eq!(
            history.stop_reason.as_deref(),
            Some(format!("stopped by a callback after epoch {}", last + 1).as_str())
        );
        let val = history.get("val_loss").unwrap();
        assert!(val.iter().all(|v| *v == val[0]), "{val:?}");
    }
    Ok(())
}

/// Training pulls the weights towards `y`, validation wants `-y`: val_loss rises every
/// epoch, so epoch 0 is the best.
fn diverging_fit(es: EarlyStopping, epochs: usize) -> Result<(Model, History, Vec<Vec<Tensor>>)> {
    let mut model = regressor(Sgd::new().learning_rate(0.2));
    let x = features(8, 2);
    let (y, y_val) = (linear_targets(&x, 1.0), linear_targets(&x, -1.0));
    let recorded = Rc::new(RefCell::new(Vec::new()));
    // The recorder runs before EarlyStopping, so it sees each epoch's trained weights.
    let options = quiet(epochs)
        .shuffle(false)
        .validation_data(&x, &y_val)
        .callback(WeightRecorder(recorded.clone()))
        .callback(es);
    let history = model.fit(&x, &y, options)?;
    let recorded = recorded.borrow().clone();
    Ok((model, history, recorded))
}

#[test]
fn early_stopping_restores_the_best_weights() -> Result<()> {
    let es = EarlyStopping::new().patience(2).restore_best_weights(true);
    let (model, history, recorded) = diverging_fit(es, 10)?;
    let val = history.get("val_loss").unwrap();
    assert!(val.windows(2).all(|w| w[1] > w[0]), "val_loss should rise: {val:?}");
    assert_eq!(history.epoch, vec![0, 1, 2]);
    assert_eq!(recorded.len(), 3);
    assert_ne!(recorded[0], recorded[2], "training moved the weights");
    assert_eq!(
        model.get_weights()?,
        recorded[0],
        "weights of the best epoch (0) restored"
    );
    Ok(())
}

#[test]
fn early_stopping_without_restore_keeps_the_last_weights() -> Result<()> {
    let es = EarlyStopping::new().patience(2);
    let (model, history, recorded) = diverging_fit(es, 10)?;
    assert_eq!(history.epoch, vec![0, 1, 2]);
    assert_eq!(model.get_weights()?, recorded[2]);
    Ok(())
}

/// Keras 3 (`keras/src/callbacks/early_stopping.py`, `on_train_end`) restores the best
/// weights at the end of training whenever `restore_best_weights` is set, also when
/// training ran all its epochs without stopping early.
#[test]
fn early_stopping_restores_best_weights_even_without_stopping() -> Result<()> {
    let es = EarlyStopping::new().patience(10).restore_best_weights(true);
    let (model, history, recorded) = diverging_fit(es, 3)?;
    assert_eq!(history.epoch, vec![0, 1, 2]);
    assert_eq!(history.stop_reason, None);
    assert_ne!(recorded[0], recorded[2]);
    assert_eq!(
        model.get_weights()?,
        recorded[0],
        "weights of the best epoch (0) restored at train end"
    );
    Ok(())
}

/// Full-batch gradient descent on a convex loss: the training loss falls every epoch.
fn descending_fit(es: EarlyStopping, epochs: usize) -> Result<History> {
    let mut model = regressor(Sgd::new().learning_rate(0.05));
    let x = features(8, 2);
    let y = linear_targets(&x, 1.0);
    model.fit(&x, &y, quiet(epochs).shuffle(false).callback(es))
}

#[test]
fn early_stopping_mode_and_min_delta() -> Result<()> {
    // Falling loss, mode min (auto for "loss"): always improving, never stops.
    let history = descending_fit(EarlyStopping::new().monitor("loss").patience(1), 6)?;
    let loss = history.get("loss").unwrap();
    assert!(loss.windows(2).all(|w| w[1] < w[0]), "{loss:?}");
    assert_eq!(history.epoch.len(), 6);
    assert_eq!(history.stop_reason, None);

    // Same with an explicit Min.
    let history = descending_fit(EarlyStopping::new().monitor("loss").mode(Mode::Min).patience(1), 6)?;
    assert_eq!(history.epoch.len(), 6);

    // Mode max: a falling loss never improves after epoch 0.
    let history = descending_fit(EarlyStopping::new().monitor("loss").mode(Mode::Max).patience(2), 6)?;
    assert_eq!(history.epoch, vec![0, 1, 2]);
    assert!(history.stop_reason.is_some());

    // A min_delta larger than the whole run's gain: no epoch after the first counts
    // (each is compared with the best value, epoch 0's).
    let gains: Vec<f64> = loss.windows(2).map(|w| w[0] - w[1]).collect();
    let big = (loss[0] - loss[loss.len() - 1]) * 1.01;
    let history = descending_fit(EarlyStopping::new().monitor("loss").min_delta(big).patience(2), 6)?;
    assert_eq!(history.epoch, vec![0, 1, 2]);
    // A min_delta below every gain changes nothing.
    let small = gains.iter().cloned().fold(f64::INFINITY, f64::min) * 0.5;
    let history = descending_fit(EarlyStopping::new().monitor("loss").min_delta(small).patience(1), 6)?;
    assert_eq!(history.epoch.len(), 6);
    Ok(())
}

#[test]
fn early_stopping_baseline() -> Result<()> {
    // Keras's documented rule: "if no epoch improves on baseline, training will run for
    // patience epochs". The loss falls every epoch but never reaches the baseline.
    let history = descending_fit(EarlyStopping::new().monitor("loss").baseline(0.0).patience(3), 8)?;
    assert_eq!(history.epoch, vec![0, 1, 2]);
    // A baseline that the first epoch already beats changes nothing.
    let history = descending_fit(EarlyStopping::new().monitor("loss").baseline(1e6).patience(1), 5)?;
    assert_eq!(history.epoch.len(), 5);
    Ok(())
}

#[test]
fn early_stopping_start_from_epoch_and_missing_monitor() -> Result<()> {
    // Constant val_loss, patience 0, watching only from epoch 3: epoch 3 is the first
    // watched (an improvement over +inf), epoch 4 stops.
    let mut model = regressor(Sgd::new().learning_rate(0.0));
    let x = features(8, 2);
    let y = linear_targets(&x, 1.0);
    let es = EarlyStopping::new().patience(0).start_from_epoch(3);
    let history = model.fit(&x, &y, quiet(10).validation_split(0.25).callback(es))?;
    assert_eq!(history.epoch, vec![0, 1, 2, 3, 4]);

    // Monitoring a quantity that is not logged warns and never stops.
    let es = EarlyStopping::new().monitor("val_nothing").patience(0);
    let history = model.fit(&x, &y, quiet(4).callback(es))?;
    assert_eq!(history.epoch.len(), 4);
    Ok(())
}

// ---------------------------------------------------------------- ReduceLrOnPlateau

/// Zero weights, zero targets: the gradient is exactly 0, so the loss stays at 0 and
/// never improves after epoch 0, whatever the learning rate.
fn plateau_fit(callback: impl Callback + 'static, lr: f32, epochs: usize) -> Result<(Model, History)> {
    let mut model = Sequential::new();
    model.add(Dense::new(1).kernel_initializer("zeros").input_shape([2]))?;
    model.compile(Sgd::new().learning_rate(lr), "mse", &[])?;
    let x = features(8, 2);
    let y = Tensor::from_f32(vec![0.0; 8], [8, 1]).unwrap();
    let history = model.fit(&x, &y, quiet(epochs).validation_split(0.25).callback(callback))?;
    Ok((model, history))
}

#[test]
fn reduce_lr_on_plateau_factor_patience_and_min_lr() -> Result<()> {
    let cb = ReduceLrOnPlateau::new().factor(0.5).patience(2).min_lr(0.125);
    let (model, history) = plateau_fit(cb, 1.0, 10)?;
    assert!(history.get("val_loss").unwrap().iter().all(|v| *v == 0.0));
    // Logged at the end of each epoch before any reduction (as Keras 3 does).
    assert_eq!(
        history.get("learning_rate").unwrap(),
        &[1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.125]
    );
    assert_eq!(model.learning_rate()?, 0.125);
    assert_eq!(history.epoch.len(), 10, "ReduceLrOnPlateau never stops training");

    // min_lr between two steps clamps the last one.
    let cb = ReduceLrOnPlateau::new().factor(0.1).patience(1).min_lr(0.25);
    let (model, history) = plateau_fit(cb, 1.0, 5)?;
    assert_eq!(history.get("learning_rate").unwrap(), &[1.0, 1.0, 0.25, 0.25, 0.25]);
    assert_eq!(model.learning_rate()?, 0.25);
    Ok(())
}

#[test]
fn reduce_lr_on_plateau_holds_the_rate_during_cooldown() -> Result<()> {
    let cb = ReduceLrOnPlateau::new().factor(0.5).patience(1).cooldown(2);
    let (_, history) = plateau_fit(cb, 1.0, 12)?;
    let lrs = history.get("learning_rate").unwrap();
    // After each reduction the new rate is kept for at least `cooldown` epochs.
    let mut changes = Vec::new();
    for e in 1..lrs.len() {
        if lrs[e] != lrs[e - 1] {
            assert_eq!(lrs[e], lrs[e - 1] * 0.5, "{lrs:?}");
            changes.push(e);
        }
    }
    assert!(changes.len() >= 3, "{lrs:?}");
    assert!(changes.windows(2).all(|w| w[1] - w[0] >= 2), "{lrs:?}");
    // Without cooldown, patience 1 reduces every epoch after the first.
    let cb = ReduceLrOnPlateau::new().factor(0.5).patience(1);
    let (_, history) = plateau_fit(cb, 1.0, 5)?;
    assert_eq!(history.get("learning_rate").unwrap(), &[1.0, 1.0, 0.5, 0.25, 0.125]);
    Ok(())
}

/// Keras 3 (`keras/src/callbacks/reduce_lr_on_plateau.py`) decrements the cooldown
/// counter and then asks `in_cooldown()` again, so the last cooldown epoch already
/// counts towards patience: with patience 1 and cooldown 2 the rate halves every
/// second epoch.
#[test]
fn reduce_lr_on_plateau_cooldown_matches_keras_3() -> Result<()> {
    let cb = ReduceLrOnPlateau::new().factor(0.5).patience(1).cooldown(2);
    let (_, history) = plateau_fit(cb, 1.0, 8)?;
    assert_eq!(
        history.get("learning_rate").unwrap(),
        &[1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]
    );
    Ok(())
}

#[test]
fn reduce_lr_on_plateau_mode_max_and_min_delta() -> Result<()> {
    // A falling loss watched in max mode is a plateau.
    let mut model = regressor(Sgd::new().learning_rate(0.05));
    let x = features(8, 2);
    let y = linear_targets(&x, 1.0);
    let cb = ReduceLrOnPlateau::new()
        .monitor("loss")
        .mode(Mode::Max)
        .factor(0.5)
        .patience(1)
        .min_delta(0.0);
    let history = model.fit(&x, &y, quiet(4).shuffle(false).callback(cb))?;
    let lr0 = 0.05f32 as f64;
    let half = (0.05f32 as f64 * 0.5) as f32 as f64;
    let quarter = (half * 0.5) as f32 as f64;
    assert_eq!(history.get("learning_rate").unwrap(), &[lr0, lr0, half, quarter]);

    // The same falling loss in min mode with a min_delta above every gain.
    let mut model = regressor(Sgd::new().learning_rate(0.05));
    let cb = ReduceLrOnPlateau::new()
        .monitor("loss")
        .factor(0.5)
        .patience(1)
        .min_delta(100.0);
    let history = model.fit(&x, &y, quiet(4).shuffle(false).callback(cb))?;
    assert_eq!(history.get("learning_rate").unwrap(), &[lr0, lr0, half, quarter]);
    Ok(())
}

// ---------------------------------------------------------------- LearningRateScheduler

#[test]
fn learning_rate_scheduler_sets_the_rate_each_epoch() -> Result<()> {
    let schedule = [0.5, 0.25, 0.125, 0.0625];
    let seen = Rc::new(RefCell::new(Vec::new()));
    let seen2 = seen.clone();
    let cb = LearningRateScheduler::new(move |epoch, lr| {
        seen2.borrow_mut().push((epoch, lr));
        schedule[epoch]
    });
    let mut model = regressor(Sgd::new().learning_rate(0.01));
    let x = features(8, 2);
    let y = linear_targets(&x, 1.0);
    let history = model.fit(&x, &y, quiet(4).callback(cb))?;
    assert_eq!(history.get("learning_rate").unwrap(), &schedule);
    assert_eq!(model.learning_rate()?, 0.0625);
    // The schedule gets the epoch and the rate in force before it.
    let first = 0.01f32 as f64;
    assert_eq!(*seen.borrow(), vec![(0, first), (1, 0.5), (2, 0.25), (3, 0.125)]);
    Ok(())
}

#[test]
fn learning_rate_zero_from_the_schedule_leaves_weights_unchanged() -> Result<()> {
    let x = features(8, 2);
    let y = linear_targets(&x, 1.0);
    kiln::set_random_seed(3);
    let mut model = Sequential::new();
    model.add(Dense::new(4).activation("tanh").input_shape([2]))?;
    model.add(Dense::new(1))?;
    model.compile("adam", "mse", &[])?;
    let before = model.get_weights()?;
    let history = model.fit(
        &x,
        &y,
        quiet(3).batch_size(4).callback(LearningRateScheduler::new(|_, _| 0.0)),
    )?;
    assert_eq!(history.get("learning_rate").unwrap(), &[0.0, 0.0, 0.0]);
    assert_eq!(model.get_weights()?, before, "lr 0 must not move the weights");
    let loss = history.get("loss").unwrap();
    assert!(loss.iter().all(|l| (l - loss[0]).abs() < 1e-6), "{loss:?}");

    // A non-zero rate from the schedule does move them (the check above is not vacuous).
    model.fit(&x, &y, quiet(1).callback(LearningRateScheduler::new(|_, _| 0.01)))?;
    assert_ne!(model.get_weights()?, before);
    Ok(())
}

#[test]
fn learning_rate_scheduler_refuses_a_non_finite_rate() {
    let mut model = regressor("sgd");
    let x = features(4, 2);
    let y = linear_targets(&x, 1.0);
    let cb = LearningRateScheduler::new(|epoch, lr| if epoch == 1 { f64::NAN } else { lr });
    let err = model.fit(&x, &y, quiet(3).callback(cb)).unwrap_err();
    assert!(matches!(err, KilnError::Callback { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "callback 'LearningRateScheduler': the schedule returned NaN for epoch 1; expected a finite number"
    );
}

// ---------------------------------------------------------------- TerminateOnNaN

/// Records the batches and epochs it sees.
#[derive(Clone, Default)]
struct Recorder(Rc<RefCell<Vec<String>>>);

impl Recorder {
    fn events(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
    fn push(&self, s: String) {
        self.0.borrow_mut().push(s);
    }
}

impl Callback for Recorder {
    fn on_train_begin(&mut self, _model: &mut Model, _logs: &Logs) -> Result<()> {
        self.push("train_begin".into());
        Ok(())
    }
    fn on_train_end(&mut self, _model: &mut Model, _logs: &Logs) -> Result<()> {
        self.push("train_end".into());
        Ok(())
    }
    fn on_epoch_begin(&mut self, _model: &mut Model, epoch: usize, _logs: &Logs) -> Result<()> {
        self.push(format!("epoch_begin {epoch}"));
        Ok(())
    }
    fn on_epoch_end(&mut self, _model: &mut Model, epoch: usize, _logs: &mut Logs) -> Result<()> {
        self.push(format!("epoch_end {epoch}"));
        Ok(())
    }
    fn on_batch_begin(&mut self, _model: &mut Model, batch: usize, _logs: &Logs) -> Result<()> {
        self.push(format!("batch_begin {batch}"));
        Ok(())
    }
    fn on_batch_end(&mut self, _model: &mut Model, batch: usize, _logs: &Logs) -> Result<()> {
        self.push(format!("batch_end {batch}"));
        Ok(())
    }
}

#[test]
fn terminate_on_nan_sets_stop_training_on_an_invalid_loss() -> Result<()> {
    let mut model = regressor("sgd");
    let mut cb = TerminateOnNaN::new();
    let mut logs = Logs::new();
    logs.insert("loss".into(), 0.5);
    cb.on_batch_end(&mut model, 0, &logs)?;
    assert!(!model.stop_training);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        model.stop_training = false;
        logs.insert("loss".into(), bad);
        cb.on_batch_end(&mut model, 3, &logs)?;
        assert!(model.stop_training, "loss {bad}");
    }
    Ok(())
}

#[test]
fn terminate_on_nan_stops_fit_at_the_first_bad_batch() -> Result<()> {
    let mut model = regressor("sgd");
    let mut values = features(8, 2).to_f32();
    values[0] = f32::NAN; // sample 0: in the first batch when not shuffled
    let x = Tensor::from_f32(values, [8, 2]).unwrap();
    let y = Tensor::from_f32(vec![1.0; 8], [8, 1]).unwrap();
    let rec = Recorder::default();
    let options = quiet(5)
        .batch_size(2)
        .shuffle(false)
        .callback(TerminateOnNaN::new())
        .callback(rec.clone());
    let history = model.fit(&x, &y, options)?;
    assert_eq!(history.epoch, vec![0]);
    assert!(
        history.stop_reason.as_deref().unwrap().contains("invalid loss"),
        "{:?}",
        history.stop_reason
    );
    assert_eq!(
        rec.events(),
        [
            "train_begin",
            "epoch_begin 0",
            "batch_begin 0",
            "batch_end 0",
            "epoch_end 0",
            "train_end"
        ]
    );
    Ok(())
}

// ---------------------------------------------------------------- CsvLogger

fn read_csv(path: &std::path::Path) -> (String, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
    (header, rows)
}

fn assert_rows_match(rows: &[Vec<String>], history: &History) {
    let keys = ["accuracy", "loss", "val_accuracy", "val_loss"];
    assert_eq!(rows.len(), history.epoch.len());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), 5, "{row:?}");
        assert_eq!(row[0], history.epoch[i].to_string());
        for (k, key) in keys.iter().enumerate() {
            let v: f64 = row[k + 1].parse().unwrap();
            assert_eq!(v, history.get(key).unwrap()[i], "epoch {i} {key}");
        }
    }
}

#[test]
fn csv_logger_writes_one_row_per_epoch_with_history_values() -> Result<()> {
    let dir = TempDir::new("csv");
    let path = dir.0.join("log.csv");
    let mut model = classifier();
    let (x, y) = (features(20, 4), class_labels(20));
    let history = model.fit(&x, &y, quiet(3).validation_split(0.2).callback(CsvLogger::new(&path)))?;
    let (header, rows) = read_csv(&path);
    assert_eq!(header, "epoch,accuracy,loss,val_accuracy,val_loss");
    assert_rows_match(&rows, &history);

    // append: the header stays once, the new rows follow the old ones.
    let history2 = model.fit(
        &x,
        &y,
        quiet(2)
            .validation_split(0.2)
            .callback(CsvLogger::new(&path).append(true)),
    )?;
    let (header, rows) = read_csv(&path);
    assert_eq!(header, "epoch,accuracy,loss,val_accuracy,val_loss");
    assert_eq!(rows.len(), 5);
    assert_rows_match(&rows[..3], &history);
    assert_rows_match(&rows[3..], &history2);

    // Without append the file is replaced.
    let history3 = model.fit(&x, &y, quiet(1).validation_split(0.2).callback(CsvLogger::new(&path)))?;
    let (header, rows) = read_csv(&path);
    assert_eq!(header, "epoch,accuracy,loss,val_accuracy,val_loss");
    assert_rows_match(&rows, &history3);

    // append to a file that does not exist yet writes the header.
    let fresh = dir.0.join("fresh.csv");
    let history4 = model.fit(
        &x,
        &y,
        quiet(2)
            .validation_split(0.2)
            .callback(CsvLogger::new(&fresh).append(true)),
    )?;
    let (header, rows) = read_csv(&fresh);
    assert_eq!(header, "epoch,accuracy,loss,val_accuracy,val_loss");
    assert_rows_match(&rows, &history4);
    Ok(())
}

#[test]
fn csv_logger_separator_and_unwritable_path() -> Result<()> {
    let dir = TempDir::new("csv-sep");
    let path = dir.0.join("log.tsv");
    let mut model = classifier();
    let (x, y) = (features(8, 4), class_labels(8));
    model.fit(&x, &y, quiet(2).callback(CsvLogger::new(&path).separator("\t")))?;
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], "epoch\taccuracy\tloss");
    assert!(lines[1].starts_with("0\t") && lines[2].starts_with("1\t"), "{text}");

    // A path in a directory that does not exist: an Io error naming the file.
    let bad = dir.0.join("missing").join("log.csv");
    let err = model.fit(&x, &y, quiet(1).callback(CsvLogger::new(&bad))).unwrap_err();
    assert!(matches!(err, KilnError::Io { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&bad.display().to_string()), "{err}");
    Ok(())
}

// ---------------------------------------------------------------- user callbacks, hooks

/// Sets `stop_training` at the end of epoch `after` (counting from 1).
struct StopAfter(usize);

impl Callback for StopAfter {
    fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, _logs: &mut Logs) -> Result<()> {
        if epoch + 1 == self.0 {
            model.stop_training = true;
        }
        Ok(())
    }
}

#[test]
fn a_user_callback_stops_training() -> Result<()> {
    let mut model = regressor("sgd");
    let x = features(8, 2);
    let y = linear_targets(&x, 1.0);
    let rec = Recorder::default();
    let history = model.fit(&x, &y, quiet(10).callback(StopAfter(2)).callback(rec.clone()))?;
    assert_eq!(history.epoch, vec![0, 1]);
    assert_eq!(history.get("loss").unwrap().len(), 2);
    assert_eq!(
        history.stop_reason.as_deref(),
        Some("stopped by a callback after epoch 2")
    );
    // on_train_end still runs.
    assert_eq!(rec.events().last().map(String::as_str), Some("train_end"));
    // The next fit starts afresh (stop_training is reset).
    let history = model.fit(&x, &y, quiet(3))?;
    assert_eq!(history.epoch, vec![0, 1, 2]);
    Ok(())
}

/// Stops at the first batch end: the rest of the epoch is skipped.
struct StopAtBatch;

impl Callback for StopAtBatch {
    fn on_batch_end(&mut self, model: &mut Model, _batch: usize, _logs: &Logs) -> Result<()> {
        model.stop_training = true;
        Ok(())
    }
}

#[test]
fn stop_training_during_an_epoch_ends_it_after_the_batch() -> Result<()> {
    let mut model = regressor("sgd");
    let x = features(8, 2);
    let y = linear_targets(&x, 1.0);
    let rec = Recorder::default();
    let history = model.fit(
        &x,
        &y,
        quiet(3).batch_size(2).callback(StopAtBatch).callback(rec.clone()),
    )?;
    assert_eq!(history.epoch, vec![0]);
    assert_eq!(
        rec.events(),
        [
            "train_begin",
            "epoch_begin 0",
            "batch_begin 0",
            "batch_end 0",
            "epoch_end 0",
            "train_end"
        ]
    );
    Ok(())
}

#[test]
fn hooks_run_in_keras_order() -> Result<()> {
    let mut model = regressor("sgd");
    let x = features(4, 2);
    let y = linear_targets(&x, 1.0);
    let rec = Recorder::default();
    model.fit(&x, &y, quiet(2).batch_size(2).callback(rec.clone()))?;
    let expected = [
        "train_begin",
        "epoch_begin 0",
        "batch_begin 0",
        "batch_end 0",
        "batch_begin 1",
        "batch_end 1",
        "epoch_end 0",
        "epoch_begin 1",
        "batch_begin 0",
        "batch_end 0",
        "batch_begin 1",
        "batch_end 1",
        "epoch_end 1",
        "train_end",
    ];
    assert_eq!(rec.events(), expected);
    Ok(())
}

/// Checks what each hook receives and adds an entry at epoch end.
struct LogsProbe(Rc<RefCell<Vec<Logs>>>);

impl Callback for LogsProbe {
    fn on_epoch_end(&mut self, _model: &mut Model, _epoch: usize, logs: &mut Logs) -> Result<()> {
        self.0.borrow_mut().push(logs.clone());
        logs.insert("custom".into(), 42.0);
        Ok(())
    }
}

#[test]
fn history_keys_and_values() -> Result<()> {
    let mut model = classifier();
    let (x, y) = (features(20, 4), class_labels(20));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let history = model.fit(&x, &y, quiet(3).validation_split(0.2).callback(LogsProbe(seen.clone())))?;
    // The callback's entry is recorded too, as Keras's History (called last) sees it.
    let keys: Vec<&str> = history.history.keys().map(String::as_str).collect();
    assert_eq!(keys, ["accuracy", "custom", "loss", "val_accuracy", "val_loss"]);
    assert_eq!(history.epoch, vec![0, 1, 2]);
    for (k, v) in &history.history {
        assert_eq!(v.len(), 3, "{k}");
    }
    // Epoch-end logs hold exactly what History records.
    let seen = seen.borrow();
    for (e, logs) in seen.iter().enumerate() {
        let keys: Vec<&str> = logs.keys().map(String::as_str).collect();
        assert_eq!(keys, ["accuracy", "loss", "val_accuracy", "val_loss"]);
        for (k, v) in logs {
            assert_eq!(history.get(k).unwrap()[e], *v, "{k} at epoch {e}");
        }
    }
    assert_eq!(history.last("custom"), Some(42.0));
    // Accuracies are fractions of the 16 training / 4 validation samples.
    for a in history.get("accuracy").unwrap() {
        assert!(((a * 16.0).round() - a * 16.0).abs() < 1e-6, "{a}");
    }
    for a in history.get("val_accuracy").unwrap() {
        assert!(((a * 4.0).round() - a * 4.0).abs() < 1e-6, "{a}");
    }

    // Without validation there are no val_ keys.
    let history = model.fit(&x, &y, quiet(1))?;
    let keys: Vec<&str> = history.history.keys().map(String::as_str).collect();
    assert_eq!(keys, ["accuracy", "loss"]);
    Ok(())
}

#[test]
fn evaluate_after_fit_matches_a_hand_computed_loss() -> Result<()> {
    kiln::set_random_seed(5);
    let mut model = Sequential::new();
    model.add(Dense::new(6).activation("tanh").input_shape([3]))?;
    model.add(Dense::new(2))?;
    model.compile("adam", "mse", &["mae"])?;
    // 40 samples: evaluate runs a batch of 32 and one of 8, weighted by size.
    let n = 40;
    let x = features(n, 3);
    let xv = x.to_f32();
    let y: Vec<f32> = xv.chunks(3).flat_map(|r| [r[0] * r[1] + 0.3, r[2] - r[0]]).collect();
    let y = Tensor::from_f32(y, [n, 2]).unwrap();
    model.fit(&x, &y, quiet(3).batch_size(8))?;
    let logs = model.evaluate(&x, &y)?;
    let p = model.predict(&x)?.to_f32();
    let t = y.to_f32();
    let mse: f64 = p.iter().zip(&t).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>() / t.len() as f64;
    let mae: f64 = p.iter().zip(&t).map(|(a, b)| ((a - b) as f64).abs()).sum::<f64>() / t.len() as f64;
    assert!(
        (logs["loss"] - mse).abs() < 1e-5,
        "evaluate {} vs hand {mse}",
        logs["loss"]
    );
    assert!(
        (logs["mae"] - mae).abs() < 1e-5,
        "evaluate {} vs hand {mae}",
        logs["mae"]
    );
    assert_eq!(logs.keys().collect::<Vec<_>>(), ["loss", "mae"]);
    Ok(())
}
