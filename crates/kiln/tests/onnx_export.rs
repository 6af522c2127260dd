//! ONNX export (`Model::to_onnx_bytes` / `export_onnx`) of every layer golden model
//! (`tests/keras/goldens/layers/<Class>.json`, Keras's weights set) and of two applications.
//!
//! Always: each model exports (every op it uses has a translation) and the file decodes
//! back with the model's inputs (names, dtypes, shapes with a symbolic batch), one output
//! per model output, and the weights as initializers with Keras's values.
//!
//! With `KILN_ONNX_DIR` set, each model is also written there as `<case>/model.onnx` with
//! its inputs (`input_<i>.npy`) and Kiln's predictions (`output_<k>.npy`), for
//! `tests/onnx/check_onnx.py` to run through `onnx.checker` and ONNX Runtime.

use crate::common;

use common::layer_cases::*;
use kiln::ir::{
    Activation, BinaryOp, CompareOp, Graph, Initializer, Op, PoolKind, ReduceOp, TensorType, UnaryOp, ValueId,
};
use kiln::onnx::proto::{FLOAT, INT32, ModelProto, TensorProto};
use kiln::prelude::*;
use kiln::{DType, Layer, PredictOptions, Shape, SymbolicTensor};
use std::path::{Path, PathBuf};

/// Weights the inference graph never reads, so not exported: Normalization's `count`
/// (only `adapt` uses it).
fn read_in_inference(name: &str) -> bool {
    !name.ends_with("/count")
}

fn raw_f32(t: &Tensor) -> Vec<u8> {
    t.to_f32().iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Decodes the export and checks its inputs, outputs and initializers against the model.
fn check_decoded(model: &Model, bytes: &[u8], weights: &[Tensor]) -> Result<(), String> {
    let proto = ModelProto::from_bytes(bytes)?;
    if proto.opset_import.first().map(|o| o.version) != Some(17) {
        return Err(format!("opset {:?}, expected 17", proto.opset_import));
    }
    let g = proto.graph.ok_or("no graph")?;
    let ir = model.graph().map_err(|e| e.to_string())?;
    if g.input.len() != ir.inputs().len() {
        return Err(format!("{} inputs, the model has {}", g.input.len(), ir.inputs().len()));
    }
    for (got, want) in g.input.iter().zip(ir.inputs()) {
        let ty = ir.value_type(want.value).map_err(|e| e.to_string())?;
        let (elem, dims) = got
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_parts())
            .ok_or("untyped input")?;
        let want_elem = if ty.dtype == DType::F32 { FLOAT } else { INT32 };
        let want_dims: Vec<Option<i64>> = ty.shape.dims().iter().map(|d| d.map(|n| n as i64)).collect();
        if got.name != want.name || elem != want_elem || dims != want_dims || dims.first() != Some(&None) {
            return Err(format!(
                "input '{}' {elem} {dims:?}, expected '{}' {want_elem} {want_dims:?} with a symbolic batch",
                got.name, want.name
            ));
        }
    }
    let outputs: Vec<&str> = g.output.iter().map(|o| o.name.as_str()).collect();
    if outputs.len() != model.output_names().len()
        || outputs.first().copied() != model.output_names().first().map(String::as_str)
    {
        return Err(format!("outputs {outputs:?}, model outputs {:?}", model.output_names()));
    }
    let names = model.weight_names();
    let expected: Vec<&String> = names.iter().filter(|n| read_in_inference(n)).collect();
    if g.initializer.len() != expected.len() {
        return Err(format!(
            "{} initializers, expected {} ({expected:?})",
            g.initializer.len(),
            expected.len()
        ));
    }
    for init in &g.initializer {
        let i = names
            .iter()
            .position(|n| *n == init.name)
            .ok_or_else(|| format!("initializer '{}' is no weight", init.name))?;
        let dims: Vec<i64> = weights[i].shape().iter().map(|&d| d as i64).collect();
        let want = TensorProto {
            dims,
            data_type: FLOAT,
            name: init.name.clone(),
            raw_data: raw_f32(&weights[i]),
        };
        if *init != want {
            return Err(format!("initializer '{}' differs from the weight", init.name));
        }
    }
    Ok(())
}

/// Writes the model, its inputs and Kiln's predictions under `dir/<name>/`.
fn write_case(dir: &Path, name: &str, model: &Model, inputs: &[Tensor]) -> Result<(), String> {
    let case = dir.join(name);
    std::fs::create_dir_all(&case).map_err(|e| e.to_string())?;
    model.export_onnx(case.join("model.onnx")).map_err(|e| e.to_string())?;
    let outputs = model
        .predict_multi(inputs.to_vec(), PredictOptions::default())
        .map_err(|e| e.to_string())?;
    for (i, x) in inputs.iter().enumerate() {
        kiln::npy::write(case.join(format!("input_{i}.npy")), x).map_err(|e| e.to_string())?;
    }
    for (k, y) in outputs.iter().enumerate() {
        kiln::npy::write(case.join(format!("output_{k}.npy")), y).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn export_case(case: &serde_json::Value, dir: Option<&Path>, name: &str) -> Result<(), String> {
    let inputs = case_inputs(case)?;
    let (mut model, layers) = build(case, &inputs)?;
    let (weights, _) = case_weights(case, &model, &layers)?;
    model.set_weights(&weights).map_err(|e| e.to_string())?;
    let bytes = model.to_onnx_bytes().map_err(|e| e.to_string())?;
    check_decoded(&model, &bytes, &weights)?;
    match dir {
        Some(dir) => write_case(dir, name, &model, &inputs),
        None => Ok(()),
    }
}

/// A deterministic input in [-1, 1] of `shape`.
fn wave(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_f32((0..n).map(|i| ((i as f32) * 0.37).sin()).collect(), shape.to_vec()).unwrap()
}

#[test]
fn every_golden_model_exports_to_onnx() {
    let dir = std::env::var_os("KILN_ONNX_DIR").map(PathBuf::from);
    let mut failures = Vec::new();
    let mut exported = 0;
    for (class, file) in golden_files() {
        for case in file["cases"].as_array().into_iter().flatten() {
            let name = format!("{class}__{}", case["name"].as_str().unwrap_or("?"));
            kiln::clear_session();
            match export_case(case, dir.as_deref(), &name) {
                Ok(()) => exported += 1,
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
    }
    type Make = fn() -> kiln::Result<Model>;
    let apps: [(&str, Make); 2] = [
        ("mobilenet_v2", || {
            kiln::applications::mobilenet_v2([64, 64, 3], 0.35, 10)
        }),
        ("mobilenet_v3_small", || {
            kiln::applications::mobilenet_v3_small([64, 64, 3], 0.75, 10)
        }),
    ];
    for (name, make) in apps {
        kiln::clear_session();
        let result = make().map_err(|e| e.to_string()).and_then(|model| {
            let weights = model.get_weights().map_err(|e| e.to_string())?;
            let bytes = model.to_onnx_bytes().map_err(|e| e.to_string())?;
            check_decoded(&model, &bytes, &weights)?;
            match &dir {
                Some(dir) => write_case(dir, &format!("applications__{name}"), &model, &[wave(&[2, 64, 64, 3])]),
                None => Ok(()),
            }
        });
        match result {
            Ok(()) => exported += 1,
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!("{exported} models exported to ONNX");
    assert!(exported > 200, "only {exported} models exported");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn an_unwritable_path_is_an_error_naming_it() {
    let mut model = Sequential::new();
    model.add(Dense::new(2).input_shape([3])).unwrap();
    let err = model
        .export_onnx("/nonexistent-dir/model.onnx")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/nonexistent-dir/model.onnx: cannot write"), "{err}");
}

// --- Ops the layer goldens do not reach ------------------------------------------------

/// An operand of a [`Chain`] step.
#[derive(Clone, Debug)]
enum Arg {
    /// The layer's input `i`.
    In(usize),
    /// The result of step `k`.
    Step(usize),
    /// A weight of this shape (Glorot-uniform from the model's seed).
    Weight(&'static str, &'static [usize]),
}

/// One op of a [`Chain`] and its operands.
type ChainStep = (Op, Vec<Arg>);

/// A test layer that writes a fixed list of IR ops: each op the catalogue's layers do not
/// emit (or not with these attributes) goes through the export and ONNX Runtime too.
#[derive(Clone, Debug)]
struct Chain {
    name: String,
    steps: Vec<ChainStep>,
}

/// Where a chain's ops go: a scratch graph (for the output type) or the model.
trait Sink {
    fn op(&mut self, op: Op, args: &[ValueId]) -> kiln::Result<ValueId>;
    fn weight(&mut self, name: &str, dims: &[usize]) -> kiln::Result<ValueId>;
}

impl Sink for kiln::EmitContext<'_> {
    fn op(&mut self, op: Op, args: &[ValueId]) -> kiln::Result<ValueId> {
        self.push(op, args)
    }
    fn weight(&mut self, name: &str, dims: &[usize]) -> kiln::Result<ValueId> {
        kiln::EmitContext::weight(self, name, Shape::fixed(dims.to_vec()), Initializer::GlorotUniform)
    }
}

impl Sink for Graph {
    fn op(&mut self, op: Op, args: &[ValueId]) -> kiln::Result<ValueId> {
        Ok(self.push(op, args, "scratch")?)
    }
    fn weight(&mut self, name: &str, dims: &[usize]) -> kiln::Result<ValueId> {
        Ok(self.add_param(name, Shape::fixed(dims.to_vec()), Initializer::GlorotUniform, true)?)
    }
}

impl Chain {
    fn run(&self, sink: &mut dyn Sink, inputs: &[ValueId]) -> kiln::Result<ValueId> {
        let mut done: Vec<ValueId> = Vec::new();
        for (op, args) in &self.steps {
            let mut vs = Vec::new();
            for a in args {
                vs.push(match a {
                    Arg::In(i) => inputs[*i],
                    Arg::Step(k) => done[*k],
                    Arg::Weight(name, dims) => sink.weight(name, dims)?,
                });
            }
            done.push(sink.op(op.clone(), &vs)?);
        }
        Ok(*done.last().expect("a chain has steps"))
    }
}

impl Layer for Chain {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "Chain"
    }
    fn compute_output_shape(&self, inputs: &[TensorType]) -> kiln::Result<Vec<TensorType>> {
        let mut g = Graph::new();
        let ins: Vec<ValueId> = inputs.iter().map(|t| g.add_input("x", t.clone())).collect();
        let out = self.run(&mut g, &ins)?;
        Ok(vec![g.value_type(out)?.clone()])
    }
    fn emit(&self, ctx: &mut kiln::EmitContext, inputs: &[ValueId]) -> kiln::Result<Vec<ValueId>> {
        Ok(vec![self.run(ctx, inputs)?])
    }
    fn config(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    fn takes_list(&self) -> bool {
        true
    }
}

fn act(kind: Activation) -> ChainStep {
    (Op::Activation { kind }, vec![Arg::Step(0)])
}

fn un(kind: UnaryOp, a: Arg) -> ChainStep {
    (Op::Unary { kind }, vec![a])
}

fn bin(kind: BinaryOp, a: Arg, b: Arg) -> ChainStep {
    (Op::Binary { kind }, vec![a, b])
}

fn konst(value: f32) -> ChainStep {
    (Op::Constant { value }, vec![])
}

fn pool(kind: PoolKind, window: usize, stride: usize, pad: (usize, usize)) -> ChainStep {
    let op = Op::Pool {
        kind,
        window: vec![window],
        strides: vec![stride],
        padding: vec![pad],
    };
    (op, vec![Arg::Step(0)])
}

/// Chains over `x: f32[?, 3, 6]`; step 0 is always `x` itself (an identity clip).
fn float_chains() -> Vec<(&'static str, Vec<ChainStep>)> {
    use Arg::{In, Step, Weight};
    let id = (Op::Clip { min: -1e9, max: 1e9 }, vec![In(0)]);
    let relu = |negative_slope, max_value, threshold| {
        act(Activation::ReluExt {
            negative_slope,
            max_value,
            threshold,
        })
    };
    let reduce = |kind, axes: Vec<usize>, keepdims| (Op::Reduce { kind, axes, keepdims }, vec![Step(0)]);
    let cases = vec![
        ("sparsemax_2", vec![act(Activation::Sparsemax { axis: 2 })]),
        ("sparsemax_1", vec![act(Activation::Sparsemax { axis: 1 })]),
        ("gelu_tanh", vec![act(Activation::Gelu { approximate: true })]),
        ("relu_slope_max_threshold", vec![relu(0.1, Some(4.0), 0.5)]),
        ("relu_max6", vec![relu(0.0, Some(6.0), 0.0)]),
        ("relu_max2", vec![relu(0.0, Some(2.0), 0.0)]),
        ("relu_slope_threshold", vec![relu(0.2, None, 0.3)]),
        ("relu_slope", vec![relu(0.2, None, 0.0)]),
        (
            "threshold",
            vec![act(Activation::Threshold {
                threshold: 0.1,
                default_value: -2.0,
            })],
        ),
        (
            "celu_glu",
            vec![
                act(Activation::Celu { alpha: 0.7 }),
                (
                    Op::Activation {
                        kind: Activation::Glu { axis: 2 },
                    },
                    vec![Step(1)],
                ),
            ],
        ),
        (
            "log1p_tiny",
            vec![
                konst(1e-4),
                bin(BinaryOp::Mul, Step(0), Step(1)),
                un(UnaryOp::Abs, Step(2)),
                un(UnaryOp::Log1p, Step(3)),
            ],
        ),
        ("log1p", vec![un(UnaryOp::Abs, Step(0)), un(UnaryOp::Log1p, Step(1))]),
        ("sign", vec![un(UnaryOp::Sign, Step(0))]),
        (
            "square_sqrt_log",
            vec![
                un(UnaryOp::Square, Step(0)),
                konst(1.0),
                bin(BinaryOp::Add, Step(1), Step(2)),
                un(UnaryOp::Sqrt, Step(3)),
                un(UnaryOp::Log, Step(4)),
                un(UnaryOp::StopGradient, Step(5)),
            ],
        ),
        ("neg_exp", vec![un(UnaryOp::Neg, Step(0)), un(UnaryOp::Exp, Step(1))]),
        (
            "pow",
            vec![
                un(UnaryOp::Abs, Step(0)),
                konst(0.5),
                bin(BinaryOp::Add, Step(1), Step(2)),
                bin(BinaryOp::Pow, Step(3), Step(0)),
            ],
        ),
        (
            "max_min_div_sub",
            vec![
                konst(0.3),
                bin(BinaryOp::Maximum, Step(0), Step(1)),
                konst(1.5),
                bin(BinaryOp::Minimum, Step(2), Step(3)),
                bin(BinaryOp::Div, Step(4), Step(3)),
                bin(BinaryOp::Sub, Step(5), Step(0)),
            ],
        ),
        (
            "compare",
            vec![
                konst(0.2),
                (
                    Op::Compare {
                        kind: CompareOp::Greater,
                    },
                    vec![Step(0), Step(1)],
                ),
                (
                    Op::Compare {
                        kind: CompareOp::GreaterEqual,
                    },
                    vec![Step(0), Step(1)],
                ),
                (Op::Compare { kind: CompareOp::Less }, vec![Step(0), Step(1)]),
                (Op::Compare { kind: CompareOp::Equal }, vec![Step(0), Step(0)]),
                bin(BinaryOp::Add, Step(2), Step(3)),
                bin(BinaryOp::Add, Step(6), Step(4)),
                bin(BinaryOp::Sub, Step(7), Step(5)),
            ],
        ),
        ("argmax", vec![(Op::Argmax { axis: 2 }, vec![Step(0)])]),
        (
            "argmax_one_hot",
            vec![
                (Op::Argmax { axis: 1 }, vec![Step(0)]),
                (Op::OneHot { depth: 3 }, vec![Step(1)]),
            ],
        ),
        (
            "cast_truncates",
            vec![
                konst(3.0),
                bin(BinaryOp::Mul, Step(0), Step(1)),
                (Op::Cast { to: DType::I32 }, vec![Step(2)]),
                (Op::Cast { to: DType::F32 }, vec![Step(3)]),
            ],
        ),
        ("repeat_axis_2", vec![(Op::Repeat { axis: 2, times: 2 }, vec![Step(0)])]),
        ("repeat_batch", vec![(Op::Repeat { axis: 0, times: 3 }, vec![Step(0)])]),
        ("reduce_min", vec![reduce(ReduceOp::Min, vec![1], false)]),
        ("reduce_max_all_keepdims", vec![reduce(ReduceOp::Max, vec![], true)]),
        ("reduce_sum_12", vec![reduce(ReduceOp::Sum, vec![1, 2], false)]),
        ("reduce_mean_2_keepdims", vec![reduce(ReduceOp::Mean, vec![2], true)]),
        (
            "pad_slice_transpose_concat",
            vec![
                (
                    Op::Pad {
                        pads: vec![(0, 0), (1, 2), (0, 1)],
                        value: -1.5,
                    },
                    vec![Step(0)],
                ),
                (
                    Op::Slice {
                        axis: 2,
                        start: 1,
                        end: 5,
                    },
                    vec![Step(1)],
                ),
                (Op::Transpose { perm: vec![0, 2, 1] }, vec![Step(2)]),
                (Op::Concat { axis: 1 }, vec![Step(3), Step(3), Step(3)]),
            ],
        ),
        (
            "reshape",
            vec![
                (
                    Op::Reshape {
                        shape: Shape::batched([18]),
                    },
                    vec![Step(0)],
                ),
                (
                    Op::Reshape {
                        shape: Shape::batched([2, 9]),
                    },
                    vec![Step(1)],
                ),
            ],
        ),
        (
            "matmul_bias",
            vec![
                (Op::Matmul, vec![Step(0), Weight("kernel", &[6, 4])]),
                (Op::BiasAdd, vec![Step(1), Weight("bias", &[4])]),
            ],
        ),
        ("max_pool_padded", vec![pool(PoolKind::Max, 3, 2, (1, 2))]),
        ("avg_pool_padded", vec![pool(PoolKind::Avg, 4, 1, (2, 3))]),
        (
            "conv1d_asymmetric",
            vec![(
                Op::Conv {
                    strides: vec![2],
                    padding: vec![(2, 0)],
                    dilation: vec![1],
                    groups: 1,
                },
                vec![Step(0), Weight("kernel", &[4, 3, 3])],
            )],
        ),
        (
            "conv1d_grouped_dilated",
            vec![(
                Op::Conv {
                    strides: vec![1],
                    padding: vec![(1, 1)],
                    dilation: vec![2],
                    groups: 3,
                },
                vec![Step(0), Weight("kernel", &[6, 1, 2])],
            )],
        ),
        (
            "conv_transpose_dilated",
            vec![(
                Op::ConvTranspose {
                    strides: vec![2],
                    dilation: vec![2],
                    groups: 1,
                },
                vec![Step(0), Weight("kernel", &[3, 2, 3])],
            )],
        ),
        (
            "conv_transpose_grouped",
            vec![(
                Op::ConvTranspose {
                    strides: vec![3],
                    dilation: vec![1],
                    groups: 3,
                },
                vec![Step(0), Weight("kernel", &[3, 2, 2])],
            )],
        ),
    ];
    cases
        .into_iter()
        .map(|(name, steps)| {
            let mut all = vec![id.clone()];
            all.extend(steps);
            (name, all)
        })
        .collect()
}

fn chain_model(name: &str, steps: Vec<ChainStep>, inputs: &[&Tensor]) -> kiln::Result<Model> {
    let symbolic: Vec<SymbolicTensor> = inputs
        .iter()
        .map(|t| Input::with_dtype(t.shape()[1..].iter().copied(), t.dtype()))
        .collect();
    let refs: Vec<&SymbolicTensor> = symbolic.iter().collect();
    let layer = Chain {
        name: name.to_string(),
        steps,
    };
    let out = layer.apply_list(&refs)?;
    Model::new(&refs, &[&out])
}

#[test]
fn ops_beyond_the_goldens_export() {
    let dir = std::env::var_os("KILN_ONNX_DIR").map(PathBuf::from);
    let x = Tensor::from_f32(
        (0..36).map(|i| 2.5 * ((i as f32) * 0.73).sin()).collect(),
        vec![2, 3, 6],
    )
    .unwrap();
    // Indices outside the table (5 rows) and the classes (5): clamped by Gather, all-zero
    // rows for OneHot.
    let idx = Tensor::from_i32(vec![-3, 0, 2, 4, 9, 100, 1, -1], vec![2, 4]).unwrap();
    type Case<'a> = (String, Vec<ChainStep>, Vec<&'a Tensor>);
    let mut cases: Vec<Case> = float_chains()
        .into_iter()
        .map(|(n, s)| (n.to_string(), s, vec![&x]))
        .collect();
    cases.push((
        "gather_clamped".into(),
        vec![(Op::Gather, vec![Arg::Weight("table", &[5, 3]), Arg::In(0)])],
        vec![&idx],
    ));
    cases.push((
        "one_hot_outside".into(),
        vec![(Op::OneHot { depth: 5 }, vec![Arg::In(0)])],
        vec![&idx],
    ));
    let mut failures = Vec::new();
    for (name, steps, inputs) in &cases {
        kiln::clear_session();
        let result = chain_model(name, steps.clone(), inputs)
            .map_err(|e| e.to_string())
            .and_then(|model| {
                let weights = model.get_weights().map_err(|e| e.to_string())?;
                check_decoded(&model, &model.to_onnx_bytes().map_err(|e| e.to_string())?, &weights)?;
                let owned: Vec<Tensor> = inputs.iter().map(|t| (*t).clone()).collect();
                match &dir {
                    Some(dir) => write_case(dir, &format!("ops__{name}"), &model, &owned),
                    None => Ok(()),
                }
            });
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
