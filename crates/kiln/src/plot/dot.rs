//! The Graphviz DOT writer: the text Keras's `keras.utils.model_to_dot` gives (HTML-like
//! table labels, `rankdir=TB`, `splines=ortho`, edges of pen width 2), with nodes named by
//! their layer names. Render it with `dot -Tpng model.dot -o model.png`.

use super::style::escape;
use super::{Cell, Label, PlotGraph, PlotOptions};
use std::fmt::Write;

/// A DOT identifier: a double-quoted string.
fn id(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

fn table(label: &Label) -> String {
    let colspan = label.cells.len().max(1);
    let mut t = String::from(r#"<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">"#);
    let _ = write!(
        t,
        r#"<tr><td colspan="{colspan}" bgcolor="black"><font point-size="16" color="white"><b>{}</b>{}</font></td></tr>"#,
        escape(&label.title_bold),
        escape(&label.title_rest)
    );
    if let Some(a) = &label.activation {
        let _ = write!(
            t,
            r#"<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">Activation: <b>{}</b></font></td></tr>"#,
            escape(a)
        );
    }
    if !label.cells.is_empty() {
        t.push_str("<tr>");
        for cell in &label.cells {
            match cell {
                Cell::Field { label, value } => {
                    let _ = write!(
                        t,
                        r#"<td bgcolor="white"><font point-size="14">{label}<b>{}</b></font></td>"#,
                        escape(value)
                    );
                }
                Cell::Badge { text, trainable } => {
                    let colour = if *trainable { "forestgreen" } else { "firebrick" };
                    let _ = write!(
                        t,
                        r#"<td bgcolor="{colour}"><font point-size="14" color="white"><b>{text}</b></font></td>"#
                    );
                }
            }
        }
        t.push_str("</tr>");
    }
    t.push_str("</table>>");
    t
}

/// The DOT text of `graph`.
///
/// ```
/// use kiln::prelude::*;
/// use kiln::plot::{PlotGraph, PlotOptions, dot};
/// let mut model = Sequential::new();
/// model.add(Dense::new(2).input_shape([3]))?;
/// model.add(Dense::new(1))?;
/// let text = dot::render(&PlotGraph::from_model(&model)?, &PlotOptions::default());
/// assert!(text.starts_with("digraph G {\n"));
/// assert_eq!(text.matches(" -> ").count(), 1);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn render(graph: &PlotGraph, options: &PlotOptions) -> String {
    let mut out = String::from("digraph G {\n");
    out.push_str("concentrate=True;\ndpi=200;\nrankdir=TB;\nsplines=ortho;\nnode [shape=record];\n");
    for node in &graph.nodes {
        let label = Label::of(node, options);
        let _ = writeln!(
            out,
            "{} [label={}, fontname=Helvetica, border=0, margin=0];",
            id(&node.name),
            table(&label)
        );
    }
    for &(a, b) in &graph.edges {
        let _ = writeln!(
            out,
            "{} -> {} [penwidth=2];",
            id(&graph.nodes[a].name),
            id(&graph.nodes[b].name)
        );
    }
    out.push_str("}\n");
    out
}
