//! An LSTM that reads sequences of different lengths.
//!
//! Each sample is a sequence of 3 to 20 digits (1–9), padded with zeros to 20 steps. The
//! label says whether the last digit is larger than the first. An `Embedding` turns digits
//! into vectors and, with `mask_zero`, marks the padding so the `LSTM` skips it: the
//! network must remember the first digit until the sequence ends, wherever that is.
//!
//! ```text
//! cargo run --release --example lstm_sequences
//! ```

use kiln::DType;
use kiln::ir::Rng;
use kiln::prelude::*;

const STEPS: usize = 20;

/// `n` padded sequences and their labels.
fn make_data(n: usize, rng: &mut Rng) -> anyhow::Result<(Tensor, Tensor)> {
    let mut tokens = vec![0i32; n * STEPS];
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let len = 3 + rng.below(STEPS - 2);
        let row = &mut tokens[i * STEPS..i * STEPS + len];
        for t in row.iter_mut() {
            *t = 1 + rng.below(9) as i32;
        }
        // Ties are relabelled by nudging the last digit, so every label is decidable.
        if row[len - 1] == row[0] {
            row[len - 1] = if row[0] < 9 { row[0] + 1 } else { row[0] - 1 };
        }
        labels.push((row[len - 1] > row[0]) as i32 as f32);
    }
    Ok((
        Tensor::from_i32(tokens, vec![n, STEPS])?,
        Tensor::from_f32(labels, vec![n, 1])?,
    ))
}

fn main() -> anyhow::Result<()> {
    kiln::set_random_seed(5);
    let mut rng = Rng::new(5);
    let (x_train, y_train) = make_data(8_000, &mut rng)?;
    let (x_test, y_test) = make_data(2_000, &mut rng)?;

    let mut model = Sequential::new();
    model.add(Input::with_dtype([STEPS], DType::I32))?;
    model.add(Embedding::new(10, 16).mask_zero(true))?;
    model.add(LSTM::new(32))?;
    model.add(Dense::new(1).activation("sigmoid"))?;
    model.summary();

    model.compile(Adam::new().learning_rate(0.01), "binary_crossentropy", &["accuracy"])?;
    model.fit(
        &x_train,
        &y_train,
        FitOptions::new().epochs(8).batch_size(64).validation_split(0.1),
    )?;

    let scores = model.evaluate(&x_test, &y_test)?;
    println!("Test loss: {:.4}", scores["loss"]);
    println!("Test accuracy: {:.4}", scores["accuracy"]);
    Ok(())
}
