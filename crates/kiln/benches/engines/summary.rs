//! The medians the benchmarks measured, and the summary table printed after the run.
//!
//! Each benchmark routine records, per call, the mean time of one iteration (a criterion
//! sample); the median of the measured samples is criterion's median estimate.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Which half of a comparison a time belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// Kiln.
    Kiln,
    /// Hand-written Burn.
    Burn,
}

impl Side {
    /// Both sides, Kiln first.
    pub const BOTH: [Side; 2] = [Side::Kiln, Side::Burn];

    /// The name in a peak-memory child's spec (`kiln`, `burn`).
    pub fn name(self) -> &'static str {
        match self {
            Side::Kiln => "kiln",
            Side::Burn => "burn",
        }
    }

    /// The side a name gives.
    pub fn parse(name: &str) -> Option<Side> {
        Side::BOTH.into_iter().find(|s| s.name() == name)
    }
}

/// What was timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Task {
    /// One training step.
    Train,
    /// One prediction on one batch.
    Predict,
}

impl Task {
    /// The name in group ids (`mlp/flex/train`).
    pub fn name(self) -> &'static str {
        match self {
            Task::Train => "train",
            Task::Predict => "predict",
        }
    }
}

/// Milliseconds per iteration of each call of one benchmark routine.
#[derive(Default)]
pub struct Samples(Vec<f64>);

impl Samples {
    /// Runs `f` `iters` times, records the mean milliseconds per run, returns the total.
    pub fn time(&mut self, iters: u64, mut f: impl FnMut()) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        let elapsed = start.elapsed();
        self.0.push(elapsed.as_secs_f64() * 1000.0 / iters.max(1) as f64);
        elapsed
    }

    /// The median of the last `n` samples (criterion's measurement follows its warm-up
    /// calls); `None` when nothing was recorded (a filtered-out benchmark).
    pub fn median_of_last(&self, n: usize) -> Option<f64> {
        let mut last: Vec<f64> = self.0[self.0.len().saturating_sub(n)..].to_vec();
        last.sort_by(f64::total_cmp);
        match last.len() {
            0 => None,
            k if k % 2 == 1 => Some(last[k / 2]),
            k => Some((last[k / 2 - 1] + last[k / 2]) / 2.0),
        }
    }
}

/// Medians by (model, engine), task and side, in the order the benchmarks ran, and the
/// peak resident memory of predict by (model, engine) and side.
#[derive(Default)]
pub struct Results {
    rows: Vec<(String, String)>,
    medians: BTreeMap<(String, String, Task, Side), f64>,
    peaks: BTreeMap<(String, String, Side), f64>,
}

impl Results {
    /// Records the median milliseconds of one benchmark.
    pub fn record(&mut self, model: &str, engine: &str, task: Task, side: Side, ms: f64) {
        let row = (model.to_string(), engine.to_string());
        if !self.rows.contains(&row) {
            self.rows.push(row);
        }
        self.medians.insert((model.into(), engine.into(), task, side), ms);
    }

    /// Records the peak resident MiB of a predict-only process of one side.
    pub fn record_peak(&mut self, model: &str, engine: &str, side: Side, mib: f64) {
        self.peaks.insert((model.into(), engine.into(), side), mib);
    }

    /// The (model, engine) rows in the order the benchmarks ran.
    pub fn rows(&self) -> &[(String, String)] {
        &self.rows
    }

    fn get(&self, model: &str, engine: &str, task: Task, side: Side) -> Option<f64> {
        self.medians.get(&(model.into(), engine.into(), task, side)).copied()
    }

    /// The summary table (Markdown): per model and engine, median milliseconds of Kiln and
    /// Burn and their ratio, for the training step and for predict; `-` where not measured.
    /// Then the peak memory of processes that predicted `peak_runs` batches, where measured.
    pub fn table(&self, batch: usize, peak_runs: usize) -> String {
        let mut out = format!("Kiln against hand-written Burn: median ms per batch of {batch}\n\n");
        out.push_str(
            "| model | engine | train Kiln ms | train Burn ms | train Kiln ÷ Burn | predict Kiln ms | predict Burn ms | predict Kiln ÷ Burn |\n",
        );
        out.push_str("|---|---|--:|--:|--:|--:|--:|--:|\n");
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        for (model, engine) in &self.rows {
            out.push_str(&format!("| {model} | {engine} |"));
            for task in [Task::Train, Task::Predict] {
                let kiln = self.get(model, engine, task, Side::Kiln);
                let burn = self.get(model, engine, task, Side::Burn);
                let ratio = kiln.zip(burn).map_or("-".to_string(), |(k, b)| format!("{:.2}", k / b));
                out.push_str(&format!(" {} | {} | {ratio} |", ms(kiln), ms(burn)));
            }
            out.push('\n');
        }
        if !self.peaks.is_empty() {
            out.push_str(&format!(
                "\nPeak resident memory of a process that builds the model and predicts {peak_runs} batches of {batch} (MiB)\n\n"
            ));
            out.push_str("| model | engine | Kiln MiB | Burn MiB | Kiln ÷ Burn |\n|---|---|--:|--:|--:|\n");
            for (model, engine) in &self.rows {
                let peak = |side| self.peaks.get(&(model.clone(), engine.clone(), side)).copied();
                let (kiln, burn) = (peak(Side::Kiln), peak(Side::Burn));
                let ratio = kiln.zip(burn).map_or("-".to_string(), |(k, b)| format!("{:.2}", k / b));
                let mib = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
                out.push_str(&format!(
                    "| {model} | {engine} | {} | {} | {ratio} |\n",
                    mib(kiln),
                    mib(burn)
                ));
            }
        }
        out
    }
}
