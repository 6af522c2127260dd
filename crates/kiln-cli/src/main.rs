//! `kiln`: Kiln's command line.

mod bench;
mod convert;
mod export;
mod failure;
mod info;
mod plot;
mod plot_history;
mod predict;
#[cfg(feature = "remote")]
mod serve;
mod summary;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Keras for Rust: inspect, run, convert and draw Kiln and Keras model files.
///
/// Model files are Kiln files (.kiln) or Keras files (.keras, legacy .h5), told apart by
/// their extension. Exit status: 0 on success, 1 on an error (one line on stderr:
/// `kiln: error: <file>: <problem>`), 2 on a usage error.
#[derive(Parser)]
#[command(name = "kiln", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Kiln's version, the backends compiled in and the devices available here.
    Info,
    /// Print a model's summary table, as Keras's `model.summary()` does.
    Summary(summary::Args),
    /// Run a model on inputs from .npy files and write its outputs to .npy files.
    Predict(predict::Args),
    /// Convert a model between Kiln (.kiln) and Keras (.keras) files.
    Convert(convert::Args),
    /// Draw a model's layer graph, as Keras's `plot_model` does, to .svg or .dot.
    Plot(plot::Args),
    /// Draw the training curves of a CsvLogger file to .png or .svg.
    PlotHistory(plot_history::Args),
    /// Write a model's inference graph as an ONNX file (opset 17).
    Export(export::Args),
    /// Time a model's training step and predict on synthetic batches.
    Bench(bench::Args),
    /// Host one of this machine's devices for other machines (`remote:ws://HOST:PORT`).
    #[cfg(feature = "remote")]
    Serve(serve::Args),
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Info => info::run(),
        Command::Summary(args) => summary::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Plot(args) => plot::run(&args),
        Command::PlotHistory(args) => plot_history::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Bench(args) => bench::run(&args),
        #[cfg(feature = "remote")]
        Command::Serve(args) => serve::run(&args),
    }
}

fn main() -> ExitCode {
    failure::install_panic_hook();
    // A usage error prints clap's message and exits with status 2.
    let cli = Cli::parse();
    failure::exit_code(run_guarded(cli.command))
}

/// Runs `command`, turning a panic (a bug, never expected from bad input) into an error.
fn run_guarded(command: Command) -> anyhow::Result<()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(command)))
        .unwrap_or_else(|_| Err(anyhow::anyhow!("internal error: {}", failure::last_panic())))
}
