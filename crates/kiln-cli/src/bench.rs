//! `kiln bench MODEL [--device DEV] [--batch-size N] [--steps N] [--warmup N] [--json]`.

use crate::failure;
use kiln::bench::{BenchOptions, BenchReport, Timing, bench_model};
use std::path::PathBuf;

/// Arguments of `kiln bench`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file: .kiln, .keras or .h5.
    model: PathBuf,
    /// The device to run on: ndarray, flex, cpu, wgpu, wgpu:N, tch:cpu, tch:cuda:N, gpu
    /// (default: KILN_DEVICE, else cpu).
    #[arg(short, long, value_name = "DEV")]
    device: Option<String>,
    /// Samples per step.
    #[arg(short, long, value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
    /// Timed steps of each kind.
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    steps: u32,
    /// Untimed warm-up steps of each kind before the timed ones.
    #[arg(long, value_name = "N", default_value_t = 3)]
    warmup: u32,
    /// An input's shape without the batch dimension (e.g. 10,8), for inputs with unknown
    /// dimensions such as (None, None, 8); one per model input, in input order.
    #[arg(long = "input-shape", value_name = "D,D,…", value_parser = parse_shape)]
    input_shapes: Vec<Vec<usize>>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

fn parse_shape(s: &str) -> Result<Vec<usize>, String> {
    s.split(',')
        .map(|d| match d.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "'{s}' is not a shape: expected positive integers separated by commas, e.g. 10,8"
            )),
        })
        .collect()
}

fn row(what: &str, t: &Timing) -> String {
    format!(
        "{what:<9}{:>11.3}{:>10.3}{:>10.3}{:>12.1}",
        t.median_ms, t.min_ms, t.max_ms, t.samples_per_second
    )
}

fn table(file: &str, r: &BenchReport) -> String {
    let shapes: Vec<String> = r
        .input_shapes
        .iter()
        .map(|s| format!("({})", s.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")))
        .collect();
    let training = if r.compiled {
        format!(
            "{} + {} (the file's compile configuration)",
            r.optimizer,
            r.losses.join(", ")
        )
    } else {
        let chosen: Vec<String> = r
            .losses
            .iter()
            .zip(&r.output_activations)
            .map(|(l, a)| format!("{l} (output ends in {a})"))
            .collect();
        format!(
            "{} + {} (not compiled: chosen by bench)",
            r.optimizer,
            chosen.join(", ")
        )
    };
    let memory = r.peak_rss_bytes.map_or_else(
        || "n/a".to_string(),
        |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    );
    [
        format!("model:      {file} ({})", r.model),
        format!("device:     {}", r.device),
        format!("batch size: {}   inputs: {}", r.batch_size, shapes.join(", ")),
        format!("steps:      {} timed, after {} warm-up", r.steps, r.warmup),
        format!("training:   {training}"),
        String::new(),
        format!(
            "{:<9}{:>11}{:>10}{:>10}{:>12}",
            "", "median ms", "min ms", "max ms", "samples/s"
        ),
        row("train", &r.train),
        row("predict", &r.predict),
        String::new(),
        format!("peak resident memory: {memory}"),
    ]
    .join("\n")
}

/// Times the model's training step and `predict` on synthetic batches and prints them.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let device = failure::device(args.device.as_deref())?;
    let mut model = failure::load(&args.model, &device)?;
    let options = BenchOptions::new()
        .batch_size(args.batch_size as usize)
        .steps(args.steps as usize)
        .warmup(args.warmup as usize)
        .input_shapes(args.input_shapes.iter().cloned().map(Some).collect());
    let report = bench_model(&mut model, &options).map_err(|e| failure::at(&args.model, e))?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{}", table(&args.model.display().to_string(), &report));
    }
    Ok(())
}
