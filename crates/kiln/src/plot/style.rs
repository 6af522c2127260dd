//! The look of Kiln's pictures in one place: colours, fonts, sizes and text measurement.
//! Model graphs use it now; other plots (training curves) are meant to use the same.

/// Colours, fonts and sizes of Kiln's SVG pictures.
#[derive(Clone, Debug, PartialEq)]
pub struct Style {
    /// The CSS font stack. Text is measured with DejaVu Sans's widths (the widest of the
    /// stack), so boxes fit it and the narrower fonts of other systems.
    pub font_family: &'static str,
    /// Title text (a layer's name and class) in pixels.
    pub title_size: f64,
    /// Body text (shapes, dtypes) in pixels.
    pub text_size: f64,
    /// Page background.
    pub paper: &'static str,
    /// Lines, borders, edges and body text.
    pub ink: &'static str,
    /// Fill of a box's title row (Keras's black header).
    pub header_fill: &'static str,
    /// Text on the title row.
    pub header_text: &'static str,
    /// Fill of a box's body cells.
    pub cell_fill: &'static str,
    /// Fill of the "Trainable" badge.
    pub trainable_fill: &'static str,
    /// Fill of the "Non-trainable" badge.
    pub frozen_fill: &'static str,
    /// Stroke width of edges.
    pub edge_width: f64,
    /// Length of an arrowhead, in pixels.
    pub arrow_length: f64,
    /// Padding inside a cell, in pixels.
    pub cell_padding: f64,
    /// Width of the border drawn around and between cells.
    pub border: f64,
    /// Horizontal space between boxes of one rank.
    pub node_gap: f64,
    /// Vertical space between ranks.
    pub rank_gap: f64,
    /// Space around the picture.
    pub margin: f64,
    /// Series colours for plots with several lines (matplotlib's `tab10`).
    pub palette: [&'static str; 10],
}

/// Kiln's style: Keras's `plot_model` look (black title rows, white cells, black edges).
pub const STYLE: Style = Style {
    font_family: "DejaVu Sans, Bitstream Vera Sans, Verdana, Helvetica, Arial, sans-serif",
    title_size: 14.0,
    text_size: 12.0,
    paper: "#ffffff",
    ink: "#000000",
    header_fill: "#000000",
    header_text: "#ffffff",
    cell_fill: "#ffffff",
    trainable_fill: "#228b22",
    frozen_fill: "#b22222",
    edge_width: 2.0,
    arrow_length: 9.0,
    cell_padding: 7.0,
    border: 1.5,
    node_gap: 36.0,
    rank_gap: 44.0,
    margin: 16.0,
    palette: [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ],
};

/// DejaVu Sans advance widths of ASCII 32..=126, per 1000 units of font size.
const REGULAR: [u16; 95] = [
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636,
    636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863,
    748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635,
    615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636,
    337, 636, 838,
];
/// DejaVu Sans Bold advance widths of ASCII 32..=126, per 1000 units of font size.
const BOLD: [u16; 95] = [
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696, 696, 696, 696,
    696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821, 837, 372, 372, 775, 637, 995,
    837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716,
    678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712,
    365, 712, 838,
];

/// The width in pixels of `text` at `size` pixels (DejaVu Sans metrics; other characters
/// count as wide as `M`).
///
/// ```
/// use kiln::plot::style::text_width;
/// assert!(text_width("dense", 12.0, true) > text_width("dense", 12.0, false));
/// ```
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let table = if bold { &BOLD } else { &REGULAR };
    let units: u32 = text
        .chars()
        .map(|c| {
            let i = c as usize;
            if (32..=126).contains(&i) {
                u32::from(table[i - 32])
            } else {
                1000
            }
        })
        .sum();
    f64::from(units) * size / 1000.0
}

/// `text` with XML's special characters escaped, for SVG text, attributes and HTML-like
/// DOT labels.
///
/// ```
/// assert_eq!(kiln::plot::style::escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A number for SVG coordinates: at most two decimals, no trailing zeros.
pub fn num(x: f64) -> String {
    let s = format!("{:.2}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}
