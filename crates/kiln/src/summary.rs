//! `summary()`: Keras 3's model table, character for character.

use crate::model::{Kind, Model, Producer, SymNode};
use std::collections::HashMap;
use std::rc::Rc;

/// Column text widths Keras (through rich) gives its tables at the default line length.
const SEQUENTIAL_WIDTHS: [usize; 3] = [36, 27, 15];
const FUNCTIONAL_WIDTHS: [usize; 4] = [29, 25, 15, 26];

/// A count with thousands separators: `8,874`.
fn grouped(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A size in bytes as Keras prints it: `34.66 KB`, `0.00 B`.
pub(crate) fn readable_size(bytes: usize) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < units.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.2} {}", units[unit])
}

/// Splits `text` into lines of at most `width` characters, at spaces where possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if candidate.chars().count() <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest: Vec<char> = word.chars().collect();
        while rest.len() > width {
            lines.push(rest.drain(..width).collect());
        }
        line = rest.into_iter().collect();
    }
    lines.push(line);
    lines
}

fn rule(widths: &[usize], left: &str, fill: &str, mid: &str, right: &str) -> String {
    let parts: Vec<String> = widths.iter().map(|w| fill.repeat(w + 2)).collect();
    format!("{left}{}{right}", parts.join(mid))
}

fn row(widths: &[usize], cells: &[String], bar: &str, right_aligned: usize) -> Vec<String> {
    let wrapped: Vec<Vec<String>> = cells.iter().zip(widths).map(|(c, w)| wrap(c, *w)).collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    (0..height)
        .map(|i| {
            let mut line = bar.to_string();
            for (col, (lines, w)) in wrapped.iter().zip(widths).enumerate() {
                let text = lines.get(i).map(String::as_str).unwrap_or("");
                let pad = w.saturating_sub(text.chars().count());
                if col == right_aligned {
                    line.push_str(&format!(" {}{text} {bar}", " ".repeat(pad)));
                } else {
                    line.push_str(&format!(" {text}{} {bar}", " ".repeat(pad)));
                }
            }
            line
        })
        .collect()
}

/// Layer calls in Keras's display order (deepest first: inputs; ties by creation), and
/// whether the graph is a simple chain (one call per depth, each with at most one input),
/// which Keras prints without the "Connected to" column.
fn display_order(nodes: &[Rc<SymNode>], outputs: &[u64]) -> (Vec<Rc<SymNode>>, bool) {
    let mut depth: HashMap<u64, usize> = outputs.iter().map(|&id| (id, 0)).collect();
    // `nodes` is topological (inputs first): walk it backwards to push depths upstream.
    for node in nodes.iter().rev() {
        let d = *depth.entry(node.id).or_insert(0);
        for input in &node.inputs {
            let e = depth.entry(input.node.id).or_insert(0);
            *e = (*e).max(d + 1);
        }
    }
    let mut ordered = nodes.to_vec();
    ordered.sort_by_key(|n| (std::cmp::Reverse(depth[&n.id]), n.id));
    let mut per_depth: HashMap<usize, usize> = HashMap::new();
    for n in &ordered {
        *per_depth.entry(depth[&n.id]).or_default() += 1;
    }
    let chain = per_depth.values().all(|&c| c == 1) && ordered.iter().all(|n| n.inputs.len() <= 1);
    (ordered, chain)
}

impl Model {
    /// The summary table as text (see [`summary`](Model::summary)).
    pub fn summary_string(&self) -> String {
        let Some(built) = self.built.as_ref() else {
            return format!("Model: \"{}\" (unbuilt: it has no input shape yet)\n", self.name);
        };
        let functional = matches!(self.kind, Kind::Functional);
        let outputs: Vec<u64> = built.outputs.iter().map(|t| t.node.id).collect();
        let (order, chain) = display_order(&built.nodes, &outputs);
        let connected = functional && !chain;
        let widths: &[usize] = if connected {
            &FUNCTIONAL_WIDTHS
        } else {
            &SEQUENTIAL_WIDTHS
        };
        let mut params_of: HashMap<&str, usize> = HashMap::new();
        for p in built.graph.params() {
            // Layer names never hold '/', so the first component is the top-level layer even for
            // nested weights (`lstm/lstm_cell/kernel`).
            let layer = p.name.split_once('/').map_or(p.name.as_str(), |(l, _)| l);
            *params_of.entry(layer).or_default() += p.size();
        }
        let mut lines = vec![format!("Model: \"{}\"", self.name)];
        lines.push(rule(widths, "┏", "━", "┳", "┓"));
        let mut header = vec!["Layer (type)".to_string(), "Output Shape".into(), "Param #".into()];
        if connected {
            header.push("Connected to".into());
        }
        lines.extend(row(widths, &header, "┃", 2));
        lines.push(rule(widths, "┡", "━", "╇", "┩"));
        let mut seen = std::collections::HashSet::new();
        let mut first = true;
        for node in order {
            let (name, class) = match &node.producer {
                Producer::Input { name } if functional => (name.as_str(), "InputLayer"),
                Producer::Input { .. } => continue,
                Producer::Layer(l) => (l.name(), l.class_name()),
            };
            if !seen.insert(name.to_string()) {
                continue;
            }
            if !first {
                lines.push(rule(widths, "├", "─", "┼", "┤"));
            }
            first = false;
            let shapes: Vec<String> = node.outputs.iter().map(|t| t.shape.keras_string()).collect();
            let mut cells = vec![
                format!("{name} ({class})"),
                shapes.join(", "),
                grouped(params_of.get(name).copied().unwrap_or(0)),
            ];
            if connected {
                let inbound: Vec<String> = node
                    .inputs
                    .iter()
                    .map(|t| format!("{}[0][{}]", t.producer_name(), t.index))
                    .collect();
                cells.push(if inbound.is_empty() {
                    "-".into()
                } else {
                    inbound.join(", ")
                });
            }
            lines.extend(row(widths, &cells, "│", 2));
        }
        lines.push(rule(widths, "└", "─", "┴", "┘"));
        let total: usize = built.graph.params().iter().map(|p| p.size()).sum();
        let trainable: usize = built
            .graph
            .params()
            .iter()
            .filter(|p| p.trainable)
            .map(|p| p.size())
            .sum();
        let line = |label: &str, n: usize| format!(" {label}: {} ({})", grouped(n), readable_size(n * 4));
        lines.push(line("Total params", total));
        lines.push(line("Trainable params", trainable));
        lines.push(line("Non-trainable params", total - trainable));
        if let Some(policy) = self.policy_line() {
            lines.push(policy);
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }

    /// ` Dtype policy: …` when any layer computes in less than float32.
    fn policy_line(&self) -> Option<String> {
        let policy = self.dtype_policy();
        let own: Vec<String> = self
            .layer_names()
            .into_iter()
            .filter_map(|l| {
                let p = self.layer_policies.get(&l)?;
                (*p != policy).then(|| format!("{l}: {p}"))
            })
            .collect();
        if policy == crate::mixed_precision::DTypePolicy::Float32 && own.is_empty() {
            return None;
        }
        let mut text = format!(" Dtype policy: {policy}");
        if let Some(dtype) = policy.compute_dtype() {
            text.push_str(&format!(
                " (matrix products and convolutions in {dtype}, weights in float32)"
            ));
        }
        if !own.is_empty() {
            text.push_str(&format!("; layers with their own: {}", own.join(", ")));
        }
        Some(text)
    }

    /// Prints Keras 3's summary table: each layer's name and class, output shape and
    /// parameter count (and, for Functional models, what it is connected to), then the
    /// total, trainable and non-trainable parameter counts and their sizes.
    pub fn summary(&self) {
        print!("{}", self.summary_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_keras() {
        assert_eq!(grouped(109386), "109,386");
        assert_eq!(grouped(330), "330");
        assert_eq!(readable_size(8874 * 4), "34.66 KB");
        assert_eq!(readable_size(0), "0.00 B");
        assert_eq!(readable_size(125 * 4), "500.00 B");
    }
}
