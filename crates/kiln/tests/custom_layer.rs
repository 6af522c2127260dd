//! A custom layer written with `EmitContext`'s op vocabulary trains and gives the same
//! numbers on every compiled device, and the registry rebuilds it from its config.

use kiln::ir::{Activation, ReduceOp, Shape, TensorType, ValueId};
use kiln::prelude::*;
use kiln::registry::{layer_from_config, register_layer};
use kiln::{EmitContext, Layer};
use serde::{Deserialize, Serialize};

/// `concat(relu(x - mean), relu(mean - x)) @ kernel`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Antirectifier {
    name: String,
}

impl Layer for Antirectifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "tests>Antirectifier"
    }
    fn compute_output_shape(&self, inputs: &[TensorType]) -> kiln::Result<Vec<TensorType>> {
        Ok(inputs.to_vec())
    }
    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> kiln::Result<Vec<ValueId>> {
        let x = inputs[0];
        let width = ctx.shape(x)?.last().flatten().unwrap_or(0);
        let kernel = ctx.weight(
            "kernel",
            Shape::fixed([2 * width, width]),
            kiln::ir::Initializer::HeNormal,
        )?;
        let mean = ctx.reduce(ReduceOp::Mean, x, vec![1], true)?;
        let centred = ctx.sub(x, mean)?;
        let negated = ctx.scale(centred, -1.0)?;
        let pos = ctx.activation(Activation::Relu, centred)?;
        let neg = ctx.activation(Activation::Relu, negated)?;
        let both = ctx.concat(&[pos, neg], 1)?;
        Ok(vec![ctx.matmul(both, kernel)?])
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap()
    }
}

fn data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..40).map(|i| ((i * 13 % 17) as f32 - 8.0) / 4.0).collect();
    let y: Vec<i32> = (0..10).map(|i| i % 3).collect();
    (
        Tensor::from_f32(x, vec![10, 4]).unwrap(),
        Tensor::from_i32(y, vec![10]).unwrap(),
    )
}

/// Two training steps from the same start on `device`; the predictions afterwards.
fn train_on(device: &Device) -> Vec<f32> {
    kiln::clear_session();
    kiln::set_random_seed(3);
    let mut model = Sequential::new();
    model.add(Input::new([4])).unwrap();
    model.add(Antirectifier { name: "anti".into() }).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model.to_device(device).unwrap();
    model.compile("adam", "sparse_categorical_crossentropy", &[]).unwrap();
    let (x, y) = data();
    model.train_on_batch(&x, &y).unwrap();
    model.train_on_batch(&x, &y).unwrap();
    model.predict(&x).unwrap().to_f32()
}

#[test]
fn a_custom_layer_trains_alike_on_every_device() {
    let reference = train_on(&Device::Ndarray);
    for info in kiln::devices() {
        let got = train_on(&info.device);
        let worst = got
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{}: differs from ndarray by {worst}", info.device);
    }
}

#[test]
fn the_registry_rebuilds_a_custom_layer_and_summary_shows_it() {
    register_layer::<Antirectifier>("tests>Antirectifier").unwrap();
    let layer = Antirectifier { name: "anti".into() };
    let rebuilt = layer_from_config("tests>Antirectifier", &layer.config()).unwrap();
    assert_eq!(rebuilt.name(), "anti");
    kiln::clear_session();
    let mut model = Sequential::new();
    model.add(Input::new([4])).unwrap();
    model.add(rebuilt).unwrap();
    let summary = model.summary_string();
    assert!(summary.contains("anti (tests>Antirectifier)"), "{summary}");
    assert!(summary.contains("Total params: 32"), "{summary}");
}
