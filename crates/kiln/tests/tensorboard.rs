//! The TensorBoard callback: event files written during `fit`, read back with a decoder
//! written here from the formats' specifications (TFRecord framing with its masked
//! CRC32C, the protobuf wire format of `Event`/`Summary`/`HistogramProto`), compared with
//! the History, the batch logs and the weights seen by another callback.
//!
//! With `KILN_TB_DIR` set, the first test also leaves its logs and a `history.json` there
//! for tests/tensorboard/check_events.py, which reads the logs with TensorBoard's own
//! `EventAccumulator`.

use kiln::callbacks::{Logs, UpdateFreq};
use kiln::optimizers::Adam;
use kiln::prelude::*;
use kiln::{KilnError, Result};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

// ------------------------------------------------------------------ the decoder

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// TFRecord's mask: `((crc >> 15) | (crc << 17)) + 0xa282ead8`.
#[allow(clippy::manual_rotate)] // written as the format's specification writes it
fn masked(crc: u32) -> u32 {
    ((crc >> 15) | (crc << 17)).wrapping_add(0xa282_ead8)
}

/// The records of a TFRecord file, every CRC checked.
fn records(bytes: &[u8]) -> std::result::Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    while at < bytes.len() {
        if bytes.len() - at < 12 {
            return Err(format!("truncated header at byte {at}"));
        }
        let len_bytes = &bytes[at..at + 8];
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        if masked(crc32c(len_bytes)) != u32_at(at + 8) {
            return Err(format!("bad length CRC at byte {at}"));
        }
        let start = at + 12;
        if bytes.len() < start + len + 4 {
            return Err(format!("truncated record at byte {at}"));
        }
        let data = &bytes[start..start + len];
        if masked(crc32c(data)) != u32_at(start + len) {
            return Err(format!("bad data CRC at byte {at}"));
        }
        out.push(data);
        at = start + len + 4;
    }
    Ok(out)
}

/// One protobuf field: its number and value.
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

fn varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = bytes[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    v
}

fn fields(bytes: &[u8]) -> Vec<(u64, Field<'_>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = varint(bytes, &mut at);
        let field = match key & 7 {
            0 => Field::Varint(varint(bytes, &mut at)),
            1 => {
                at += 8;
                Field::Fixed64(u64::from_le_bytes(bytes[at - 8..at].try_into().unwrap()))
            }
            2 => {
                let len = varint(bytes, &mut at) as usize;
                at += len;
                Field::Bytes(&bytes[at - len..at])
            }
            5 => {
                at += 4;
                Field::Fixed32(u32::from_le_bytes(bytes[at - 4..at].try_into().unwrap()))
            }
            w => panic!("unexpected wire type {w}"),
        };
        out.push((key >> 3, field));
    }
    out
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Histogram {
    min: f64,
    max: f64,
    num: f64,
    sum: f64,
    sum_squares: f64,
    bucket_limit: Vec<f64>,
    bucket: Vec<f64>,
}

#[derive(Debug)]
enum Decoded {
    FileVersion(String),
    Scalar(String, f32),
    Histo(String, Histogram),
}

#[derive(Debug)]
struct Event {
    wall_time: f64,
    step: i64,
    what: Vec<Decoded>,
}

fn doubles(field: &Field<'_>) -> Vec<f64> {
    match field {
        Field::Fixed64(v) => vec![f64::from_bits(*v)],
        Field::Bytes(b) => b.chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(),
        _ => panic!("not a double"),
    }
}

fn histogram(bytes: &[u8]) -> Histogram {
    let mut h = Histogram::default();
    for (n, f) in fields(bytes) {
        let v = doubles(&f);
        match n {
            1 => h.min = v[0],
            2 => h.max = v[0],
            3 => h.num = v[0],
            4 => h.sum = v[0],
            5 => h.sum_squares = v[0],
            6 => h.bucket_limit.extend(v),
            7 => h.bucket.extend(v),
            _ => {}
        }
    }
    h
}

fn event(bytes: &[u8]) -> Event {
    let mut e = Event {
        wall_time: 0.0,
        step: 0,
        what: Vec::new(),
    };
    for (n, f) in fields(bytes) {
        match (n, f) {
            (1, Field::Fixed64(v)) => e.wall_time = f64::from_bits(v),
            (2, Field::Varint(v)) => e.step = v as i64,
            (3, Field::Bytes(b)) => e
                .what
                .push(Decoded::FileVersion(String::from_utf8(b.to_vec()).unwrap())),
            (5, Field::Bytes(summary)) => {
                for (n, f) in fields(summary) {
                    let (1, Field::Bytes(value)) = (n, f) else { continue };
                    let mut tag = String::new();
                    let mut decoded = None;
                    for (n, f) in fields(value) {
                        match (n, f) {
                            (1, Field::Bytes(b)) => tag = String::from_utf8(b.to_vec()).unwrap(),
                            (2, Field::Fixed32(v)) => decoded = Some(Err(f32::from_bits(v))),
                            (5, Field::Bytes(b)) => decoded = Some(Ok(histogram(b))),
                            _ => {}
                        }
                    }
                    e.what.push(match decoded.expect("a value") {
                        Err(v) => Decoded::Scalar(tag, v),
                        Ok(h) => Decoded::Histo(tag, h),
                    });
                }
            }
            _ => {}
        }
    }
    e
}

/// What one run directory holds.
#[derive(Default)]
struct Run {
    files: usize,
    scalars: BTreeMap<String, Vec<(i64, f32)>>,
    histograms: BTreeMap<String, Vec<(i64, Histogram)>>,
}

fn read_run(dir: &Path) -> Run {
    let mut run = Run::default();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("events.out.tfevents."), "{name}");
        run.files += 1;
        let bytes = std::fs::read(&path).unwrap();
        let events: Vec<Event> = records(&bytes).unwrap().into_iter().map(event).collect();
        assert!(
            matches!(&events[0].what[..], [Decoded::FileVersion(v)] if v == "brain.Event:2"),
            "{:?}",
            events[0]
        );
        for e in events {
            assert!((now - e.wall_time).abs() < 600.0, "wall time {}", e.wall_time);
            for d in e.what {
                match d {
                    Decoded::FileVersion(_) => {}
                    Decoded::Scalar(tag, v) => run.scalars.entry(tag).or_default().push((e.step, v)),
                    Decoded::Histo(tag, h) => run.histograms.entry(tag).or_default().push((e.step, h)),
                }
            }
        }
    }
    run
}

// ------------------------------------------------------------------ training

/// `n` rows of 4 deterministic features and labels of 3 classes.
fn data(n: usize) -> (Tensor, Tensor) {
    let x = Tensor::from_f32((0..n * 4).map(|i| ((i as f32) * 0.37 + 0.2).sin()).collect(), [n, 4]).unwrap();
    let y = Tensor::from_i32((0..n as i32).map(|i| (i * 7 + 1) % 3).collect(), [n]).unwrap();
    (x, y)
}

fn classifier() -> Model {
    kiln::set_random_seed(5);
    let mut model = Sequential::new();
    model.add(Dense::new(8).activation("relu").input_shape([4])).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model
        .compile(
            Adam::new().learning_rate(0.01),
            "sparse_categorical_crossentropy",
            &["accuracy"],
        )
        .unwrap();
    model
}

/// What another callback sees: every batch's logs, and at each epoch's end the weights,
/// the learning rate and the optimizer's step count.
#[derive(Debug, Default)]
struct Seen {
    batches: Vec<Logs>,
    weights: Vec<Vec<Tensor>>,
    learning_rate: Vec<f32>,
    iterations: Vec<u64>,
}

struct Recorder(Rc<RefCell<Seen>>);

impl Callback for Recorder {
    fn on_batch_end(&mut self, _model: &mut Model, _batch: usize, logs: &Logs) -> Result<()> {
        self.0.borrow_mut().batches.push(logs.clone());
        Ok(())
    }
    fn on_epoch_end(&mut self, model: &mut Model, _epoch: usize, _logs: &mut Logs) -> Result<()> {
        let mut seen = self.0.borrow_mut();
        seen.weights.push(model.get_weights()?);
        seen.learning_rate.push(model.learning_rate()?);
        seen.iterations.push(model.optimizer_iterations()?);
        Ok(())
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-tb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// 48 samples, a quarter for validation, batches of 8: 5 training batches per epoch.
fn train(log_dir: &Path, tb: TensorBoard, epochs: usize) -> Result<(Model, History, Seen)> {
    let mut model = classifier();
    let (x, y) = data(48);
    let seen = Rc::new(RefCell::new(Seen::default()));
    let options = FitOptions::new()
        .epochs(epochs)
        .batch_size(8)
        .verbose(0)
        .validation_split(0.25)
        .callback(tb)
        .callback(Recorder(seen.clone()));
    let history = model.fit(&x, &y, options)?;
    assert!(log_dir.is_dir());
    let seen = seen.take();
    Ok((model, history, seen))
}

fn values(run: &Run, tag: &str) -> Vec<(i64, f32)> {
    run.scalars
        .get(tag)
        .cloned()
        .unwrap_or_else(|| panic!("no {tag}: {:?}", run.scalars.keys()))
}

fn per_epoch(values: &[f64]) -> Vec<(i64, f32)> {
    values.iter().enumerate().map(|(i, v)| (i as i64, *v as f32)).collect()
}

fn json_numbers(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
    format!("[{}]", items.join(", "))
}

// ------------------------------------------------------------------ tests

#[test]
fn epoch_batch_and_histogram_summaries_match_what_training_saw() -> Result<()> {
    let kept = std::env::var_os("KILN_TB_DIR").map(PathBuf::from);
    let root = kept.clone().unwrap_or_else(|| temp_dir("full"));
    let log_dir = root.join("logs");
    let _ = std::fs::remove_dir_all(&log_dir);
    let tb = TensorBoard::new(&log_dir)
        .update_freq(UpdateFreq::Batch)
        .histogram_freq(2);
    let (model, history, seen) = train(&log_dir, tb, 3)?;
    let train_run = read_run(&log_dir.join("train"));
    let val_run = read_run(&log_dir.join("validation"));
    assert_eq!((train_run.files, val_run.files), (1, 1));

    // Epoch values: the History's, at step = epoch.
    assert_eq!(
        values(&train_run, "epoch_loss"),
        per_epoch(history.get("loss").unwrap())
    );
    assert_eq!(
        values(&train_run, "epoch_accuracy"),
        per_epoch(history.get("accuracy").unwrap())
    );
    assert_eq!(
        values(&train_run, "epoch_learning_rate"),
        vec![(0, 0.01), (1, 0.01), (2, 0.01)]
    );
    assert_eq!(
        values(&val_run, "epoch_loss"),
        per_epoch(history.get("val_loss").unwrap())
    );
    assert_eq!(
        values(&val_run, "epoch_accuracy"),
        per_epoch(history.get("val_accuracy").unwrap())
    );
    // Keras's validation pass also logs against the optimizer's step count: 5, 10, 15.
    assert_eq!(seen.iterations, vec![5, 10, 15]);
    let by_iteration: Vec<(i64, f32)> = history
        .get("val_loss")
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, v)| (5 * (i as i64 + 1), *v as f32))
        .collect();
    assert_eq!(values(&val_run, "evaluation_loss_vs_iterations"), by_iteration);

    // Batch values: every batch's logs at the global batch number, from 1.
    assert_eq!(seen.batches.len(), 15);
    for name in ["loss", "accuracy"] {
        let expected: Vec<(i64, f32)> = seen
            .batches
            .iter()
            .enumerate()
            .map(|(i, l)| (i as i64 + 1, l[name] as f32))
            .collect();
        assert_eq!(values(&train_run, &format!("batch_{name}")), expected);
    }
    let tags: Vec<&String> = train_run.scalars.keys().collect();
    assert_eq!(
        tags,
        [
            "batch_accuracy",
            "batch_loss",
            "epoch_accuracy",
            "epoch_learning_rate",
            "epoch_loss"
        ]
    );

    // Histograms at epochs 0 and 2 (histogram_freq 2) of the weights at those epochs' ends.
    let names = model.weight_names();
    assert_eq!(train_run.histograms.len(), names.len());
    let mut json_weights = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let tag = format!("{}/{name}/histogram", model.name());
        let steps = train_run.histograms.get(&tag).unwrap_or_else(|| panic!("no {tag}"));
        assert_eq!(steps.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 2], "{tag}");
        for (step, h) in steps {
            let w: Vec<f64> = seen.weights[*step as usize][i]
                .to_f32()
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let min = w.iter().copied().fold(f64::INFINITY, f64::min);
            let max = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = w.iter().sum();
            let sum_squares: f64 = w.iter().map(|v| v * v).sum();
            assert_eq!((h.min, h.max, h.num), (min, max, w.len() as f64), "{tag} step {step}");
            assert!(
                (h.sum - sum).abs() < 1e-9 && (h.sum_squares - sum_squares).abs() < 1e-9,
                "{tag}"
            );
            assert_eq!((h.bucket.len(), h.bucket_limit.len()), (30, 30), "{tag}");
            assert_eq!(h.bucket.iter().sum::<f64>(), w.len() as f64, "{tag}");
            if min == max {
                // A constant weight (the biases start at zero): one full last bucket.
                assert!(h.bucket_limit.iter().all(|&l| l == max) && h.bucket[29] == w.len() as f64);
                continue;
            }
            // Equal-width buckets from min to max: bucket k holds [left, right), the last
            // one its right edge too. Values within 1e-9 of an edge may fall either side.
            let width = (max - min) / 30.0;
            for (k, &count) in h.bucket.iter().enumerate() {
                let (left, right) = (min + width * k as f64, min + width * (k + 1) as f64);
                assert!((h.bucket_limit[k] - right).abs() < 1e-9, "{tag} limit {k}");
                let sure = w.iter().filter(|&&v| v > left + 1e-9 && v < right - 1e-9).count() as f64;
                let maybe = w.iter().filter(|&&v| v >= left - 1e-9 && v <= right + 1e-9).count() as f64;
                assert!(
                    sure <= count && count <= maybe,
                    "{tag} bucket {k}: {count} not in [{sure}, {maybe}]"
                );
            }
            json_weights.push(format!(
                "{{\"tag\": \"{tag}\", \"step\": {step}, \"min\": {min:?}, \"max\": {max:?}, \"num\": {}, \"sum\": {sum:?}}}",
                w.len()
            ));
        }
    }

    if kept.is_some() {
        let history_json: Vec<String> = history
            .history
            .iter()
            .map(|(k, v)| format!("\"{k}\": {}", json_numbers(v)))
            .collect();
        let batch_json: Vec<String> = ["loss", "accuracy"]
            .iter()
            .map(|k| {
                let v: Vec<f64> = seen.batches.iter().map(|l| l[*k]).collect();
                format!("\"{k}\": {}", json_numbers(&v))
            })
            .collect();
        let lr: Vec<f64> = seen.learning_rate.iter().map(|&v| f64::from(v)).collect();
        let json = format!(
            "{{\"history\": {{{}}}, \"epoch\": {:?}, \"batch\": {{{}}}, \"learning_rate\": {}, \"iterations\": {:?}, \"weights\": [{}]}}\n",
            history_json.join(", "),
            history.epoch,
            batch_json.join(", "),
            json_numbers(&lr),
            seen.iterations,
            json_weights.join(", ")
        );
        std::fs::write(root.join("history.json"), json).unwrap();
    } else {
        std::fs::remove_dir_all(&root).unwrap();
    }
    Ok(())
}

#[test]
fn every_n_batches_epoch_only_and_a_second_fit() -> Result<()> {
    let root = temp_dir("freq");
    // Every 4th global batch of 15: 4, 8, 12.
    let (_, _, seen) = train(&root, TensorBoard::new(&root).update_freq(4), 3)?;
    let run = read_run(&root.join("train"));
    let steps: Vec<i64> = values(&run, "batch_loss").iter().map(|s| s.0).collect();
    assert_eq!(steps, vec![4, 8, 12]);
    assert_eq!(values(&run, "batch_loss")[0].1, seen.batches[3]["loss"] as f32);
    assert!(run.histograms.is_empty());

    // Epoch values only, no validation data: no batch tags, no validation directory.
    let epoch_only = temp_dir("epoch");
    let mut model = classifier();
    let (x, y) = data(16);
    let tb = TensorBoard::new(&epoch_only);
    model.fit(&x, &y, FitOptions::new().epochs(2).verbose(0).callback(tb))?;
    let run = read_run(&epoch_only.join("train"));
    assert_eq!(run.files, 1);
    let tags: Vec<&String> = run.scalars.keys().collect();
    assert_eq!(tags, ["epoch_accuracy", "epoch_learning_rate", "epoch_loss"]);
    assert!(!epoch_only.join("validation").exists());

    // A second fit into the same directory starts a new file beside the first.
    let tb = TensorBoard::new(&epoch_only);
    model.fit(&x, &y, FitOptions::new().epochs(1).verbose(0).callback(tb))?;
    let run = read_run(&epoch_only.join("train"));
    assert_eq!(run.files, 2);
    assert_eq!(values(&run, "epoch_loss").len(), 3);
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::remove_dir_all(&epoch_only).unwrap();
    Ok(())
}

#[test]
fn the_decoder_rejects_a_corrupted_record() -> Result<()> {
    let root = temp_dir("crc");
    train(&root, TensorBoard::new(&root), 1)?;
    let dir = root.join("train");
    let path = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(records(&bytes).is_ok());
    let last = bytes.len() - 6;
    bytes[last] ^= 0x01;
    assert!(records(&bytes).unwrap_err().starts_with("bad data CRC"));
    std::fs::remove_dir_all(&root).unwrap();
    Ok(())
}

#[test]
fn bad_arguments_and_unwritable_directories_are_clean_errors() {
    let root = temp_dir("bad");
    let err = train(&root, TensorBoard::new(&root).update_freq(0), 1).unwrap_err();
    assert!(
        matches!(&err, KilnError::Callback { callback, message } if callback == "TensorBoard" && message.contains("update_freq: 0")),
        "{err}"
    );
    // A file where the log directory should be.
    std::fs::write(&root, b"not a directory").unwrap();
    let err = train(&root, TensorBoard::new(&root), 1).unwrap_err();
    let KilnError::Io { path, message } = &err else {
        panic!("{err}")
    };
    assert_eq!(Path::new(path), root.join("train"));
    assert!(
        message.contains("cannot create the TensorBoard log directory"),
        "{message}"
    );
    std::fs::remove_file(&root).unwrap();
}
