//! Kiln against real Keras 3 outputs (see `tests/keras/README.md`): every activation (and
//! its gradient), the activation layers, Dense, every loss, and five training steps of each
//! optimizer.

use crate::common;

use common::*;
use kiln::ir::{Activation, BinaryOp, Graph, Op, ReduceOp, Shape, TensorType, ValueId};
use kiln::losses::Loss;
use kiln::optimizers::{Adam, Optimizer, RmsProp, Sgd};
use kiln::prelude::*;
use kiln::{EmitContext, Layer, SymbolicTensor};
use serde_json::Value;

const FORWARD_TOL: f32 = 1e-5;
const TRAINING_TOL: f32 = 1e-4;

/// Runs one activation layer on the golden input.
fn activation_output(name: &str, x: &Tensor) -> Tensor {
    let input = Input::new([x.shape()[1]]);
    let out = layers::Activation::new(name).apply(&input).unwrap();
    Model::new(&[&input], &[&out]).unwrap().predict(x).unwrap()
}

/// A layer applying one IR activation, for the activations no layer takes by name (the
/// ones with arguments, and axes other than the last).
#[derive(Clone, Debug)]
struct ActivationOp(Activation);

impl Layer for ActivationOp {
    fn name(&self) -> &str {
        "activation_op"
    }

    fn class_name(&self) -> &'static str {
        "ActivationOp"
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> kiln::Result<Vec<TensorType>> {
        let t = Op::Activation { kind: self.0 }.infer(&[&inputs[0]]).expect("infer");
        Ok(vec![t])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> kiln::Result<Vec<ValueId>> {
        Ok(vec![ctx.push(Op::Activation { kind: self.0 }, inputs)?])
    }

    fn config(&self) -> Value {
        Value::Null
    }
}

/// `kind` on `x` (shape `[4, 6]`, axes as in Keras) on the default device: a model over one
/// sample of shape `[4, 6]`, so the axis moves up by one.
fn activation_op_output(kind: Activation, x: &Tensor) -> Tensor {
    let shifted = match kind {
        Activation::Softmax { axis } => Activation::Softmax { axis: axis + 1 },
        Activation::LogSoftmax { axis } => Activation::LogSoftmax { axis: axis + 1 },
        Activation::Glu { axis } => Activation::Glu { axis: axis + 1 },
        Activation::Sparsemax { axis } => Activation::Sparsemax { axis: axis + 1 },
        other => other,
    };
    let input = Input::new(x.shape().iter().copied());
    let out = ActivationOp(shifted).apply(&input).unwrap();
    let model = Model::new(&[&input], &[&out]).unwrap();
    let mut dims = vec![1];
    dims.extend(x.shape());
    let y = model.predict(Tensor::from_f32(x.to_f32(), dims).unwrap()).unwrap();
    Tensor::from_f32(y.to_f32(), &y.shape()[1..]).unwrap()
}

/// The leading corner of `r` with `dims` (a `[4, 6]` array cut to a smaller result).
fn corner(r: &Tensor, dims: &[usize]) -> Tensor {
    let (data, cols) = (r.to_f32(), r.shape()[1]);
    let v = (0..dims[0])
        .flat_map(|i| data[i * cols..i * cols + dims[1]].to_vec())
        .collect();
    Tensor::from_f32(v, dims.to_vec()).unwrap()
}

/// `d sum(kind(x) * r) / dx` on ndarray, through Burn's autodiff.
fn activation_gradient(kind: Activation, x: &Tensor, r: &Tensor) -> Tensor {
    let mut g = Graph::new();
    let xv = g.add_input("x", TensorType::f32(Shape::fixed(x.shape().iter().copied())));
    let y = g.push(Op::Activation { kind }, &[xv], "activation").unwrap();
    let dims = g.value_type(y).unwrap().shape.to_fixed().unwrap();
    let w = g.add_input("r", TensorType::f32(Shape::fixed(dims.clone())));
    let yw = g.push(Op::Binary { kind: BinaryOp::Mul }, &[y, w], "loss").unwrap();
    let sum = Op::Reduce {
        kind: ReduceOp::Sum,
        axes: vec![],
        keepdims: false,
    };
    let loss = g.push(sum, &[yw], "loss").unwrap();
    g.set_outputs(vec![loss]);
    let plan = kiln_burn::Plan::compile(&g).unwrap();
    let session = kiln_burn::Session::new(&kiln_ndarray::device(), &g, &[]).unwrap();
    let (_, mut input_gradients, _) = session
        .gradients(&plan, &[x.clone(), corner(r, &dims)], Default::default())
        .unwrap();
    input_gradients.remove(0).expect("the loss depends on x")
}

/// The IR activation of a key of `outputs`.
fn output_kind(key: &str) -> Activation {
    match key {
        "softmax_axis0" => Activation::Softmax { axis: 0 },
        "log_softmax_axis0" => Activation::LogSoftmax { axis: 0 },
        name => kiln::activations::activation(name, 2).unwrap(),
    }
}

/// The IR activation of a Keras call `keras.activations.<name>(x, **args)` on a rank-2 input.
fn variant_kind(name: &str, args: &Value) -> Activation {
    let f = |k: &str, default: f32| args[k].as_f64().map_or(default, |v| v as f32);
    match name {
        "relu" => Activation::ReluExt {
            negative_slope: f("negative_slope", 0.0),
            max_value: args["max_value"].as_f64().map(|v| v as f32),
            threshold: f("threshold", 0.0),
        },
        "leaky_relu" => Activation::LeakyRelu {
            negative_slope: f("negative_slope", 0.2),
        },
        "elu" => Activation::Elu { alpha: f("alpha", 1.0) },
        "celu" => Activation::Celu { alpha: f("alpha", 1.0) },
        "gelu" => Activation::Gelu {
            approximate: args["approximate"].as_bool().unwrap_or(false),
        },
        "hard_shrink" => Activation::HardShrink {
            threshold: f("threshold", 0.5),
        },
        "soft_shrink" => Activation::SoftShrink {
            threshold: f("threshold", 0.5),
        },
        "squareplus" => Activation::Squareplus { b: f("b", 4.0) },
        "threshold" => Activation::Threshold {
            threshold: f("threshold", f32::NAN),
            default_value: f("default_value", f32::NAN),
        },
        "glu" => Activation::Glu {
            axis: args["axis"].as_u64().unwrap_or(1) as usize,
        },
        "sparsemax" => Activation::Sparsemax {
            axis: args["axis"].as_u64().unwrap_or(1) as usize,
        },
        other => panic!("no variant mapping for {other}"),
    }
}

/// The largest difference allowed: `exp(x)` (and its gradient) reaches ~50 on these inputs,
/// so it is compared relatively.
fn tolerance(name: &str) -> f32 {
    if name == "exponential" {
        1e-6 * 55.0
    } else {
        FORWARD_TOL
    }
}

#[test]
fn every_activation_matches_keras() {
    let g = golden("activations.json");
    let x = f32_tensor(&g["x"]);
    let outputs = g["outputs"].as_object().unwrap();
    let mut checked = Vec::new();
    for (name, expected) in outputs {
        let got = if name.ends_with("_axis0") {
            activation_op_output(output_kind(name), &x)
        } else {
            activation_output(name, &x)
        };
        let err = max_abs_diff(&got, &f32_tensor(expected));
        assert!(err <= tolerance(name), "{name}: max abs error {err}");
        println!("activation {name}: max abs error {err:.2e}");
        checked.push(name.as_str());
    }
    // Every name but "threshold" (no defaults: it is among the variants), and two axis-0 calls.
    let names: Vec<&str> = kiln::activations::ACTIVATION_NAMES
        .iter()
        .copied()
        .filter(|n| *n != "threshold")
        .collect();
    assert_eq!(checked.len(), names.len() + 2);
    for name in names {
        assert!(checked.contains(&name), "{name} has no golden");
    }
}

#[test]
fn every_activation_gradient_matches_keras() {
    let g = golden("activations.json");
    let (x, r) = (f32_tensor(&g["x"]), f32_tensor(&g["gradient_weights"]));
    let gradients = g["gradients"].as_object().unwrap();
    assert_eq!(gradients.len(), g["outputs"].as_object().unwrap().len());
    for (name, expected) in gradients {
        let got = activation_gradient(output_kind(name), &x, &r);
        let err = max_abs_diff(&got, &f32_tensor(expected));
        assert!(err <= tolerance(name), "{name}: gradient max abs error {err}");
        println!("activation {name}: gradient max abs error {err:.2e}");
    }
}

#[test]
fn activations_with_arguments_match_keras() {
    let g = golden("activations.json");
    let r = f32_tensor(&g["gradient_weights"]);
    let variants = g["variants"].as_array().unwrap();
    for v in variants {
        let (name, args) = (v["name"].as_str().unwrap(), &v["args"]);
        let x = f32_tensor(if v["x"].is_null() { &g["x"] } else { &v["x"] });
        let kind = variant_kind(name, args);
        let err = max_abs_diff(&activation_op_output(kind, &x), &f32_tensor(&v["output"]));
        assert!(err <= FORWARD_TOL, "{name} {args}: max abs error {err}");
        let grad_err = max_abs_diff(&activation_gradient(kind, &x, &r), &f32_tensor(&v["gradient"]));
        assert!(
            grad_err <= FORWARD_TOL,
            "{name} {args}: gradient max abs error {grad_err}"
        );
        println!("activation {name} {args}: max abs error {err:.2e}, gradient {grad_err:.2e}");
    }
    assert!(variants.len() >= 19);
}

#[test]
fn activation_layers_match_keras() {
    let g = golden("activations.json");
    let x = f32_tensor(&g["x"]);
    let run = |layer: &dyn Fn(&SymbolicTensor) -> kiln::Result<SymbolicTensor>, x: &Tensor| {
        let input = Input::new(x.shape()[1..].iter().copied());
        let out = layer(&input).unwrap();
        Model::new(&[&input], &[&out]).unwrap().predict(x).unwrap()
    };
    let mut checked = 0;
    for v in g["variants"].as_array().unwrap() {
        let (name, args) = (v["name"].as_str().unwrap(), &v["args"]);
        let x = f32_tensor(if v["x"].is_null() { &g["x"] } else { &v["x"] });
        let f = |k: &str| args[k].as_f64().map(|v| v as f32);
        let got = match name {
            "relu" => {
                let mut layer = ReLU::new()
                    .negative_slope(f("negative_slope").unwrap_or(0.0))
                    .threshold(f("threshold").unwrap_or(0.0));
                if let Some(m) = f("max_value") {
                    layer = layer.max_value(m);
                }
                run(&|t| layer.apply(t), &x)
            }
            // Keras 3's LeakyReLU layer defaults to 0.3; the golden calls the function with it.
            "leaky_relu" => {
                assert_eq!(f("negative_slope"), Some(LeakyReLU::new().negative_slope));
                run(&|t| LeakyReLU::new().apply(t), &x)
            }
            "elu" => run(&|t| ELU::new().alpha(f("alpha").unwrap()).apply(t), &x),
            _ => continue,
        };
        let err = max_abs_diff(&got, &f32_tensor(&v["output"]));
        assert!(err <= FORWARD_TOL, "layer for {name} {args}: max abs error {err}");
        checked += 1;
    }
    assert_eq!(checked, 8);
    for (key, layer) in [("softmax", Softmax::new()), ("softmax_axis0", Softmax::new().axis(1))] {
        let input = if key == "softmax" {
            x.clone()
        } else {
            Tensor::from_f32(x.to_f32(), [1, 4, 6]).unwrap()
        };
        let got = run(&|t| layer.apply(t), &input);
        let want = f32_tensor(&g["outputs"][key]);
        let err = max_abs_diff(&Tensor::from_f32(got.to_f32(), want.shape().to_vec()).unwrap(), &want);
        assert!(err <= FORWARD_TOL, "Softmax layer {key}: {err}");
    }
    let got = run(&|t| ELU::new().apply(t), &x);
    assert!(max_abs_diff(&got, &f32_tensor(&g["outputs"]["elu"])) <= FORWARD_TOL);
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
