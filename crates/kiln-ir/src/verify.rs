//! The verifier: checks every invariant of a graph and reports all violations at once.
//!
//! Invariants:
//! 1. No node appears twice in the execution order. Nodes left out of the order are
//!    dead (a pass dropped them) and their results must not be used.
//! 2. Every operand is a known value defined before its use: an input, a parameter, or
//!    the result of a node earlier in the order.
//! 3. Every node's result value says it is defined by that node; every input and
//!    parameter value says it is defined by that input or parameter.
//! 4. Every node's stored result type equals what shape inference gives for its operands.
//! 5. Parameters have fixed shapes, f32 elements and unique names.
//! 6. Every graph output is a defined value.
//! 7. Every state update writes a defined value of the parameter's type; every added
//!    loss is a defined scalar.

use crate::entities::ParamId;
use crate::error::IrError;
use crate::graph::{Graph, ValueDef};

/// Checks `graph`; returns every violation found, one line each, as
/// `@3 (%5:f32[?,10] = matmul %1, %2): message`.
pub fn verify(graph: &Graph) -> Result<(), IrError> {
    let mut errors = Vec::new();
    let values = graph.values();
    let mut defined = vec![false; values.len()];

    for (i, input) in graph.inputs().iter().enumerate() {
        match values.get(input.value.index()) {
            Some(v) if v.def == ValueDef::Input(i) => defined[input.value.index()] = true,
            _ => errors.push(format!(
                "input {i} ('{}'): value {} is not defined as input {i}",
                input.name, input.value
            )),
        }
    }
    let mut names = std::collections::HashSet::new();
    for (i, p) in graph.params().iter().enumerate() {
        let id = ParamId(i as u32);
        match values.get(p.value.index()) {
            Some(v) if v.def == ValueDef::Param(id) => defined[p.value.index()] = true,
            _ => errors.push(format!(
                "{id} ('{}'): value {} is not defined as this parameter",
                p.name, p.value
            )),
        }
        if p.ty.shape.has_symbolic() || p.ty.dtype != crate::DType::F32 {
            errors.push(format!(
                "{id} ('{}'): a parameter must be f32 with a fixed shape, found {}",
                p.name, p.ty
            ));
        }
        if !names.insert(p.name.as_str()) {
            errors.push(format!("{id} ('{}'): the name is used twice", p.name));
        }
    }

    let mut seen = vec![false; graph.nodes().len()];
    for &id in graph.order() {
        let Some(node) = graph.nodes().get(id.index()) else {
            errors.push(format!("{id}: in the order but not in the graph"));
            continue;
        };
        let here = format!("{id} ({})", crate::format::node_text(graph, node));
        if std::mem::replace(&mut seen[id.index()], true) {
            errors.push(format!("{here}: appears twice in the order"));
        }
        let mut types = Vec::new();
        for &v in &node.inputs {
            match values.get(v.index()) {
                None => errors.push(format!("{here}: operand {v} does not exist")),
                Some(data) => {
                    if !defined[v.index()] {
                        errors.push(format!("{here}: operand {v} is used before it is defined"));
                    }
                    types.push(&data.ty);
                }
            }
        }
        match values.get(node.output.index()) {
            Some(out) if out.def == ValueDef::Node(id) => {
                if types.len() == node.inputs.len() {
                    match node.op.infer(&types) {
                        Ok(ty) if ty == out.ty => {}
                        Ok(ty) => errors.push(format!("{here}: the result type should be {ty}")),
                        Err(m) => errors.push(format!("{here}: {m}")),
                    }
                }
                defined[node.output.index()] = true;
            }
            _ => errors.push(format!("{here}: result {} is not defined by this node", node.output)),
        }
    }
    for &v in graph.outputs() {
        if !defined.get(v.index()).copied().unwrap_or(false) {
            errors.push(format!("output {v}: not a defined value"));
        }
    }
    for u in graph.updates() {
        let Some(p) = graph.params().get(u.param.index()) else {
            errors.push(format!("update of {}: no such parameter", u.param));
            continue;
        };
        match values.get(u.value.index()) {
            Some(v) if defined[u.value.index()] && v.ty == p.ty => {}
            Some(v) if defined[u.value.index()] => errors.push(format!(
                "update of {} ('{}'): the value {} has type {}, the parameter {}",
                u.param, p.name, u.value, v.ty, p.ty
            )),
            _ => errors.push(format!(
                "update of {} ('{}'): {} is not a defined value",
                u.param, p.name, u.value
            )),
        }
    }
    for &v in graph.losses() {
        match values.get(v.index()) {
            Some(d) if defined[v.index()] && d.ty.shape.rank() == 0 => {}
            _ => errors.push(format!("added loss {v}: not a defined scalar value")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(IrError::Verify(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Initializer, Op, Shape, TensorType};

    fn small() -> Graph {
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape::batched([4])));
        let w = g
            .add_param("d/kernel", Shape::fixed([4, 2]), Initializer::Zeros, true)
            .unwrap();
        let y = g.push(Op::Matmul, &[x, w], "d").unwrap();
        g.set_outputs(vec![y]);
        g
    }

    #[test]
    fn a_built_graph_verifies() {
        verify(&small()).unwrap();
    }

    #[test]
    fn all_violations_are_reported() {
        let mut g = small();
        // Break two invariants: repeat the node in the order and output an unknown value.
        g.set_order(vec![crate::NodeId(0), crate::NodeId(0)]);
        g.set_outputs(vec![crate::ValueId(9)]);
        let IrError::Verify(errors) = verify(&g).unwrap_err() else {
            panic!()
        };
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("@0 (%2:f32[?,2] = matmul %0, %1  ; d): appears twice"),
            "{errors:?}"
        );
        assert!(errors[1].starts_with("output %9"));
    }

    #[test]
    fn use_before_definition_is_found() {
        let mut g = small();
        let y = g.outputs()[0];
        let z = g
            .push(
                Op::Activation {
                    kind: crate::Activation::Relu,
                },
                &[y],
                "r",
            )
            .unwrap();
        let order: Vec<_> = g.order().iter().rev().copied().collect();
        g.set_order(order);
        g.set_outputs(vec![z]);
        let err = verify(&g).unwrap_err().to_string();
        assert!(
            err.contains("@1 (%3:f32[?,2] = relu %2  ; r): operand %2 is used before it is defined"),
            "{err}"
        );
    }
}
