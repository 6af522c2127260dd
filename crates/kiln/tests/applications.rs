//! `kiln::applications` against `keras.applications` (tests/keras/goldens/layers/applications.json):
//! the same parameter counts, trainable and not, the same layer classes, and a forward
//! pass that gives a probability distribution per image.

use crate::common;

use common::*;
use kiln::prelude::*;
use std::collections::BTreeMap;

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

/// Whether a summary row is one of Keras's operation nodes (`x + 3.0` → `add`,
/// `x * (1/6)` → `multiply_2`, …): shown by `summary` but not among `model.layers`, which
/// the goldens count. Every Add or Multiply *layer* of these models has a name of its own.
fn is_operation_node(name: &str) -> bool {
    ["add", "multiply"].iter().any(|op| {
        name.strip_prefix(op)
            .is_some_and(|rest| rest.is_empty() || rest.strip_prefix('_').is_some_and(|n| n.parse::<usize>().is_ok()))
    })
}

/// The layer classes of `model` as its summary lists them (`name (Class)` in the first
/// column, wrapped over several lines when long), with their counts, and the number of
/// operation nodes set aside.
fn layer_classes(model: &Model) -> (BTreeMap<String, u64>, usize) {
    let summary = model.summary_string();
    let mut rows: Vec<String> = vec![String::new()];
    for line in summary.lines() {
        if line.starts_with('├') || line.starts_with('└') {
            rows.push(String::new());
        } else if line.starts_with('│') {
            rows.last_mut()
                .unwrap()
                .push_str(line.split('│').nth(1).unwrap().trim());
        }
    }
    let mut classes = BTreeMap::new();
    let mut operations = 0;
    for row in rows.iter().filter(|r| !r.is_empty()) {
        let open = row
            .rfind('(')
            .unwrap_or_else(|| panic!("no class in summary row {row:?}"));
        let (name, class) = (row[..open].trim(), row[open + 1..].trim_end_matches(')'));
        if is_operation_node(name) {
            operations += 1;
        } else {
            *classes.entry(class.to_string()).or_insert(0) += 1;
        }
    }
    (classes, operations)
}

/// Total, trainable and non-trainable parameters and the layer classes are Keras's;
/// `operations` is the number of Keras operation nodes the model has besides its layers.
fn assert_keras_structure(model: &Model, keras_name: &str, operations: usize) {
    let keras = keras_model(keras_name);
    let graph = model.graph().unwrap();
    let trainable: usize = graph.params().iter().filter(|p| p.trainable).map(|p| p.size()).sum();
    let total = model.count_params();
    assert_eq!(
        total as u64,
        keras["total_params"].as_u64().unwrap(),
        "{keras_name} total"
    );
    assert_eq!(
        trainable as u64,
        keras["trainable_params"].as_u64().unwrap(),
        "{keras_name} trainable"
    );
    assert_eq!(
        (total - trainable) as u64,
        keras["non_trainable_params"].as_u64().unwrap(),
        "{keras_name} non-trainable"
    );
    let (classes, ops) = layer_classes(model);
    let expected: BTreeMap<String, u64> = keras["layer_class_counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(classes, expected, "{keras_name} layer classes");
    assert_eq!(
        classes.values().sum::<u64>(),
        keras["num_layers"].as_u64().unwrap(),
        "{keras_name} layers"
    );
    assert_eq!(ops, operations, "{keras_name} operation nodes");
}

/// `predict` on one image of `shape` gives one row of `classes` probabilities summing to 1.
fn assert_predicts_probabilities(model: &Model, shape: [usize; 3], classes: usize) {
    let n: usize = shape.iter().product();
    let pixels: Vec<f32> = (0..n).map(|i| ((i * 7) % 256) as f32).collect();
    let x = Tensor::from_f32(pixels, vec![1, shape[0], shape[1], shape[2]]).unwrap();
    let start = std::time::Instant::now();
    let y = model.predict(&x).unwrap();
    eprintln!(
        "{}: predict on 1 image of {shape:?} in {:.2?}",
        model.name(),
        start.elapsed()
    );
    assert_eq!(y.shape(), &[1, classes]);
    let row = y.to_f32();
    assert!(row.iter().all(|p| p.is_finite() && *p >= 0.0), "{row:?}");
    let sum: f32 = row.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "softmax rows sum to 1, got {sum}");
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
fn mobilenet_v3_small_has_keras_structure_and_runs() {
    kiln::clear_session();
    let model = kiln::applications::mobilenet_v3_small([224, 224, 3], 1.0, 1000).unwrap();
    assert_eq!(model.name(), "MobileNetV3Small");
    // 9 squeeze-and-excite blocks, each with Keras's `x + 3.0` and `* (1/6)`.
    assert_keras_structure(&model, "MobileNetV3Small", 18);
    assert!(model.summary_string().contains("Total params: 2,554,968"));
    assert_predicts_probabilities(&model, [224, 224, 3], 1000);
}

#[test]
fn mobilenet_v3_large_has_keras_structure_and_runs() {
    kiln::clear_session();
    let model = kiln::applications::mobilenet_v3_large([224, 224, 3], 1.0, 1000).unwrap();
    assert_eq!(model.name(), "MobileNetV3Large");
    assert_keras_structure(&model, "MobileNetV3Large", 16);
    assert_predicts_probabilities(&model, [224, 224, 3], 1000);
}

#[test]
fn resnet50_has_keras_structure_and_runs() {
    kiln::clear_session();
    let model = kiln::applications::resnet50([224, 224, 3], 1000).unwrap();
    assert_eq!(model.name(), "resnet50");
    assert_keras_structure(&model, "ResNet50", 0);
    assert!(model.summary_string().contains("Total params: 25,636,712"));
    assert_predicts_probabilities(&model, [224, 224, 3], 1000);
}

#[test]
fn efficientnet_b0_has_keras_structure_and_runs() {
    kiln::clear_session();
    let model = kiln::applications::efficientnet_b0([224, 224, 3], 1000).unwrap();
    assert_eq!(model.name(), "efficientnetb0");
    assert_keras_structure(&model, "EfficientNetB0", 0);
    assert!(model.summary_string().contains("Non-trainable params: 42,023"));
    assert_predicts_probabilities(&model, [224, 224, 3], 1000);
}

#[test]
fn bad_arguments_are_refused() {
    let err = kiln::applications::mobilenet_v2([16, 16, 3], 1.0, 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 32×32"), "{err}");
    for err in [
        kiln::applications::mobilenet_v3_small([31, 224, 3], 1.0, 10).unwrap_err(),
        kiln::applications::mobilenet_v3_large([224, 16, 3], 1.0, 10).unwrap_err(),
        kiln::applications::resnet50([16, 16, 3], 10).unwrap_err(),
        kiln::applications::efficientnet_b0([16, 16, 3], 10).unwrap_err(),
    ] {
        assert!(err.to_string().contains("at least 32×32"), "{err}");
    }
    let err = kiln::applications::mobilenet_v3_small([224, 224, 3], 0.0, 10).unwrap_err();
    assert!(err.to_string().contains("alpha=0"), "{err}");
}
