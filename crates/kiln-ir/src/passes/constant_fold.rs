//! Constant folding: scalar expressions of constants computed once, at compile time.
//!
//! The IR's only constant is [`Op::Constant`], one f32 scalar, so only nodes whose
//! operands are all such constants and whose result is again an f32 scalar are folded:
//! element-wise unary and binary ops, comparisons, `clip`, the element-wise activations
//! with a closed form, a cast to f32 and a reshape to a scalar. Parameters and inputs are
//! never constants; ops whose result depends on the mode (dropout, noise, `if_training`)
//! are never folded.

use super::rewrite::{created_since, place_before};
use crate::entities::ValueId;
use crate::error::IrError;
use crate::graph::Graph;
use crate::op::{Activation, BinaryOp, CompareOp, Op, UnaryOp};
use crate::shape::DType;

/// Replaces every foldable node by an [`Op::Constant`] of its value. Returns how many
/// nodes were folded; the folded nodes (and constants nothing reads any more) are left
/// for [`remove_dead_nodes`](super::remove_dead_nodes).
pub fn fold_constants(graph: &mut Graph) -> Result<usize, IrError> {
    let mut known: Vec<Option<f32>> = vec![None; graph.values().len()];
    let mut folded = 0;
    for id in graph.order().to_vec() {
        let node = graph.node(id).clone();
        if let Op::Constant { value } = node.op {
            known[node.output.index()] = Some(value);
            continue;
        }
        let args: Option<Vec<f32>> = node
            .inputs
            .iter()
            .map(|v| known.get(v.index()).copied().flatten())
            .collect();
        let Some(args) = args else { continue };
        if node.inputs.is_empty() || !is_f32_scalar(graph, node.output) {
            continue;
        }
        let Some(value) = evaluate(&node.op, &args) else {
            continue;
        };
        let mark = graph.nodes().len();
        let constant = graph.push(Op::Constant { value }, &[], &node.label)?;
        place_before(graph, id, &created_since(graph, mark));
        graph.replace_uses(node.output, constant)?;
        known.resize(graph.values().len(), None);
        known[constant.index()] = Some(value);
        known[node.output.index()] = Some(value);
        folded += 1;
    }
    Ok(folded)
}

fn is_f32_scalar(graph: &Graph, v: ValueId) -> bool {
    let ty = &graph.values()[v.index()].ty;
    ty.dtype == DType::F32 && ty.shape.rank() == 0
}

/// The op applied to scalar operands, as the lowering computes it in f32; `None` where
/// the op is not folded.
fn evaluate(op: &Op, args: &[f32]) -> Option<f32> {
    let x = args[0];
    Some(match op {
        Op::Unary { kind } => match kind {
            UnaryOp::Neg => -x,
            UnaryOp::Abs => x.abs(),
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Log1p => x.ln_1p(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Square => x * x,
            UnaryOp::Sign if x == 0.0 || x.is_nan() => x,
            UnaryOp::Sign => x.signum(),
            UnaryOp::StopGradient => x,
        },
        Op::Binary { kind } => {
            let y = args[1];
            match kind {
                BinaryOp::Add => x + y,
                BinaryOp::Sub => x - y,
                BinaryOp::Mul => x * y,
                BinaryOp::Div => x / y,
                BinaryOp::Maximum => x.max(y),
                BinaryOp::Minimum => x.min(y),
                BinaryOp::Pow => x.powf(y),
            }
        }
        Op::Compare { kind } => {
            let y = args[1];
            let holds = match kind {
                CompareOp::Equal => x == y,
                CompareOp::Greater => x > y,
                CompareOp::GreaterEqual => x >= y,
                CompareOp::Less => x < y,
            };
            if holds { 1.0 } else { 0.0 }
        }
        Op::Clip { min, max } => x.max(*min).min(*max),
        Op::Activation { kind } => activation(*kind, x)?,
        Op::Cast { to: DType::F32 } | Op::Reshape { .. } => x,
        _ => return None,
    })
}

/// The element-wise activations with a closed form, as `keras.activations` defines them.
fn activation(kind: Activation, x: f32) -> Option<f32> {
    let relu6 = |x: f32| x.clamp(0.0, 6.0);
    let sigmoid = |x: f32| 1.0 / (1.0 + (-x).exp());
    Some(match kind {
        Activation::Linear => x,
        Activation::Relu => x.max(0.0),
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Exponential => x.exp(),
        Activation::Relu6 => relu6(x),
        Activation::Softsign => x / (1.0 + x.abs()),
        Activation::Silu => x * sigmoid(x),
        Activation::LeakyRelu { negative_slope } if x < 0.0 => negative_slope * x,
        Activation::LeakyRelu { .. } => x,
        Activation::HardSigmoid => relu6(x + 3.0) / 6.0,
        Activation::HardSilu => x * relu6(x + 3.0) / 6.0,
        Activation::TanhShrink => x - x.tanh(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::remove_dead_nodes;
    use crate::{Shape, TensorType, verify};

    fn ops(g: &Graph) -> Vec<String> {
        g.order().iter().map(|&id| g.node(id).op.to_string()).collect()
    }

    #[test]
    fn scalar_expressions_become_one_constant() {
        // y = x * (exp(0) + sqrt(4)) - (2 > 1)  →  y = x * 3 - 1
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape::batched([2])));
        let c0 = g.push(Op::Constant { value: 0.0 }, &[], "c").unwrap();
        let c4 = g.push(Op::Constant { value: 4.0 }, &[], "c").unwrap();
        let e = g.push(Op::Unary { kind: UnaryOp::Exp }, &[c0], "c").unwrap();
        let s = g.push(Op::Unary { kind: UnaryOp::Sqrt }, &[c4], "c").unwrap();
        let k = g.push(Op::Binary { kind: BinaryOp::Add }, &[e, s], "c").unwrap();
        let m = g.push(Op::Binary { kind: BinaryOp::Mul }, &[x, k], "m").unwrap();
        let c2 = g.push(Op::Constant { value: 2.0 }, &[], "c").unwrap();
        let c1 = g.push(Op::Constant { value: 1.0 }, &[], "c").unwrap();
        let gt = g
            .push(
                Op::Compare {
                    kind: CompareOp::Greater,
                },
                &[c2, c1],
                "c",
            )
            .unwrap();
        let y = g.push(Op::Binary { kind: BinaryOp::Sub }, &[m, gt], "y").unwrap();
        g.set_outputs(vec![y]);
        assert_eq!(fold_constants(&mut g).unwrap(), 4);
        verify(&g).unwrap();
        remove_dead_nodes(&mut g);
        verify(&g).unwrap();
        assert_eq!(ops(&g), ["constant[value=3]", "mul", "constant[value=1]", "sub"]);
    }

    #[test]
    fn inputs_parameters_and_mode_dependent_ops_are_not_folded() {
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape::scalar()));
        let w = g
            .add_param("w", Shape::scalar(), crate::Initializer::Zeros, true)
            .unwrap();
        let c = g.push(Op::Constant { value: 2.0 }, &[], "c").unwrap();
        let a = g.push(Op::Binary { kind: BinaryOp::Mul }, &[x, c], "a").unwrap();
        let b = g.push(Op::Binary { kind: BinaryOp::Mul }, &[w, c], "b").unwrap();
        let d = g
            .push(
                Op::Dropout {
                    rate: 0.5,
                    shared_axes: vec![],
                },
                &[c],
                "d",
            )
            .unwrap();
        let s = g.push(Op::Binary { kind: BinaryOp::Add }, &[a, b], "s").unwrap();
        let y = g.push(Op::Binary { kind: BinaryOp::Add }, &[s, d], "y").unwrap();
        g.set_outputs(vec![y]);
        assert_eq!(fold_constants(&mut g).unwrap(), 0);
        assert_eq!(g.order().len(), 6);
    }

    #[test]
    fn folded_values_are_the_formulas() {
        let relu_ext = Activation::ReluExt {
            negative_slope: 0.1,
            max_value: None,
            threshold: 0.0,
        };
        assert_eq!(activation(relu_ext, 1.0), None);
        assert_eq!(activation(Activation::HardSigmoid, 0.0), Some(0.5));
        assert_eq!(
            activation(Activation::LeakyRelu { negative_slope: 0.2 }, -2.0),
            Some(-0.4)
        );
        assert_eq!(
            evaluate(&Op::Binary { kind: BinaryOp::Pow }, &[2.0, 10.0]),
            Some(1024.0)
        );
        assert_eq!(evaluate(&Op::Clip { min: 0.0, max: 1.0 }, &[7.0]), Some(1.0));
        assert_eq!(evaluate(&Op::Unary { kind: UnaryOp::Sign }, &[-3.0]), Some(-1.0));
        assert_eq!(evaluate(&Op::Cast { to: DType::I32 }, &[1.0]), None);
    }
}
