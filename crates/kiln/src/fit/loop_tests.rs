//! `fit` (batches gathered on a worker thread, outputs summed on the device) trains on
//! exactly the batches, order and seeds of the plain route: one `train_step` per batch
//! gathered on this thread, each read back at once and averaged on the host.

use super::data::Data;
use crate::callbacks::Logs;
use crate::error::Result;
use crate::prelude::*;
use kiln_ir::{HostTensor, Rng};
use std::cell::RefCell;
use std::rc::Rc;

/// A model with dropout (so per-step seeds matter) on the ndarray engine.
fn model() -> Model {
    crate::set_random_seed(3);
    let mut m = Sequential::new();
    m.add(Dense::new(8).activation("relu").input_shape([5])).unwrap();
    m.add(Dropout::new(0.3)).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile("adam", "categorical_crossentropy", &["accuracy"]).unwrap();
    m.to_device(&crate::Device::Ndarray).unwrap();
    m
}

fn data(n: usize) -> (HostTensor, HostTensor) {
    let x = HostTensor::from_f32((0..n * 5).map(|i| ((i as f32) * 0.37 + 0.1).sin()).collect(), [n, 5]).unwrap();
    let y = (0..n).flat_map(|i| (0..3).map(move |k| if (i * 7 + 1) % 3 == k { 1.0 } else { 0.0 }));
    (x, HostTensor::from_f32(y.collect(), [n, 3]).unwrap())
}

/// Records the logs of every `on_batch_end`.
#[derive(Clone, Default)]
struct BatchLogs(Rc<RefCell<Vec<Logs>>>);

impl Callback for BatchLogs {
    fn on_batch_end(&mut self, _model: &mut Model, _batch: usize, logs: &Logs) -> Result<()> {
        self.0.borrow_mut().push(logs.clone());
        Ok(())
    }
}

#[test]
fn fit_trains_on_the_batches_and_seeds_of_the_plain_route() -> Result<()> {
    let (n, batch_size, epochs) = (37, 8, 3);
    let (x, y) = data(n);

    let mut fitted = model();
    let seen = BatchLogs::default();
    crate::set_random_seed(11);
    let options = FitOptions::new()
        .epochs(epochs)
        .batch_size(batch_size)
        .verbose(0)
        .callback(seen.clone());
    let history = fitted.fit(&x, &y, options)?;

    // The plain route: the same seed drawn from the same sequence, the same shuffles and
    // per-step seeds, each step on rows gathered here and read back at once.
    let mut plain = model();
    crate::set_random_seed(11);
    let fit_seed = plain.fit_seed(0)?;
    let (xs, ys) = (Data(vec![x.clone()]), Data(vec![y.clone()]));
    let names = plain.compiled()?.log_names.clone();
    let steps = n.div_ceil(batch_size);
    let mut step_logs = Vec::new();
    let mut epoch_losses = Vec::new();
    for epoch in 0..epochs {
        let mut order: Vec<usize> = (0..n).collect();
        Rng::stream(fit_seed, epoch as u64).shuffle(&mut order);
        let (mut sums, mut count) = (vec![0.0f64; names.len()], 0.0);
        for (batch, idx) in order.chunks(batch_size).enumerate() {
            let mut inputs = xs.rows(idx);
            inputs.extend(ys.rows(idx));
            let seed = Rng::stream(fit_seed ^ 0xD1B5_4A32_D192_ED03, (epoch * steps + batch) as u64).next_u64();
            let values = plain.train_batch(&inputs, seed)?;
            for (s, v) in sums.iter_mut().zip(&values) {
                *s += v * idx.len() as f64;
            }
            count += idx.len() as f64;
            step_logs.push(
                names
                    .iter()
                    .cloned()
                    .zip(sums.iter().map(|s| s / count))
                    .collect::<Logs>(),
            );
        }
        epoch_losses.push(sums[0] / count);
    }

    // Same batches, order and seeds: the same weights, bit for bit.
    assert_eq!(fitted.get_weights()?, plain.get_weights()?);
    assert_eq!(fitted.optimizer_iterations()?, (epochs * steps) as u64);
    // The running means summed on the device (f32) against the host's (f64).
    let seen = seen.0.borrow();
    assert_eq!(seen.len(), step_logs.len());
    for (i, (got, want)) in seen.iter().zip(&step_logs).enumerate() {
        assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
        for (k, w) in want {
            let g = got[k];
            assert!((g - w).abs() <= 1e-6 * (1.0 + w.abs()), "step {i} {k}: {g} against {w}");
        }
    }
    for (g, w) in history.get("loss").unwrap().iter().zip(&epoch_losses) {
        assert!((g - w).abs() <= 1e-6 * (1.0 + w.abs()), "epoch loss {g} against {w}");
    }
    Ok(())
}
