//! Removes nodes whose results no output needs from the execution order.

use crate::entities::NodeId;
use crate::graph::Graph;

/// Drops from the order every node that does not contribute to an output, a state
/// update or an added loss. Returns how many nodes were dropped.
pub fn remove_dead_nodes(graph: &mut Graph) -> usize {
    let keep = live_order(graph, super::rewrite::roots(graph));
    let dropped = graph.order().len() - keep.len();
    graph.set_order(keep);
    dropped
}

/// The nodes of the execution order, in order, that the values marked in `live` (indexed
/// by value) need; `live` is the roots on entry.
pub fn live_order(graph: &Graph, mut live: Vec<bool>) -> Vec<NodeId> {
    let mut keep = Vec::new();
    for &id in graph.order().iter().rev() {
        let node = graph.node(id);
        if live[node.output.index()] {
            for &v in &node.inputs {
                live[v.index()] = true;
            }
            keep.push(id);
        }
    }
    keep.reverse();
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activation, Op, Shape, TensorType, verify};

    #[test]
    fn unused_branches_are_dropped_and_the_graph_still_verifies() {
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape::batched([2])));
        let used = g.push(Op::Activation { kind: Activation::Relu }, &[x], "a").unwrap();
        let _unused = g.push(Op::Activation { kind: Activation::Tanh }, &[x], "b").unwrap();
        g.set_outputs(vec![used]);
        assert_eq!(remove_dead_nodes(&mut g), 1);
        assert_eq!(g.order().len(), 1);
        verify(&g).unwrap();
    }
}
