//! Building a model: order the layer calls, emit the IR, draw the initial weights.

use super::{Built, Producer, SymNode, SymbolicTensor};
use crate::devices::Device;
use crate::error::{KilnError, Result};
use crate::layer::EmitContext;
use kiln_burn::{Plan, Session};
use kiln_ir::{Graph, HostTensor, Rng, ValueId, verify};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

fn model_error(model: &str, message: String) -> KilnError {
    KilnError::Model {
        model: model.to_string(),
        message,
    }
}

/// Layer calls reachable from `outputs`, each after its inputs.
fn topological(outputs: &[SymbolicTensor]) -> Vec<Rc<SymNode>> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // Iterative post-order DFS: (node, next input to visit).
    let mut stack: Vec<(Rc<SymNode>, usize)> = Vec::new();
    for out in outputs {
        if seen.insert(out.node.id) {
            stack.push((out.node.clone(), 0));
        }
        while let Some((node, i)) = stack.pop() {
            if let Some(input) = node.inputs.get(i) {
                let next = input.node.clone();
                stack.push((node, i + 1));
                if seen.insert(next.id) {
                    stack.push((next, 0));
                }
            } else {
                order.push(node);
            }
        }
    }
    order
}

pub(crate) fn build(
    name: &str,
    device: &Device,
    inputs: Vec<SymbolicTensor>,
    outputs: Vec<SymbolicTensor>,
) -> Result<Built> {
    if inputs.is_empty() || outputs.is_empty() {
        return Err(model_error(
            name,
            "a model needs at least one input and one output".into(),
        ));
    }
    let nodes = topological(&outputs);
    let mut graph = Graph::new();
    let mut values: HashMap<(u64, usize), ValueId> = HashMap::new();
    let mut input_names = HashSet::new();
    for t in &inputs {
        if !matches!(t.node.producer, Producer::Input { .. }) {
            return Err(model_error(
                name,
                format!(
                    "model inputs must come from Input::new; '{}' is the output of a layer",
                    t.producer_name()
                ),
            ));
        }
        if !input_names.insert(t.producer_name().to_string()) {
            return Err(model_error(
                name,
                format!("the input '{}' is given twice", t.producer_name()),
            ));
        }
        let v = graph.add_input(t.producer_name(), t.tensor_type().clone());
        values.insert((t.node.id, 0), v);
    }
    // Layer names must be unique, unless it is the same layer applied again (shared).
    let mut layers: HashMap<String, (String, serde_json::Value)> = HashMap::new();
    let mut ctx = EmitContext::new(&mut graph);
    for node in &nodes {
        let layer = match &node.producer {
            Producer::Input { name: input } => {
                if !values.contains_key(&(node.id, 0)) {
                    return Err(model_error(
                        name,
                        format!("the outputs depend on the input '{input}', which is not among the model's inputs"),
                    ));
                }
                continue;
            }
            Producer::Layer(layer) => layer,
        };
        let identity = (layer.class_name().to_string(), layer.config());
        match layers.get(layer.name()) {
            Some(existing) if *existing != identity => {
                return Err(model_error(
                    name,
                    format!(
                        "all layer names should be unique; '{}' names two different layers",
                        layer.name()
                    ),
                ));
            }
            _ => {
                layers.insert(layer.name().to_string(), identity);
            }
        }
        let args: Vec<ValueId> = node.inputs.iter().map(|t| values[&(t.node.id, t.index)]).collect();
        ctx.enter(layer.as_ref());
        let outs = layer.emit(&mut ctx, &args)?;
        for (i, (v, expected)) in outs.iter().zip(&node.outputs).enumerate() {
            let got = ctx.value_type(*v)?;
            if got != *expected {
                return Err(model_error(
                    name,
                    format!(
                        "layer '{}' emitted output {i} of type {got} but its compute_output_shape says {expected}",
                        layer.name()
                    ),
                ));
            }
            values.insert((node.id, i), *v);
        }
    }
    graph.set_outputs(outputs.iter().map(|t| values[&(t.node.id, t.index)]).collect());
    verify(&graph)?;
    let initial: Vec<HostTensor> = graph
        .params()
        .iter()
        .map(|p| {
            let dims = p.dims();
            let mut rng = Rng::new(crate::random::next_seed());
            HostTensor::from_f32(p.init.sample(&dims, &mut rng), dims).map_err(|e| model_error(name, e.to_string()))
        })
        .collect::<Result<_>>()?;
    let session = Session::new(&device.engine()?, &graph, &initial)?;
    let plan = Plan::compile(&graph)?;
    Ok(Built {
        inputs,
        outputs,
        nodes,
        graph,
        plan,
        session,
    })
}
