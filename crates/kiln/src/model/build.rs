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

/// The most elements one weight may have: 2^31 (8 GiB of f32). A layer config asking for
/// more (a corrupt or hostile model file, a typo in `units`) is an error, not an allocation
/// the machine cannot make.
pub(crate) const MAX_WEIGHT_ELEMENTS: u64 = 1 << 31;
/// The most elements all of a model's weights may have together: 2^32 (16 GiB of f32).
pub(crate) const MAX_TOTAL_WEIGHT_ELEMENTS: u64 = 1 << 32;

std::thread_local! {
    /// While a file is loaded: the most weight elements the file can hold.
    static FILE_BUDGET: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Runs `f`, which builds the model a file describes, with the model's weights limited to
/// `elements` in all: what the file can hold (its weight data's bytes / 4; × 1032, deflate's
/// largest ratio, where the data may be compressed). A small hostile file cannot make the
/// loader draw gigabytes of initial weights only to find them missing from the file.
pub(crate) fn with_weight_budget<T>(elements: u64, f: impl FnOnce() -> T) -> T {
    let previous = FILE_BUDGET.replace(Some(elements));
    let out = f();
    FILE_BUDGET.set(previous);
    out
}

/// Refuses weights beyond [`MAX_WEIGHT_ELEMENTS`] or [`MAX_TOTAL_WEIGHT_ELEMENTS`] (or a
/// loading file's budget, [`with_weight_budget`]) before anything is drawn for them.
fn check_weight_sizes(name: &str, graph: &Graph) -> Result<()> {
    let mut total: u64 = 0;
    for p in graph.params() {
        let dims = p.dims();
        let n = dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
            .filter(|&n| n <= MAX_WEIGHT_ELEMENTS)
            .ok_or_else(|| {
                model_error(
                    name,
                    format!(
                        "weight '{}' of shape {dims:?} is too large: a weight may have at most {MAX_WEIGHT_ELEMENTS} elements",
                        p.name
                    ),
                )
            })?;
        total += n;
        if total > MAX_TOTAL_WEIGHT_ELEMENTS {
            return Err(model_error(
                name,
                format!(
                    "the weights are too large: a model may have at most {MAX_TOTAL_WEIGHT_ELEMENTS} weight elements in all (reached at '{}')",
                    p.name
                ),
            ));
        }
        if let Some(budget) = FILE_BUDGET.get().filter(|&budget| total > budget) {
            return Err(model_error(
                name,
                format!(
                    "the weights are too large for the file: {total} elements up to '{}' (shape {dims:?}), more than the file holds ({budget})",
                    p.name
                ),
            ));
        }
    }
    Ok(())
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
            // The inputs, then an explicit mask.
            if let Some(input) = node
                .inputs
                .get(i)
                .or(node.explicit_mask.as_ref().filter(|_| i == node.inputs.len()))
            {
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

/// An explicit mask as Kiln's masks are: f32, 1.0 where the given value is nonzero.
fn keep_mask(ctx: &mut EmitContext, mask: ValueId) -> Result<ValueId> {
    let m = match ctx.value_type(mask)?.dtype {
        kiln_ir::DType::F32 => mask,
        _ => ctx.push(
            kiln_ir::Op::Cast {
                to: kiln_ir::DType::F32,
            },
            &[mask],
        )?,
    };
    let zero = ctx.constant(0.0)?;
    let dropped = ctx.push(
        kiln_ir::Op::Compare {
            kind: kiln_ir::CompareOp::Equal,
        },
        &[m, zero],
    )?;
    let one = ctx.constant(1.0)?;
    ctx.sub(one, dropped)
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
    // The mask each masked value carries (Keras's `_keras_mask`).
    let mut masks: HashMap<(u64, usize), ValueId> = HashMap::new();
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
        let mut arg_masks: Vec<Option<ValueId>> = node
            .inputs
            .iter()
            .map(|t| masks.get(&(t.node.id, t.index)).copied())
            .collect();
        ctx.enter(layer.as_ref());
        if let (Some(m), Some(first)) = (&node.explicit_mask, arg_masks.first_mut()) {
            *first = Some(keep_mask(&mut ctx, values[&(m.node.id, m.index)])?);
        }
        let (outs, out_masks) = layer.emit_masked(&mut ctx, &args, &arg_masks)?;
        if outs.len() != node.outputs.len() || out_masks.len() > outs.len() {
            return Err(model_error(
                name,
                format!(
                    "layer '{}' emitted {} outputs and {} masks but its compute_output_shape says {} outputs",
                    layer.name(),
                    outs.len(),
                    out_masks.len(),
                    node.outputs.len()
                ),
            ));
        }
        for (i, expected) in node.masks.iter().enumerate() {
            let got = out_masks.get(i).copied().flatten();
            let got_shape = got.map(|m| ctx.shape(m)).transpose()?;
            if got_shape.as_ref() != expected.as_ref() {
                let show = |s: Option<&kiln_ir::Shape>| {
                    s.map_or("no mask".to_string(), |s| {
                        format!("a mask of shape {}", s.keras_string())
                    })
                };
                return Err(model_error(
                    name,
                    format!(
                        "layer '{}' emitted {} for output {i} but its compute_output_masks says {}",
                        layer.name(),
                        show(got_shape.as_ref()),
                        show(expected.as_ref())
                    ),
                ));
            }
            if let Some(m) = got {
                masks.insert((node.id, i), m);
            }
        }
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
    let output_masks = outputs
        .iter()
        .map(|t| masks.get(&(t.node.id, t.index)).copied())
        .collect();
    verify(&graph)?;
    check_weight_sizes(name, &graph)?;
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
        output_masks,
        nodes,
        graph,
        plan,
        session,
    })
}
