//! `CSVLogger`: writes each epoch's logs to a CSV file.

use super::{Callback, Logs};
use crate::error::{KilnError, Result};
use crate::io::write_atomic;
use crate::model::Model;
use std::path::PathBuf;

/// Writes one CSV row per epoch: `epoch` then every log entry in sorted order.
/// The file is rewritten atomically after each epoch, so a crash never leaves half a row.
///
/// Defaults as Keras: `separator=","`, `append=false`.
#[derive(Clone, Debug)]
pub struct CsvLogger {
    path: PathBuf,
    separator: String,
    append: bool,
    keys: Vec<String>,
    lines: Vec<String>,
}

impl CsvLogger {
    /// A logger writing to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CsvLogger {
            path: path.into(),
            separator: ",".into(),
            append: false,
            keys: Vec::new(),
            lines: Vec::new(),
        }
    }
    /// The field separator.
    pub fn separator(mut self, s: &str) -> Self {
        self.separator = s.into();
        self
    }
    /// Append to an existing file instead of replacing it.
    pub fn append(mut self, a: bool) -> Self {
        self.append = a;
        self
    }

    fn io_error(&self, e: impl std::fmt::Display) -> KilnError {
        KilnError::Io {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }
}

impl Callback for CsvLogger {
    /// Writes one row per epoch; batch logs are not read.
    fn reads_batch_logs(&self) -> bool {
        false
    }

    fn on_train_begin(&mut self, _model: &mut Model, _logs: &Logs) -> Result<()> {
        self.keys.clear();
        self.lines.clear();
        if self.append && self.path.exists() {
            let text = std::fs::read_to_string(&self.path).map_err(|e| self.io_error(e))?;
            let mut lines = text.lines();
            if let Some(header) = lines.next() {
                self.keys = header
                    .split(self.separator.as_str())
                    .skip(1)
                    .map(str::to_string)
                    .collect();
                self.lines.push(header.to_string());
                self.lines.extend(lines.map(str::to_string));
            }
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, _model: &mut Model, epoch: usize, logs: &mut Logs) -> Result<()> {
        if self.keys.is_empty() {
            self.keys = logs.keys().cloned().collect();
            let mut header = vec!["epoch".to_string()];
            header.extend(self.keys.iter().cloned());
            self.lines.push(header.join(&self.separator));
        }
        let mut row = vec![epoch.to_string()];
        for k in &self.keys {
            row.push(logs.get(k).map_or_else(|| "NA".to_string(), |v| v.to_string()));
        }
        self.lines.push(row.join(&self.separator));
        let mut text = self.lines.join("\n");
        text.push('\n');
        write_atomic(&self.path, text.as_bytes()).map_err(|e| self.io_error(e))
    }
}
