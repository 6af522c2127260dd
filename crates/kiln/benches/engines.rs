//! Kiln against the same models written by hand with Burn, on every compiled engine.
//!
//! Three Fashion-MNIST-shaped models (an MLP, a CNN, an LSTM), trained with Adam on sparse
//! categorical cross-entropy. For each model and engine, four benchmarks in two criterion
//! groups: `MODEL/ENGINE/train` (a Kiln `train_on_batch` against a hand-written Burn step)
//! and `MODEL/ENGINE/predict` (a Kiln `predict_on_batch` against a Burn forward on the plain
//! device, the result read back to the host on both sides). After the run a table of the
//! medians and their ratios is printed, and one of the peak resident memory of predict on
//! each side, each measured in a fresh process (`engines/peak_memory.rs`).
//!
//! ```text
//! cargo bench -p kiln --bench engines                      # ndarray and flex
//! cargo bench -p kiln --bench engines --features wgpu,tch  # and wgpu, libtorch
//! cargo bench -p kiln --bench engines -- mlp/flex          # criterion's filter
//! ```
//!
//! Under `cargo test` (criterion's test mode) every benchmark runs once on a batch of 8 and
//! no table is printed.

#[path = "engines/burn_steps.rs"]
mod burn_steps;
#[path = "engines/data.rs"]
mod data;
#[path = "engines/model_kind.rs"]
mod model_kind;
#[path = "engines/models_burn.rs"]
mod models_burn;
#[path = "engines/models_kiln.rs"]
mod models_kiln;
#[path = "engines/peak_memory.rs"]
mod peak_memory;
#[path = "engines/summary.rs"]
mod summary;

use burn_steps::{BurnBatch, BurnTrainer, predict};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use data::{Batch, CLASSES, SIDE};
use model_kind::ModelKind;
use models_burn::{Cnn, LstmNet, Mlp, Net};
use std::hint::black_box;
use std::time::Duration;
use summary::{Results, Samples, Side, Task};

/// Samples per training and predict batch.
const BATCH: usize = 128;
/// The batch in criterion's test mode (`cargo test`): each benchmark runs once, quickly.
const TEST_BATCH: usize = 8;

impl ModelKind {
    /// Parameters of the Kiln model and of the Burn one (Burn's LSTM, like PyTorch's, has
    /// two bias vectors per gate where Keras has one: 4 × 128 more).
    fn params(self) -> (usize, usize) {
        match self {
            ModelKind::Mlp => (109_386, 109_386),
            ModelKind::Cnn => (34_826, 34_826),
            ModelKind::Lstm => (81_674, 81_674 + 4 * 128),
        }
    }

    /// Criterion settings: a few seconds per benchmark, enough samples for a stable
    /// median; the slow models take the minimum of 10 samples.
    fn configure(self, group: &mut BenchmarkGroup<'_, WallTime>) -> usize {
        let samples = match self {
            ModelKind::Mlp => 20,
            ModelKind::Cnn | ModelKind::Lstm => 10,
        };
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(samples)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        samples
    }
}

/// One engine: its name in group ids, Kiln's device and the Burn device behind it.
struct Engine {
    label: &'static str,
    device: kiln::Device,
    burn: burn::tensor::Device,
}

/// The compiled engines: ndarray and flex, the first wgpu adapter, libtorch's CPU and
/// first CUDA device (each where compiled in and available).
fn engines() -> Vec<Engine> {
    kiln::devices()
        .into_iter()
        .filter_map(|info| {
            let label = match info.device {
                kiln::Device::Ndarray => "ndarray",
                kiln::Device::Flex => "flex",
                kiln::Device::Wgpu(0) => "wgpu",
                kiln::Device::TchCpu => "tch",
                kiln::Device::TchCuda(0) => "tch-cuda",
                _ => return None,
            };
            let engine = info.device.engine().unwrap_or_else(|e| panic!("{}: {e}", info.device));
            Some(Engine {
                label,
                burn: engine.burn().clone(),
                device: info.device,
            })
        })
        .collect()
}

/// Whether this is a measuring run (`cargo bench`) rather than criterion's test mode
/// (`cargo test`, or `--test`) or a listing; decided as criterion decides it.
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list")
}

/// What one (model, engine) pair benchmarks on.
struct Case<'a> {
    kind: ModelKind,
    engine: &'a Engine,
    batch: &'a Batch,
}

/// The four benchmarks of one model on one engine; `make` builds the Burn model.
fn bench_case<N: Net<D>, const D: usize>(
    c: &mut Criterion,
    results: &mut Results,
    case: &Case<'_>,
    shape: [usize; D],
    make: impl FnOnce(&burn::tensor::Device) -> N,
) {
    let (kind, engine) = (case.kind, case.engine);
    let id = |task: Task| format!("{}/{}/{}", kind.name(), engine.label, task.name());
    let mut model = models_kiln::model(kind, &engine.device).unwrap_or_else(|e| panic!("{}: {e}", id(Task::Train)));
    let (x, y) = models_kiln::inputs(kind, case.batch).unwrap_or_else(|e| panic!("{}: {e}", id(Task::Train)));
    let burn_batch = BurnBatch::new(case.batch, shape);
    let mut trainer = BurnTrainer::new(&engine.burn, make);
    let (kiln_params, burn_params) = kind.params();
    assert_eq!(model.count_params(), kiln_params, "Kiln {}", kind.name());
    assert_eq!(trainer.inference().num_params(), burn_params, "Burn {}", kind.name());

    let mut group = c.benchmark_group(id(Task::Train));
    let samples = kind.configure(&mut group);
    let (mut kiln, mut burn) = (Samples::default(), Samples::default());
    group.bench_function("kiln", |b| {
        b.iter_custom(|iters| {
            kiln.time(iters, || {
                black_box(model.train_on_batch(&x, &y).expect("Kiln training step"));
            })
        })
    });
    group.bench_function("burn", |b| {
        b.iter_custom(|iters| burn.time(iters, || _ = black_box(trainer.step(&burn_batch))))
    });
    group.finish();
    record(results, case, Task::Train, samples, &kiln, &burn);

    let inference = trainer.inference();
    let kiln_out = model.predict_on_batch(&x).expect("Kiln predict");
    let burn_out = predict(&inference, &burn_batch, &engine.burn);
    assert_eq!(kiln_out[0].shape(), [case.batch.size, CLASSES]);
    assert_eq!(burn_out.shape().as_slice(), [case.batch.size, CLASSES]);
    let mut group = c.benchmark_group(id(Task::Predict));
    let samples = kind.configure(&mut group);
    let (mut kiln, mut burn) = (Samples::default(), Samples::default());
    group.bench_function("kiln", |b| {
        b.iter_custom(|iters| {
            kiln.time(iters, || {
                black_box(model.predict_on_batch(&x).expect("Kiln predict"));
            })
        })
    });
    group.bench_function("burn", |b| {
        b.iter_custom(|iters| {
            burn.time(iters, || {
                black_box(predict(&inference, &burn_batch, &engine.burn));
            })
        })
    });
    group.finish();
    record(results, case, Task::Predict, samples, &kiln, &burn);
}

/// Records the medians of one group's two benchmarks (those that ran).
fn record(results: &mut Results, case: &Case<'_>, task: Task, samples: usize, kiln: &Samples, burn: &Samples) {
    for (side, s) in [(Side::Kiln, kiln), (Side::Burn, burn)] {
        if let Some(ms) = s.median_of_last(samples) {
            results.record(case.kind.name(), case.engine.label, task, side, ms);
        }
    }
}

/// Builds `kind` on one side (`make` builds the Burn model) and predicts `batch`
/// [`peak_memory::RUNS`] times: the work of a peak-memory child.
fn predict_only<N: Net<D>, const D: usize>(
    kind: ModelKind,
    engine: &Engine,
    side: Side,
    batch: &Batch,
    shape: [usize; D],
    make: impl FnOnce(&burn::tensor::Device) -> N,
) {
    match side {
        Side::Kiln => {
            let model = models_kiln::model(kind, &engine.device).expect("Kiln model");
            let (x, _) = models_kiln::inputs(kind, batch).expect("Kiln inputs");
            for _ in 0..peak_memory::RUNS {
                black_box(model.predict_on_batch(&x).expect("Kiln predict"));
            }
        }
        Side::Burn => {
            let net = make(&engine.burn);
            let burn_batch = BurnBatch::new(batch, shape);
            for _ in 0..peak_memory::RUNS {
                black_box(predict(&net, &burn_batch, &engine.burn));
            }
        }
    }
}

/// A peak-memory child (`spec` is `MODEL/ENGINE/SIDE`): predicts, then prints its peak.
fn peak_memory_child(spec: &str) {
    let parts: Vec<&str> = spec.split('/').collect();
    let [model, engine, side] = parts[..] else {
        panic!("{}: expected MODEL/ENGINE/SIDE, got {spec:?}", peak_memory::CHILD_ENV)
    };
    let kind = ModelKind::ALL
        .into_iter()
        .find(|k| k.name() == model)
        .unwrap_or_else(|| panic!("no model {model:?}"));
    let side = Side::parse(side).unwrap_or_else(|| panic!("no side {side:?}"));
    let engine = engines()
        .into_iter()
        .find(|e| e.label == engine)
        .unwrap_or_else(|| panic!("no engine {engine:?} in this build"));
    let batch = Batch::new(BATCH, 0);
    match kind {
        ModelKind::Mlp => predict_only(kind, &engine, side, &batch, [BATCH, SIDE * SIDE], Mlp::new),
        ModelKind::Cnn => predict_only(kind, &engine, side, &batch, [BATCH, 1, SIDE, SIDE], Cnn::new),
        ModelKind::Lstm => predict_only(kind, &engine, side, &batch, [BATCH, SIDE, SIDE], LstmNet::new),
    }
    peak_memory::report();
}

fn main() {
    if let Ok(spec) = std::env::var(peak_memory::CHILD_ENV) {
        return peak_memory_child(&spec);
    }
    let measuring = measuring();
    let size = if measuring { BATCH } else { TEST_BATCH };
    let batch = Batch::new(size, 0);
    let mut c = Criterion::default().without_plots().configure_from_args();
    let mut results = Results::default();
    let engines = engines();
    for kind in ModelKind::ALL {
        for engine in &engines {
            let case = Case {
                kind,
                engine,
                batch: &batch,
            };
            match kind {
                ModelKind::Mlp => bench_case(&mut c, &mut results, &case, [size, SIDE * SIDE], Mlp::new),
                ModelKind::Cnn => bench_case(&mut c, &mut results, &case, [size, 1, SIDE, SIDE], Cnn::new),
                ModelKind::Lstm => bench_case(&mut c, &mut results, &case, [size, SIDE, SIDE], LstmNet::new),
            }
        }
    }
    c.final_summary();
    if measuring {
        for (model, engine) in results.rows().to_vec() {
            for side in Side::BOTH {
                if let Some(mib) = peak_memory::measure(&model, &engine, side) {
                    results.record_peak(&model, &engine, side, mib);
                }
            }
        }
        println!("\n{}", results.table(size, peak_memory::RUNS));
    }
}
