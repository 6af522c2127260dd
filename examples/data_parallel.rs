//! Data-parallel training: one small CNN, each batch split across several devices.
//!
//! Name the devices once; `fit`, `evaluate` and `predict` split every batch across them,
//! gather the gradients on the first device and take one optimizer step there. The
//! devices can be GPUs (`tch:cuda:0,tch:cuda:1`), wgpu adapters (`wgpu:0,wgpu:1`), Kiln
//! servers on other machines (`remote:ws://HOST:PORT`, started there with `kiln serve`),
//! or a mix. The result is the one-device result with the same global batch size.
//!
//! ```text
//! # Two servers on this machine, then training over both:
//! cargo run --release --features remote --bin kiln -- serve --device flex --listen 127.0.0.1:3001 &
//! cargo run --release --features remote --bin kiln -- serve --device flex --listen 127.0.0.1:3002 &
//! cargo run --release --features remote --example data_parallel -- \
//!     --devices remote:ws://127.0.0.1:3001,remote:ws://127.0.0.1:3002
//! ```
//!
//! `--dtype-policy mixed_bfloat16` (or `mixed_float16`) trains in mixed precision.
//!
//! It trains one epoch on Fashion-MNIST (from Debian's `dataset-fashion-mnist` package,
//! which `./scripts/setup` installs, or the IDX files in `KILN_DATA`) and ends by printing
//! `final loss: X` and `accuracy: Y` (on the test images).

use clap::Parser;
use kiln::datasets::fashion_mnist;
use kiln::distribution::DataParallel;
use kiln::prelude::*;
use std::time::Instant;

/// Train a small CNN on Fashion-MNIST with each batch split across devices.
#[derive(Parser)]
struct Args {
    /// Comma-separated device strings, the first one holding the weights.
    #[arg(long, default_value = "cpu")]
    devices: String,
    /// The global batch size (split across the devices).
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Train on the first N training images only (all 60,000 by default).
    #[arg(long)]
    limit: Option<usize>,
    /// The dtype policy: float32, mixed_float16 or mixed_bfloat16.
    #[arg(long, default_value = "float32")]
    dtype_policy: String,
}

/// Pixels 0–255 to 0–1, with a channel axis, keeping the first `limit` images.
fn prepare(images: &Tensor, limit: usize) -> anyhow::Result<Tensor> {
    let rows: Vec<usize> = (0..limit.min(images.shape()[0])).collect();
    let images = images.rows(&rows);
    let mut shape = images.shape().to_vec();
    shape.push(1);
    let scaled = images.to_f32().into_iter().map(|p| p / 255.0).collect();
    Ok(Tensor::from_f32(scaled, shape)?)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    kiln::set_random_seed(7);
    let distribution = DataParallel::parse_list(&args.devices)?;
    let ((x_train, y_train), (x_test, y_test)) = fashion_mnist::load_data()?;
    let limit = args.limit.unwrap_or(usize::MAX);
    let rows: Vec<usize> = (0..limit.min(y_train.shape()[0])).collect();
    let (x_train, y_train) = (prepare(&x_train, limit)?, y_train.rows(&rows));
    let x_test = prepare(&x_test, usize::MAX)?;

    let mut model = Sequential::new();
    model.add(Input::new([28, 28, 1]))?;
    model.add(Conv2D::new(16, 3).activation("relu"))?;
    model.add(MaxPooling2D::new())?;
    model.add(Conv2D::new(32, 3).activation("relu"))?;
    model.add(MaxPooling2D::new())?;
    model.add(Flatten::new())?;
    model.add(Dense::new(10).activation("softmax"))?;
    // Connects every device and moves the weights to the first one.
    model.set_distribution(Some(distribution))?;
    let devices: Vec<String> = model.distribution_devices().iter().map(|d| d.to_string()).collect();
    println!(
        "{} training images, batches of {} split across {}",
        x_train.shape()[0],
        args.batch_size,
        devices.join(", ")
    );

    model.set_dtype_policy(&args.dtype_policy)?;
    model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
    let start = Instant::now();
    let history = model.fit(
        &x_train,
        &y_train,
        FitOptions::new().epochs(1).batch_size(args.batch_size),
    )?;
    println!("time: {:.1} s", start.elapsed().as_secs_f64());
    let scores = model.evaluate(&x_test, &y_test)?;
    println!("final loss: {:.4}", history.last("loss").unwrap_or(f64::NAN));
    println!("accuracy: {:.4}", scores["accuracy"]);
    Ok(())
}
