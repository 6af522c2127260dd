//! Kiln's half of the Kiln-against-Keras benchmark: trains one of three Fashion-MNIST
//! models on one engine and reports how long it took, how much memory it used and how well
//! it learned.
//!
//! The three models are the usual first networks of a Keras tutorial, built exactly as
//! `benches/keras/fashion_mnist.py` builds them in Keras 3:
//!
//! | `--model` | network | input |
//! |---|---|---|
//! | `mlp` | Dense(128, relu) → Dense(64, relu) → Dense(10, softmax) | 784 pixels |
//! | `cnn` | Conv2D(32, 3, relu) → MaxPooling2D → Conv2D(64, 3, relu) → MaxPooling2D → Flatten → Dense(10, softmax) | 28×28×1 |
//! | `lstm` | LSTM(128) over the 28 rows of 28 pixels → Dense(10, softmax) | 28×28 |
//!
//! Pixels are scaled to [0, 1]; each model is compiled with Adam (Keras's defaults),
//! `sparse_categorical_crossentropy` and accuracy, and trained with batches of 128,
//! shuffled every epoch. What it measures:
//!
//! - **epoch time**: every epoch is timed by a small [`Callback`]; the steady time is the
//!   mean of epochs 2 and later, since epoch 1 also pays for warm-up (kernel compilation,
//!   allocator growth);
//! - **predict time**: `predict` on the 10,000 test images in batches of 128, after one
//!   untimed warm-up `predict`;
//! - **peak memory**: the process's peak resident set (`VmHWM` in `/proc/self/status`) at
//!   the end, so run one model and engine per process;
//! - **test accuracy**: the share of test images whose most probable class is the label.
//!
//! The images come from Debian's `dataset-fashion-mnist` (`./scripts/setup` installs it) or
//! from the directory named by `KILN_DATA`. `scripts/bench-keras` (`just bench-keras`) runs
//! every model on every engine and Keras, and prints the comparison table; on its own:
//!
//! ```text
//! cargo run --release -p kiln --example fashion_mnist_bench -- --model mlp --device flex
//! cargo run --release -p kiln --example fashion_mnist_bench -- --model cnn --device flex --epochs 3 --json
//! ```

use clap::{Parser, ValueEnum};
use kiln::callbacks::Logs;
use kiln::datasets::fashion_mnist;
use kiln::prelude::*;
use kiln::{PredictOptions, Tensor};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

/// Samples per training step and per predict batch.
const BATCH_SIZE: usize = 128;

/// Which of the three networks to train.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Arch {
    /// Two hidden dense layers on the flattened pixels.
    Mlp,
    /// Two convolution + pooling blocks and a softmax layer.
    Cnn,
    /// An LSTM reading the image one row of pixels at a time.
    Lstm,
}

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(
    about = "Train a Fashion-MNIST model with Kiln and report epoch time, predict time, peak memory and accuracy"
)]
struct Args {
    /// The network to train.
    #[arg(long, value_enum, required_unless_present = "list_engines")]
    model: Option<Arch>,
    /// The device (engine) to run on: ndarray, flex, wgpu, tch, cpu, … (default: $KILN_DEVICE, else cpu).
    #[arg(long)]
    device: Option<String>,
    /// Training epochs (the steady epoch time needs at least 2).
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Seed of the weights and of the shuffling.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print one JSON line instead of a readable report.
    #[arg(long)]
    json: bool,
    /// Print the compiled-in engines, one per line, and exit.
    #[arg(long, exclusive = true)]
    list_engines: bool,
}

/// Records the wall time of every epoch, read back after `fit` through the shared vector.
struct EpochTimer {
    started: Option<Instant>,
    seconds: Rc<RefCell<Vec<f64>>>,
}

impl Callback for EpochTimer {
    fn on_epoch_begin(&mut self, _model: &mut Model, _epoch: usize, _logs: &Logs) -> kiln::Result<()> {
        self.started = Some(Instant::now());
        Ok(())
    }

    fn on_epoch_end(&mut self, _model: &mut Model, epoch: usize, logs: &mut Logs) -> kiln::Result<()> {
        if let Some(start) = self.started.take() {
            let seconds = start.elapsed().as_secs_f64();
            self.seconds.borrow_mut().push(seconds);
            // Progress for the log (stdout carries only the report).
            let loss = logs.get("loss").copied().unwrap_or(f64::NAN);
            eprintln!("epoch {}: {seconds:.2} s, loss {loss:.4}", epoch + 1);
        }
        Ok(())
    }

    /// The batch hooks are not used: `fit` need not read the loss back after every batch.
    fn reads_batch_logs(&self) -> bool {
        false
    }
}

/// Pixels 0–255 of `(n, 28, 28)` images scaled to 0–1 and laid out as the model's input:
/// `(n, 784)` for the MLP, `(n, 28, 28, 1)` for the CNN, `(n, 28, 28)` for the LSTM.
fn prepare(images: &Tensor, arch: Arch) -> anyhow::Result<Tensor> {
    let n = images.shape()[0];
    let shape = match arch {
        Arch::Mlp => vec![n, 28 * 28],
        Arch::Cnn => vec![n, 28, 28, 1],
        Arch::Lstm => vec![n, 28, 28],
    };
    let scaled = images.to_f32().into_iter().map(|p| p / 255.0).collect();
    Ok(Tensor::from_f32(scaled, shape)?)
}

/// The network, as `benches/keras/fashion_mnist.py` builds it in Keras.
fn build(arch: Arch) -> anyhow::Result<Model> {
    let mut model = Sequential::new();
    match arch {
        Arch::Mlp => {
            model.add(Input::new([28 * 28]))?;
            model.add(Dense::new(128).activation("relu"))?;
            model.add(Dense::new(64).activation("relu"))?;
        }
        Arch::Cnn => {
            model.add(Input::new([28, 28, 1]))?;
            model.add(Conv2D::new(32, 3).activation("relu"))?;
            model.add(MaxPooling2D::new())?;
            model.add(Conv2D::new(64, 3).activation("relu"))?;
            model.add(MaxPooling2D::new())?;
            model.add(Flatten::new())?;
        }
        Arch::Lstm => {
            model.add(Input::new([28, 28]))?;
            model.add(LSTM::new(128))?;
        }
    }
    model.add(Dense::new(10).activation("softmax"))?;
    Ok(model)
}

/// The process's peak resident set in MiB (`VmHWM`), or `None` where `/proc` has no such line.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The share of rows of `probabilities` (`(n, classes)`) whose largest entry is at the label.
fn accuracy(probabilities: &Tensor, labels: &Tensor) -> f64 {
    let classes = probabilities.shape()[1];
    let p = probabilities.to_f32();
    let labels = labels.to_f32();
    let mut hits = 0;
    for (row, &label) in p.chunks(classes).zip(&labels) {
        let best = (0..classes).fold(0, |best, i| if row[i] > row[best] { i } else { best });
        hits += usize::from(best == label as usize);
    }
    hits as f64 / labels.len() as f64
}

/// The mean of the epochs after the first (the first alone when there is only one).
fn steady(epochs: &[f64]) -> f64 {
    let tail = if epochs.len() > 1 { &epochs[1..] } else { epochs };
    tail.iter().sum::<f64>() / tail.len().max(1) as f64
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.list_engines {
        kiln::backends().iter().for_each(|b| println!("{b}"));
        return Ok(());
    }
    anyhow::ensure!(
        args.epochs >= 1,
        "--epochs must be at least 1, received {}",
        args.epochs
    );
    let arch = args
        .model
        .ok_or_else(|| anyhow::anyhow!("--model is required (mlp, cnn or lstm)"))?;
    let device: Device = match &args.device {
        Some(d) => d.parse()?,
        None => Device::default_device()?,
    };
    kiln::set_random_seed(args.seed);

    // The 0–255 images are dropped at the end of the block, once scaled copies exist.
    let (x_train, y_train, x_test, y_test) = {
        let ((x_train, y_train), (x_test, y_test)) = fashion_mnist::load_data()?;
        (prepare(&x_train, arch)?, y_train, prepare(&x_test, arch)?, y_test)
    };

    eprintln!("building the {arch:?} model on {device}");
    let mut model = build(arch)?;
    model.to_device(&device)?;
    model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;

    let seconds = Rc::new(RefCell::new(Vec::new()));
    let timer = EpochTimer {
        started: None,
        seconds: Rc::clone(&seconds),
    };
    let options = FitOptions::new()
        .epochs(args.epochs)
        .batch_size(BATCH_SIZE)
        .shuffle(true)
        .verbose(0)
        .callback(timer);
    let history = model.fit(&x_train, &y_train, options)?;
    let epoch_s = seconds.borrow().clone();

    let predict = PredictOptions { batch_size: BATCH_SIZE };
    model.predict_with(&x_test, predict.clone())?; // warm-up
    let start = Instant::now();
    let probabilities = model.predict_with(&x_test, predict)?;
    let predict_s = start.elapsed().as_secs_f64();

    let test_accuracy = accuracy(&probabilities, &y_test);
    let train_loss = history.last("loss");
    let report = serde_json::json!({
        "runner": format!("kiln/{}", device.backend()),
        "device": device.to_string(),
        "model": format!("{arch:?}").to_lowercase(),
        "params": model.count_params(),
        "epochs": args.epochs,
        "epoch_times_s": epoch_s,
        "epoch_s": steady(&epoch_s),
        "predict_s": predict_s,
        "peak_mib": peak_rss_mib(),
        "train_loss": train_loss,
        "test_accuracy": test_accuracy,
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
