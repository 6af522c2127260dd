//! Writing a layer of your own: the "antirectifier" from Keras's custom-layer tutorial.
//!
//! It centres its input, keeps the positive and the negative parts side by side
//! (`[relu(x), relu(-x)]`, twice as wide) and mixes them back to the input width with a
//! trainable kernel. The layer builds its weight from the input shape, appears in
//! `summary`, trains like any built-in layer and runs on every engine, because its forward
//! pass is written in Kiln's op vocabulary (`EmitContext`). Registered by name, it can be
//! rebuilt from its config — the way a saved model is loaded, without code in the file.
//!
//! ```text
//! cargo run --release --example custom_layer
//! ```

use kiln::datasets::digits;
use kiln::initializers::InitializerArg;
use kiln::ir::{Activation, Op, ReduceOp, Shape, TensorType, ValueId};
use kiln::prelude::*;
use kiln::registry::{layer_from_config, register_layer};
use kiln::{EmitContext, KilnError, Layer};
use serde::{Deserialize, Serialize};

/// `concat(relu(x - mean), relu(mean - x)) @ kernel`, kernel `(2 * width, width)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Antirectifier {
    name: String,
    initializer: InitializerArg,
}

impl Antirectifier {
    fn new() -> Self {
        Antirectifier {
            name: "antirectifier".into(),
            initializer: "he_normal".into(),
        }
    }
}

impl Layer for Antirectifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "examples>Antirectifier"
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> kiln::Result<Vec<TensorType>> {
        match inputs {
            [x] if x.shape.rank() == 2 && x.shape.last().flatten().is_some() => Ok(vec![x.clone()]),
            _ => Err(KilnError::Data(format!(
                "layer '{}' expects one (batch, features) input, received {inputs:?}",
                self.name
            ))),
        }
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> kiln::Result<Vec<ValueId>> {
        let x = inputs[0];
        let width = ctx.shape(x)?.last().flatten().unwrap_or(0);
        // The weight is built from the input shape, on first use.
        let kernel = ctx.weight("kernel", Shape::fixed([2 * width, width]), self.initializer.resolve()?)?;
        let mean = ctx.reduce(ReduceOp::Mean, x, vec![1], true)?;
        let centred = ctx.sub(x, mean)?;
        let negated = ctx.scale(centred, -1.0)?;
        let pos = ctx.activation(Activation::Relu, centred)?;
        let neg = ctx.activation(Activation::Relu, negated)?;
        let both = ctx.push(Op::Concat { axis: 1 }, &[pos, neg])?;
        Ok(vec![ctx.matmul(both, kernel)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

fn main() -> anyhow::Result<()> {
    kiln::set_random_seed(1);
    register_layer::<Antirectifier>("examples>Antirectifier")?;
    let ((x_train, y_train), (x_test, y_test)) = digits::load_data(0.2, 1)?;

    let mut model = Sequential::new();
    model.add(Input::new([digits::PIXELS]))?;
    model.add(Dense::new(64))?;
    model.add(Antirectifier::new())?;
    model.add(Dense::new(10).activation("softmax"))?;
    model.summary();

    model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
    model.fit(
        &x_train,
        &y_train,
        FitOptions::new().epochs(20).batch_size(32).verbose(0),
    )?;
    let scores = model.evaluate(&x_test, &y_test)?;

    // The registry rebuilds the layer from nothing but its class name and config.
    let layer = Antirectifier::new();
    let rebuilt = layer_from_config(layer.class_name(), &layer.config())?;
    println!("Rebuilt from its config: {} ({})", rebuilt.name(), rebuilt.class_name());
    println!("Test accuracy: {:.4}", scores["accuracy"]);
    Ok(())
}
