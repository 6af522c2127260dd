//! Timing a model: milliseconds per training step and per `predict` batch on synthetic
//! data of the model's own shapes (what `kiln bench` prints).
//!
//! ```
//! use kiln::bench::{BenchOptions, bench_model};
//! use kiln::prelude::*;
//!
//! let mut model = Sequential::new();
//! model.add(Dense::new(8).activation("relu").input_shape([4]))?;
//! model.add(Dense::new(3).activation("softmax"))?;
//! let report = bench_model(&mut model, &BenchOptions::new().batch_size(16).steps(3).warmup(1))?;
//! // Not compiled: Adam, with the loss that fits a softmax output.
//! assert_eq!(report.losses, ["categorical_crossentropy"]);
//! assert_eq!(report.train.step_ms.len(), 3);
//! assert!(report.predict.samples_per_second > 0.0);
//! # Ok::<(), kiln::KilnError>(())
//! ```

use crate::error::{KilnError, Result};
use crate::losses::Loss;
use crate::model::{Model, Producer};
use kiln_ir::{DType, HostTensor, Op, Rng, Shape, TensorType, ValueDef};
use serde::Serialize;
use std::rc::Rc;
use std::time::Instant;

/// What [`bench_model`] measures and on what.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchOptions {
    /// Samples per step (default 32, Keras's default batch size).
    pub batch_size: usize,
    /// Timed steps of each kind (default 20).
    pub steps: usize,
    /// Untimed steps of each kind first (default 3): engines compile kernels and warm
    /// caches on the first runs.
    pub warmup: usize,
    /// The shape of each input without the batch dimension, in input order, for inputs
    /// whose shape has unknown dimensions besides the batch (e.g. `(None, None, 8)`);
    /// `None` (or a missing entry) takes the model's own shape.
    pub input_shapes: Vec<Option<Vec<usize>>>,
    /// Seed of the synthetic inputs and targets (default 0).
    pub seed: u64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            batch_size: 32,
            steps: 20,
            warmup: 3,
            input_shapes: Vec::new(),
            seed: 0,
        }
    }
}

impl BenchOptions {
    /// The defaults: batch size 32, 20 timed steps after 3 warm-up steps.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the batch size.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// Sets the number of timed steps.
    pub fn steps(mut self, n: usize) -> Self {
        self.steps = n;
        self
    }

    /// Sets the number of warm-up steps.
    pub fn warmup(mut self, n: usize) -> Self {
        self.warmup = n;
        self
    }

    /// Sets the input shapes (without the batch dimension), in input order.
    pub fn input_shapes(mut self, shapes: Vec<Option<Vec<usize>>>) -> Self {
        self.input_shapes = shapes;
        self
    }
}

/// The times of one kind of step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timing {
    /// Median milliseconds per step.
    pub median_ms: f64,
    /// Fastest step, in milliseconds.
    pub min_ms: f64,
    /// Slowest step, in milliseconds.
    pub max_ms: f64,
    /// Samples per second at the median step time.
    pub samples_per_second: f64,
    /// Every timed step, in milliseconds, in order.
    pub step_ms: Vec<f64>,
}

impl Timing {
    fn from_steps(step_ms: Vec<f64>, batch_size: usize) -> Timing {
        let mut sorted = step_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => f64::NAN,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Timing {
            median_ms: median,
            min_ms: sorted.first().copied().unwrap_or(f64::NAN),
            max_ms: sorted.last().copied().unwrap_or(f64::NAN),
            samples_per_second: batch_size as f64 * 1000.0 / median,
            step_ms,
        }
    }
}

/// What [`bench_model`] measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchReport {
    /// The model's name.
    pub model: String,
    /// The device it ran on.
    pub device: String,
    /// Samples per step.
    pub batch_size: usize,
    /// Timed steps of each kind.
    pub steps: usize,
    /// Untimed warm-up steps of each kind.
    pub warmup: usize,
    /// The input shapes used, batch included.
    pub input_shapes: Vec<Vec<usize>>,
    /// Whether the model came compiled (its own optimizer and losses were timed); if not,
    /// it was compiled with Adam and a loss chosen by each output's last activation.
    pub compiled: bool,
    /// The optimizer's Keras name.
    pub optimizer: String,
    /// The loss of each output, by Keras name.
    pub losses: Vec<String>,
    /// The last activation of each output (`linear` when it ends in no activation).
    pub output_activations: Vec<String>,
    /// One training step (forward, backward, optimizer update) on one batch.
    pub train: Timing,
    /// One `predict` on one batch.
    pub predict: Timing,
    /// The process's peak resident memory in bytes (Linux's `VmHWM`); `None` elsewhere.
    pub peak_rss_bytes: Option<u64>,
}

impl BenchReport {
    /// The report as one JSON object (its fields as named here).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// The process's peak resident memory in bytes: `VmHWM` of `/proc/self/status` on Linux,
/// `None` where that is not available.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The name of the activation that ends each output (`linear` when there is none).
fn output_activations(model: &Model) -> Result<Vec<String>> {
    let graph = model.graph()?;
    Ok(graph
        .outputs()
        .iter()
        .map(|v| match graph.values().get(v.index()).map(|d| d.def) {
            Some(ValueDef::Node(id)) => match &graph.node(id).op {
                Op::Activation { kind } => kind.name().to_string(),
                _ => "linear".to_string(),
            },
            _ => "linear".to_string(),
        })
        .collect())
}

/// The loss that fits an output ending in `activation`.
fn loss_for(activation: &str) -> Loss {
    match activation {
        "softmax" => Loss::CategoricalCrossentropy { from_logits: false },
        "sigmoid" => Loss::BinaryCrossentropy { from_logits: false },
        _ => Loss::MeanSquaredError,
    }
}

/// The number of valid indices of each int32 input: the `input_dim` of the first layer
/// that takes it (an `Embedding`), else 2.
fn index_ranges(model: &Model) -> Result<Vec<usize>> {
    let built = model.built()?;
    Ok(built
        .inputs
        .iter()
        .map(|input| {
            built
                .nodes
                .iter()
                .filter(|n| n.inputs.iter().any(|t| Rc::ptr_eq(&t.node, &input.node)))
                .find_map(|n| match &n.producer {
                    Producer::Layer(layer) => Some(layer.config()),
                    Producer::Input { .. } => None,
                })
                .and_then(|config| config.get("input_dim").and_then(serde_json::Value::as_u64))
                .map_or(2, |n| n.max(1) as usize)
        })
        .collect())
}

/// The concrete input shapes, batch included: the model's, with `given` for unknown dims.
fn input_shapes(model: &Model, options: &BenchOptions) -> Result<Vec<(String, TensorType, Vec<usize>)>> {
    let graph = model.graph()?;
    if options.input_shapes.len() > graph.inputs().len() {
        return Err(KilnError::Data(format!(
            "model '{}' takes {} input(s) but {} input shapes were given",
            model.name(),
            graph.inputs().len(),
            options.input_shapes.len()
        )));
    }
    let mut shapes = Vec::new();
    for (i, input) in graph.inputs().iter().enumerate() {
        let ty = graph.value_type(input.value)?.clone();
        let dims = ty.shape.dims();
        let shape = match options.input_shapes.get(i).cloned().flatten() {
            Some(given) => {
                let mut shape = vec![options.batch_size];
                shape.extend(given);
                if !ty.shape.accepts(&shape) {
                    return Err(KilnError::Data(format!(
                        "model '{}': the shape given for input '{}', {}, does not fit its shape {}",
                        model.name(),
                        input.name,
                        Shape::fixed(shape.iter().copied()).keras_string(),
                        ty.shape.keras_string()
                    )));
                }
                shape
            }
            None => {
                let rest: Option<Vec<usize>> = dims.iter().skip(1).copied().collect();
                match rest {
                    Some(rest) if !dims.is_empty() => [vec![options.batch_size], rest].concat(),
                    _ => {
                        return Err(KilnError::Data(format!(
                            "model '{}': input '{}' has shape {}, with unknown dimensions besides the batch; give its shape without the batch (e.g. `kiln bench --input-shape 10,8`, or BenchOptions::input_shapes)",
                            model.name(),
                            input.name,
                            ty.shape.keras_string()
                        )));
                    }
                }
            }
        };
        shapes.push((input.name.clone(), ty, shape));
    }
    Ok(shapes)
}

/// Synthetic data: uniform in [0, 1) for float32, indices below `range` for int32.
fn synthetic(rng: &mut Rng, dtype: DType, shape: &[usize], range: usize) -> Result<HostTensor> {
    let n: usize = shape.iter().product();
    let made = match dtype {
        DType::F32 => HostTensor::from_f32((0..n).map(|_| rng.uniform() as f32).collect(), shape.to_vec()),
        DType::I32 => HostTensor::from_i32((0..n).map(|_| rng.below(range.max(1)) as i32).collect(), shape.to_vec()),
    };
    made.map_err(|e| KilnError::Data(e.to_string()))
}

/// A target for `loss` and an output of shape `out`: one-hot rows for categorical
/// cross-entropy, class labels for the sparse one, 0/1 for binary cross-entropy,
/// uniform values otherwise.
fn target(rng: &mut Rng, loss: &Loss, out: &[usize]) -> Result<HostTensor> {
    let classes = out.last().copied().unwrap_or(1).max(1);
    let rows: usize = out.iter().rev().skip(1).product();
    let made = match loss {
        Loss::SparseCategoricalCrossentropy { .. } => {
            let labels = (0..rows).map(|_| rng.below(classes) as i32).collect();
            HostTensor::from_i32(labels, out[..out.len().saturating_sub(1)].to_vec())
        }
        Loss::CategoricalCrossentropy { .. } => {
            let mut v = vec![0.0f32; rows * classes];
            for r in 0..rows {
                v[r * classes + rng.below(classes)] = 1.0;
            }
            HostTensor::from_f32(v, out.to_vec())
        }
        Loss::BinaryCrossentropy { .. } => {
            let v = (0..rows * classes).map(|_| rng.below(2) as f32).collect();
            HostTensor::from_f32(v, out.to_vec())
        }
        _ => HostTensor::from_f32(
            (0..rows * classes).map(|_| rng.uniform() as f32).collect(),
            out.to_vec(),
        ),
    };
    made.map_err(|e| KilnError::Data(e.to_string()))
}

/// Milliseconds of each of `warmup + steps` runs of `f`, the warm-up ones dropped.
fn time(warmup: usize, steps: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    for _ in 0..warmup {
        f()?;
    }
    let mut ms = Vec::with_capacity(steps);
    for _ in 0..steps {
        let start = Instant::now();
        f()?;
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(ms)
}

/// Times `model`'s training step and `predict` on one batch of synthetic inputs of its
/// own shapes and dtypes (int32 inputs get valid indices: below the `input_dim` of the
/// `Embedding` that takes them) and synthetic targets of its output shapes.
///
/// The training step uses the model's optimizer and losses when it is compiled (a Kiln
/// file saved after `compile` loads compiled); otherwise the model is compiled with Adam
/// and, per output, categorical cross-entropy after a softmax, binary cross-entropy after
/// a sigmoid, mean squared error otherwise. The steps change the model's weights.
pub fn bench_model(model: &mut Model, options: &BenchOptions) -> Result<BenchReport> {
    if options.batch_size == 0 || options.steps == 0 {
        return Err(KilnError::Data(format!(
            "bench needs a positive batch size and number of steps. Received: batch_size={}, steps={}",
            options.batch_size, options.steps
        )));
    }
    let shapes = input_shapes(model, options)?;
    let ranges = index_ranges(model)?;
    let mut rng = Rng::new(options.seed);
    let mut x = Vec::new();
    for ((_, ty, shape), range) in shapes.iter().zip(&ranges) {
        x.push(synthetic(&mut rng, ty.dtype, shape, *range)?);
    }
    let activations = output_activations(model)?;
    let compiled = model.compiled.is_some();
    if !compiled {
        let losses: Vec<Loss> = activations.iter().map(|a| loss_for(a)).collect();
        model.compile("adam", losses, &[])?;
    }
    let outputs = model.predict_on_batch(x.clone())?;
    let (optimizer, losses) = {
        let c = model.compiled()?;
        (c.optimizer.name().to_string(), c.losses.clone())
    };
    let mut y = Vec::new();
    for (loss, out) in losses.iter().zip(&outputs) {
        y.push(target(&mut rng, loss, out.shape())?);
    }
    let train = time(options.warmup, options.steps, || {
        model.train_on_batch(x.clone(), y.clone()).map(|_| ())
    })?;
    let predict = time(options.warmup, options.steps, || {
        model.predict_on_batch(x.clone()).map(|_| ())
    })?;
    Ok(BenchReport {
        model: model.name().to_string(),
        device: model.device().to_string(),
        batch_size: options.batch_size,
        steps: options.steps,
        warmup: options.warmup,
        input_shapes: shapes.into_iter().map(|(_, _, s)| s).collect(),
        compiled,
        optimizer,
        losses: losses.iter().map(|l| l.name().to_string()).collect(),
        output_activations: activations,
        train: Timing::from_steps(train, options.batch_size),
        predict: Timing::from_steps(predict, options.batch_size),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Embedding, Flatten, GlobalAveragePooling1D};
    use crate::model::{Apply, Input};

    #[test]
    fn token_inputs_get_indices_below_the_embedding_input_dim() {
        let tokens = Input::with_dtype([6], DType::I32);
        let other = Input::with_dtype([2], DType::I32);
        let e = Embedding::new(5, 3).apply(&tokens).unwrap();
        let p = GlobalAveragePooling1D::new().apply(&e).unwrap();
        let d = Flatten::new().apply(&other).unwrap();
        let model = Model::new(&[&tokens, &other], &[&p, &d]).unwrap();
        // The Embedding's 5 rows; 2 for the input a Flatten takes (no input_dim).
        assert_eq!(index_ranges(&model).unwrap(), [5, 2]);
        let mut rng = Rng::new(1);
        let t = synthetic(&mut rng, DType::I32, &[40, 6], 5).unwrap();
        let v = t.as_i32().unwrap();
        assert!(v.iter().all(|i| (0..5).contains(i)));
        assert!((0..5).all(|k| v.contains(&k)), "every index drawn: {v:?}");
    }

    #[test]
    fn timing_statistics() {
        let t = Timing::from_steps(vec![4.0, 1.0, 3.0, 2.0], 8);
        assert_eq!((t.median_ms, t.min_ms, t.max_ms), (2.5, 1.0, 4.0));
        assert_eq!(t.samples_per_second, 3200.0);
        assert_eq!(Timing::from_steps(vec![5.0, 1.0, 2.0], 1).median_ms, 2.0);
    }

    #[test]
    fn targets_fit_their_losses() {
        let mut rng = Rng::new(2);
        let cce = target(&mut rng, &Loss::CategoricalCrossentropy { from_logits: false }, &[6, 4]).unwrap();
        for row in cce.as_f32().unwrap().chunks(4) {
            assert_eq!(row.iter().sum::<f32>(), 1.0);
            assert_eq!(row.iter().filter(|v| **v == 1.0).count(), 1);
        }
        let sparse = target(
            &mut rng,
            &Loss::SparseCategoricalCrossentropy { from_logits: false },
            &[6, 4],
        )
        .unwrap();
        assert_eq!(sparse.shape(), &[6]);
        assert!(sparse.as_i32().unwrap().iter().all(|c| (0..4).contains(c)));
        let bce = target(&mut rng, &Loss::BinaryCrossentropy { from_logits: false }, &[6, 1]).unwrap();
        assert!(bce.as_f32().unwrap().iter().all(|v| *v == 0.0 || *v == 1.0));
    }
}
