//! `compile`: the training graph (model, losses, metrics) and the optimizer.

use crate::error::{KilnError, Result};
use crate::graph_ops::Ops;
use crate::losses::Loss;
use crate::metrics::{Metric, NamedMetric};
use crate::model::Model;
use crate::optimizers::{Optimizer, OptimizerArg};
use kiln_burn::Plan;
use kiln_ir::{Graph, TensorType, ValueId, verify};

/// The loss argument of `compile`: one loss for every output, or one per output, each
/// by Keras name or as a [`Loss`].
#[derive(Clone, Debug, PartialEq)]
pub enum LossArg {
    /// The same loss for every output.
    One(LossName),
    /// One loss per output, in output order.
    PerOutput(Vec<LossName>),
}

/// A loss by name or in full.
#[derive(Clone, Debug, PartialEq)]
pub enum LossName {
    /// A Keras name.
    Name(String),
    /// A configured loss.
    Loss(Loss),
}

impl LossName {
    fn resolve(&self) -> Result<Loss> {
        match self {
            LossName::Name(n) => Loss::from_name(n),
            LossName::Loss(l) => Ok(l.clone()),
        }
    }
}

impl From<&str> for LossArg {
    fn from(s: &str) -> Self {
        LossArg::One(LossName::Name(s.into()))
    }
}

impl From<Loss> for LossArg {
    fn from(l: Loss) -> Self {
        LossArg::One(LossName::Loss(l))
    }
}

impl From<Vec<&str>> for LossArg {
    fn from(v: Vec<&str>) -> Self {
        LossArg::PerOutput(v.into_iter().map(|s| LossName::Name(s.into())).collect())
    }
}

impl From<Vec<Loss>> for LossArg {
    fn from(v: Vec<Loss>) -> Self {
        LossArg::PerOutput(v.into_iter().map(LossName::Loss).collect())
    }
}

/// A compiled model's training set-up.
pub(crate) struct Compiled {
    pub optimizer: Optimizer,
    /// The training step: loss, metrics and state updates.
    pub plan: Plan,
    /// The same graph for evaluation: no state updates.
    pub eval_plan: Plan,
    pub graph: Graph,
    /// Log names of the training graph's outputs (`loss`, then per-output losses, then
    /// metrics).
    pub log_names: Vec<String>,
    /// The type each target must have.
    pub target_types: Vec<TensorType>,
    /// The loss of each output.
    pub losses: Vec<Loss>,
    /// The metric names as given to `compile`.
    pub metrics: Vec<String>,
    /// The seed of the random streams (shuffling, dropout) of the latest `fit`, which a
    /// `fit` resuming at `initial_epoch > 0` continues (`None` before the first `fit`).
    pub fit_seed: Option<u64>,
}

impl Model {
    /// Configures the model for training, as Keras's `compile(optimizer, loss, metrics)`.
    ///
    /// - `optimizer`: `"sgd"`, `"adam"`, `"rmsprop"` or a configured
    ///   [`Sgd`](crate::optimizers::Sgd) / [`Adam`](crate::optimizers::Adam) /
    ///   [`RmsProp`](crate::optimizers::RmsProp).
    /// - `loss`: a Keras loss name or [`Loss`] for every output, or a `Vec` with one per output.
    /// - `metrics`: metric names for every output (`"accuracy"` resolves as Keras does).
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let mut model = Sequential::new();
    /// model.add(Dense::new(3).activation("softmax").input_shape([4]))?;
    /// model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    /// let err = model.compile("adamm", "mse", &[]).unwrap_err().to_string();
    /// assert_eq!(err, "unknown optimizer 'adamm'. Expected one of: sgd, adam, rmsprop");
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    pub fn compile(
        &mut self,
        optimizer: impl Into<OptimizerArg>,
        loss: impl Into<LossArg>,
        metrics: &[&str],
    ) -> Result<()> {
        let optimizer = optimizer.into().resolve()?;
        if self.replicas.is_none()
            && let Some(distribution) = crate::distribution::distribution()
        {
            self.set_distribution(Some(distribution))?;
        }
        let names = self.output_names();
        let built = self.built()?;
        let outputs = built.graph.outputs().to_vec();
        let losses: Vec<Loss> = match loss.into() {
            LossArg::One(l) => {
                let l = l.resolve()?;
                vec![l; outputs.len()]
            }
            LossArg::PerOutput(v) => {
                if v.len() != outputs.len() {
                    return Err(KilnError::Model {
                        model: self.name.clone(),
                        message: format!(
                            "compile received {} losses for a model with {} outputs",
                            v.len(),
                            outputs.len()
                        ),
                    });
                }
                v.iter().map(LossName::resolve).collect::<Result<_>>()?
            }
        };
        let mut graph = built.graph.clone();
        let multi = outputs.len() > 1;
        let mut target_types = Vec::new();
        let mut loss_values = Vec::new();
        let mut metric_values: Vec<(String, ValueId)> = Vec::new();
        let masks = built.output_masks.clone();
        for (((out, loss), name), mask) in outputs.iter().zip(&losses).zip(&names).zip(masks) {
            let pred_ty = graph.value_type(*out)?.clone();
            let target_ty = loss.target_type(&pred_ty);
            let target = graph.add_input(format!("{name}_target"), target_ty.clone());
            target_types.push(target_ty);
            loss_values.push(loss.emit(&mut graph, &format!("loss:{name}"), target, *out, mask)?);
            for m in metrics {
                let metric = NamedMetric {
                    name: m.to_string(),
                    metric: Metric::resolve(m, loss, &pred_ty)?,
                };
                let v = metric
                    .metric
                    .emit(&mut graph, &format!("metric:{m}"), target, *out, mask)?;
                let key = if multi { format!("{name}_{m}") } else { m.to_string() };
                metric_values.push((key, v));
            }
        }
        let mut ops = Ops::new(&mut graph, "loss");
        let mut total = loss_values[0];
        for &l in &loss_values[1..] {
            total = ops.add(total, l)?;
        }
        // Regularization penalties the layers added count in the reported loss, as in Keras.
        for l in built.graph.losses().to_vec() {
            total = ops.add(total, l)?;
        }
        let mut graph_outputs = vec![total];
        let mut log_names = vec!["loss".to_string()];
        if multi {
            for (l, name) in loss_values.iter().zip(&names) {
                graph_outputs.push(*l);
                log_names.push(format!("{name}_loss"));
            }
        }
        for (k, v) in metric_values {
            graph_outputs.push(v);
            log_names.push(k);
        }
        graph.set_outputs(graph_outputs);
        verify(&graph)?;
        let model_dtype = self.dtype_policy().compute_dtype();
        let layer_dtypes: std::collections::HashMap<String, Option<kiln_burn::ComputeDType>> = self
            .layer_policies
            .iter()
            .map(|(l, p)| (l.clone(), p.compute_dtype()))
            .collect();
        let policy = |label: &str| layer_dtypes.get(label).copied().unwrap_or(model_dtype);
        let plan = Plan::compile_training(&graph)?.autocast(policy);
        let eval_plan = Plan::compile(&graph)?.autocast(policy);
        self.check_compute_dtypes(&plan)?;
        let built = self.built_mut()?;
        built.plan = built.plan.clone().autocast(policy);
        let float16 = plan.compute_dtypes().contains(&kiln_burn::ComputeDType::F16);
        let loss_scale = built.session.loss_scale().unwrap_or_default();
        built.session.set_loss_scaling(float16.then_some(loss_scale));
        self.compiled = Some(Compiled {
            optimizer,
            plan,
            eval_plan,
            graph,
            log_names,
            target_types,
            losses,
            metrics: metrics.iter().map(|m| m.to_string()).collect(),
            fit_seed: None,
        });
        self.built_mut()?.session.reset_optimizer();
        Ok(())
    }

    /// An error naming the engine and the type when a device of the model cannot compute
    /// in a 16-bit type that `plan` uses.
    fn check_compute_dtypes(&self, plan: &Plan) -> Result<()> {
        let dtypes = plan.compute_dtypes();
        if dtypes.is_empty() {
            return Ok(());
        }
        let engines = match &self.replicas {
            Some(r) => r.engines.clone(),
            None => vec![self.device.engine()?],
        };
        for engine in &engines {
            if let Some(dtype) = dtypes.iter().find(|&&d| !engine.supports(d)) {
                return Err(KilnError::Model {
                    model: self.name.clone(),
                    message: format!(
                        "dtype policy '{}': the {} engine (device '{}') cannot compute in {dtype}; use the float32 policy on it, or a device that can (flex, tch, a wgpu adapter with {dtype} support)",
                        self.dtype_policy(),
                        engine.backend(),
                        engine.name()
                    ),
                });
            }
        }
        Ok(())
    }

    pub(crate) fn compiled(&self) -> Result<&Compiled> {
        self.compiled
            .as_ref()
            .ok_or_else(|| KilnError::NotCompiled(self.name.clone()))
    }

    /// The seed of `fit`'s random streams (shuffling by epoch, dropout by step). Each
    /// `fit` draws a new one from the global sequence ([`crate::set_random_seed`]); a
    /// `fit` that starts at `initial_epoch > 0` on a model that has been fit before (in
    /// this process, or before it was saved with [`Model::save`]) continues the earlier
    /// `fit`'s streams instead, so epochs `initial_epoch..` shuffle and drop out exactly
    /// as they would have in one uninterrupted `fit`.
    pub(crate) fn fit_seed(&mut self, initial_epoch: usize) -> Result<u64> {
        let fresh = crate::random::next_seed();
        let name = self.name.clone();
        let compiled = self.compiled.as_mut().ok_or(KilnError::NotCompiled(name))?;
        let seed = match compiled.fit_seed {
            Some(previous) if initial_epoch > 0 => previous,
            _ => fresh,
        };
        compiled.fit_seed = Some(seed);
        Ok(seed)
    }

    /// The optimizer's step count (Keras's `optimizer.iterations`): 0 after `compile`,
    /// one more after every training batch; [`Model::load`] restores it.
    pub fn optimizer_iterations(&self) -> Result<u64> {
        self.compiled()?;
        Ok(self.built()?.session.iterations())
    }

    /// The optimizer's current learning rate.
    pub fn learning_rate(&self) -> Result<f32> {
        Ok(self.compiled()?.optimizer.learning_rate)
    }

    /// Sets the optimizer's learning rate (as callbacks do).
    pub fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        let name = self.name.clone();
        let compiled = self.compiled.as_mut().ok_or(KilnError::NotCompiled(name))?;
        compiled.optimizer.learning_rate = lr;
        Ok(())
    }

    /// The training graph (model, losses and metrics), once compiled.
    pub fn training_graph(&self) -> Result<&Graph> {
        Ok(&self.compiled()?.graph)
    }
}
