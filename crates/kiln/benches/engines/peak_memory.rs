//! Peak resident memory of `predict`, Kiln against hand-written Burn.
//!
//! Each side runs in a fresh process (this benchmark's own executable, started again with
//! [`CHILD_ENV`] naming the model, engine and side), builds its model on the engine, predicts
//! one batch [`RUNS`] times and prints the process's peak resident set (`VmHWM`). A fresh
//! process per side keeps one side's allocations (and the allocator's cache of them) out of
//! the other's figure. Linux only: elsewhere no figure is printed.

use super::summary::Side;
use std::process::Command;

/// The environment variable that makes the executable a measuring child: `MODEL/ENGINE/SIDE`
/// (`cnn/flex/kiln`).
pub const CHILD_ENV: &str = "KILN_BENCH_PEAK_MEMORY";

/// Predictions per child: the first allocates the engine's buffers, the rest show whether
/// they are reused.
pub const RUNS: usize = 5;

/// The line prefix a child prints its figure after.
const PREFIX: &str = "peak MiB: ";

/// The process's peak resident set so far, in MiB (`VmHWM` of `/proc/self/status`).
pub fn peak_resident_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Prints the child's figure for the parent to read.
pub fn report() {
    if let Some(mib) = peak_resident_mib() {
        println!("{PREFIX}{mib:.1}");
    }
}

/// Runs a child for `model` on `engine`, `side`, and reads its peak MiB; `None` (with the
/// reason on stderr) when it failed or printed no figure.
pub fn measure(model: &str, engine: &str, side: Side) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let spec = format!("{model}/{engine}/{}", side.name());
    let out = match Command::new(exe).env(CHILD_ENV, &spec).output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("peak memory of {spec}: could not start: {e}");
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let figure = stdout.lines().find_map(|l| l.strip_prefix(PREFIX)?.trim().parse().ok());
    if figure.is_none() {
        eprintln!(
            "peak memory of {spec}: no figure ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    figure
}
