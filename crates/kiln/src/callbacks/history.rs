//! `History`: every epoch's logs, returned by `fit`.

use super::Logs;
use std::collections::BTreeMap;

/// What `fit` returns: the logs of every epoch, by name.
///
/// `history.history["loss"]` holds one value per epoch, as in Keras.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Values per epoch, by log name.
    pub history: BTreeMap<String, Vec<f64>>,
    /// The epochs run (counting from 0).
    pub epoch: Vec<usize>,
    /// Why training ended early, if it did (early stopping, an invalid loss, …).
    pub stop_reason: Option<String>,
}

impl History {
    pub(crate) fn record(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (k, v) in logs {
            self.history.entry(k.clone()).or_default().push(*v);
        }
    }

    /// The values of `key`, one per epoch.
    pub fn get(&self, key: &str) -> Option<&[f64]> {
        self.history.get(key).map(Vec::as_slice)
    }

    /// The last value of `key`.
    pub fn last(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(|v| v.last().copied())
    }
}
