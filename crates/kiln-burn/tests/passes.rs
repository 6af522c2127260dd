//! The graph passes change no number: each pass's graph runs (forward and gradients) on
//! the ndarray and flex engines against the graph as written, compiled without passes,
//! and against hand-derived values where the graph is small enough.

use burn::tensor::Device;
use kiln_burn::{EngineDevice, Plan, RunMode, Session};
use kiln_ir::passes::{
    collapse_reshapes, fold_constants, fuse_conv_bias, optimize, remove_dead_nodes, sink_transposes,
};
use kiln_ir::{
    Activation, BinaryOp, CompareOp, Graph, HostTensor, Initializer, Op, PoolKind, ReduceOp, Rng, Shape, TensorType,
    UnaryOp, ValueId, verify,
};

#[allow(deprecated)]
fn engines() -> Vec<EngineDevice> {
    vec![
        EngineDevice::new(Device::ndarray(), "ndarray", "ndarray"),
        EngineDevice::new(Device::flex(), "flex", "flex"),
    ]
}

fn ops(g: &Graph) -> Vec<String> {
    g.order().iter().map(|&id| g.node(id).op.name()).collect()
}

fn random(rng: &mut Rng, shape: &[usize]) -> HostTensor {
    let n = shape.iter().product();
    HostTensor::from_f32((0..n).map(|_| rng.normal() as f32).collect(), shape).unwrap()
}

fn params(g: &Graph, seed: u64) -> Vec<HostTensor> {
    let mut rng = Rng::new(seed);
    g.params().iter().map(|p| random(&mut rng, &p.dims())).collect()
}

fn assert_close(a: &HostTensor, b: &HostTensor, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes");
    for (i, (x, y)) in a.to_f32().iter().zip(b.to_f32()).enumerate() {
        assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{what}[{i}]: {x} against {y}");
    }
}

/// Runs `before` and `after` (both compiled without further passes) on every engine:
/// outputs and, when the first output is a scalar, the gradients must agree.
fn assert_same_numbers(before: &Graph, after: &Graph, inputs: &[HostTensor]) -> Vec<HostTensor> {
    verify(after).unwrap();
    let values = params(before, 42);
    let mode = RunMode::default();
    let mut first = None;
    for engine in engines() {
        let run = |g: &Graph| {
            let plan = Plan::compile_unoptimized(g, false).unwrap();
            let session = Session::new(&engine, g, &values).unwrap();
            let outs = session.run(&plan, inputs, mode).unwrap();
            let grads = (g.value_type(g.outputs()[0]).unwrap().shape.rank() == 0)
                .then(|| session.gradients(&plan, inputs, mode).unwrap());
            (outs, grads)
        };
        let ((outs_a, grads_a), (outs_b, grads_b)) = (run(before), run(after));
        for (i, (a, b)) in outs_b.iter().zip(&outs_a).enumerate() {
            assert_close(a, b, &format!("{} output {i}", engine.name()));
        }
        if let (Some((_, xa, pa)), Some((_, xb, pb))) = (grads_a, grads_b) {
            for (i, (a, b)) in xb.iter().chain(&pb).zip(xa.iter().chain(&pa)).enumerate() {
                match (a, b) {
                    (Some(a), Some(b)) => assert_close(a, b, &format!("{} gradient {i}", engine.name())),
                    (a, b) => assert_eq!(a.is_some(), b.is_some(), "gradient {i}"),
                }
            }
        }
        first.get_or_insert(outs_a);
    }
    first.unwrap()
}

fn push(g: &mut Graph, op: Op, inputs: &[ValueId]) -> ValueId {
    g.push(op, inputs, "t").unwrap()
}

#[test]
fn constant_folding_keeps_the_numbers() {
    // y = x * (exp(0) + sqrt(4)) - (2 > 1) = 3x - 1
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::f32(Shape::batched([2])));
    let c0 = push(&mut g, Op::Constant { value: 0.0 }, &[]);
    let c4 = push(&mut g, Op::Constant { value: 4.0 }, &[]);
    let e = push(&mut g, Op::Unary { kind: UnaryOp::Exp }, &[c0]);
    let s = push(&mut g, Op::Unary { kind: UnaryOp::Sqrt }, &[c4]);
    let k = push(&mut g, Op::Binary { kind: BinaryOp::Add }, &[e, s]);
    let m = push(&mut g, Op::Binary { kind: BinaryOp::Mul }, &[x, k]);
    let c2 = push(&mut g, Op::Constant { value: 2.0 }, &[]);
    let c1 = push(&mut g, Op::Constant { value: 1.0 }, &[]);
    let gt = push(
        &mut g,
        Op::Compare {
            kind: CompareOp::Greater,
        },
        &[c2, c1],
    );
    let y = push(&mut g, Op::Binary { kind: BinaryOp::Sub }, &[m, gt]);
    g.set_outputs(vec![y]);
    let mut after = g.clone();
    assert_eq!(fold_constants(&mut after).unwrap(), 4);
    remove_dead_nodes(&mut after);
    assert_eq!(ops(&after), ["constant", "mul", "constant", "sub"]);
    let x = HostTensor::from_f32(vec![1.0, 2.0, -1.0, 0.5], [2, 2]).unwrap();
    let outs = assert_same_numbers(&g, &after, &[x]);
    assert_eq!(outs[0].to_f32(), [2.0, 5.0, -4.0, 0.5]);
}

#[test]
fn collapsed_reshapes_and_transposes_keep_the_numbers() {
    // x [?, 2, 3] → reshape [?, 6] → reshape [?, 3, 2] → transpose [0, 2, 1] → transpose
    // [0, 2, 1] → reshape [?, 3, 2]: one reshape of x.
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::f32(Shape::batched([2, 3])));
    let a = push(
        &mut g,
        Op::Reshape {
            shape: Shape::batched([6]),
        },
        &[x],
    );
    let b = push(
        &mut g,
        Op::Reshape {
            shape: Shape::batched([3, 2]),
        },
        &[a],
    );
    let c = push(&mut g, Op::Transpose { perm: vec![0, 2, 1] }, &[b]);
    let d = push(&mut g, Op::Transpose { perm: vec![0, 2, 1] }, &[c]);
    let e = push(
        &mut g,
        Op::Reshape {
            shape: Shape::batched([3, 2]),
        },
        &[d],
    );
    let y = push(&mut g, Op::Transpose { perm: vec![0, 2, 1] }, &[e]);
    g.set_outputs(vec![y]);
    let mut after = g.clone();
    collapse_reshapes(&mut after).unwrap();
    remove_dead_nodes(&mut after);
    assert_eq!(ops(&after), ["reshape", "transpose"]);
    let x = HostTensor::from_f32((0..6).map(|i| i as f32).collect(), [1, 2, 3]).unwrap();
    let outs = assert_same_numbers(&g, &after, &[x]);
    // [[0, 1], [2, 3], [4, 5]] transposed.
    assert_eq!(outs[0].to_f32(), [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]);
}

/// A Keras channels-last Conv2D(3, 3, padding="same", activation=relu) followed by
/// MaxPooling2D and Flatten, as the layers emit it, with `loss = sum(y²)` first.
fn cnn() -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::f32(Shape::batched([6, 6, 2])));
    let k = g
        .add_param("conv/kernel", Shape::fixed([3, 2, 3, 3]), Initializer::Zeros, true)
        .unwrap();
    let b = g
        .add_param("conv/bias", Shape::fixed([3]), Initializer::Zeros, true)
        .unwrap();
    let to_first = || Op::Transpose { perm: vec![0, 3, 1, 2] };
    let to_last = || Op::Transpose { perm: vec![0, 2, 3, 1] };
    let h = push(&mut g, to_first(), &[x]);
    let conv = Op::Conv {
        strides: vec![1, 1],
        padding: vec![(1, 1), (1, 1)],
        dilation: vec![1, 1],
        groups: 1,
    };
    let h = push(&mut g, conv, &[h, k]);
    let h = push(&mut g, to_last(), &[h]);
    let h = push(&mut g, Op::BiasAdd, &[h, b]);
    let h = push(&mut g, Op::Activation { kind: Activation::Relu }, &[h]);
    let h = push(&mut g, to_first(), &[h]);
    let pool = Op::Pool {
        kind: PoolKind::Max,
        window: vec![2, 2],
        strides: vec![2, 2],
        padding: vec![(0, 0), (0, 0)],
    };
    let h = push(&mut g, pool, &[h]);
    let h = push(&mut g, to_last(), &[h]);
    let y = push(
        &mut g,
        Op::Reshape {
            shape: Shape::batched([27]),
        },
        &[h],
    );
    let sq = push(&mut g, Op::Unary { kind: UnaryOp::Square }, &[y]);
    let loss = push(
        &mut g,
        Op::Reduce {
            kind: ReduceOp::Sum,
            axes: vec![],
            keepdims: false,
        },
        &[sq],
    );
    g.set_outputs(vec![loss, y]);
    g
}

#[test]
fn sinking_transposes_in_a_cnn_keeps_outputs_and_gradients() {
    let g = cnn();
    let mut after = g.clone();
    assert_eq!(sink_transposes(&mut after).unwrap(), 1);
    remove_dead_nodes(&mut after);
    assert_eq!(
        ops(&after),
        [
            "transpose",
            "conv",
            "reshape",
            "add",
            "relu",
            "max_pool",
            "transpose",
            "reshape",
            "square",
            "reduce_sum"
        ]
    );
    let x = random(&mut Rng::new(7), &[2, 6, 6, 2]);
    assert_same_numbers(&g, &after, &[x]);
}

#[test]
fn fusing_the_conv_bias_keeps_outputs_and_gradients() {
    // On ndarray the gradients run through the im2col convolution and the outputs through
    // ndarray's own kernel; flex's kernel adds the bias itself.
    let g = cnn();
    let mut after = g.clone();
    assert_eq!(fuse_conv_bias(&mut after).unwrap(), 1);
    remove_dead_nodes(&mut after);
    assert_eq!(
        ops(&after),
        [
            "transpose",
            "conv",
            "transpose",
            "relu",
            "transpose",
            "max_pool",
            "transpose",
            "reshape",
            "square",
            "reduce_sum"
        ]
    );
    let conv = after
        .order()
        .iter()
        .map(|&id| after.node(id))
        .find(|n| n.op.name() == "conv");
    assert_eq!(
        conv.unwrap().inputs.len(),
        3,
        "the bias is the convolution's third operand"
    );
    let x = random(&mut Rng::new(11), &[2, 6, 6, 2]);
    assert_same_numbers(&g, &after, &[x]);
}

#[test]
fn the_pipeline_keeps_the_numbers_and_dropout_masks() {
    // x → transpose → transpose back → relu → dropout: optimize leaves relu → dropout, so
    // the dropout node's step index changes; its mask must not.
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::f32(Shape::batched([4, 5])));
    let t = push(&mut g, Op::Transpose { perm: vec![0, 2, 1] }, &[x]);
    let back = push(&mut g, Op::Transpose { perm: vec![0, 2, 1] }, &[t]);
    let r = push(&mut g, Op::Activation { kind: Activation::Relu }, &[back]);
    let y = push(
        &mut g,
        Op::Dropout {
            rate: 0.5,
            shared_axes: vec![],
        },
        &[r],
    );
    g.set_outputs(vec![y]);
    let mut after = g.clone();
    optimize(&mut after).unwrap();
    assert_eq!(ops(&after), ["relu", "dropout"]);
    let x = random(&mut Rng::new(3), &[3, 4, 5]);
    let mode = RunMode {
        training: true,
        seed: 11,
    };
    for engine in engines() {
        let session = Session::new(&engine, &g, &[]).unwrap();
        let written = session.run(
            &Plan::compile_unoptimized(&g, false).unwrap(),
            std::slice::from_ref(&x),
            mode,
        );
        let optimized = session.run(&Plan::compile(&g).unwrap(), std::slice::from_ref(&x), mode);
        let (written, optimized) = (written.unwrap(), optimized.unwrap());
        assert_eq!(written[0].to_f32(), optimized[0].to_f32(), "{}", engine.name());
        // Half the positive inputs survive, doubled; the others are zero.
        let kept = written[0].to_f32().iter().filter(|v| **v != 0.0).count();
        assert!(kept > 10 && kept < 50, "{kept} of 60 kept");
    }
}

#[test]
fn training_plans_keep_state_updates_and_parameters() {
    // A moving mean: m ← m * (1 - 0.1) + mean(x) * 0.1 (the constant is folded), and a
    // loss through a transpose pair that the passes remove.
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::f32(Shape::batched([3])));
    let w = g.add_param("w", Shape::fixed([3]), Initializer::Ones, true).unwrap();
    let m = g.add_param("m", Shape::fixed([3]), Initializer::Zeros, false).unwrap();
    let one = push(&mut g, Op::Constant { value: 1.0 }, &[]);
    let rate = push(&mut g, Op::Constant { value: 0.1 }, &[]);
    let keep = push(&mut g, Op::Binary { kind: BinaryOp::Sub }, &[one, rate]);
    let old = push(&mut g, Op::Binary { kind: BinaryOp::Mul }, &[m, keep]);
    let mean = push(
        &mut g,
        Op::Reduce {
            kind: ReduceOp::Mean,
            axes: vec![0],
            keepdims: false,
        },
        &[x],
    );
    let new = push(&mut g, Op::Binary { kind: BinaryOp::Mul }, &[mean, rate]);
    let moved = push(&mut g, Op::Binary { kind: BinaryOp::Add }, &[old, new]);
    g.add_update(m, moved).unwrap();
    let h = push(&mut g, Op::BiasAdd, &[x, w]);
    let h = push(
        &mut g,
        Op::Reshape {
            shape: Shape::batched([3, 1]),
        },
        &[h],
    );
    let h = push(&mut g, Op::Transpose { perm: vec![0, 2, 1] }, &[h]);
    let h = push(&mut g, Op::Transpose { perm: vec![0, 2, 1] }, &[h]);
    let sq = push(&mut g, Op::Unary { kind: UnaryOp::Square }, &[h]);
    let loss = push(
        &mut g,
        Op::Reduce {
            kind: ReduceOp::Sum,
            axes: vec![],
            keepdims: false,
        },
        &[sq],
    );
    g.set_outputs(vec![loss]);
    let xs = HostTensor::from_f32(vec![1.0, 2.0, 3.0, 3.0, 4.0, 5.0], [2, 3]).unwrap();
    let values = vec![HostTensor::from_f32(vec![1.0; 3], [3]).unwrap(), HostTensor::zeros([3])];
    let sgd = kiln_ir::OptimizerKind::Sgd {
        momentum: 0.0,
        nesterov: false,
    };
    for engine in engines() {
        let mut session = Session::new(&engine, &g, &values).unwrap();
        let plan = Plan::compile_training(&g).unwrap();
        let loss = session.train_step(&plan, std::slice::from_ref(&xs), &sgd, 0.01, RunMode::default());
        // sum((x + 1)²) = 4 + 9 + 16 + 16 + 25 + 36.
        assert_eq!(loss.unwrap()[0].to_f32(), [106.0], "{}", engine.name());
        let after = session.params_to_host().unwrap();
        // w ← 1 - 0.01 · 2 · Σ_rows (x + 1) = 1 - 0.02 · [6, 8, 10].
        assert_close(
            &after[0],
            &HostTensor::from_f32(vec![0.88, 0.84, 0.8], [3]).unwrap(),
            "w",
        );
        // m ← 0 · 0.9 + mean(x) · 0.1.
        assert_close(&after[1], &HostTensor::from_f32(vec![0.2, 0.3, 0.4], [3]).unwrap(), "m");
    }
}
