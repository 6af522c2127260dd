//! The synthetic Fashion-MNIST-shaped batch both sides train and predict on: images of
//! 28×28 pixels uniform in [0, 1), labels uniform in 0..10, the same numbers for Kiln and Burn.

use kiln::ir::Rng;

/// Pixels per image side.
pub const SIDE: usize = 28;
/// Classes of the labels.
pub const CLASSES: usize = 10;

/// One batch, as flat host vectors.
pub struct Batch {
    /// Samples in the batch.
    pub size: usize,
    /// `size × 28 × 28` pixels, row-major (one channel, so NHWC and NCHW agree).
    pub pixels: Vec<f32>,
    /// `size` class labels.
    pub labels: Vec<i32>,
}

impl Batch {
    /// A batch of `size` samples drawn from `seed`.
    pub fn new(size: usize, seed: u64) -> Batch {
        let mut rng = Rng::new(seed);
        let pixels = (0..size * SIDE * SIDE).map(|_| rng.uniform() as f32).collect();
        let labels = (0..size).map(|_| rng.below(CLASSES) as i32).collect();
        Batch { size, pixels, labels }
    }
}
