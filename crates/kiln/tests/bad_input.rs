//! Bad input gives a clear error, never a panic: every message names the model, layer
//! or argument involved and what was expected against what was received.

use kiln::optimizers::Sgd;
use kiln::prelude::*;
use kiln::{KilnError, PredictOptions};

type R = Result<(), KilnError>;

/// `n` rows of `d` deterministic features.
fn features(n: usize, d: usize) -> Tensor {
    Tensor::from_f32((0..n * d).map(|i| ((i as f32) * 0.37).sin()).collect(), [n, d]).unwrap()
}

fn labels(v: &[i32]) -> Tensor {
    Tensor::from_i32(v.to_vec(), [v.len()]).unwrap()
}

/// A compiled Sequential classifier `clf`: input `features` (4 wide) → `probs` (`classes` wide).
fn classifier(classes: usize) -> Model {
    let mut model = Sequential::new().with_name("clf");
    model.add(Input::named("features", [4])).unwrap();
    model
        .add(Dense::new(classes).activation("softmax").name("probs"))
        .unwrap();
    model
        .compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    model
}

/// A compiled Sequential regressor `reg`: input `features` (4 wide) → `out` (2 wide).
fn regressor() -> Model {
    let mut model = Sequential::new().with_name("reg");
    model.add(Input::named("features", [4])).unwrap();
    model.add(Dense::new(2).name("out")).unwrap();
    model.compile("sgd", "mse", &[]).unwrap();
    model
}

/// The message of an error, failing the test on success.
fn message<T>(r: Result<T, KilnError>) -> String {
    match r {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => e.to_string(),
    }
}

fn quiet() -> FitOptions {
    FitOptions::new().epochs(1).verbose(0)
}

#[test]
fn wrong_input_width_at_fit_names_model_input_and_shapes() {
    let mut model = classifier(3);
    let err = model.fit(features(8, 3), labels(&[0; 8]), quiet()).unwrap_err();
    assert!(matches!(err, KilnError::Data(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "model 'clf': input 0 ('features') expected shape (None, 4), received data of shape (8, 3)"
    );
    // The same check guards evaluate and explicit validation data.
    let err = message(model.evaluate(features(8, 5), labels(&[0; 8])));
    assert_eq!(
        err,
        "model 'clf': input 0 ('features') expected shape (None, 4), received data of shape (8, 5)"
    );
    let opts = quiet().validation_data(features(2, 3), labels(&[0, 1]));
    let err = message(model.fit(features(8, 4), labels(&[0; 8]), opts));
    assert_eq!(
        err,
        "model 'clf': input 0 ('features') expected shape (None, 4), received data of shape (2, 3)"
    );
}

#[test]
fn wrong_input_width_at_predict_names_model_input_and_shapes() {
    let model = classifier(3);
    let err = message(model.predict(features(5, 6)));
    assert_eq!(
        err,
        "model 'clf': input 0 ('features') expected shape (None, 4), received data of shape (5, 6)"
    );
    let err = message(model.predict_with(features(5, 2), PredictOptions { batch_size: 2 }));
    assert_eq!(
        err,
        "model 'clf': input 0 ('features') expected shape (None, 4), received data of shape (5, 2)"
    );
}

#[test]
fn wrong_input_rank_names_expected_and_received_shapes() {
    let mut model = classifier(3);
    let flat = Tensor::from_f32(vec![0.5; 8], [8]).unwrap();
    let err = message(model.predict(&flat));
    assert_eq!(
        err,
        "model 'clf': input 0 ('features') expected shape (None, 4), received data of shape (8,)"
    );
    let deep = Tensor::from_f32(vec![0.5; 32], [2, 4, 4]).unwrap();
    let err = message(model.fit(&deep, labels(&[0, 1]), quiet()));
    assert_eq!(
        err,
        "model 'clf': input 0 ('features') expected shape (None, 4), received data of shape (2, 4, 4)"
    );
    let scalar = Tensor::scalar(1.0);
    let err = message(model.predict(&scalar));
    assert!(
        err.starts_with("model 'clf': input 0 ('features') expected shape (None, 4), received data of shape"),
        "{err}"
    );
}

#[test]
fn wrong_target_shape_names_output_and_shapes() {
    let mut model = regressor();
    let y = Tensor::from_f32(vec![0.0; 24], [8, 3]).unwrap();
    let err = message(model.fit(features(8, 4), &y, quiet()));
    assert_eq!(
        err,
        "model 'reg': target 0 ('out') expected shape (None, 2), received data of shape (8, 3)"
    );
    // Sparse labels with a class axis of more than one column are refused.
    let mut clf = classifier(3);
    let y = Tensor::from_i32(vec![0; 16], [8, 2]).unwrap();
    let err = message(clf.fit(features(8, 4), &y, quiet()));
    assert_eq!(
        err,
        "model 'clf': target 0 ('probs') expected shape (None,), received data of shape (8, 2)"
    );
}

#[test]
fn label_count_not_matching_sample_count() {
    let mut model = classifier(3);
    let err = message(model.fit(features(8, 4), labels(&[0; 7]), quiet()));
    assert_eq!(
        err,
        "model 'clf': the inputs have 8 samples but the targets have 7; every sample needs a target"
    );
    let err = message(model.evaluate(features(3, 4), labels(&[0; 5])));
    assert_eq!(
        err,
        "model 'clf': the inputs have 3 samples but the targets have 5; every sample needs a target"
    );
}

#[test]
fn empty_dataset_is_refused_by_fit_evaluate_and_predict() {
    let mut model = classifier(3);
    let x = Tensor::from_f32(Vec::new(), [0, 4]).unwrap();
    let y = Tensor::from_i32(Vec::new(), [0]).unwrap();
    let err = message(model.fit(&x, &y, quiet()));
    assert_eq!(err, "model 'clf': fit received an empty dataset (0 samples)");
    let err = message(model.evaluate(&x, &y));
    assert_eq!(err, "model 'clf': evaluate received an empty dataset (0 samples)");
    let err = message(model.predict(&x));
    assert_eq!(err, "model 'clf': predict received an empty dataset (0 samples)");
}

#[test]
fn unknown_loss_metric_and_optimizer_names() {
    let mut model = Sequential::new().with_name("m");
    model.add(Dense::new(3).activation("softmax").input_shape([4])).unwrap();

    let err = model.compile("adam", "msee", &[]).unwrap_err();
    assert!(matches!(err, KilnError::UnknownName { kind: "loss", .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "unknown loss 'msee'. Expected one of: categorical_crossentropy, sparse_categorical_crossentropy, \
         binary_crossentropy, mean_squared_error, mse, mean_absolute_error, mae, huber"
    );

    let err = message(model.compile("adam", "mse", &["acuracy"]));
    assert!(
        err.starts_with("unknown metric 'acuracy'. Expected one of: accuracy, acc,"),
        "{err}"
    );
    assert!(err.contains("sparse_categorical_accuracy"), "{err}");

    let err = message(model.compile("adamm", "mse", &[]));
    assert_eq!(err, "unknown optimizer 'adamm'. Expected one of: sgd, adam, rmsprop");

    // One bad name in a per-output list is found too.
    let err = message(model.compile("adam", vec!["crossentropy"], &[]));
    assert!(
        err.starts_with("unknown loss 'crossentropy'. Expected one of:"),
        "{err}"
    );

    // A failed compile leaves the model uncompiled.
    let err = message(model.fit(features(4, 4), labels(&[0, 1, 2, 0]), quiet()));
    assert!(err.contains("model 'm' must be compiled before training"), "{err}");
}

#[test]
fn wrong_number_of_losses_for_outputs() {
    let mut model = classifier(3);
    let err = message(model.compile("adam", vec!["mse", "mae"], &[]));
    assert_eq!(err, "model 'clf': compile received 2 losses for a model with 1 outputs");
}

#[test]
fn unknown_activation_names_layer_and_name() {
    // Sequential: refused at add, with the layer's name and class.
    let mut model = Sequential::new().with_name("m");
    let err = message(model.add(Dense::new(3).activation("rellu").name("hidden").input_shape([4])));
    assert!(
        err.starts_with("layer 'hidden' (Dense): unknown activation 'rellu'. Expected one of: linear, relu, sigmoid"),
        "{err}"
    );
    // Functional: refused when the layer is connected.
    let x = Input::new([4]);
    let err = message(Dense::new(3).activation("sofmax").name("d").apply(&x));
    assert!(
        err.starts_with("layer 'd' (Dense): unknown activation 'sofmax'. Expected one of:"),
        "{err}"
    );
    assert!(err.contains("softmax"), "{err}");
    // The Activation layer checks its name too.
    let err = message(layers::Activation::new("tanhh").name("act").apply(&x));
    assert!(
        err.starts_with("layer 'act' (Activation): unknown activation 'tanhh'"),
        "{err}"
    );
}

#[test]
fn unknown_initializer_names_layer_and_name() {
    let x = Input::new([4]);
    let err = message(Dense::new(3).kernel_initializer("glorot").name("d").apply(&x));
    assert!(
        err.starts_with(
            "layer 'd' (Dense): unknown initializer 'glorot'. Expected one of: glorot_uniform, glorot_normal"
        ),
        "{err}"
    );
    let err = message(Dense::new(3).bias_initializer("zero").name("d2").apply(&x));
    assert!(
        err.starts_with("layer 'd2' (Dense): unknown initializer 'zero'. Expected one of:"),
        "{err}"
    );
    assert!(err.contains("zeros"), "{err}");
}

#[test]
fn sparse_labels_out_of_range() {
    let mut model = classifier(10);
    let x = features(4, 4);
    let err = message(model.fit(&x, labels(&[0, 9, 10, 1]), quiet()));
    assert_eq!(
        err,
        "model 'clf': target for 'probs' holds class label 10 at index 2; expected labels in 0..10"
    );
    let err = message(model.fit(&x, labels(&[0, -1, 3, 1]), quiet()));
    assert_eq!(
        err,
        "model 'clf': target for 'probs' holds class label -1 at index 1; expected labels in 0..10"
    );
    // evaluate checks the labels too.
    let err = message(model.evaluate(&x, labels(&[0, 1, 2, 42])));
    assert_eq!(
        err,
        "model 'clf': target for 'probs' holds class label 42 at index 3; expected labels in 0..10"
    );
    // Integer-valued float labels are cast, then checked.
    let y = Tensor::from_f32(vec![0.0, 1.0, 10.0, 2.0], [4]).unwrap();
    let err = message(model.fit(&x, &y, quiet()));
    assert_eq!(
        err,
        "model 'clf': target for 'probs' holds class label 10 at index 2; expected labels in 0..10"
    );
    // Labels with a trailing axis of 1 are accepted and checked the same way.
    let y = Tensor::from_i32(vec![0, 1, 2, 11], [4, 1]).unwrap();
    let err = message(model.fit(&x, &y, quiet()));
    assert_eq!(
        err,
        "model 'clf': target for 'probs' holds class label 11 at index 3; expected labels in 0..10"
    );
    // Valid labels in both forms train.
    model.fit(&x, labels(&[0, 9, 3, 1]), quiet()).unwrap();
    let y = Tensor::from_f32(vec![0.0, 9.0, 3.0, 1.0], [4, 1]).unwrap();
    model.fit(&x, &y, quiet()).unwrap();
}

#[test]
fn non_integer_float_labels_for_a_sparse_loss() {
    let mut model = classifier(3);
    let x = features(4, 4);
    let y = Tensor::from_f32(vec![0.0, 1.5, 2.0, 1.0], [4]).unwrap();
    let err = message(model.fit(&x, &y, quiet()));
    assert_eq!(
        err,
        "model 'clf': target 0 ('probs') expects integer class labels, received 1.5 at index 1"
    );
    let y = Tensor::from_f32(vec![0.0, f32::NAN, 2.0, 1.0], [4]).unwrap();
    let err = message(model.evaluate(&x, &y));
    assert!(err.contains("expects integer class labels"), "{err}");
}

#[test]
fn fit_and_evaluate_before_compile() {
    let mut model = Sequential::new().with_name("fresh");
    model.add(Dense::new(2).input_shape([4])).unwrap();
    let x = features(4, 4);
    let y = Tensor::from_f32(vec![0.0; 8], [4, 2]).unwrap();
    let err = model.fit(&x, &y, quiet()).unwrap_err();
    assert!(matches!(err, KilnError::NotCompiled(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "model 'fresh' must be compiled before training or evaluation: call compile(optimizer, loss, metrics) first"
    );
    let err = message(model.evaluate(&x, &y));
    assert!(err.starts_with("model 'fresh' must be compiled"), "{err}");
    let err = message(model.train_on_batch(&x, &y));
    assert!(err.starts_with("model 'fresh' must be compiled"), "{err}");
    let err = message(model.learning_rate());
    assert!(err.starts_with("model 'fresh' must be compiled"), "{err}");
    // predict needs no compile.
    assert_eq!(model.predict(&x).unwrap().shape(), &[4, 2]);
}

#[test]
fn model_without_layers_names_what_is_missing() {
    let mut model = Sequential::new().with_name("empty");
    let err = message(model.predict(features(2, 4)));
    assert!(
        err.starts_with("model 'empty': the model has no input shape yet"),
        "{err}"
    );
    let err = message(model.compile("adam", "mse", &[]));
    assert!(
        err.starts_with("model 'empty': the model has no input shape yet"),
        "{err}"
    );
}

fn two_input_model() -> Model {
    let a = Input::named("a", [3]);
    let b = Input::named("b", [2]);
    let c = Concatenate::new().apply_list(&[&a, &b]).unwrap();
    let out = Dense::new(1).name("out").apply(&c).unwrap();
    let mut model = Model::new(&[&a, &b], &[&out]).unwrap().with_name("two_in");
    model.compile("sgd", "mse", &[]).unwrap();
    model
}

#[test]
fn wrong_number_of_input_arrays_for_a_two_input_model() {
    let mut model = two_input_model();
    let (xa, xb) = (features(4, 3), features(4, 2));
    let y = Tensor::from_f32(vec![0.0; 4], [4, 1]).unwrap();
    let err = message(model.predict(&xa));
    assert_eq!(err, "model 'two_in' expects 2 input array(s) (a, b), received 1");
    let err = message(model.fit(vec![xa.clone(), xb.clone(), xb.clone()], &y, quiet()));
    assert_eq!(err, "model 'two_in' expects 2 input array(s) (a, b), received 3");
    let err = message(model.evaluate(&xa, &y));
    assert_eq!(err, "model 'two_in' expects 2 input array(s) (a, b), received 1");
    // Swapped arrays: the second input's width is wrong.
    let err = message(model.predict([&xb, &xa]));
    assert_eq!(
        err,
        "model 'two_in': input 0 ('a') expected shape (None, 3), received data of shape (4, 2)"
    );
    // Arrays with different sample counts.
    let err = message(model.predict([&xa, &features(3, 2)]));
    assert_eq!(
        err,
        "model 'two_in': input arrays must have the same number of samples; input 0 has 4, input 1 has 3"
    );
    // The right arrays work.
    assert_eq!(model.predict([&xa, &xb]).unwrap().shape(), &[4, 1]);
    model.fit([&xa, &xb], &y, quiet()).unwrap();
}

#[test]
fn concatenate_of_incompatible_shapes_fails_at_connection() {
    let a = Input::new([3]);
    let b = Input::new([4, 5]);
    let err = Concatenate::new().name("cat").apply_list(&[&a, &b]).unwrap_err();
    assert!(matches!(err, KilnError::Incompatible { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "layer 'cat' (Concatenate) is incompatible with its input: a Concatenate layer requires inputs with matching \
         shapes except for the concatenation axis -1. Received: input_shape=[(None, 3), (None, 4, 5)]"
    );
    // Same rank, a mismatch off the concatenation axis.
    let (c, d) = (Input::new([2, 3]), Input::new([4, 5]));
    let err = message(Concatenate::new().name("cat2").apply_list(&[&c, &d]));
    assert!(
        err.starts_with("layer 'cat2' (Concatenate) is incompatible with its input"),
        "{err}"
    );
    assert!(
        err.ends_with("Received: input_shape=[(None, 2, 3), (None, 4, 5)]"),
        "{err}"
    );
    // An axis out of range.
    let (e, f) = (Input::new([3]), Input::new([3]));
    let err = message(Concatenate::new().axis(4).name("cat3").apply_list(&[&e, &f]));
    assert_eq!(
        err,
        "layer 'cat3' (Concatenate) is incompatible with its input: axis 4 is out of range for inputs of rank 2"
    );
    // A single input.
    let err = message(Concatenate::new().name("cat4").apply_list(&[&e]));
    assert_eq!(
        err,
        "layer 'cat4' (Concatenate) is incompatible with its input: expected a list of at least 2 inputs, received 1"
    );
    // Concatenate applied like a one-input layer.
    let err = message(Concatenate::new().name("cat5").apply(&e));
    assert!(
        err.starts_with("layer 'cat5' (Concatenate) is incompatible with its input: this layer takes a list of inputs"),
        "{err}"
    );
}

#[test]
fn dense_on_a_rank_1_input_fails_at_connection() {
    let x = Input::new([]);
    let err = Dense::new(3).name("d").apply(&x).unwrap_err();
    assert!(matches!(err, KilnError::Incompatible { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "layer 'd' (Dense) is incompatible with its input: expected an input of rank ≥ 2 with a known last dimension, \
         received shape (None,)"
    );
    // The same through Sequential's input_shape: refused at add, model left unbuilt.
    let mut model = Sequential::new().with_name("seq");
    let err = message(model.add(Dense::new(3).name("d2").input_shape(Vec::<usize>::new())));
    assert!(
        err.starts_with("layer 'd2' (Dense) is incompatible with its input"),
        "{err}"
    );
    assert!(err.ends_with("received shape (None,)"), "{err}");
    let err = message(model.predict(features(2, 1)));
    assert!(err.contains("no input shape yet"), "{err}");
}

#[test]
fn invalid_layer_arguments_name_the_argument() {
    let x = Input::new([4]);
    let err = message(Dense::new(0).name("d").apply(&x));
    assert_eq!(err, "layer 'd' (Dense): expected a positive integer. Received: units=0");
    let err = message(Dropout::new(1.5).name("drop").apply(&x));
    assert_eq!(
        err,
        "layer 'drop' (Dropout): the dropout rate must be a float in the range [0, 1). Received: rate=1.5"
    );
}

#[test]
fn invalid_validation_split_and_batch_size() {
    let mut model = classifier(3);
    let (x, y) = (features(10, 4), labels(&[0, 1, 2, 0, 1, 2, 0, 1, 2, 0]));
    let err = message(model.fit(&x, &y, quiet().validation_split(1.5)));
    assert_eq!(
        err,
        "validation_split must be in [0, 1). Received: validation_split=1.5"
    );
    let err = message(model.fit(&x, &y, quiet().validation_split(-0.1)));
    assert_eq!(
        err,
        "validation_split must be in [0, 1). Received: validation_split=-0.1"
    );
    let err = message(model.fit(&x, &y, quiet().validation_split(1.0)));
    assert_eq!(err, "validation_split must be in [0, 1). Received: validation_split=1");
    let err = message(model.fit(&x, &y, quiet().validation_split(f32::NAN)));
    assert_eq!(
        err,
        "validation_split must be in [0, 1). Received: validation_split=NaN"
    );
    // A split too small to hold out a single sample.
    let err = message(model.fit(&x, &y, quiet().validation_split(0.05)));
    assert_eq!(
        err,
        "validation_split=0.05 of 10 samples leaves 10 for training and 0 for validation; both need at least one"
    );
    let err = message(model.fit(&x, &y, quiet().batch_size(0)));
    assert_eq!(err, "batch_size must be a positive integer. Received: batch_size=0");
    // evaluate and predict with batch_size 0 do not panic.
    let _ = model.evaluate_with(
        &x,
        &y,
        kiln::EvaluateOptions {
            batch_size: 0,
            verbose: 0,
        },
    );
    let _ = model.predict_with(&x, PredictOptions { batch_size: 0 });
}

#[test]
fn set_weights_with_wrong_count_or_shape() {
    let mut model = regressor();
    let weights = model.get_weights().unwrap();
    assert_eq!(model.weight_names(), ["out/kernel", "out/bias"]);
    let err = message(model.set_weights(&weights[..1]));
    assert_eq!(err, "model 'reg': set_weights expected 2 weight tensors, received 1");
    let mut three = weights.clone();
    three.push(weights[1].clone());
    let err = message(model.set_weights(&three));
    assert_eq!(err, "model 'reg': set_weights expected 2 weight tensors, received 3");
    let transposed = vec![Tensor::from_f32(vec![0.0; 8], [2, 4]).unwrap(), weights[1].clone()];
    let err = message(model.set_weights(&transposed));
    assert_eq!(
        err,
        "model 'reg': weight 'out/kernel' has shape [4, 2]; set_weights received [2, 4]"
    );
    let bad_bias = vec![weights[0].clone(), Tensor::from_f32(vec![0.0; 3], [3]).unwrap()];
    let err = message(model.set_weights(&bad_bias));
    assert_eq!(
        err,
        "model 'reg': weight 'out/bias' has shape [2]; set_weights received [3]"
    );
    // A refused set_weights changes nothing.
    assert_eq!(model.get_weights().unwrap(), weights);
}

fn nan_regressor(lr: f32) -> Model {
    kiln::set_random_seed(1);
    let mut model = Sequential::new().with_name("nan");
    model.add(Dense::new(1).input_shape([4])).unwrap();
    model.compile(Sgd::new().learning_rate(lr), "mse", &[]).unwrap();
    model
}

#[test]
fn exploding_loss_stops_training_cleanly() -> R {
    let mut model = nan_regressor(1e30);
    let x = features(8, 4);
    let y = Tensor::from_f32((0..8).map(|i| i as f32).collect(), [8, 1]).unwrap();
    let history = model.fit(&x, &y, FitOptions::new().epochs(10).verbose(0))?;
    let reason = history.stop_reason.clone().expect("a stop reason");
    assert!(reason.contains("invalid loss"), "{reason}");
    assert!(reason.contains("terminating training"), "{reason}");
    assert!(history.epoch.len() < 10, "{:?}", history.epoch);
    let losses = history.get("loss").unwrap();
    assert_eq!(losses.len(), history.epoch.len());
    assert!(!losses.last().unwrap().is_finite(), "{losses:?}");
    assert!(losses[..losses.len() - 1].iter().all(|l| l.is_finite()), "{losses:?}");
    Ok(())
}

#[test]
fn nan_inputs_stop_training_cleanly() -> R {
    let mut model = nan_regressor(0.01);
    let mut values: Vec<f32> = features(8, 4).to_f32();
    values[5] = f32::NAN;
    let x = Tensor::from_f32(values, [8, 4]).unwrap();
    let y = Tensor::from_f32(vec![1.0; 8], [8, 1]).unwrap();
    let history = model.fit(&x, &y, FitOptions::new().epochs(5).verbose(0).validation_split(0.25))?;
    let reason = history.stop_reason.clone().expect("a stop reason");
    assert_eq!(
        reason,
        format!("Epoch 1, batch 0: invalid loss (NaN), terminating training")
    );
    assert_eq!(history.epoch, vec![0]);
    assert!(history.get("loss").unwrap()[0].is_nan());
    // No validation is run on the poisoned epoch.
    assert!(history.get("val_loss").is_none(), "{:?}", history.history);
    Ok(())
}

#[test]
fn functional_models_put_together_wrongly() {
    let a = Input::named("a", [3]);
    let b = Input::named("b", [3]);
    let from_b = Dense::new(2).name("from_b").apply(&b).unwrap();
    let err = message(Model::new(&[&a], &[&from_b]));
    assert!(
        err.ends_with("the outputs depend on the input 'b', which is not among the model's inputs"),
        "{err}"
    );
    let err = message(Model::new(&[&a, &a], &[&Dense::new(2).apply(&a).unwrap()]));
    assert!(err.ends_with("the input 'a' is given twice"), "{err}");
    let hidden = Dense::new(2).name("hidden").apply(&a).unwrap();
    let out = Dense::new(1).apply(&hidden).unwrap();
    let err = message(Model::new(&[&hidden], &[&out]));
    assert!(
        err.ends_with("model inputs must come from Input::new; 'hidden' is the output of a layer"),
        "{err}"
    );
    let err = message(Model::new(&[], &[&out]));
    assert!(
        err.ends_with("a model needs at least one input and one output"),
        "{err}"
    );
    // Two different layers with one name.
    let d1 = Dense::new(2).name("d").apply(&a).unwrap();
    let d2 = Dense::new(4).name("d").apply(&d1).unwrap();
    let err = message(Model::new(&[&a], &[&d2]));
    assert!(
        err.ends_with("all layer names should be unique; 'd' names two different layers"),
        "{err}"
    );
    // Sequential-only calls on a Functional model.
    let mut model = Model::new(&[&a], &[&d1]).unwrap().with_name("f");
    let err = message(model.add(Dense::new(1)));
    assert_eq!(err, "model 'f': add() is for Sequential models; this one is Functional");
}

#[test]
fn a_refused_add_leaves_the_sequential_model_unchanged() {
    // A refused layer in the middle: the model keeps its layers and still works.
    let mut model = Sequential::new().with_name("s");
    model.add(Dense::new(3).input_shape([4])).unwrap();
    let params = model.count_params();
    let err = message(model.add(Dense::new(2).activation("rellu").name("bad")));
    assert!(
        err.starts_with("layer 'bad' (Dense): unknown activation 'rellu'"),
        "{err}"
    );
    assert_eq!(model.count_params(), params);
    model.add(Dense::new(2)).unwrap();
    assert_eq!(model.predict(features(2, 4)).unwrap().shape(), &[2, 2]);
}

/// Keras raises on the bad first layer before touching the model, so the corrected
/// layer can be added next. Kiln's `Model::add` (model/sequential.rs, the
/// `SequentialEntry::Shaped` arm) stores the new `Input` before `call_layer` checks the
/// layer, so a refused first layer leaves the input behind.
#[test]
fn a_refused_first_layer_can_be_replaced() {
    let mut model = Sequential::new().with_name("s");
    let err = message(model.add(Dense::new(3).activation("rellu").name("bad").input_shape([4])));
    assert!(
        err.starts_with("layer 'bad' (Dense): unknown activation 'rellu'"),
        "{err}"
    );
    model.add(Dense::new(3).name("good").input_shape([4])).unwrap();
    assert_eq!(model.predict(features(2, 4)).unwrap().shape(), &[2, 3]);
}

/// The impossible layer configurations of the layer catalogue are refused when the layer
/// is connected, naming the layer and the offending values.
#[test]
fn impossible_layer_configurations_are_refused_at_build_time() {
    kiln::clear_session();
    // A kernel larger than the input with `valid` padding.
    let small = Input::new([2, 2, 3]);
    let err = message(Conv2D::new(4, 3).name("c").apply(&small));
    assert!(
        err.starts_with("layer 'c' (Conv2D) is incompatible with its input"),
        "{err}"
    );
    assert!(err.contains("(None, 2, 2, 3)"), "{err}");
    let err = message(MaxPooling2D::new().pool_size(3).name("p").apply(&small));
    assert!(err.starts_with("layer 'p' (MaxPooling2D)"), "{err}");
    // Zero sizes.
    let err = message(Conv2D::new(0, 3).name("c0").apply(&small));
    assert!(
        err.contains("layer 'c0' (Conv2D)") && err.contains("filters=0"),
        "{err}"
    );
    let err = message(Conv1D::new(2, 0).name("k0").apply(&Input::new([5, 2])));
    assert!(
        err.contains("layer 'k0' (Conv1D)") && err.contains("kernel_size"),
        "{err}"
    );
    let err = message(LSTM::new(0).name("l0").apply(&Input::new([5, 2])));
    assert!(err.contains("layer 'l0' (LSTM)"), "{err}");
    // key_dim missing (zero).
    let q = Input::new([4, 5]);
    let err = message(MultiHeadAttention::new(2, 0).name("mha").apply_list(&[&q, &q]));
    assert!(
        err.contains("layer 'mha' (MultiHeadAttention)") && err.contains("key_dim"),
        "{err}"
    );
    // A recurrent layer on a rank-2 input.
    let err = message(LSTM::new(3).name("rnn").apply(&Input::new([8])));
    assert!(
        err.starts_with("layer 'rnn' (LSTM) is incompatible with its input"),
        "{err}"
    );
    assert!(err.contains("(None, 8)"), "{err}");
    // A mask whose shape does not fit the input.
    let x = Input::new([6, 3]);
    let wrong = Input::new([5]);
    let err = message(LSTM::new(3).name("masked").apply_with_mask(&x, &wrong));
    assert!(err.contains("masked"), "{err}");
    assert!(err.contains("(None, 5)") || err.contains("5"), "{err}");
}
