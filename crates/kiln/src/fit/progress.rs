//! Keras's progress bar: `12/47 ━━━━━━━━━━━━━━━━━━━━ 1s 25ms/step - accuracy: 0.8125 - loss: 0.4411`.

use crate::callbacks::Logs;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const WIDTH: usize = 20;
const INTERVAL: Duration = Duration::from_millis(50);

/// A progress bar over `target` steps, printed as Keras prints it: updated in place on a
/// terminal (`verbose=1`), or once at the end of the epoch otherwise; `verbose=2` prints
/// one summary line per epoch.
pub struct ProgressBar {
    target: usize,
    verbose: u8,
    start: Instant,
    last: Option<Instant>,
    tty: bool,
    width_printed: usize,
}

/// A log value as Keras prints it: four decimals, or scientific when tiny.
pub fn format_value(v: f64) -> String {
    if v.abs() > 1e-3 || v == 0.0 {
        format!("{v:.4}")
    } else {
        let s = format!("{v:.4e}");
        // Rust prints `1.2345e-5`; Keras (Python) prints `1.2345e-05`.
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    }
}

fn format_logs(logs: &Logs) -> String {
    logs.iter()
        .map(|(k, v)| format!(" - {k}: {}", format_value(*v)))
        .collect()
}

/// Time per step as Keras prints it: `25ms/step`, `3s/step`, `120us/step`.
fn per_step(d: f64) -> String {
    if d >= 1.0 {
        format!("{}s/step", d.round() as u64)
    } else if d >= 1e-3 {
        format!("{}ms/step", (d * 1e3).round() as u64)
    } else {
        format!("{}us/step", (d * 1e6).round() as u64)
    }
}

/// The one line `verbose=2` prints per epoch: `3/3 - 1s - 204ms/step - accuracy: 0.2500 - …`.
pub(crate) fn epoch_line(steps: usize, elapsed: f64, per: f64, logs: &Logs) -> String {
    format!(
        "{steps}/{steps} - {}s - {}{}",
        elapsed.round() as u64,
        per_step(per),
        format_logs(logs)
    )
}

impl ProgressBar {
    /// A bar over `target` steps.
    pub fn new(target: usize, verbose: u8) -> Self {
        ProgressBar {
            target: target.max(1),
            verbose,
            start: Instant::now(),
            last: None,
            tty: std::io::stdout().is_terminal(),
            width_printed: 0,
        }
    }

    fn bar(&self, current: usize) -> String {
        let digits = self.target.to_string().len();
        let filled = WIDTH * current / self.target;
        if self.tty {
            format!(
                "\x1b[1m{current:>digits$}/{}\x1b[0m \x1b[32m{}\x1b[0m\x1b[37m{}\x1b[0m",
                self.target,
                "━".repeat(filled),
                "━".repeat(WIDTH - filled)
            )
        } else {
            format!("{current:>digits$}/{} {}", self.target, "━".repeat(WIDTH))
        }
    }

    /// Whether [`update`](ProgressBar::update) would redraw the bar at step `current`: only
    /// with `verbose=1` on a terminal, and as Keras's `Progbar` at most every 0.05 s
    /// except at the last step. `fit` reads the logs back from the device only then.
    pub fn due(&self, current: usize) -> bool {
        self.verbose == 1 && self.tty && (current >= self.target || self.last.is_none_or(|t| t.elapsed() >= INTERVAL))
    }

    /// Shows step `current` (1-based) with the running `logs`.
    pub fn update(&mut self, current: usize, logs: &Logs) {
        if !self.due(current) {
            return;
        }
        let now = Instant::now();
        self.last = Some(now);
        let elapsed = (now - self.start).as_secs_f64();
        let per = elapsed / current.max(1) as f64;
        let eta = per * (self.target - current.min(self.target)) as f64;
        let line = format!(
            "{} \x1b[1m{}s\x1b[0m {}{}",
            self.bar(current),
            eta.round() as u64,
            per_step(per),
            format_logs(logs)
        );
        self.print_in_place(&line);
    }

    fn print_in_place(&mut self, line: &str) {
        let mut out = std::io::stdout().lock();
        let len = line.chars().count();
        let pad = self.width_printed.saturating_sub(len);
        let _ = write!(out, "\r{line}{}", " ".repeat(pad));
        let _ = out.flush();
        self.width_printed = len;
    }

    /// Prints the final line of the epoch with its complete logs.
    pub fn finish(&mut self, logs: &Logs) {
        let elapsed = self.start.elapsed().as_secs_f64();
        let per = per_step(elapsed / self.target as f64);
        match self.verbose {
            1 => {
                let line = if self.tty {
                    format!(
                        "{} \x1b[1m{}s\x1b[0m {per}{}",
                        self.bar(self.target),
                        elapsed.round() as u64,
                        format_logs(logs)
                    )
                } else {
                    format!(
                        "{} {}s {per}{}",
                        self.bar(self.target),
                        elapsed.round() as u64,
                        format_logs(logs)
                    )
                };
                if self.tty {
                    self.print_in_place(&line);
                    println!();
                } else {
                    println!("{line}");
                }
            }
            2 => println!(
                "{}",
                epoch_line(self.target, elapsed, elapsed / self.target as f64, logs)
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verbose_2_line_matches_keras() {
        // tests/keras/goldens/text/fit_verbose2.txt, with its timings.
        let golden = include_str!("../../../../tests/keras/goldens/text/fit_verbose2.txt");
        let logs: Logs = [
            ("accuracy", 0.25),
            ("loss", 1.5779),
            ("val_accuracy", 0.25),
            ("val_loss", 1.2943),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let line = epoch_line(3, 1.2, 0.204, &logs);
        assert_eq!(golden.lines().nth(1), Some(line.as_str()));
        let logs: Logs = [
            ("accuracy", 0.25),
            ("loss", 1.5737),
            ("val_accuracy", 0.25),
            ("val_loss", 1.2926),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(golden.lines().nth(3), Some(epoch_line(3, 0.003, 0.001, &logs).as_str()));
    }

    #[test]
    fn values_print_as_keras() {
        assert_eq!(format_value(0.43216), "0.4322");
        assert_eq!(format_value(0.0), "0.0000");
        assert_eq!(format_value(0.000012345), "1.2345e-05");
        assert_eq!(per_step(0.0253), "25ms/step");
        assert_eq!(per_step(0.000125), "125us/step");
    }
}
