//! What the passes share: who reads a value, and placing new nodes in the order.

use crate::entities::{NodeId, ValueId};
use crate::graph::Graph;

/// Uses of every value by the nodes in the order: `consumers[v]` lists each node reading
/// `v` once (a node reading it twice is listed once), in order.
pub(crate) fn consumers(graph: &Graph) -> Vec<Vec<NodeId>> {
    let mut out = vec![Vec::new(); graph.values().len()];
    for &id in graph.order() {
        for &v in &graph.node(id).inputs {
            let list: &mut Vec<NodeId> = &mut out[v.index()];
            if list.last() != Some(&id) {
                list.push(id);
            }
        }
    }
    out
}

/// `true` for every value the graph hands out: outputs, state updates, added losses.
pub(crate) fn roots(graph: &Graph) -> Vec<bool> {
    let mut out = vec![false; graph.values().len()];
    let updates = graph.updates().iter().map(|u| u.value);
    for v in graph
        .outputs()
        .iter()
        .copied()
        .chain(updates)
        .chain(graph.losses().iter().copied())
    {
        out[v.index()] = true;
    }
    out
}

/// The node ids created since the graph had `mark` nodes.
pub(crate) fn created_since(graph: &Graph, mark: usize) -> Vec<NodeId> {
    (mark..graph.nodes().len()).map(|i| NodeId(i as u32)).collect()
}

/// Moves `new` (nodes appended by `Graph::push`, in the order they were pushed) to just
/// before `anchor` in the execution order.
pub(crate) fn place_before(graph: &mut Graph, anchor: NodeId, new: &[NodeId]) {
    let mut order: Vec<NodeId> = graph.order().iter().copied().filter(|id| !new.contains(id)).collect();
    let at = order.iter().position(|&id| id == anchor).unwrap_or(order.len());
    order.splice(at..at, new.iter().copied());
    graph.set_order(order);
}

/// The node defining `v`, when a node does.
pub(crate) fn producer(graph: &Graph, v: ValueId) -> Option<NodeId> {
    match graph.values()[v.index()].def {
        crate::graph::ValueDef::Node(id) => Some(id),
        _ => None,
    }
}
