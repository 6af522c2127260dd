//! A convolutional network that classifies Fashion-MNIST clothing images.
//!
//! 60,000 training and 10,000 test images of 28×28 grey pixels in 10 classes (T-shirt,
//! trouser, pullover, …). Two convolution + pooling blocks learn local features; a hidden
//! dense layer and a softmax layer turn them into class probabilities. After 5 epochs the
//! test accuracy is above 0.90.
//!
//! The images come from Debian's `dataset-fashion-mnist` package (`./scripts/setup` installs
//! it), or from any directory holding the four IDX files, named by `KILN_DATA`.
//!
//! ```text
//! cargo run --release --example cnn_fashion_mnist
//! ```

use kiln::datasets::fashion_mnist;
use kiln::prelude::*;
use std::time::Instant;

/// Pixels 0–255 to 0–1, with a channel axis: `(n, 28, 28)` → `(n, 28, 28, 1)`.
fn prepare(images: &Tensor) -> anyhow::Result<Tensor> {
    let mut shape = images.shape().to_vec();
    shape.push(1);
    let scaled = images.to_f32().into_iter().map(|p| p / 255.0).collect();
    Ok(Tensor::from_f32(scaled, shape)?)
}

fn main() -> anyhow::Result<()> {
    kiln::set_random_seed(7);
    let ((x_train, y_train), (x_test, y_test)) = fashion_mnist::load_data()?;
    let (x_train, x_test) = (prepare(&x_train)?, prepare(&x_test)?);
    println!(
        "{} training images, {} test images, on device '{}'",
        x_train.shape()[0],
        x_test.shape()[0],
        kiln::Device::default_device()?
    );

    let mut model = Sequential::new();
    model.add(Input::new([28, 28, 1]))?;
    model.add(Conv2D::new(32, 3).activation("relu"))?;
    model.add(MaxPooling2D::new())?;
    model.add(Conv2D::new(64, 3).activation("relu"))?;
    model.add(MaxPooling2D::new())?;
    model.add(Flatten::new())?;
    model.add(Dense::new(128).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    model.summary();

    model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
    let epochs = 5;
    let start = Instant::now();
    model.fit(&x_train, &y_train, FitOptions::new().epochs(epochs).batch_size(64))?;
    let per_epoch = start.elapsed().as_secs_f64() / epochs as f64;

    let scores = model.evaluate(&x_test, &y_test)?;
    println!("Time per epoch: {per_epoch:.1} s");
    println!("Test loss: {:.4}", scores["loss"]);
    println!("Test accuracy: {:.4}", scores["accuracy"]);
    Ok(())
}
