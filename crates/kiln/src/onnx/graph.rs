//! The model's inference graph as an ONNX `ModelProto`.

use super::builder::Builder;
use super::ops::{elem_type, translate};
use super::proto::{GraphProto, ModelProto, OperatorSetIdProto, TensorProto, TypeProto, ValueInfoProto};
use super::{IR_VERSION, OPSET};
use kiln_ir::{Graph, HostTensor, Op, TensorType, ValueDef, ValueId};
use std::collections::HashSet;

/// The operands a node reads in inference: a training switch its inference branch only,
/// dropout, noise and the replica mean their input.
fn inference_operands(op: &Op, inputs: &[ValueId]) -> Vec<ValueId> {
    match op {
        Op::IfTraining => inputs.get(1).copied().into_iter().collect(),
        Op::Dropout { .. } | Op::Noise { .. } | Op::ReplicaMean => inputs.first().copied().into_iter().collect(),
        _ => inputs.to_vec(),
    }
}

/// Which values the outputs need in inference.
fn needed(graph: &Graph) -> Vec<bool> {
    let mut need = vec![false; graph.values().len()];
    let mut stack: Vec<ValueId> = graph.outputs().to_vec();
    while let Some(v) = stack.pop() {
        if std::mem::replace(&mut need[v.index()], true) {
            continue;
        }
        if let ValueDef::Node(id) = graph.values()[v.index()].def {
            let node = graph.node(id);
            stack.extend(inference_operands(&node.op, &node.inputs));
        }
    }
    need
}

fn value_info(name: &str, ty: &TensorType) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto::tensor(elem_type(ty.dtype), ty.shape.dims())),
    }
}

/// `name`, or `name_1`, `name_2`, … — the first not in `used`, which it joins.
fn unique(name: &str, used: &mut HashSet<String>) -> String {
    let mut candidate = name.to_string();
    let mut k = 0;
    while used.contains(&candidate) {
        k += 1;
        candidate = format!("{name}_{k}");
    }
    used.insert(candidate.clone());
    candidate
}

/// Translates `graph` with its parameters' values `weights` (in parameter order) into an
/// ONNX model whose outputs are named `output_names`. An op that cannot be expressed is an
/// error naming it and its layer.
pub(crate) fn model_proto(
    graph: &Graph,
    weights: &[HostTensor],
    output_names: &[String],
    model_name: &str,
) -> Result<ModelProto, String> {
    let need = needed(graph);
    let mut names: Vec<Option<String>> = vec![None; graph.values().len()];
    let mut used = HashSet::new();
    let mut inputs = Vec::new();
    for input in graph.inputs() {
        let name = unique(&input.name, &mut used);
        let ty = graph.value_type(input.value).map_err(|e| e.to_string())?;
        inputs.push(value_info(&name, ty));
        names[input.value.index()] = Some(name);
    }
    let mut initializers = Vec::new();
    for (i, p) in graph.params().iter().enumerate() {
        if !need[p.value.index()] {
            continue;
        }
        let w = weights
            .get(i)
            .ok_or_else(|| format!("no value for weight '{}'", p.name))?;
        if w.shape() != p.dims().as_slice() {
            return Err(format!(
                "weight '{}' has shape {:?}, expected {:?}",
                p.name,
                w.shape(),
                p.dims()
            ));
        }
        let name = unique(&p.name, &mut used);
        initializers.push(TensorProto::f32(&name, w.shape(), &w.to_f32()));
        names[p.value.index()] = Some(name);
    }
    let mut b = Builder::new();
    for &id in graph.order() {
        let node = graph.node(id);
        if !need[node.output.index()] {
            continue;
        }
        b.label = node.label.clone();
        let operands = inference_operands(&node.op, &node.inputs);
        let args: Vec<&str> = operands
            .iter()
            .map(|v| names[v.index()].as_deref().unwrap_or(""))
            .collect();
        let result = match node.op {
            Op::IfTraining | Op::Dropout { .. } | Op::Noise { .. } | Op::ReplicaMean => args[0].to_string(),
            _ => {
                let types = operands
                    .iter()
                    .map(|&v| graph.value_type(v))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())?;
                let out = graph.value_type(node.output).map_err(|e| e.to_string())?;
                translate(&mut b, &node.op, &args, &types, out)
                    .map_err(|e| format!("op '{}' of layer '{}' cannot be exported: {e}", node.op, node.label))?
            }
        };
        names[node.output.index()] = Some(result);
    }
    used.extend(b.nodes.iter().flat_map(|n| n.output.iter().cloned()));
    let mut outputs = Vec::new();
    for (k, &v) in graph.outputs().iter().enumerate() {
        let source = names[v.index()].clone().unwrap_or_default();
        let wanted = output_names.get(k).cloned().unwrap_or_else(|| format!("output_{k}"));
        let name = if source == wanted && graph.inputs().iter().any(|i| i.value == v) {
            // An input returned as it is keeps its name.
            source
        } else {
            let name = unique(&wanted, &mut used);
            b.identity_to(&source, &name);
            name
        };
        let ty = graph.value_type(v).map_err(|e| e.to_string())?;
        outputs.push(value_info(&name, ty));
    }
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "kiln".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: String::new(),
        graph: Some(GraphProto {
            node: b.nodes,
            name: model_name.to_string(),
            initializer: initializers,
            doc_string: String::new(),
            input: inputs,
            output: outputs,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_ir::{Activation, Initializer, Shape};

    fn ops(p: &ModelProto) -> Vec<String> {
        p.graph
            .as_ref()
            .unwrap()
            .node
            .iter()
            .map(|n| n.op_type.clone())
            .collect()
    }

    #[test]
    fn dense_softmax_is_matmul_add_softmax_and_a_named_output() {
        let mut g = Graph::new();
        let x = g.add_input("in", TensorType::f32(Shape::batched([4])));
        let w = g
            .add_param("d/kernel", Shape::fixed([4, 3]), Initializer::Zeros, true)
            .unwrap();
        let b = g
            .add_param("d/bias", Shape::fixed([3]), Initializer::Zeros, true)
            .unwrap();
        let h = g.push(Op::Matmul, &[x, w], "d").unwrap();
        let h = g.push(Op::BiasAdd, &[h, b], "d").unwrap();
        let d = g
            .push(
                Op::Dropout {
                    rate: 0.5,
                    shared_axes: vec![],
                },
                &[h],
                "drop",
            )
            .unwrap();
        let y = g
            .push(
                Op::Activation {
                    kind: Activation::Softmax { axis: 1 },
                },
                &[d],
                "d",
            )
            .unwrap();
        g.set_outputs(vec![y]);
        let weights = [HostTensor::zeros([4, 3]), HostTensor::zeros([3])];
        let p = model_proto(&g, &weights, &["d".into()], "m").unwrap();
        assert_eq!(ops(&p), ["MatMul", "Add", "Softmax", "Identity"]);
        let graph = p.graph.unwrap();
        assert_eq!(graph.output[0].name, "d");
        assert_eq!(graph.input[0].name, "in");
        let names: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["d/kernel", "d/bias"]);
        assert_eq!(graph.initializer[0].raw_data.len(), 4 * 12);
    }

    #[test]
    fn the_training_branch_and_its_weights_are_left_out() {
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape::batched([2])));
        let s = g
            .add_param("bn/moving_mean", Shape::fixed([2]), Initializer::Zeros, false)
            .unwrap();
        let t = g
            .add_param("only_training", Shape::fixed([2]), Initializer::Zeros, true)
            .unwrap();
        let train = g
            .push(
                Op::Binary {
                    kind: kiln_ir::BinaryOp::Mul,
                },
                &[x, t],
                "bn",
            )
            .unwrap();
        let infer = g
            .push(
                Op::Binary {
                    kind: kiln_ir::BinaryOp::Sub,
                },
                &[x, s],
                "bn",
            )
            .unwrap();
        let y = g.push(Op::IfTraining, &[train, infer], "bn").unwrap();
        g.set_outputs(vec![y]);
        let weights = [HostTensor::zeros([2]), HostTensor::zeros([2])];
        let p = model_proto(&g, &weights, &["bn".into()], "m").unwrap();
        assert_eq!(ops(&p), ["Sub", "Identity"]);
        assert_eq!(p.graph.unwrap().initializer.len(), 1);
    }

    #[test]
    fn an_op_onnx_cannot_express_is_refused_by_name() {
        // numpy's repeat along the batch of a value with two symbolic dimensions: the
        // merged shape has two unknowns, which one ONNX Reshape cannot take.
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::f32(Shape(vec![None, None])));
        let y = g.push(Op::Repeat { axis: 0, times: 2 }, &[x], "rep").unwrap();
        g.set_outputs(vec![y]);
        let err = model_proto(&g, &[], &["rep".into()], "m").unwrap_err();
        assert!(
            err.starts_with("op 'repeat[axis=0,times=2]' of layer 'rep' cannot be exported"),
            "{err}"
        );
    }
}
