//! `kiln::applications` against `keras.applications` (tests/keras/goldens/layers/applications.json):
//! the same parameter counts, trainable and not, and a forward pass that gives a
//! probability distribution per image.

mod common;

use common::*;
use kiln::prelude::*;

fn keras_model(name: &str) -> serde_json::Value {
    let file = golden("layers/applications.json");
    file["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in applications.json"))
        .clone()
}

#[test]
fn mobilenet_v2_has_keras_parameter_counts_and_runs() {
    let keras = keras_model("MobileNetV2");
    let model = kiln::applications::mobilenet_v2([224, 224, 3], 1.0, 1000).unwrap();
    let graph = model.graph().unwrap();
    let trainable: usize = graph.params().iter().filter(|p| p.trainable).map(|p| p.size()).sum();
    assert_eq!(model.count_params() as u64, keras["total_params"].as_u64().unwrap());
    assert_eq!(trainable as u64, keras["trainable_params"].as_u64().unwrap());
    assert!(model.summary_string().contains("Total params: 3,538,984"));

    let x = Tensor::from_f32(
        (0..2 * 224 * 224 * 3)
            .map(|i| ((i % 255) as f32) / 127.5 - 1.0)
            .collect(),
        vec![2, 224, 224, 3],
    )
    .unwrap();
    let y = model.predict(&x).unwrap();
    assert_eq!(y.shape(), &[2, 1000]);
    for row in y.to_f32().chunks(1000) {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "softmax rows sum to 1, got {sum}");
    }
}

#[test]
fn bad_arguments_are_refused() {
    let err = kiln::applications::mobilenet_v2([16, 16, 3], 1.0, 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 32×32"), "{err}");
}
