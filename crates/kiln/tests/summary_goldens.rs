//! `summary()` against the text Keras 3 prints for the same models.

use crate::common;

use common::golden_text;
use kiln::prelude::*;

#[test]
fn sequential_summary_matches_keras() {
    let mut model = Sequential::new();
    model.add(Input::new([100])).unwrap();
    model.add(Dense::new(64).activation("relu")).unwrap();
    model.add(Dense::new(32).activation("relu")).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    assert_eq!(model.summary_string(), golden_text("summary_sequential.txt"));
}

#[test]
fn functional_summary_matches_keras() {
    let inputs = Input::new([784]);
    let x = Dense::new(128).activation("relu").apply(&inputs).unwrap();
    let x = Dense::new(64).activation("relu").apply(&x).unwrap();
    let outputs = Dense::new(10).activation("softmax").apply(&x).unwrap();
    let model = Model::new(&[&inputs], &[&outputs]).unwrap();
    assert_eq!(model.summary_string(), golden_text("summary_functional.txt"));
}

#[test]
fn multi_input_multi_output_summary_matches_keras() {
    let a = Input::named("a", [8]);
    let b = Input::named("b", [4]);
    let x = Dense::new(16).activation("relu").apply(&a).unwrap();
    let y = Dense::new(16).apply(&b).unwrap();
    let z = Add::new().apply_list(&[&x, &y]).unwrap();
    let c = Concatenate::new().apply_list(&[&z, &b]).unwrap();
    let d = Dropout::new(0.5).apply(&c).unwrap();
    let out1 = Dense::new(3).activation("softmax").name("cls").apply(&d).unwrap();
    let out2 = Dense::new(1).name("reg").apply(&d).unwrap();
    let model = Model::new(&[&a, &b], &[&out1, &out2]).unwrap();
    assert_eq!(model.summary_string(), golden_text("summary_multi_io.txt"));
}

#[test]
fn reshaping_layers_summary_matches_keras() {
    let mut model = Sequential::new();
    model.add(Input::new([4, 6])).unwrap();
    model.add(Flatten::new()).unwrap();
    model.add(Reshape::new([6, 4])).unwrap();
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(5)).unwrap();
    model.add(layers::Activation::new("tanh")).unwrap();
    model.add(Dropout::new(0.1)).unwrap();
    assert_eq!(model.summary_string(), golden_text("summary_layers.txt"));
}

#[test]
fn non_trainable_weights_are_counted_apart() {
    let mut model = Sequential::new();
    model.add(Input::new([100])).unwrap();
    model.add(Dense::new(64).activation("relu").trainable(false)).unwrap();
    model.add(Dense::new(32).activation("relu")).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    assert_eq!(model.summary_string(), golden_text("summary_nontrainable.txt"));
}
