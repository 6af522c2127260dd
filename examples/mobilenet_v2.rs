//! MobileNetV2 built in Kiln, as `keras.applications.MobileNetV2(weights=None)` builds it.
//!
//! Prints the model's summary — 156 layers and 3,538,984 parameters, as in Keras — then
//! takes two training steps on a small batch of random images to show that every layer of
//! the architecture (depthwise convolutions, batch normalization, clipped ReLUs, residual
//! additions) trains.
//!
//! ```text
//! cargo run --release --example mobilenet_v2
//! ```

use kiln::ir::Rng;
use kiln::prelude::*;

/// `keras.applications.MobileNetV2(weights=None).count_params()` with Keras 3.15.1.
const KERAS_PARAMS: usize = 3_538_984;

fn main() -> anyhow::Result<()> {
    kiln::set_random_seed(0);
    let mut model = kiln::applications::mobilenet_v2([224, 224, 3], 1.0, 1000)?;
    model.summary();
    println!(
        "Kiln: {} parameters; Keras's MobileNetV2: {KERAS_PARAMS}",
        model.count_params()
    );

    // Four random images in [-1, 1] (MobileNetV2's input range) with random labels.
    let mut rng = Rng::new(1);
    let pixels = (0..4 * 224 * 224 * 3)
        .map(|_| rng.uniform() as f32 * 2.0 - 1.0)
        .collect();
    let images = Tensor::from_f32(pixels, vec![4, 224, 224, 3])?;
    let labels = Tensor::from_i32((0..4).map(|_| rng.below(1000) as i32).collect(), vec![4])?;
    model.compile(Sgd::new().learning_rate(0.01), "sparse_categorical_crossentropy", &[])?;
    for step in 1..=2 {
        let logs = model.train_on_batch(&images, &labels)?;
        println!("training step {step}: loss {:.4}", logs["loss"]);
    }
    Ok(())
}
