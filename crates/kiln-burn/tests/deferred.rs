//! Outputs left on the device: `train_step_deferred` and `run_deferred` give what
//! `train_step` and `run` read back, and `OutputSums` gives the weighted means computed on
//! the host (and hand-derived ones), NaN included.

use burn::tensor::Device;
use kiln_burn::{EngineDevice, OutputSums, Plan, RunMode, Session};
use kiln_ir::{BinaryOp, Graph, HostTensor, Initializer, Op, OptimizerKind, ReduceOp, Shape, TensorType};

#[allow(deprecated)]
fn engines() -> Vec<EngineDevice> {
    vec![
        EngineDevice::new(Device::ndarray(), "ndarray", "ndarray"),
        EngineDevice::new(Device::flex(), "flex", "flex"),
    ]
}

/// `loss = mean((x·w - t)²)`, second output `mean(x·w)`.
fn regression() -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::f32(Shape::batched([2])));
    let t = g.add_input("t", TensorType::f32(Shape::batched([1])));
    let w = g
        .add_param("w", Shape::fixed([2, 1]), Initializer::Zeros, true)
        .unwrap();
    let y = g.push(Op::Matmul, &[x, w], "y").unwrap();
    let d = g.push(Op::Binary { kind: BinaryOp::Sub }, &[y, t], "d").unwrap();
    let sq = g.push(Op::Binary { kind: BinaryOp::Mul }, &[d, d], "sq").unwrap();
    let mean = |kind| Op::Reduce {
        kind,
        axes: vec![],
        keepdims: false,
    };
    let loss = g.push(mean(ReduceOp::Mean), &[sq], "loss").unwrap();
    let my = g.push(mean(ReduceOp::Mean), &[y], "mean_y").unwrap();
    g.set_outputs(vec![loss, my]);
    g
}

fn batch(rows: &[[f32; 3]]) -> Vec<HostTensor> {
    let n = rows.len();
    let x = rows.iter().flat_map(|r| [r[0], r[1]]).collect();
    let t = rows.iter().map(|r| r[2]).collect();
    vec![
        HostTensor::from_f32(x, [n, 2]).unwrap(),
        HostTensor::from_f32(t, [n, 1]).unwrap(),
    ]
}

const SGD: OptimizerKind = OptimizerKind::Sgd {
    momentum: 0.0,
    nesterov: false,
};

#[test]
fn deferred_steps_give_the_read_back_values_and_their_weighted_means() {
    let g = regression();
    let plan = Plan::compile_training(&g).unwrap();
    let w0 = [HostTensor::from_f32(vec![0.5, -1.0], [2, 1]).unwrap()];
    let batches = [
        batch(&[[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [2.0, 0.0, -1.0], [1.0, 1.0, 2.0]]),
        batch(&[[0.5, 0.5, 1.0], [1.0, -1.0, 0.0], [3.0, 1.0, 1.0], [0.0, 0.0, 0.5]]),
        batch(&[[1.0, 0.0, 1.0], [0.0, 2.0, -2.0]]),
    ];
    for engine in engines() {
        let mut eager = Session::new(&engine, &g, &w0).unwrap();
        let mut deferred = Session::new(&engine, &g, &w0).unwrap();
        let mut sums = OutputSums::new();
        let (mut host_sums, mut count) = ([0.0f64; 2], 0.0);
        for (i, b) in batches.iter().enumerate() {
            let mode = RunMode {
                training: true,
                seed: i as u64,
            };
            let read = eager.train_step(&plan, b, &SGD, 0.1, mode).unwrap();
            let outs = deferred.train_step_deferred(&plan, b.clone(), &SGD, 0.1, mode).unwrap();
            let values = outs.to_host().unwrap();
            let expected: Vec<f64> = read.iter().map(|t| t.to_f32()[0] as f64).collect();
            assert_eq!(values, expected, "{}: step {i}", engine.name());
            let n = b[0].shape()[0];
            sums.add(&outs, n).unwrap();
            for (s, v) in host_sums.iter_mut().zip(&expected) {
                *s += v * n as f64;
            }
            count += n as f64;
        }
        assert_eq!(sums.added(), 3);
        assert_eq!(eager.params_to_host().unwrap(), deferred.params_to_host().unwrap());
        let means = sums.means().unwrap();
        for (m, s) in means.iter().zip(host_sums) {
            let want = s / count;
            assert!(
                (m - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "{}: {m} against {want}",
                engine.name()
            );
        }
    }
}

#[test]
fn the_first_step_is_derived_by_hand_and_a_nan_step_poisons_the_sums() {
    let g = regression();
    let plan = Plan::compile_training(&g).unwrap();
    let w0 = [HostTensor::from_f32(vec![1.0, 2.0], [2, 1]).unwrap()];
    for engine in engines() {
        let mut session = Session::new(&engine, &g, &w0).unwrap();
        let mut sums = OutputSums::new();
        // y = (1·1 + 0·2, 0·1 + 1·2) = (1, 2); t = (0, 0): loss = (1 + 4) / 2, mean_y = 1.5.
        let b = batch(&[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
        let outs = session
            .train_step_deferred(&plan, b, &SGD, 0.0, RunMode::default())
            .unwrap();
        assert_eq!(outs.len(), 2);
        assert_eq!(outs.to_host().unwrap(), vec![2.5, 1.5]);
        sums.add(&outs, 2).unwrap();
        // Same weights (lr 0): one sample, y = 3, t = 1: loss 4, mean_y 3.
        let outs = session
            .train_step_deferred(&plan, batch(&[[1.0, 1.0, 1.0]]), &SGD, 0.0, RunMode::default())
            .unwrap();
        sums.add(&outs, 1).unwrap();
        assert_eq!(
            sums.means().unwrap(),
            vec![(2.5 * 2.0 + 4.0) / 3.0, (1.5 * 2.0 + 3.0) / 3.0]
        );
        let poisoned = batch(&[[f32::NAN, 1.0, 1.0]]);
        let outs = session
            .train_step_deferred(&plan, poisoned, &SGD, 0.0, RunMode::default())
            .unwrap();
        sums.add(&outs, 1).unwrap();
        assert!(sums.means().unwrap().iter().all(|m| m.is_nan()), "{}", engine.name());
    }
}

#[test]
fn run_deferred_gives_what_run_reads_back() {
    let g = regression();
    let plan = Plan::compile(&g).unwrap();
    let w0 = [HostTensor::from_f32(vec![0.25, 0.75], [2, 1]).unwrap()];
    let b = batch(&[[1.0, 2.0, 0.5], [2.0, 1.0, 0.0], [0.0, 4.0, 1.0]]);
    for engine in engines() {
        let session = Session::new(&engine, &g, &w0).unwrap();
        let read = session.run(&plan, &b, RunMode::default()).unwrap();
        let outs = session.run_deferred(&plan, b.clone(), RunMode::default()).unwrap();
        let expected: Vec<f64> = read.iter().map(|t| t.to_f32()[0] as f64).collect();
        assert_eq!(outs.to_host().unwrap(), expected);
        assert_eq!(session.run_owned(&plan, b.clone(), RunMode::default()).unwrap(), read);
        // An input of the wrong width is refused as by `run`.
        let bad = vec![HostTensor::from_f32(vec![1.0; 3], [1, 3]).unwrap(), b[1].clone()];
        let err = session.run_deferred(&plan, bad, RunMode::default()).err().unwrap();
        assert!(err.to_string().contains("input 'x'"), "{err}");
    }
}
