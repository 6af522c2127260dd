//! The summary: failures in full, then a per-backend table and the worst error per op.

use crate::backends::Backends;
use crate::case::Suite;
use crate::run::{Outcome, Record};
use std::fmt::Write;
use std::time::Duration;

/// Every record of a parity run, with the backends it ran on.
#[derive(Clone, Debug)]
pub struct Report {
    /// The backends found.
    pub backends: Backends,
    /// Every comparison.
    pub records: Vec<Record>,
    /// Time spent per backend.
    pub times: Vec<(String, Duration)>,
}

/// Per-backend counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Within tolerance.
    pub passed: usize,
    /// Out of tolerance or failed to run.
    pub failed: usize,
    /// Listed known failures.
    pub known: usize,
    /// Not compared.
    pub skipped: usize,
}

impl Report {
    /// An empty report for these backends.
    pub fn new(backends: Backends) -> Report {
        Report {
            backends,
            records: Vec::new(),
            times: Vec::new(),
        }
    }

    /// Adds the records and times of one suite.
    pub fn add(&mut self, (records, times): (Vec<Record>, Vec<(String, Duration)>)) {
        self.records.extend(records);
        for (name, t) in times {
            match self.times.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => *total += t,
                None => self.times.push((name, t)),
            }
        }
    }

    /// The failed comparisons.
    pub fn failures(&self) -> Vec<&Record> {
        self.records
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed { .. }))
            .collect()
    }

    /// Counts for one backend.
    pub fn counts(&self, backend: &str) -> Counts {
        let mut c = Counts::default();
        for r in self.records.iter().filter(|r| r.backend == backend) {
            match r.outcome {
                Outcome::Passed(_) => c.passed += 1,
                Outcome::Failed { .. } => c.failed += 1,
                Outcome::Known { .. } => c.known += 1,
                Outcome::Skipped(_) => c.skipped += 1,
            }
        }
        c
    }

    /// One line per failure, with the case's graph and inputs.
    pub fn failure_text(&self) -> String {
        let mut s = String::new();
        for r in self.failures() {
            if let Outcome::Failed { message, .. } = &r.outcome {
                let _ = writeln!(
                    s,
                    "FAILED [{}] {} ({}) on {}: {message}",
                    r.suite.name(),
                    r.case,
                    r.phase,
                    r.backend
                );
                for line in r.detail.lines() {
                    let _ = writeln!(s, "    {line}");
                }
            }
        }
        s
    }

    /// The whole summary: failures, known failures, skip reasons, the per-backend table and
    /// the worst error per op.
    pub fn render(&self) -> String {
        let mut s = self.failure_text();
        let mut known: Vec<(&str, Vec<String>)> = Vec::new();
        for r in &self.records {
            if let Outcome::Known { reason, diff } = &r.outcome {
                let err = diff
                    .as_ref()
                    .map_or(String::new(), |d| format!(", max |diff| {:.2e}", d.max_abs));
                let line = format!("{} ({}) on {}{err}", r.case, r.phase, r.backend);
                match known.iter_mut().find(|(k, _)| k == reason) {
                    Some((_, lines)) => lines.push(line),
                    None => known.push((reason, vec![line])),
                }
            }
            if let Some(note) = &r.note {
                let _ = writeln!(s, "note: {} ({}) on {}: {note}", r.case, r.phase, r.backend);
            }
        }
        for (reason, lines) in known {
            let _ = writeln!(s, "known failure: {reason}");
            for line in lines {
                let _ = writeln!(s, "    {line}");
            }
        }
        let mut reasons: Vec<(String, usize)> = Vec::new();
        if let Some(first) = self.backends.available.first() {
            let first = first.name();
            for r in self.records.iter().filter(|r| r.backend == first) {
                if let Outcome::Skipped(why) = &r.outcome {
                    let key = format!("{} {why}", r.phase);
                    match reasons.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, n)) => *n += 1,
                        None => reasons.push((key, 1)),
                    }
                }
            }
        }
        if !reasons.is_empty() {
            let _ = writeln!(s, "\nskipped on every backend:");
            for (why, n) in reasons {
                let _ = writeln!(s, "  {n:>3} × {why}");
            }
        }
        s.push('\n');
        s.push_str(&self.error_table());
        s.push('\n');
        s.push_str(&self.backend_table());
        s
    }

    /// Per backend: checks passed, failed, known, skipped, and time; then the compiled
    /// backends this machine cannot run.
    pub fn backend_table(&self) -> String {
        let mut s = String::new();
        let cases: std::collections::BTreeSet<&str> = self.records.iter().map(|r| r.case.as_str()).collect();
        let _ = writeln!(
            s,
            "Backend parity: {} cases. Each op and layer case is a forward and a gradient check against \
             ndarray; each training golden a check against Keras and one against ndarray.",
            cases.len()
        );
        let rows: Vec<(String, String)> = self
            .backends
            .available
            .iter()
            .map(|b| {
                let name = b.name();
                let reference = if b.is_reference() { ", the reference" } else { "" };
                let about = if b.description() == name {
                    reference.trim_start_matches(", ").to_string()
                } else {
                    let about = b.description().trim_start_matches(name.as_str()).trim();
                    let about = about
                        .strip_prefix('(')
                        .and_then(|a| a.strip_suffix(')'))
                        .unwrap_or(about);
                    format!("{about}{reference}")
                };
                (name, about)
            })
            .collect();
        let width = rows
            .iter()
            .map(|(n, _)| n.len())
            .chain(self.backends.unavailable.iter().map(|u| u.name.len()))
            .max()
            .unwrap_or(7)
            .max(7);
        let _ = writeln!(
            s,
            "{:<width$}  {:>6}  {:>6}  {:>5}  {:>7}  {:>7}",
            "backend", "passed", "failed", "known", "skipped", "time"
        );
        for (name, about) in &rows {
            let c = self.counts(name);
            let t = self
                .times
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0.0, |(_, t)| t.as_secs_f64());
            let line = format!(
                "{name:<width$}  {:>6}  {:>6}  {:>5}  {:>7}  {:>6.2}s  {about}",
                c.passed, c.failed, c.known, c.skipped, t
            );
            let _ = writeln!(s, "{}", line.trim_end());
        }
        for u in &self.backends.unavailable {
            let _ = writeln!(s, "{:<width$}  skipped (not available): {}", u.name, u.reason);
        }
        s
    }

    /// The worst `|got − reference|` per op (layer, training run) and backend, with the
    /// worst fraction of the tolerance in brackets.
    pub fn error_table(&self) -> String {
        let mut groups: Vec<(Suite, &str)> = Vec::new();
        for r in &self.records {
            if !groups.iter().any(|(s, g)| *s == r.suite && *g == r.group) {
                groups.push((r.suite, &r.group));
            }
        }
        let names: Vec<String> = self.backends.available.iter().map(|b| b.name()).collect();
        let first = groups.iter().map(|(_, g)| g.len()).max().unwrap_or(4).max(8);
        let col = names.iter().map(|n| n.len()).max().unwrap_or(8).max(18);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Worst error per op: max |got − ndarray| over forward and gradient checks (training goldens: \
             also against Keras), [worst fraction of its tolerance]."
        );
        let _ = write!(s, "{:<first$}", "op / layer / run");
        for n in &names {
            let _ = write!(s, "  {n:>col$}");
        }
        s.push('\n');
        let mut suite = None;
        for (sk, g) in &groups {
            if suite != Some(*sk) {
                let _ = writeln!(s, "-- {}", sk.name());
                suite = Some(*sk);
            }
            let _ = write!(s, "{g:<first$}");
            for (b, n) in self.backends.available.iter().zip(&names) {
                let rs: Vec<&Record> = self
                    .records
                    .iter()
                    .filter(|r| r.suite == *sk && r.group == *g && r.backend == *n)
                    .collect();
                let cell = if b.is_reference() && *sk != Suite::Goldens {
                    if rs.iter().any(|r| matches!(r.outcome, Outcome::Failed { .. })) {
                        "FAILED".to_string()
                    } else {
                        "reference".to_string()
                    }
                } else {
                    cell(&rs)
                };
                let _ = write!(s, "  {cell:>col$}");
            }
            s.push('\n');
        }
        s
    }
}

/// One cell of the error table.
fn cell(rs: &[&Record]) -> String {
    let failed = rs.iter().any(|r| matches!(r.outcome, Outcome::Failed { .. }));
    let known = rs.iter().any(|r| matches!(r.outcome, Outcome::Known { .. }));
    let diffs: Vec<_> = rs.iter().filter_map(|r| r.outcome.diff()).collect();
    if diffs.is_empty() {
        return if failed {
            "FAILED".into()
        } else if known {
            "known".into()
        } else {
            "-".into()
        };
    }
    let max_abs = diffs.iter().map(|d| d.max_abs).fold(0.0, f32::max);
    let ratio = diffs.iter().map(|d| d.ratio).fold(0.0, f32::max);
    let mark = if failed {
        " FAILED"
    } else if known {
        " known"
    } else {
        ""
    };
    if max_abs == 0.0 {
        format!("0{mark}")
    } else if ratio.is_finite() && ratio < 10.0 {
        format!("{max_abs:.1e} [{:.0}%]{mark}", ratio * 100.0)
    } else {
        format!("{max_abs:.1e} [>999%]{mark}")
    }
}
