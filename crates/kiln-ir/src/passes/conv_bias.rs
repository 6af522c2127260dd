//! A bias add after a convolution, fused into the convolution's bias operand.
//!
//! Channels-last `Conv2D`/`Conv1D` layers emit `bias_add(transpose(conv(x, k), to_last), b)`:
//! the convolution runs channels first, its result is moved to channels last, and the bias is
//! added along the last axis. The engines' convolutions take the bias themselves (flex and
//! ndarray add it in place, on the output they just wrote), so the pass rewrites the chain
//! to `transpose(conv(x, k, b), to_last)`. The bias gradient is the engine's convolution
//! bias gradient: the sum of the output gradient over the batch and positions, as before.

use super::rewrite::{consumers, created_since, place_before, producer, roots};
use crate::entities::{NodeId, ValueId};
use crate::error::IrError;
use crate::graph::Graph;
use crate::op::Op;

/// `[0, 2, …, rank - 1, 1]`: channels first to channels last.
fn is_to_channels_last(perm: &[usize]) -> bool {
    let rank = perm.len();
    rank >= 3 && perm[0] == 0 && perm[rank - 1] == 1 && (1..rank - 1).all(|i| perm[i] == i + 1)
}

/// The single node reading `v`, when exactly one does and the graph hands `v` out nowhere.
fn only_reader(readers: &[Vec<NodeId>], handed_out: &[bool], v: ValueId) -> Option<NodeId> {
    match readers[v.index()].as_slice() {
        [one] if !handed_out[v.index()] => Some(*one),
        _ => None,
    }
}

/// Fuses `bias_add(transpose(conv(x, k), to_channels_last), b)` into
/// `transpose(conv(x, k, b), to_channels_last)` wherever the convolution and the transpose
/// have no other reader. Returns how many bias adds it fused; the old nodes are left for
/// [`remove_dead_nodes`](super::remove_dead_nodes).
///
/// ```
/// use kiln_ir::{Graph, Initializer, Op, Shape, TensorType, passes};
/// let mut g = Graph::new();
/// let x = g.add_input("x", TensorType::f32(Shape::batched([1, 5, 5])));
/// let k = g.add_param("kernel", Shape::fixed([4, 1, 3, 3]), Initializer::Zeros, true)?;
/// let b = g.add_param("bias", Shape::fixed([4]), Initializer::Zeros, true)?;
/// let conv = Op::Conv { strides: vec![1, 1], padding: vec![(0, 0); 2], dilation: vec![1, 1], groups: 1 };
/// let y = g.push(conv, &[x, k], "conv")?;
/// let y = g.push(Op::Transpose { perm: vec![0, 2, 3, 1] }, &[y], "to_last")?;
/// let y = g.push(Op::BiasAdd, &[y, b], "bias")?;
/// g.set_outputs(vec![y]);
/// assert_eq!(passes::fuse_conv_bias(&mut g)?, 1);
/// passes::remove_dead_nodes(&mut g);
/// let names: Vec<String> = g.order().iter().map(|&id| g.node(id).op.name()).collect();
/// assert_eq!(names, ["conv", "transpose"]);
/// assert_eq!(g.node(g.order()[0]).inputs, [x, k, b]);
/// # Ok::<(), kiln_ir::IrError>(())
/// ```
pub fn fuse_conv_bias(graph: &mut Graph) -> Result<usize, IrError> {
    let readers = consumers(graph);
    let handed_out = roots(graph);
    let mut fused = 0;
    for id in graph.order().to_vec() {
        let add = graph.node(id).clone();
        if !matches!(add.op, Op::BiasAdd) {
            continue;
        }
        let (moved, bias) = (add.inputs[0], add.inputs[1]);
        let Some(to_last) = producer(graph, moved).map(|p| graph.node(p).clone()) else {
            continue;
        };
        let Op::Transpose { perm } = &to_last.op else { continue };
        let Some(conv) = producer(graph, to_last.inputs[0]).map(|p| graph.node(p).clone()) else {
            continue;
        };
        let fusable = is_to_channels_last(perm)
            && matches!(conv.op, Op::Conv { .. })
            && conv.inputs.len() == 2
            && only_reader(&readers, &handed_out, conv.output).is_some()
            && only_reader(&readers, &handed_out, moved) == Some(id);
        if !fusable {
            continue;
        }
        let mark = graph.nodes().len();
        let with_bias = graph.push(conv.op.clone(), &[conv.inputs[0], conv.inputs[1], bias], &conv.label)?;
        let moved_again = graph.push(to_last.op.clone(), &[with_bias], &to_last.label)?;
        place_before(graph, id, &created_since(graph, mark));
        graph.replace_uses(add.output, moved_again)?;
        fused += 1;
    }
    Ok(fused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::remove_dead_nodes;
    use crate::{Initializer, Shape, TensorType, verify};

    fn conv() -> Op {
        Op::Conv {
            strides: vec![1],
            padding: vec![(1, 1)],
            dilation: vec![1],
            groups: 1,
        }
    }

    /// `bias_add(transpose(conv(x, k)), b)` over one spatial axis; returns the graph, the
    /// conv's and the transpose's results, and the sum.
    fn chain() -> (Graph, ValueId, ValueId, ValueId) {
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape::batched([2, 6])));
        let k = g
            .add_param("k", Shape::fixed([3, 2, 3]), Initializer::Zeros, true)
            .unwrap();
        let b = g.add_param("b", Shape::fixed([3]), Initializer::Zeros, true).unwrap();
        let c = g.push(conv(), &[x, k], "conv").unwrap();
        let t = g.push(Op::Transpose { perm: vec![0, 2, 1] }, &[c], "t").unwrap();
        let y = g.push(Op::BiasAdd, &[t, b], "add").unwrap();
        (g, c, t, y)
    }

    #[test]
    fn only_the_move_to_channels_last_matches() {
        assert!(is_to_channels_last(&[0, 2, 1]));
        assert!(is_to_channels_last(&[0, 2, 3, 1]));
        assert!(!is_to_channels_last(&[0, 3, 1, 2]));
        assert!(!is_to_channels_last(&[0, 1]));
    }

    #[test]
    fn the_bias_moves_into_the_convolution() {
        let (mut g, _, _, y) = chain();
        g.set_outputs(vec![y]);
        assert_eq!(fuse_conv_bias(&mut g).unwrap(), 1);
        remove_dead_nodes(&mut g);
        verify(&g).unwrap();
        let conv = g.node(g.order()[0]);
        assert_eq!((conv.op.name(), conv.inputs.len()), ("conv".to_string(), 3));
        let out = g.node(g.order()[1]);
        assert_eq!((out.op.name(), out.output), ("transpose".to_string(), g.outputs()[0]));
    }

    #[test]
    fn a_result_read_elsewhere_keeps_the_chain() {
        // The convolution's own result is an output too, then the transposed one.
        for other in [1, 2] {
            let (mut g, c, t, y) = chain();
            g.set_outputs(vec![y, if other == 1 { c } else { t }]);
            assert_eq!(fuse_conv_bias(&mut g).unwrap(), 0, "output {other}");
            assert_eq!(g.order().len(), 3);
        }
    }
}
