//! The text form (for reading and golden tests) and the versioned JSON form of a graph.

use crate::error::IrError;
use crate::graph::{Graph, Node};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the JSON graph format this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The text of one node: `%3:f32[?,10] = matmul %1, %2  ; dense`.
pub fn node_text(graph: &Graph, node: &Node) -> String {
    let ty = graph
        .value_type(node.output)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "?".into());
    let args: Vec<String> = node.inputs.iter().map(|v| v.to_string()).collect();
    let sep = if args.is_empty() { "" } else { " " };
    format!(
        "{}:{} = {}{sep}{}  ; {}",
        node.output,
        ty,
        node.op,
        args.join(", "),
        node.label
    )
}

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "graph {{")?;
        for input in self.inputs() {
            let ty = self.value_type(input.value).map_err(|_| fmt::Error)?;
            writeln!(f, "  input {}:{ty} \"{}\"", input.value, input.name)?;
        }
        for p in self.params() {
            let trainable = if p.trainable { "" } else { " frozen" };
            writeln!(
                f,
                "  param {}:{} \"{}\" = {}{trainable}",
                p.value,
                p.ty,
                p.name,
                p.init.name()
            )?;
        }
        for &id in self.order() {
            writeln!(f, "  {}", node_text(self, self.node(id)))?;
        }
        let outs: Vec<String> = self.outputs().iter().map(|v| v.to_string()).collect();
        writeln!(f, "  return {}", outs.join(", "))?;
        write!(f, "}}")
    }
}

#[derive(Serialize, Deserialize)]
struct GraphFile {
    format: String,
    version: u32,
    graph: Graph,
}

const FORMAT_NAME: &str = "kiln-ir";

/// Serialises `graph` to the versioned JSON format.
///
/// ```
/// use kiln_ir::{Graph, Shape, TensorType, to_json, from_json};
/// let mut g = Graph::new();
/// let x = g.add_input("x", TensorType::f32(Shape::batched([3])));
/// g.set_outputs(vec![x]);
/// assert_eq!(from_json(&to_json(&g)).unwrap(), g);
/// ```
pub fn to_json(graph: &Graph) -> String {
    let file = GraphFile {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        graph: graph.clone(),
    };
    serde_json::to_string_pretty(&file).unwrap_or_default()
}

/// Reads a graph from the JSON format, checks its version and verifies it.
pub fn from_json(text: &str) -> Result<Graph, IrError> {
    let file: GraphFile = serde_json::from_str(text).map_err(|e| IrError::Format(e.to_string()))?;
    if file.format != FORMAT_NAME {
        return Err(IrError::Format(format!(
            "expected format '{FORMAT_NAME}', received '{}'",
            file.format
        )));
    }
    if file.version != FORMAT_VERSION {
        return Err(IrError::Format(format!(
            "expected format version {FORMAT_VERSION}, received {}; this build of Kiln reads version {FORMAT_VERSION} only",
            file.version
        )));
    }
    crate::verify::verify(&file.graph)?;
    Ok(file.graph)
}
