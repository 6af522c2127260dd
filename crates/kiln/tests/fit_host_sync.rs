//! When `fit` reads losses and metrics back from the device: after every batch while a
//! callback reads batch logs, otherwise only for the progress bar and at the end of the
//! epoch — and the invalid-loss stop at each read-back.

use kiln::callbacks::Logs;
use kiln::prelude::*;
use kiln::{FitOptions, Result};
use std::cell::RefCell;
use std::rc::Rc;

fn features(n: usize, d: usize) -> Tensor {
    Tensor::from_f32((0..n * d).map(|i| ((i as f32) * 0.37 + 0.2).sin()).collect(), [n, d]).unwrap()
}

fn regressor() -> Model {
    kiln::set_random_seed(5);
    let mut model = Sequential::new();
    model.add(Dense::new(1).input_shape([2])).unwrap();
    model.compile(Sgd::new().learning_rate(0.05), "mse", &[]).unwrap();
    model
}

/// Records `batch: number of log entries` at every `on_batch_end`.
#[derive(Clone)]
struct Probe {
    reads: bool,
    seen: Rc<RefCell<Vec<(usize, usize)>>>,
}

impl Probe {
    fn new(reads: bool) -> Self {
        Probe {
            reads,
            seen: Rc::default(),
        }
    }
    fn seen(&self) -> Vec<(usize, usize)> {
        self.seen.borrow().clone()
    }
}

impl Callback for Probe {
    fn on_batch_end(&mut self, _model: &mut Model, batch: usize, logs: &Logs) -> Result<()> {
        self.seen.borrow_mut().push((batch, logs.len()));
        Ok(())
    }
    fn reads_batch_logs(&self) -> bool {
        self.reads
    }
}

fn options(epochs: usize) -> FitOptions {
    FitOptions::new().epochs(epochs).batch_size(2).shuffle(false).verbose(0)
}

#[test]
fn batch_logs_are_read_back_only_while_a_callback_reads_them() -> Result<()> {
    let x = features(8, 2);
    let y = features(8, 1);
    // Nobody reads them (and no progress bar on a terminal): every batch gets empty logs,
    // and the epoch still gets its averages.
    let quiet = Probe::new(false);
    let history = regressor().fit(&x, &y, options(1).callback(quiet.clone()))?;
    assert_eq!(quiet.seen(), [(0, 0), (1, 0), (2, 0), (3, 0)]);
    let loss = history.get("loss").unwrap()[0];
    assert!(loss.is_finite() && loss > 0.0, "{loss}");
    // One callback reads them: every callback gets the running loss after every batch.
    let (quiet, reader) = (Probe::new(false), Probe::new(true));
    let again = regressor().fit(&x, &y, options(1).callback(quiet.clone()).callback(reader.clone()))?;
    assert_eq!(quiet.seen(), [(0, 1), (1, 1), (2, 1), (3, 1)]);
    assert_eq!(reader.seen(), quiet.seen());
    // Reading back changes no number.
    assert_eq!(again.get("loss"), history.get("loss"));
    // Kiln's epoch-level callbacks do not read batch logs.
    assert!(!EarlyStopping::new().reads_batch_logs());
    assert!(TerminateOnNaN::new().reads_batch_logs());
    Ok(())
}

#[test]
fn an_invalid_loss_stops_at_the_next_read_back() -> Result<()> {
    let mut values = features(8, 2).to_f32();
    values[4] = f32::NAN; // sample 2, in batch 1 of 4
    let x = Tensor::from_f32(values, [8, 2]).unwrap();
    let y = features(8, 1);
    // Read back after every batch: the epoch ends at the bad batch.
    let reader = Probe::new(true);
    let history = regressor().fit(&x, &y, options(5).callback(reader.clone()))?;
    assert_eq!(
        history.stop_reason.as_deref(),
        Some("Epoch 1, batch 1: invalid loss (NaN), terminating training")
    );
    assert_eq!(reader.seen(), [(0, 1), (1, 1)]);
    assert_eq!(history.epoch, vec![0]);
    // Read back at the end of the epoch only: the epoch runs out, then training stops.
    let quiet = Probe::new(false);
    let mut model = regressor();
    let history = model.fit(&x, &y, options(5).callback(quiet.clone()))?;
    assert_eq!(
        history.stop_reason.as_deref(),
        Some("Epoch 1, batch 3: invalid loss (NaN), terminating training")
    );
    assert_eq!(quiet.seen().len(), 4);
    assert_eq!(history.epoch, vec![0]);
    assert!(history.get("loss").unwrap()[0].is_nan());
    assert_eq!(model.optimizer_iterations()?, 4);
    Ok(())
}
