//! The Functional model of the Keras introduction: an input of 784 features through two
//! hidden layers to 10 class probabilities.
//!
//! ```text
//! cargo run --example functional
//! ```

use kiln::prelude::*;

fn main() -> anyhow::Result<()> {
    let inputs = Input::new([784]);
    let x = Dense::new(128).activation("relu").apply(&inputs)?;
    let x = Dense::new(64).activation("relu").apply(&x)?;
    let outputs = Dense::new(10).activation("softmax").apply(&x)?;
    let mut model = Model::new(&[&inputs], &[&outputs])?;
    model.compile("rmsprop", "categorical_crossentropy", &["accuracy"])?;
    model.summary();

    // A quick check that the model runs: predict the class probabilities of two samples.
    let x = Tensor::from_f32(vec![0.5; 2 * 784], [2, 784])?;
    let probabilities = model.predict(&x)?;
    let first: f32 = probabilities.to_f32()[..10].iter().sum();
    println!("output shape {:?}, first row sums to {first:.4}", probabilities.shape());
    Ok(())
}
