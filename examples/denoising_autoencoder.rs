//! A convolutional autoencoder that removes noise from images.
//!
//! Fashion-MNIST images get Gaussian noise added; the network learns to map each noisy
//! image back to its clean original. An encoder (convolutions and pooling) squeezes the
//! image to a 7×7 code, a decoder (transposed convolutions) grows it back to 28×28.
//! The program prints how far the noisy images and the cleaned ones are from the
//! originals (mean squared error over the test images): cleaning should cut it sharply.
//!
//! ```text
//! cargo run --release --example denoising_autoencoder
//! ```

use kiln::datasets::fashion_mnist;
use kiln::ir::Rng;
use kiln::prelude::*;

/// Noise strength: the standard deviation added to pixels in 0–1.
const NOISE: f32 = 0.4;

/// Pixels 0–255 to 0–1 with a channel axis, keeping the first `n` images.
fn prepare(images: &Tensor, n: usize) -> anyhow::Result<Tensor> {
    let images = images.row_range(0, n.min(images.shape()[0]));
    let mut shape = images.shape().to_vec();
    shape.push(1);
    Ok(Tensor::from_f32(
        images.to_f32().into_iter().map(|p| p / 255.0).collect(),
        shape,
    )?)
}

/// `clean + N(0, NOISE²)`, clipped to 0–1.
fn add_noise(clean: &Tensor, rng: &mut Rng) -> anyhow::Result<Tensor> {
    let noisy = clean
        .to_f32()
        .into_iter()
        .map(|p| (p + NOISE * rng.normal() as f32).clamp(0.0, 1.0))
        .collect();
    Ok(Tensor::from_f32(noisy, clean.shape().to_vec())?)
}

fn mse(a: &Tensor, b: &Tensor) -> f32 {
    let (a, b) = (a.to_f32(), b.to_f32());
    a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>() / a.len() as f32
}

fn main() -> anyhow::Result<()> {
    kiln::set_random_seed(3);
    let ((x_train, _), (x_test, _)) = fashion_mnist::load_data()?;
    let (clean_train, clean_test) = (prepare(&x_train, 20_000)?, prepare(&x_test, 2_000)?);
    let mut rng = Rng::new(11);
    let (noisy_train, noisy_test) = (add_noise(&clean_train, &mut rng)?, add_noise(&clean_test, &mut rng)?);

    let input = Input::new([28, 28, 1]);
    // Encoder: 28×28 → 14×14 → 7×7.
    let x = Conv2D::new(32, 3).activation("relu").padding("same").apply(&input)?;
    let x = MaxPooling2D::new().padding("same").apply(&x)?;
    let x = Conv2D::new(32, 3).activation("relu").padding("same").apply(&x)?;
    let x = MaxPooling2D::new().padding("same").apply(&x)?;
    // Decoder: 7×7 → 14×14 → 28×28, one output channel in 0–1.
    let x = Conv2DTranspose::new(32, 3)
        .strides(2)
        .activation("relu")
        .padding("same")
        .apply(&x)?;
    let x = Conv2DTranspose::new(32, 3)
        .strides(2)
        .activation("relu")
        .padding("same")
        .apply(&x)?;
    let output = Conv2D::new(1, 3).activation("sigmoid").padding("same").apply(&x)?;
    let mut autoencoder = Model::new(&[&input], &[&output])?.with_name("autoencoder");
    autoencoder.summary();

    autoencoder.compile("adam", "binary_crossentropy", &[])?;
    autoencoder.fit(&noisy_train, &clean_train, FitOptions::new().epochs(3).batch_size(128))?;

    let cleaned = autoencoder.predict(&noisy_test)?;
    println!(
        "MSE of the noisy test images against the clean ones:   {:.4}",
        mse(&noisy_test, &clean_test)
    );
    println!(
        "MSE of the denoised test images against the clean ones: {:.4}",
        mse(&cleaned, &clean_test)
    );
    Ok(())
}
