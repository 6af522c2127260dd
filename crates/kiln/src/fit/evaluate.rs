//! `evaluate` and `predict`.

use super::data::{Data, batches, conform};
use super::options::{EvaluateOptions, PredictOptions};
use super::progress::ProgressBar;
use super::train::read_means;
use crate::callbacks::Logs;
use crate::error::{KilnError, Result};
use crate::model::Model;
use kiln_burn::{OutputSums, RunMode};
use kiln_ir::HostTensor;

impl Model {
    /// The loss and metrics on `x` and `y`, in inference mode (batches of 32), as Keras's
    /// `evaluate(..., return_dict=True)`.
    pub fn evaluate(&self, x: impl Into<Data>, y: impl Into<Data>) -> Result<Logs> {
        self.evaluate_with(x, y, EvaluateOptions::default())
    }

    /// [`evaluate`](Model::evaluate) with options.
    ///
    /// The batches' losses and metrics are summed on the device and read back when the
    /// progress bar redraws and at the end, as in [`fit`](Model::fit).
    pub fn evaluate_with(&self, x: impl Into<Data>, y: impl Into<Data>, options: EvaluateOptions) -> Result<Logs> {
        let (x, y) = self.conform_xy(x.into(), y.into())?;
        crate::denormals::apply();
        if x.is_empty() {
            return Err(KilnError::Data(format!(
                "model '{}': evaluate received an empty dataset (0 samples)",
                self.name
            )));
        }
        let steps = x.len().div_ceil(options.batch_size.max(1));
        let mut bar = ProgressBar::new(steps, options.verbose);
        let logs = self.evaluate_inner(&x, &y, options.batch_size, &mut bar)?;
        bar.finish(&logs);
        Ok(logs)
    }

    pub(crate) fn evaluate_data(&self, x: &Data, y: &Data, batch_size: usize) -> Result<Logs> {
        self.evaluate_inner(x, y, batch_size, &mut ProgressBar::new(1, 0))
    }

    fn evaluate_inner(&self, x: &Data, y: &Data, batch_size: usize, bar: &mut ProgressBar) -> Result<Logs> {
        let compiled = self.compiled()?;
        let session = &self.built()?.session;
        let order: Vec<usize> = (0..x.len()).collect();
        let mut sums = OutputSums::new();
        for (i, idx) in batches(&order, batch_size).enumerate() {
            match &self.replicas {
                Some(r) => {
                    let shards = r.shards(x, Some(y), idx);
                    for (outs, rows) in
                        session.run_sharded_deferred(&r.engines, &compiled.eval_plan, shards, RunMode::default())?
                    {
                        sums.add(&outs, rows)?;
                    }
                }
                None => {
                    let mut inputs = x.rows(idx);
                    inputs.extend(y.rows(idx));
                    let outs = session.run_deferred(&compiled.eval_plan, inputs, RunMode::default())?;
                    sums.add(&outs, idx.len())?;
                }
            }
            if bar.due(i + 1) {
                bar.update(i + 1, &read_means(&sums, &compiled.log_names)?.1);
            }
        }
        Ok(read_means(&sums, &compiled.log_names)?.1)
    }

    /// The model's output for inputs `x`, in inference mode (batches of 32), for a model
    /// with one output. Use [`predict_multi`](Model::predict_multi) for several outputs.
    pub fn predict(&self, x: impl Into<Data>) -> Result<HostTensor> {
        self.predict_with(x, PredictOptions::default())
    }

    /// [`predict`](Model::predict) with options.
    pub fn predict_with(&self, x: impl Into<Data>, options: PredictOptions) -> Result<HostTensor> {
        let mut outs = self.predict_multi(x, options)?;
        if outs.len() != 1 {
            return Err(KilnError::Model {
                model: self.name.clone(),
                message: format!(
                    "predict returns one array but the model has {} outputs; use predict_multi",
                    outs.len()
                ),
            });
        }
        Ok(outs.remove(0))
    }

    /// Every output of the model for inputs `x`, in output order.
    pub fn predict_multi(&self, x: impl Into<Data>, options: PredictOptions) -> Result<Vec<HostTensor>> {
        let built = self.built()?;
        let x = self.prediction_inputs(x.into(), "predict received an empty dataset")?;
        crate::denormals::apply();
        let order: Vec<usize> = (0..x.len()).collect();
        let mut parts: Vec<Vec<HostTensor>> = vec![Vec::new(); built.outputs.len()];
        for idx in batches(&order, options.batch_size) {
            let outs = match &self.replicas {
                Some(r) => {
                    built
                        .session
                        .run_sharded(&r.engines, &built.plan, r.shards(&x, None, idx), RunMode::default())?
                }
                None => vec![built.session.run_owned(&built.plan, x.rows(idx), RunMode::default())?],
            };
            for outs in outs {
                for (p, o) in parts.iter_mut().zip(outs) {
                    p.push(o);
                }
            }
        }
        parts
            .iter()
            .map(|p| {
                HostTensor::concat_rows(p).ok_or_else(|| KilnError::Model {
                    model: self.name.clone(),
                    message: "the batches' outputs have different shapes".into(),
                })
            })
            .collect()
    }
}

impl Model {
    /// `x` checked against the model's inputs (names, dtypes, shapes) for prediction; no
    /// samples is an error saying `empty` ("predict received an empty dataset").
    pub(crate) fn prediction_inputs(&self, x: Data, empty: &str) -> Result<Data> {
        let built = self.built()?;
        let names: Vec<String> = built.graph.inputs().iter().map(|i| i.name.clone()).collect();
        let types: Vec<_> = built.inputs.iter().map(|t| t.tensor_type().clone()).collect();
        let x = conform(&self.name, "input", &names, &types, x)?;
        if x.is_empty() {
            return Err(KilnError::Data(format!("model '{}': {empty} (0 samples)", self.name)));
        }
        Ok(x)
    }
}
