//! TensorBoard event files: `Event` protobufs in TFRecord framing.
//!
//! A record is the data's length (u64, little-endian), the masked CRC32C of those 8 bytes
//! (u32), the data, and the masked CRC32C of the data (u32). The first event of a file
//! carries `file_version: "brain.Event:2"`.
//!
//! Event files are appended to, not rewritten through `crate::io::write_atomic` as Kiln's
//! other files are: TensorBoard reads a growing file from where it stopped while training
//! runs, and a file replaced by a rename would be invisible to it. Each record goes out in
//! one write, so a crash can leave at most a truncated last record, which TensorBoard's
//! reader skips.

use super::proto::{Event, HistogramProto, Kind, Summary, Value, What};
use crate::error::{KilnError, Result};
use prost::Message;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Buckets of a weight histogram, as `tf.summary.histogram` (TensorBoard's default).
pub(crate) const BUCKETS: usize = 30;

/// Makes file names unique within a process (TensorFlow's "global uid").
static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// TFRecord's CRC mask: rotate right by 15 bits and add a constant.
pub(crate) fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// `data` framed as one TFRecord.
pub(crate) fn frame(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if name.is_empty() { "localhost".into() } else { name }
}

/// An open event file in one directory (`logs/train`, `logs/validation`).
pub(crate) struct EventWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl EventWriter {
    /// Creates `dir` if needed and a new event file in it named as TensorFlow names them
    /// (`events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`), starting with the
    /// file-version event.
    pub fn create(dir: &Path) -> Result<EventWriter> {
        std::fs::create_dir_all(dir).map_err(|e| KilnError::Io {
            path: dir.display().to_string(),
            message: format!("cannot create the TensorBoard log directory: {e}"),
        })?;
        let wall = now();
        let name = format!(
            "events.out.tfevents.{:010}.{}.{}.{}.v2",
            wall as u64,
            hostname(),
            std::process::id(),
            FILE_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        let file = File::create_new(&path).map_err(|e| KilnError::Io {
            path: path.display().to_string(),
            message: format!("cannot create the TensorBoard event file: {e}"),
        })?;
        let mut writer = EventWriter {
            path,
            file: BufWriter::new(file),
        };
        writer.write(Event {
            wall_time: wall,
            step: 0,
            what: Some(What::FileVersion("brain.Event:2".into())),
        })?;
        writer.flush()?;
        Ok(writer)
    }

    fn io_error(&self, e: std::io::Error) -> KilnError {
        KilnError::Io {
            path: self.path.display().to_string(),
            message: format!("cannot write the TensorBoard event file: {e}"),
        }
    }

    fn write(&mut self, event: Event) -> Result<()> {
        let record = frame(&event.encode_to_vec());
        self.file.write_all(&record).map_err(|e| self.io_error(e))
    }

    fn write_value(&mut self, step: i64, tag: &str, kind: Kind) -> Result<()> {
        self.write(Event {
            wall_time: now(),
            step,
            what: Some(What::Summary(Summary {
                value: vec![Value {
                    tag: tag.to_string(),
                    kind: Some(kind),
                }],
            })),
        })
    }

    /// A scalar (stored as f32, as TensorBoard keeps scalars).
    pub fn scalar(&mut self, tag: &str, step: i64, value: f64) -> Result<()> {
        self.write_value(step, tag, Kind::SimpleValue(value as f32))
    }

    /// A histogram of `values`.
    pub fn histogram(&mut self, tag: &str, step: i64, values: &[f32]) -> Result<()> {
        self.write_value(step, tag, Kind::Histo(histogram(values, BUCKETS)))
    }

    /// Hands what is buffered to the operating system.
    pub fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(|e| self.io_error(e))
    }
}

/// A histogram of the finite values of `values` in `buckets` buckets of equal width from
/// the smallest to the largest value, as `tf.summary.histogram` buckets them (a value
/// goes to bucket `floor((v - min) / width)`, the largest to the last bucket). When all
/// values are equal every limit is that value and the last bucket holds them all.
pub(crate) fn histogram(values: &[f32], buckets: usize) -> HistogramProto {
    let data: Vec<f64> = values.iter().filter(|v| v.is_finite()).map(|&v| f64::from(v)).collect();
    let mut h = HistogramProto {
        bucket: vec![0.0; buckets],
        ..HistogramProto::default()
    };
    if data.is_empty() || buckets == 0 {
        h.bucket_limit = vec![0.0; buckets];
        return h;
    }
    let min = data.iter().copied().fold(f64::INFINITY, f64::min);
    let max = data.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    h.min = min;
    h.max = max;
    h.num = data.len() as f64;
    h.sum = data.iter().sum();
    h.sum_squares = data.iter().map(|v| v * v).sum();
    let range = max - min;
    if range == 0.0 {
        h.bucket_limit = vec![max; buckets];
        h.bucket[buckets - 1] = h.num;
        return h;
    }
    let width = range / buckets as f64;
    h.bucket_limit = (1..=buckets).map(|i| min + width * i as f64).collect();
    h.bucket_limit[buckets - 1] = max;
    for v in data {
        let i = (((v - min) / width).floor() as usize).min(buckets - 1);
        h.bucket[i] += 1.0;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_of_the_standard_check_string() {
        // CRC32C("123456789") = 0xE3069283 (the CRC catalogue's check value), masked by hand:
        // rotr15(0xE3069283) = 0x2507C60D; + 0xA282EAD8 = 0xC78AB0E5.
        assert_eq!(masked_crc(b"123456789"), 0xC78A_B0E5);
    }

    #[test]
    fn histogram_buckets_by_hand() {
        // min 0, max 3, 3 buckets of width 1: [0,1) {0, 0.5}, [1,2) {1}, [2,3] {2.5, 3}.
        let h = histogram(&[0.0, 0.5, 1.0, 2.5, 3.0, f32::NAN], 3);
        assert_eq!(h.bucket_limit, vec![1.0, 2.0, 3.0]);
        assert_eq!(h.bucket, vec![2.0, 1.0, 2.0]);
        assert_eq!((h.min, h.max, h.num, h.sum, h.sum_squares), (0.0, 3.0, 5.0, 7.0, 16.5));
        let single = histogram(&[0.0; 4], 3);
        assert_eq!(single.bucket_limit, vec![0.0; 3]);
        assert_eq!(single.bucket, vec![0.0, 0.0, 4.0]);
    }
}
