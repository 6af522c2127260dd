//! `Model::save` is atomic: a process killed (SIGKILL) while saving over a model file
//! leaves a file that loads and holds one complete set of weights, the old or the new.
//!
//! The writer is this test binary run again with `KILN_ATOMIC_WRITER` set: it saves a
//! model of about 8 MB to one path over and over, alternating between two weight sets.

use kiln::prelude::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WRITER_ENV: &str = "KILN_ATOMIC_WRITER";
const KILLS: usize = 20;

/// Two dense layers, 1024 → 1024 → 1024: 2,099,200 weights, 8.4 MB.
fn model() -> Model {
    let mut model = Sequential::new();
    model.add(Dense::new(1024).input_shape([1024])).unwrap();
    model.add(Dense::new(1024)).unwrap();
    model
}

/// Weight set `k` (0 or 1): every value tells which set and which position it is.
fn weight_set(model: &Model, k: usize) -> Vec<Tensor> {
    let sign = if k == 0 { 1.0 } else { -1.0 };
    model
        .get_weights()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(w, t)| {
            let n = t.to_f32().len();
            let data = (0..n)
                .map(|i| sign * (((i * 31 + w) % 1009) as f32 + 1.0) / 1009.0)
                .collect();
            Tensor::from_f32(data, t.shape().to_vec()).unwrap()
        })
        .collect()
}

/// The child: saves to the path in `KILN_ATOMIC_WRITER` until killed.
#[test]
#[ignore = "the writer process of kill_during_save_leaves_a_complete_file, run by it"]
fn writer_process() {
    let path = PathBuf::from(std::env::var(WRITER_ENV).expect("run by kill_during_save_leaves_a_complete_file"));
    let mut model = model();
    let sets = [weight_set(&model, 0), weight_set(&model, 1)];
    println!("ready");
    for k in 0.. {
        model.set_weights(&sets[k % 2]).unwrap();
        model.save(&path).unwrap();
    }
}

/// Kills and reaps the child however the test ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh temporary directory for one test.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which of the two weight sets the file at `path` holds; panics on anything else.
fn which_set(path: &Path, sets: &[Vec<Tensor>; 2], attempt: usize) -> usize {
    let loaded = Model::load(path, &Device::Ndarray)
        .unwrap_or_else(|e| panic!("kill {attempt}: the file does not load after the kill: {e}"));
    let weights = loaded.get_weights().unwrap();
    sets.iter()
        .position(|s| *s == weights)
        .unwrap_or_else(|| panic!("kill {attempt}: the file holds neither complete weight set"))
}

#[test]
fn kill_during_save_leaves_a_complete_file() {
    let started = Instant::now();
    let dir = TempDir(std::env::temp_dir().join(format!("kiln-atomic-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("model.kiln");
    let mut model = model();
    let sets = [weight_set(&model, 0), weight_set(&model, 1)];
    model.set_weights(&sets[0]).unwrap();
    model.save(&path).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seen = [0usize; 2];
    let mut interrupted = 0;
    for attempt in 0..KILLS {
        let child = Command::new(&exe)
            .args([
                &crate::common::test_path(module_path!(), "writer_process"),
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut child = Reaped(child);
        let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("ready") {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "kill {attempt}: the writer exited before it was ready"
            );
        }
        // Staggered: 0 to 570 ms after the writer's first save began, by 30 ms steps (a
        // save takes tens to hundreds of milliseconds, more in a debug build).
        std::thread::sleep(Duration::from_millis((attempt * 7 % 20) as u64 * 30));
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        // A killed write leaves its temporary file behind (removed here, counted).
        let temporaries: Vec<PathBuf> = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".tmp"))
            .collect();
        if !temporaries.is_empty() {
            interrupted += 1;
        }
        for t in temporaries {
            std::fs::remove_file(t).unwrap();
        }
        seen[which_set(&path, &sets, attempt)] += 1;
        assert!(started.elapsed() < Duration::from_secs(30), "the test ran past 30 s");
    }
    // The kills landed in writes (a temporary file was left) at least once; otherwise the
    // test proved nothing about atomicity.
    assert!(
        interrupted > 0,
        "no kill interrupted a save (weight sets seen: {seen:?}); the delays need adjusting"
    );
    // What a write in place would leave when killed: a prefix of the file, which the
    // check above refuses.
    let bytes = std::fs::read(&path).unwrap();
    let partial = dir.0.join("partial.kiln");
    std::fs::write(&partial, &bytes[..bytes.len() / 2]).unwrap();
    assert!(
        Model::load(&partial, &Device::Ndarray).is_err(),
        "a half-written file must not load"
    );
    eprintln!(
        "{KILLS} kills: {interrupted} during a write; set 0 seen {} times, set 1 {} times",
        seen[0], seen[1]
    );
}
