//! Chains of reshapes and of transposes collapsed into one, and no-op ones removed.
//!
//! `reshape(reshape(x, a), b)` reads `x` directly as `reshape(x, b)`; a reshape to its
//! operand's own shape is removed. `transpose(transpose(x, p), q)` becomes
//! `transpose(x, p∘q)` (result axis `i` is `x`'s axis `p[q[i]]`), removed when that is the
//! identity. An inner node that other nodes still read stays for them.

use super::rewrite::{created_since, place_before, producer};
use crate::error::IrError;
use crate::graph::Graph;
use crate::op::Op;

/// `p∘q`: transposing by `p` then by `q` is transposing by the result.
pub(crate) fn compose(p: &[usize], q: &[usize]) -> Vec<usize> {
    q.iter().map(|&i| p[i]).collect()
}

/// `true` for the permutation that leaves every axis in place.
pub(crate) fn is_identity(p: &[usize]) -> bool {
    p.iter().enumerate().all(|(i, &a)| i == a)
}

/// Collapses reshape and transpose chains; returns how many nodes it rewrote or removed.
/// Nodes nothing reads any more are left for [`remove_dead_nodes`](super::remove_dead_nodes).
pub fn collapse_reshapes(graph: &mut Graph) -> Result<usize, IrError> {
    let mut changed = 0;
    for id in graph.order().to_vec() {
        let node = graph.node(id).clone();
        let x = node.inputs.first().copied();
        let replacement = match &node.op {
            Op::Reshape { shape } => {
                let Some(x) = x else { continue };
                let inner = producer(graph, x).map(|p| graph.node(p).clone());
                let source = match inner {
                    Some(inner) if matches!(inner.op, Op::Reshape { .. }) => inner.inputs[0],
                    _ => x,
                };
                if graph.values()[source.index()].ty.shape == *shape {
                    Some(source)
                } else if source != x {
                    Some(push_before(graph, id, node.op.clone(), source, &node.label)?)
                } else {
                    None
                }
            }
            Op::Transpose { perm } => {
                let Some(x) = x else { continue };
                let inner = producer(graph, x).map(|p| graph.node(p).clone());
                let (source, perm) = match inner {
                    Some(inner) => match &inner.op {
                        Op::Transpose { perm: p } => (inner.inputs[0], compose(p, perm)),
                        _ => (x, perm.clone()),
                    },
                    None => (x, perm.clone()),
                };
                if is_identity(&perm) {
                    Some(source)
                } else if source != x {
                    Some(push_before(graph, id, Op::Transpose { perm }, source, &node.label)?)
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(new) = replacement {
            graph.replace_uses(node.output, new)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Pushes `op(x)` and places it just before `anchor`.
fn push_before(
    graph: &mut Graph,
    anchor: crate::NodeId,
    op: Op,
    x: crate::ValueId,
    label: &str,
) -> Result<crate::ValueId, IrError> {
    let mark = graph.nodes().len();
    let v = graph.push(op, &[x], label)?;
    place_before(graph, anchor, &created_since(graph, mark));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::remove_dead_nodes;
    use crate::{Activation, Shape, TensorType, verify};

    fn ops(g: &Graph) -> Vec<String> {
        g.order().iter().map(|&id| g.node(id).op.to_string()).collect()
    }

    fn transpose(g: &mut Graph, x: crate::ValueId, perm: &[usize]) -> crate::ValueId {
        g.push(Op::Transpose { perm: perm.to_vec() }, &[x], "t").unwrap()
    }

    #[test]
    fn permutations_compose_in_order() {
        // [0, 2, 3, 1] (to channels last) then [0, 3, 1, 2] (back) is the identity.
        assert!(is_identity(&compose(&[0, 2, 3, 1], &[0, 3, 1, 2])));
        assert_eq!(compose(&[1, 2, 0], &[1, 2, 0]), [2, 0, 1]);
    }

    #[test]
    fn reshape_chains_become_one_reshape_and_identities_vanish() {
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape::batched([2, 3])));
        let a = g
            .push(
                Op::Reshape {
                    shape: Shape::batched([6]),
                },
                &[x],
                "a",
            )
            .unwrap();
        let b = g
            .push(
                Op::Reshape {
                    shape: Shape::batched([3, 2]),
                },
                &[a],
                "b",
            )
            .unwrap();
        let c = g
            .push(
                Op::Reshape {
                    shape: Shape::batched([3, 2]),
                },
                &[b],
                "c",
            )
            .unwrap();
        let back = g
            .push(
                Op::Reshape {
                    shape: Shape::batched([2, 3]),
                },
                &[c],
                "d",
            )
            .unwrap();
        let y = g.push(Op::Activation { kind: Activation::Relu }, &[back], "r").unwrap();
        g.set_outputs(vec![y, b]);
        assert!(collapse_reshapes(&mut g).unwrap() > 0);
        verify(&g).unwrap();
        remove_dead_nodes(&mut g);
        verify(&g).unwrap();
        // The relu reads x itself; the second output is one reshape of x.
        assert_eq!(ops(&g), ["reshape[shape=[?,3,2]]", "relu"]);
        let relu = g.node(*g.order().last().unwrap());
        assert_eq!(relu.inputs, [x]);
        let reshape = g.node(g.order()[0]);
        assert_eq!(
            (reshape.inputs.as_slice(), g.outputs()[1]),
            ([x].as_slice(), reshape.output)
        );
    }

    #[test]
    fn transpose_chains_compose_and_identities_vanish() {
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape::batched([2, 3, 4])));
        let a = transpose(&mut g, x, &[0, 2, 3, 1]);
        let b = transpose(&mut g, a, &[0, 3, 1, 2]); // back to x
        let c = transpose(&mut g, b, &[0, 2, 1, 3]);
        let d = transpose(&mut g, c, &[0, 1, 3, 2]);
        g.set_outputs(vec![d]);
        collapse_reshapes(&mut g).unwrap();
        remove_dead_nodes(&mut g);
        verify(&g).unwrap();
        // [0, 2, 1, 3] then [0, 1, 3, 2]: axis i of the result is x's axis [0, 2, 3, 1][i].
        assert_eq!(ops(&g), ["transpose[perm=[0, 2, 3, 1]]"]);
        assert_eq!(g.node(g.order()[0]).inputs, [x]);
    }
}
