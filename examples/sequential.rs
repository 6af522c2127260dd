//! The Sequential model of the Keras introduction: a stack of three Dense layers for a
//! 10-class problem on 100 features, trained on synthetic data.
//!
//! ```text
//! cargo run --example sequential
//! ```

use kiln::prelude::*;

fn main() -> anyhow::Result<()> {
    let mut model = Sequential::new();
    model.add(Dense::new(64).activation("relu").input_shape([100]))?;
    model.add(Dense::new(32).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    model.summary();

    // 1,000 samples whose class is the position of their largest feature among the first ten.
    let n = 1000;
    let mut rng = kiln::ir::Rng::new(0);
    let x: Vec<f32> = (0..n * 100).map(|_| rng.uniform() as f32).collect();
    let mut y = vec![0.0f32; n * 10];
    for i in 0..n {
        let row = &x[i * 100..i * 100 + 10];
        let class = (0..10).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
        y[i * 10 + class] = 1.0;
    }
    let x = Tensor::from_f32(x, [n, 100])?;
    let y = Tensor::from_f32(y, [n, 10])?;

    model.fit(&x, &y, FitOptions::new().epochs(5).batch_size(32))?;
    let scores = model.evaluate(&x, &y)?;
    println!("loss: {:.4} - accuracy: {:.4}", scores["loss"], scores["accuracy"]);
    Ok(())
}
