//! Element-wise ops moved across a transpose so that two transposes meet and cancel.
//!
//! A channels-last convolution is emitted as `transpose → conv → transpose back`, so a CNN
//! reads `conv → transpose(to channels last) → bias_add → relu → transpose(to channels
//! first) → pool`. Element-wise ops do not care about the layout: `relu(transpose(y, p))`
//! is `transpose(relu(y), p)`. This pass finds `transpose(x, p) → e₁ → … → eₖ →
//! transpose(·, q)` where every intermediate value is read by the next op only, rewrites
//! it as `e₁ → … → eₖ` on `x` followed by one `transpose(·, p∘q)`, and drops that
//! transpose when `p∘q` is the identity.
//!
//! Element-wise here: unary ops, `clip`, casts, the activations without an axis (not
//! softmax, log-softmax, glu, sparsemax), binary ops and comparisons whose result has the
//! transposed operand's shape, and `bias_add`. The other operand of a binary op must be
//! expressible in `x`'s layout without a transpose: a scalar (or all-ones shape), the same
//! transpose of another value, or a fixed shape whose non-unit axes keep their order under
//! the permutation, which a reshape then places (a `bias_add`'s bias on the channel axis
//! becomes an `add` of the bias reshaped to `[C, 1, 1]`). Dropout and noise are not moved:
//! their random masks depend on the layout.

use super::reshape_chains::{compose, is_identity};
use super::rewrite::{consumers, created_since, place_before, producer, roots};
use crate::entities::{NodeId, ValueId};
use crate::error::IrError;
use crate::graph::Graph;
use crate::op::{BinaryOp, Op};
use crate::shape::{Dim, Shape};

/// Rewrites every `transpose → element-wise chain → transpose` it can; returns how many.
/// The old chains leave the order; operands only they read are left for
/// [`remove_dead_nodes`](super::remove_dead_nodes).
pub fn sink_transposes(graph: &mut Graph) -> Result<usize, IrError> {
    let mut rewritten = 0;
    'scan: loop {
        let readers = consumers(graph);
        let handed_out = roots(graph);
        for &id in graph.order() {
            if let Some(chain) = find_chain(graph, &readers, &handed_out, id) {
                rewrite(graph, &chain)?;
                rewritten += 1;
                continue 'scan;
            }
        }
        return Ok(rewritten);
    }
}

/// A transpose, the element-wise nodes after it and the transpose ending the chain.
struct Chain {
    first: NodeId,
    middle: Vec<NodeId>,
    last: NodeId,
}

/// The chain starting at transpose `start`, when it ends in another transpose and every
/// node in it can be moved.
fn find_chain(graph: &Graph, readers: &[Vec<NodeId>], handed_out: &[bool], start: NodeId) -> Option<Chain> {
    let Op::Transpose { perm } = &graph.node(start).op else {
        return None;
    };
    let mut middle = Vec::new();
    let mut cur = graph.node(start).output;
    loop {
        let [next] = readers[cur.index()].as_slice() else {
            return None;
        };
        if handed_out[cur.index()] {
            return None;
        }
        let node = graph.node(*next);
        if matches!(node.op, Op::Transpose { .. }) {
            return Some(Chain {
                first: start,
                middle,
                last: *next,
            });
        }
        if !movable(graph, node, cur, perm) {
            return None;
        }
        middle.push(*next);
        cur = node.output;
    }
}

/// How an operand of a moved node is brought into the source layout.
enum Operand {
    /// The chain's value itself.
    Chain,
    /// Unchanged: it broadcasts the same way in either layout.
    Same(ValueId),
    /// The source of the same transpose.
    Source(ValueId),
    /// Reshaped to the given shape.
    Reshape(ValueId, Shape),
}

/// `true` when `node` (reading the chain value `cur`, transposed by `perm`) can be moved.
fn movable(graph: &Graph, node: &crate::Node, cur: ValueId, perm: &[usize]) -> bool {
    let elementwise = match &node.op {
        Op::Unary { .. } | Op::Clip { .. } | Op::Cast { .. } => true,
        Op::Activation { kind } => kind.axis().is_none(),
        Op::Binary { .. } | Op::Compare { .. } | Op::BiasAdd => true,
        _ => false,
    };
    let shape = |v: ValueId| &graph.values()[v.index()].ty.shape;
    elementwise
        && shape(node.output) == shape(cur)
        && node.inputs.iter().all(|&v| operand(graph, v, cur, perm).is_some())
}

/// How operand `v` of a node reading the chain value `cur` moves to the source layout.
fn operand(graph: &Graph, v: ValueId, cur: ValueId, perm: &[usize]) -> Option<Operand> {
    if v == cur {
        return Some(Operand::Chain);
    }
    let shape = &graph.values()[v.index()].ty.shape;
    if shape.dims().iter().all(|&d| d == Some(1)) {
        return Some(Operand::Same(v));
    }
    if let Some(p) = producer(graph, v)
        && let Op::Transpose { perm: other } = &graph.node(p).op
        && other == perm
    {
        return Some(Operand::Source(graph.node(p).inputs[0]));
    }
    let rank = perm.len();
    let dims = shape.to_fixed()?;
    if dims.len() > rank {
        return None;
    }
    // The operand's dims, numpy-aligned to the chain's rank, then placed as the source's
    // axes: source axis perm[i] is the transposed axis i.
    let mut padded = vec![1; rank - dims.len()];
    padded.extend(dims);
    let mut placed = vec![1; rank];
    for (i, &axis) in perm.iter().enumerate() {
        placed[axis] = padded[i];
    }
    let moved: Vec<usize> = (0..rank).filter(|&i| padded[i] != 1).map(|i| perm[i]).collect();
    if moved.windows(2).any(|w| w[0] > w[1]) {
        return None;
    }
    let lead = placed.iter().take_while(|&&d| d == 1).count();
    let placed: Vec<Dim> = placed[lead..].iter().map(|&d| Some(d)).collect();
    Some(Operand::Reshape(v, Shape(placed)))
}

/// Pushes the chain's nodes on the first transpose's source, then the composed transpose
/// (if any), placed where the last transpose was; its readers read the new result.
fn rewrite(graph: &mut Graph, chain: &Chain) -> Result<(), IrError> {
    let first = graph.node(chain.first).clone();
    let Op::Transpose { perm } = first.op else {
        return Ok(());
    };
    let mark = graph.nodes().len();
    let (mut cur_old, mut cur_new) = (first.output, first.inputs[0]);
    for &id in &chain.middle {
        let node = graph.node(id).clone();
        let mut inputs = Vec::with_capacity(node.inputs.len());
        for &v in &node.inputs {
            let Some(how) = operand(graph, v, cur_old, &perm) else {
                return Err(IrError::Op {
                    label: node.label.clone(),
                    op: node.op.to_string(),
                    message: format!("transpose sinking: operand {v} cannot be moved"),
                });
            };
            inputs.push(match how {
                Operand::Chain => cur_new,
                Operand::Same(v) | Operand::Source(v) => v,
                Operand::Reshape(v, shape) if graph.values()[v.index()].ty.shape == shape => v,
                Operand::Reshape(v, shape) => graph.push(Op::Reshape { shape }, &[v], &node.label)?,
            });
        }
        // A bias that no longer sits on the last axis is added with broadcasting.
        let op = match node.op {
            Op::BiasAdd if perm.last() != Some(&(perm.len() - 1)) => Op::Binary { kind: BinaryOp::Add },
            op => op,
        };
        cur_new = graph.push(op, &inputs, &node.label)?;
        cur_old = node.output;
    }
    let last = graph.node(chain.last).clone();
    let Op::Transpose { perm: q } = &last.op else {
        return Ok(());
    };
    let perm = compose(&perm, q);
    if !is_identity(&perm) {
        cur_new = graph.push(Op::Transpose { perm }, &[cur_new], &last.label)?;
    }
    place_before(graph, chain.last, &created_since(graph, mark));
    graph.replace_uses(last.output, cur_new)?;
    // Nothing reads the old chain any more: it leaves the order.
    let old: Vec<NodeId> = [chain.first]
        .into_iter()
        .chain(chain.middle.iter().copied())
        .chain([chain.last])
        .collect();
    let order = graph.order().iter().copied().filter(|id| !old.contains(id)).collect();
    graph.set_order(order);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::remove_dead_nodes;
    use crate::{Activation, Initializer, TensorType, verify};

    fn ops(g: &Graph) -> Vec<String> {
        g.order().iter().map(|&id| g.node(id).op.to_string()).collect()
    }

    /// `x [?, C=3, 4, 5]` → to channels last → bias_add → relu → back → avg pool.
    fn conv_like(act: Activation) -> Graph {
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape::batched([3, 4, 5])));
        let b = g.add_param("b", Shape::fixed([3]), Initializer::Zeros, true).unwrap();
        let t = g.push(Op::Transpose { perm: vec![0, 2, 3, 1] }, &[x], "conv").unwrap();
        let h = g.push(Op::BiasAdd, &[t, b], "conv").unwrap();
        let h = g.push(Op::Activation { kind: act }, &[h], "conv").unwrap();
        let h = g.push(Op::Transpose { perm: vec![0, 3, 1, 2] }, &[h], "pool").unwrap();
        let y = g
            .push(
                Op::Pool {
                    kind: crate::PoolKind::Avg,
                    window: vec![2, 2],
                    strides: vec![2, 2],
                    padding: vec![(0, 0), (0, 0)],
                },
                &[h],
                "pool",
            )
            .unwrap();
        g.set_outputs(vec![y]);
        g
    }

    #[test]
    fn bias_and_activation_move_and_the_transposes_cancel() {
        let mut g = conv_like(Activation::Relu);
        assert_eq!(sink_transposes(&mut g).unwrap(), 1);
        verify(&g).unwrap();
        remove_dead_nodes(&mut g);
        verify(&g).unwrap();
        assert_eq!(
            ops(&g),
            [
                "reshape[shape=[3,1,1]]",
                "add",
                "relu",
                "avg_pool[window=[2, 2],strides=[2, 2],padding=[(0, 0), (0, 0)]]"
            ]
        );
    }

    #[test]
    fn axis_wise_activations_and_shared_values_stop_the_move() {
        let mut g = conv_like(Activation::Softmax { axis: 3 });
        assert_eq!(sink_transposes(&mut g).unwrap(), 0);
        // The transposed value is also an output: moving would need both layouts.
        let mut g = conv_like(Activation::Relu);
        let t = g.node(g.order()[0]).output;
        let y = g.outputs()[0];
        g.set_outputs(vec![y, t]);
        assert_eq!(sink_transposes(&mut g).unwrap(), 0);
    }

    #[test]
    fn operands_in_either_layout_are_placed() {
        let perm = [0, 2, 3, 1];
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape::batched([3, 4, 5])));
        let cur = g.push(Op::Transpose { perm: perm.to_vec() }, &[x], "t").unwrap();
        let w = g
            .add_param("w", Shape::fixed([5, 1]), Initializer::Zeros, true)
            .unwrap();
        let v = g
            .add_param("v", Shape::fixed([5, 3]), Initializer::Zeros, true)
            .unwrap();
        // [5, 1] against [?, 4, 5, 3] is source axis 3: [5] (leading ones dropped).
        assert!(matches!(operand(&g, w, cur, &perm), Some(Operand::Reshape(_, s)) if s == Shape::fixed([5])));
        // [5, 3] would put the channels before the width: it needs a transpose.
        assert!(operand(&g, v, cur, &perm).is_none());
    }
}
