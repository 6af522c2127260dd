//! Quickstart: train a small network to read handwritten digits.
//!
//! The 8×8 digits dataset (1,797 images, bundled with Kiln) is split into a training and a
//! test set; a two-layer network learns from the first and is scored on the second.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```

use kiln::datasets::digits;
use kiln::prelude::*;

fn main() -> anyhow::Result<()> {
    // One seed fixes the split, the initial weights, the shuffling and the dropout masks.
    kiln::set_random_seed(42);
    let ((x_train, y_train), (x_test, y_test)) = digits::load_data(0.2, 42)?;
    println!(
        "{} training images, {} test images, {} pixels each, on device '{}'",
        x_train.shape()[0],
        x_test.shape()[0],
        x_train.shape()[1],
        kiln::Device::default_device()?
    );

    // A multi-layer perceptron: 64 pixels → 64 hidden units → 10 class probabilities.
    let mut model = Sequential::new();
    model.add(Input::new([digits::PIXELS]))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dropout::new(0.1))?;
    model.add(Dense::new(10).activation("softmax"))?;
    model.summary();

    // Labels are class indices (0–9), so the loss is the sparse categorical cross-entropy.
    model.compile(
        Adam::new().learning_rate(0.005),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )?;

    let history = model.fit(
        &x_train,
        &y_train,
        FitOptions::new().epochs(25).batch_size(32).validation_split(0.1),
    )?;
    println!(
        "Final validation accuracy: {:.4}",
        history.last("val_accuracy").unwrap_or(f64::NAN)
    );
    // The training curves (loss and accuracy per epoch, validation dashed) as a picture.
    let curves = std::env::temp_dir().join("quickstart_curves.png");
    history.plot(&curves)?;
    println!("Training curves: {}", curves.display());

    let scores = model.evaluate(&x_test, &y_test)?;
    println!("Test loss: {:.4}", scores["loss"]);
    println!("Test accuracy: {:.4}", scores["accuracy"]);
    Ok(())
}
