//! What the graph passes (`kiln_ir::passes::optimize`: constant folding, convolution bias
//! fusion, reshape/transpose collapsing, dead-node removal) are worth: the benchmark models'
//! training graphs run forward and backward, and their inference graphs forward, compiled
//! with the passes (`Plan::compile`, what `fit` and `predict` use) and without them
//! (`Plan::compile_unoptimized`), side by side in one run on ndarray and flex.
//!
//! ```text
//! cargo bench -p kiln --bench graph_passes
//! cargo bench -p kiln --bench graph_passes -- cnn/flex   # criterion's filter
//! ```
//!
//! After the run a table gives each median and the ratio with ÷ without. Under `cargo test`
//! every benchmark runs once on a batch of 8.

#[path = "engines/data.rs"]
mod data;
#[path = "engines/model_kind.rs"]
mod model_kind;
#[path = "engines/models_kiln.rs"]
#[allow(dead_code)]
mod models_kiln;
#[path = "engines/summary.rs"]
#[allow(dead_code)]
mod summary;

use criterion::{Criterion, SamplingMode};
use data::{Batch, SIDE};
use kiln::ir::{Graph, HostTensor};
use kiln_burn::{Plan, RunMode, Session};
use model_kind::ModelKind;
use std::hint::black_box;
use std::time::Duration;
use summary::Samples;

/// One (model, engine, task) pair's medians: with the passes and without.
struct Row {
    id: String,
    optimized: Option<f64>,
    written: Option<f64>,
}

/// The graph's inputs for one batch: the images (in `kind`'s input shape) for the model
/// input, the labels (as f32, in the target's rank) for the target.
fn graph_inputs(graph: &Graph, kind: ModelKind, batch: &Batch) -> Vec<HostTensor> {
    let n = batch.size;
    let shape = match kind {
        ModelKind::Mlp => vec![n, SIDE * SIDE],
        ModelKind::Cnn => vec![n, SIDE, SIDE, 1],
        ModelKind::Lstm => vec![n, SIDE, SIDE],
    };
    let labels: Vec<f32> = batch.labels.iter().map(|&l| l as f32).collect();
    graph
        .inputs()
        .iter()
        .map(|input| {
            if input.name.ends_with("_target") {
                let rank = graph.value_type(input.value).expect("target type").shape.rank();
                let shape = if rank == 1 { vec![n] } else { vec![n, 1] };
                HostTensor::from_f32(labels.clone(), shape).expect("labels")
            } else {
                HostTensor::from_f32(batch.pixels.clone(), shape.clone()).expect("images")
            }
        })
        .collect()
}

/// The parameter values of `graph`: the model's weights first, zeros for the rest (the
/// optimizer's slots of a training graph).
fn values(graph: &Graph, weights: &[HostTensor]) -> Vec<HostTensor> {
    let mut values: Vec<HostTensor> = graph.params().iter().map(|p| HostTensor::zeros(p.dims())).collect();
    values[..weights.len()].clone_from_slice(weights);
    values
}

fn bench_model(c: &mut Criterion, rows: &mut Vec<Row>, kind: ModelKind, device: kiln::Device, batch: &Batch) {
    let label = format!("{}/{device}", kind.name());
    let model = models_kiln::model(kind, &device).unwrap_or_else(|e| panic!("{label}: {e}"));
    let weights = model.get_weights().expect("weights");
    let engine = device.engine().expect("engine");
    let samples = if kind == ModelKind::Mlp { 20 } else { 10 };
    for (task, graph) in [
        ("train", model.training_graph().expect("training graph")),
        ("predict", model.graph().expect("graph")),
    ] {
        let training = task == "train";
        let inputs = graph_inputs(graph, kind, batch);
        let session = Session::new(&engine, graph, &values(graph, &weights)).expect("session");
        let compile = |optimized: bool| match optimized {
            true => Plan::compile(graph),
            false => Plan::compile_unoptimized(graph, false),
        };
        let mut group = c.benchmark_group(format!("{label}/{task}"));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(samples)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        let mut medians = [None, None];
        for (slot, (name, optimized)) in [("passes", true), ("written", false)].into_iter().enumerate() {
            let plan = compile(optimized).expect("plan");
            let mut times = Samples::default();
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    times.time(iters, || {
                        if training {
                            black_box(
                                session
                                    .gradients(&plan, &inputs, RunMode::default())
                                    .expect("gradients"),
                            );
                        } else {
                            black_box(session.run(&plan, &inputs, RunMode::default()).expect("run"));
                        }
                    })
                })
            });
            medians[slot] = times.median_of_last(samples);
        }
        group.finish();
        rows.push(Row {
            id: format!("{label}/{task}"),
            optimized: medians[0],
            written: medians[1],
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list");
    let batch = Batch::new(if measuring { 128 } else { 8 }, 0);
    let mut c = Criterion::default().without_plots().configure_from_args();
    let mut rows = Vec::new();
    for kind in ModelKind::ALL {
        for device in [kiln::Device::Ndarray, kiln::Device::Flex] {
            bench_model(&mut c, &mut rows, kind, device, &batch);
        }
    }
    c.final_summary();
    if measuring {
        println!("\nThe graph passes: median ms per batch of {}\n", batch.size);
        println!("| model/engine/task | with passes ms | as written ms | with ÷ without |\n|---|--:|--:|--:|");
        for row in rows.iter().filter(|r| r.optimized.is_some() || r.written.is_some()) {
            let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
            let ratio = row
                .optimized
                .zip(row.written)
                .map_or("-".into(), |(a, b)| format!("{:.3}", a / b));
            println!("| {} | {} | {} | {ratio} |", row.id, ms(row.optimized), ms(row.written));
        }
    }
}
