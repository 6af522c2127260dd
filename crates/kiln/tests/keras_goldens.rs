//! Kiln against real Keras 3 outputs (see `tests/keras/README.md`): activations, Dense,
//! every loss, and five training steps of each optimizer.

mod common;

use common::*;
use kiln::ir::{Activation, Graph, Shape, TensorType};
use kiln::losses::Loss;
use kiln::optimizers::{Adam, Optimizer, RmsProp, Sgd};
use kiln::prelude::*;
use serde_json::Value;

const FORWARD_TOL: f32 = 1e-5;
const TRAINING_TOL: f32 = 1e-4;

/// Runs one activation layer on the golden input.
fn activation_output(name: &str, x: &Tensor) -> Tensor {
    let input = Input::new([x.shape()[1]]);
    let out = layers::Activation::new(name).apply(&input).unwrap();
    Model::new(&[&input], &[&out]).unwrap().predict(x).unwrap()
}

#[test]
fn every_activation_matches_keras() {
    let g = golden("activations.json");
    let x = f32_tensor(&g["x"]);
    let outputs = g["outputs"].as_object().unwrap();
    let mut worst = Vec::new();
    for (name, expected) in outputs {
        if name.ends_with("_axis0") {
            continue;
        }
        let got = activation_output(name, &x);
        let err = max_abs_diff(&got, &f32_tensor(expected));
        // exp(x) reaches ~50 on these inputs: compare it relatively.
        let tol = if name == "exponential" {
            1e-6 * 55.0
        } else {
            FORWARD_TOL
        };
        assert!(err <= tol, "{name}: max abs error {err}");
        println!("activation {name}: max abs error {err:.2e}");
        worst.push((name.clone(), err));
    }
    assert_eq!(worst.len(), 16, "every activation Keras names was checked");
}

#[test]
fn softmax_on_another_axis_matches_keras() {
    // Axis 0 of a fixed-shape value: built directly in the IR and run on ndarray.
    let g = golden("activations.json");
    let x = f32_tensor(&g["x"]);
    for (key, kind) in [
        ("softmax_axis0", Activation::Softmax { axis: 0 }),
        ("log_softmax_axis0", Activation::LogSoftmax { axis: 0 }),
    ] {
        let mut graph = Graph::new();
        let v = graph.add_input("x", TensorType::f32(Shape::fixed([4, 6])));
        let y = graph.push(kiln::ir::Op::Activation { kind }, &[v], "softmax").unwrap();
        graph.set_outputs(vec![y]);
        let plan = kiln_burn::Plan::compile(&graph).unwrap();
        let session = kiln_burn::Session::new(&kiln_ndarray::device(), &graph, &[]).unwrap();
        let got = session
            .run(&plan, std::slice::from_ref(&x), Default::default())
            .unwrap()
            .remove(0);
        let err = max_abs_diff(&got, &f32_tensor(&g["outputs"][key]));
        assert!(err <= FORWARD_TOL, "{key}: {err}");
    }
}

#[test]
fn dense_matches_keras() {
    let g = golden("dense.json");
    let x = f32_tensor(&g["x"]);
    let (kernel, bias) = (f32_tensor(&g["kernel"]), f32_tensor(&g["bias"]));
    for (key, expected) in g["outputs"].as_object().unwrap() {
        let input = Input::new([4]);
        let layer = if key == "no_bias" {
            Dense::new(5).use_bias(false)
        } else {
            Dense::new(5).activation(key)
        };
        let out = layer.apply(&input).unwrap();
        let mut model = Model::new(&[&input], &[&out]).unwrap();
        let weights = if key == "no_bias" {
            vec![kernel.clone()]
        } else {
            vec![kernel.clone(), bias.clone()]
        };
        model.set_weights(&weights).unwrap();
        let err = max_abs_diff(&model.predict(&x).unwrap(), &f32_tensor(expected));
        assert!(err <= FORWARD_TOL, "Dense {key}: {err}");
        println!("Dense {key}: max abs error {err:.2e}");
    }
}

fn loss_from_case(case: &Value) -> Loss {
    let name = case["name"].as_str().unwrap();
    let args = &case["args"];
    let from_logits = args["from_logits"].as_bool().unwrap_or(false);
    match name {
        "categorical_crossentropy" => Loss::CategoricalCrossentropy { from_logits },
        "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy { from_logits },
        "binary_crossentropy" => Loss::BinaryCrossentropy { from_logits },
        "huber" => Loss::Huber {
            delta: args["delta"].as_f64().unwrap_or(1.0) as f32,
        },
        other => Loss::from_name(other).unwrap(),
    }
}

#[test]
fn every_loss_matches_keras() {
    let g = golden("losses.json");
    let cases = g["cases"].as_array().unwrap();
    for case in cases {
        let y_pred = f32_tensor(&case["y_pred"]);
        let sparse = case["name"] == "sparse_categorical_crossentropy";
        let y_true = if sparse {
            i32_tensor(&case["y_true"])
        } else {
            f32_tensor(&case["y_true"])
        };
        // An identity model turns `evaluate` into the loss of `y_pred` itself.
        let input = Input::new(y_pred.shape()[1..].iter().copied());
        let out = layers::Activation::new("linear").apply(&input).unwrap();
        let mut model = Model::new(&[&input], &[&out]).unwrap();
        model.compile("sgd", loss_from_case(case), &[]).unwrap();
        let n = y_pred.shape()[0];
        let logs = model
            .evaluate_with(
                &y_pred,
                &y_true,
                kiln::EvaluateOptions {
                    batch_size: n,
                    verbose: 0,
                },
            )
            .unwrap();
        let expected = case["value"].as_f64().unwrap();
        let err = (logs["loss"] - expected).abs() as f32;
        assert!(
            err <= FORWARD_TOL,
            "{} {}: got {} expected {expected}",
            case["name"],
            case["args"],
            logs["loss"]
        );
        println!("loss {} {}: abs error {err:.2e}", case["name"], case["args"]);
    }
    assert!(cases.len() >= 13);
}

fn optimizer_from_run(run: &Value) -> Optimizer {
    let c = &run["config"];
    let f = |k: &str, d: f64| c[k].as_f64().unwrap_or(d) as f32;
    let b = |k: &str| c[k].as_bool().unwrap_or(false);
    match run["optimizer"].as_str().unwrap() {
        "sgd" => Sgd::new()
            .learning_rate(f("learning_rate", 0.01))
            .momentum(f("momentum", 0.0))
            .nesterov(b("nesterov"))
            .into(),
        "adam" => Adam::new()
            .learning_rate(f("learning_rate", 0.001))
            .beta_1(f("beta_1", 0.9))
            .beta_2(f("beta_2", 0.999))
            .amsgrad(b("amsgrad"))
            .into(),
        "rmsprop" => RmsProp::new()
            .learning_rate(f("learning_rate", 0.001))
            .momentum(f("momentum", 0.0))
            .centered(b("centered"))
            .into(),
        other => panic!("unknown optimizer {other}"),
    }
}

#[test]
fn five_training_steps_of_every_optimizer_match_keras() {
    let g = golden("training.json");
    let (x, y) = (f32_tensor(&g["x"]), f32_tensor(&g["y"]));
    let keys = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"];
    let initial: Vec<Tensor> = keys.iter().map(|k| f32_tensor(&g["initial_weights"][k])).collect();
    let runs = g["runs"].as_array().unwrap();
    for run in runs {
        let mut model = Sequential::new();
        model.add(Input::new([4])).unwrap();
        model.add(Dense::new(8).activation("relu").name("dense")).unwrap();
        model.add(Dense::new(3).activation("softmax").name("dense_1")).unwrap();
        assert_eq!(model.weight_names(), keys);
        model.set_weights(&initial).unwrap();
        model
            .compile(optimizer_from_run(run), run["loss"].as_str().unwrap(), &[])
            .unwrap();
        for (step, expected) in run["losses"].as_array().unwrap().iter().enumerate() {
            let logs = model.train_on_batch(&x, &y).unwrap();
            let err = (logs["loss"] - expected.as_f64().unwrap()).abs() as f32;
            assert!(
                err <= TRAINING_TOL,
                "{} {}: step {step} loss error {err}",
                run["optimizer"],
                run["config"]
            );
        }
        for (w, k) in model.get_weights().unwrap().iter().zip(keys) {
            let err = max_abs_diff(w, &f32_tensor(&run["final_weights"][k]));
            assert!(
                err <= TRAINING_TOL,
                "{} {}: {k} error {err}",
                run["optimizer"],
                run["config"]
            );
            println!(
                "{} {} {k}: max abs error after 5 steps {err:.2e}",
                run["optimizer"], run["config"]
            );
        }
    }
    assert_eq!(runs.len(), 10);
}

#[test]
fn optimizer_defaults_match_keras() {
    let g = golden("training.json");
    let d = &g["optimizer_defaults"];
    let close = |v: &Value, x: f32| (v.as_f64().unwrap() as f32 - x).abs() < 1e-9;
    let adam = Adam::new();
    assert!(close(&d["adam"]["learning_rate"], adam.learning_rate));
    assert!(close(&d["adam"]["epsilon"], adam.epsilon));
    assert!(close(&d["adam"]["beta_2"], adam.beta_2));
    let rms = RmsProp::new();
    assert!(close(&d["rmsprop"]["learning_rate"], rms.learning_rate));
    assert!(close(&d["rmsprop"]["rho"], rms.rho));
    assert!(close(&d["rmsprop"]["epsilon"], rms.epsilon));
    assert!(close(&d["sgd"]["learning_rate"], Sgd::new().learning_rate));
}
