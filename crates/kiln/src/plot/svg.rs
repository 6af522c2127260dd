//! The SVG writer: boxes in Keras's `plot_model` look (a black title row with the layer's
//! name in bold and its class, white cells with the shapes), S-curved edges with
//! arrowheads, laid out by [`super::layout`].

use super::layout::{Layout, Rect, Route, layout};
use super::style::{Style, escape, num, text_width};
use super::{Cell, Label, PlotGraph, PlotOptions};
use std::fmt::Write;

/// The sizes of one box's rows.
struct Geometry {
    width: f64,
    title_h: f64,
    activation_h: f64,
    cells_h: f64,
    /// Natural widths of the body cells (before stretching to the box).
    cell_widths: Vec<f64>,
}

impl Geometry {
    fn of(label: &Label, style: &Style) -> Geometry {
        let pad = style.cell_padding;
        let line = |size: f64| size * 1.3 + 2.0 * pad;
        let title_w = text_width(&label.title_bold, style.title_size, true)
            + text_width(&label.title_rest, style.title_size, false)
            + 2.0 * pad;
        let activation_w = label.activation.as_ref().map_or(0.0, |a| {
            text_width("Activation: ", style.text_size, false) + text_width(a, style.text_size, true) + 2.0 * pad
        });
        let cell_widths: Vec<f64> = label
            .cells
            .iter()
            .map(|c| match c {
                Cell::Field { label, value } => {
                    text_width(label, style.text_size, false) + text_width(value, style.text_size, true)
                }
                Cell::Badge { text, .. } => text_width(text, style.text_size, true),
            } + 2.0 * pad)
            .collect();
        let cells_w = cell_widths.iter().sum::<f64>() + style.border * cell_widths.len().saturating_sub(1) as f64;
        let inner = title_w.max(activation_w).max(cells_w);
        Geometry {
            width: inner + 2.0 * style.border,
            title_h: line(style.title_size),
            activation_h: if label.activation.is_some() {
                line(style.text_size)
            } else {
                0.0
            },
            cells_h: if label.cells.is_empty() {
                0.0
            } else {
                line(style.text_size)
            },
            cell_widths,
        }
    }

    fn height(&self, style: &Style) -> f64 {
        let b = style.border;
        let extra = |h: f64| if h > 0.0 { h + b } else { 0.0 };
        b + self.title_h + extra(self.activation_h) + extra(self.cells_h) + b
    }
}

/// The SVG document of `graph`.
pub fn render(graph: &PlotGraph, options: &PlotOptions, style: &Style) -> String {
    let labels: Vec<Label> = graph.nodes.iter().map(|n| Label::of(n, options)).collect();
    let geometry: Vec<Geometry> = labels.iter().map(|l| Geometry::of(l, style)).collect();
    let sizes: Vec<(f64, f64)> = geometry.iter().map(|g| (g.width, g.height(style))).collect();
    let placed = layout(&sizes, &graph.edges, style);
    let mut out = String::new();
    let (w, h) = (num(placed.width), num(placed.height));
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{}">"#,
        style.font_family
    );
    let _ = writeln!(out, "<title>{}</title>", escape(&graph.name));
    let _ = writeln!(out, r#"<rect width="{w}" height="{h}" fill="{}"/>"#, style.paper);
    edges(&mut out, &placed, style);
    for (i, ((node, label), g)) in graph.nodes.iter().zip(&labels).zip(&geometry).enumerate() {
        let _ = writeln!(out, r#"<g class="node" id="node{i}">"#);
        let _ = writeln!(out, "<title>{}</title>", escape(&node.name));
        draw_box(&mut out, placed.boxes[i], label, g, style);
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// Centred text with a regular part and a bold part, in that order or bold first.
fn text(out: &mut String, cx: f64, row_top: f64, row_h: f64, size: f64, fill: &str, parts: [(&str, bool); 2]) {
    let baseline = row_top + row_h / 2.0 + size * 0.36;
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" font-size="{}" fill="{fill}" text-anchor="middle" xml:space="preserve">"#,
        num(cx),
        num(baseline),
        num(size)
    );
    for (t, bold) in parts {
        if t.is_empty() {
            continue;
        }
        if bold {
            let _ = write!(out, r#"<tspan font-weight="bold">{}</tspan>"#, escape(t));
        } else {
            let _ = write!(out, "<tspan>{}</tspan>", escape(t));
        }
    }
    out.push_str("</text>\n");
}

fn rect(out: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str) {
    let _ = writeln!(
        out,
        r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"/>"#,
        num(x),
        num(y),
        num(w),
        num(h)
    );
}

fn draw_box(out: &mut String, r: Rect, label: &Label, g: &Geometry, style: &Style) {
    let b = style.border;
    rect(out, r.x, r.y, r.w, r.h, style.header_fill);
    let inner_x = r.x + b;
    let inner_w = r.w - 2.0 * b;
    let mut y = r.y + b;
    text(
        out,
        r.cx(),
        y,
        g.title_h,
        style.title_size,
        style.header_text,
        [(&label.title_bold, true), (&label.title_rest, false)],
    );
    y += g.title_h + b;
    if let Some(activation) = &label.activation {
        rect(out, inner_x, y, inner_w, g.activation_h, style.cell_fill);
        let parts = [("Activation: ", false), (activation.as_str(), true)];
        text(out, r.cx(), y, g.activation_h, style.text_size, style.ink, parts);
        y += g.activation_h + b;
    }
    if label.cells.is_empty() {
        return;
    }
    let natural = g.cell_widths.iter().sum::<f64>() + b * (g.cell_widths.len() - 1) as f64;
    let stretch = (inner_w - natural) / g.cell_widths.len() as f64;
    let mut x = inner_x;
    for (cell, w) in label.cells.iter().zip(&g.cell_widths) {
        let w = w + stretch;
        match cell {
            Cell::Field { label, value } => {
                rect(out, x, y, w, g.cells_h, style.cell_fill);
                let parts = [(*label, false), (value.as_str(), true)];
                text(out, x + w / 2.0, y, g.cells_h, style.text_size, style.ink, parts);
            }
            Cell::Badge { text: t, trainable } => {
                let fill = if *trainable {
                    style.trainable_fill
                } else {
                    style.frozen_fill
                };
                rect(out, x, y, w, g.cells_h, fill);
                text(
                    out,
                    x + w / 2.0,
                    y,
                    g.cells_h,
                    style.text_size,
                    style.header_text,
                    [(t, true), ("", false)],
                );
            }
        }
        x += w + b;
    }
}

/// Every edge as a path, and its arrowhead.
fn edges(out: &mut String, placed: &Layout, style: &Style) {
    let l = style.arrow_length;
    let half = l * 0.45;
    let mut heads = String::new();
    let _ = writeln!(
        out,
        r#"<g class="edges" fill="none" stroke="{}" stroke-width="{}">"#,
        style.ink,
        num(style.edge_width)
    );
    for route in &placed.routes {
        let d = path(route, l);
        let _ = writeln!(out, r#"<path d="{d}"/>"#);
        let &(x, y) = route.points.last().unwrap_or(&(0.0, 0.0));
        let head = if route.back {
            [(x, y), (x + l, y - half), (x + l, y + half)]
        } else {
            [(x, y), (x - half, y - l), (x + half, y - l)]
        };
        let pts: Vec<String> = head.iter().map(|(a, b)| format!("{},{}", num(*a), num(*b))).collect();
        let _ = writeln!(heads, r#"<polygon points="{}"/>"#, pts.join(" "));
    }
    out.push_str("</g>\n");
    let _ = writeln!(out, r#"<g class="arrowheads" fill="{}">"#, style.ink);
    out.push_str(&heads);
    out.push_str("</g>\n");
}

/// The path data of one edge, stopping short of its end by the arrowhead's length.
fn path(route: &Route, arrow: f64) -> String {
    let p = &route.points;
    let mut d = String::new();
    if p.len() < 2 {
        return d;
    }
    if route.back {
        let ((x0, y0), (x1, y1)) = (p[0], p[1]);
        let bulge = 24.0 + (y0 - y1).abs().min(200.0) * 0.2;
        let _ = write!(
            d,
            "M{},{} C{},{} {},{} {},{}",
            num(x0),
            num(y0),
            num(x0 + bulge),
            num(y0),
            num(x1 + arrow + bulge),
            num(y1),
            num(x1 + arrow),
            num(y1)
        );
        return d;
    }
    let _ = write!(d, "M{},{}", num(p[0].0), num(p[0].1));
    // Points come as: start, (enter, leave) per crossed rank, end. Between ranks an
    // S-curve with vertical tangents; within a rank a straight line.
    let mut i = 0;
    while i + 1 < p.len() {
        let (x0, y0) = p[i];
        let (x1, mut y1) = p[i + 1];
        if i + 2 == p.len() {
            y1 -= arrow;
        }
        let mid = (y1 - y0) / 2.0;
        let _ = write!(
            d,
            " C{},{} {},{} {},{}",
            num(x0),
            num(y0 + mid),
            num(x1),
            num(y1 - mid),
            num(x1),
            num(y1)
        );
        if i + 2 < p.len() {
            let _ = write!(d, " L{},{}", num(p[i + 2].0), num(p[i + 2].1));
        }
        i += 2;
    }
    d
}
