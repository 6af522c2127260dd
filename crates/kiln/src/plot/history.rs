//! Training curves: [`History::plot`] draws the loss and each metric per epoch, training
//! solid and validation dashed in the same colour, one panel per quantity, as a PNG or an
//! SVG (by the file's extension). Drawn with plotters; PNG text uses DejaVu Sans embedded
//! in the binary (no system fonts needed), SVG text names [`STYLE`]'s font stack.

use super::style::STYLE;
use crate::callbacks::History;
use crate::error::{KilnError, Result};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use std::path::Path;
use std::sync::Once;

/// Layout of a training-curves picture.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryPlotOptions {
    /// The title above the panels.
    pub title: String,
    /// Width of one panel in pixels.
    pub panel_width: u32,
    /// Height of one panel in pixels.
    pub panel_height: u32,
    /// Panels per row (at most; fewer when there are fewer quantities).
    pub columns: usize,
}

impl Default for HistoryPlotOptions {
    /// Title "Training history", panels of 520 × 380 pixels, two per row.
    fn default() -> Self {
        HistoryPlotOptions {
            title: "Training history".into(),
            panel_width: 520,
            panel_height: 380,
            columns: 2,
        }
    }
}

/// Height of the title band above the panels, in pixels.
pub const TITLE_HEIGHT: u32 = 44;

impl HistoryPlotOptions {
    /// The picture's size for `panels` panels: `min(panels, columns)` panels across,
    /// `ceil(panels / columns)` down, plus [`TITLE_HEIGHT`].
    pub fn size(&self, panels: usize) -> (u32, u32) {
        let columns = self.columns.max(1).min(panels.max(1));
        let rows = panels.max(1).div_ceil(columns);
        (
            self.panel_width * columns as u32,
            self.panel_height * rows as u32 + TITLE_HEIGHT,
        )
    }
}

/// One panel: a quantity (`loss`, `accuracy`, …) with its training and validation series.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The quantity, without `val_`.
    pub name: String,
    /// `(epoch, value)` from the training logs (`name`), epochs counted from 1.
    pub train: Option<Vec<(f64, f64)>>,
    /// `(epoch, value)` from the validation logs (`val_<name>`).
    pub validation: Option<Vec<(f64, f64)>>,
}

/// The panels of a history: `loss` first, then the other quantities by name; a quantity
/// with only validation values gets a panel too.
///
/// ```
/// use kiln::callbacks::History;
/// let mut h = History::default();
/// h.epoch = vec![0, 1];
/// h.history.insert("loss".into(), vec![0.9, 0.5]);
/// h.history.insert("val_loss".into(), vec![1.0, 0.7]);
/// h.history.insert("accuracy".into(), vec![0.5, 0.8]);
/// let panels = kiln::plot::history::panels(&h);
/// assert_eq!(panels.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["loss", "accuracy"]);
/// assert_eq!(panels[0].validation, Some(vec![(1.0, 1.0), (2.0, 0.7)]));
/// ```
pub fn panels(history: &History) -> Vec<Panel> {
    let series = |key: &str| {
        history.history.get(key).map(|values| {
            history
                .epoch
                .iter()
                .zip(values)
                .map(|(&e, &v)| (e as f64 + 1.0, v))
                .collect::<Vec<_>>()
        })
    };
    let mut names: Vec<&str> = history
        .history
        .keys()
        .map(|k| k.strip_prefix("val_").unwrap_or(k))
        .collect();
    names.sort_by_key(|n| (*n != "loss", *n));
    names.dedup();
    names
        .into_iter()
        .map(|name| Panel {
            name: name.to_string(),
            train: series(name),
            validation: series(&format!("val_{name}")),
        })
        .collect()
}

/// The font family every piece of text names: the style's CSS stack, so an SVG falls back
/// as Kiln's other pictures do; for PNG it is registered with DejaVu Sans's bytes.
const FONT: &str = STYLE.font_family;

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded fonts are valid TrueType files; were one refused, plotters would fail
        // to draw text and the error would be reported then.
        let _ = register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// The bold font at `size` pixels (plotters' `FontDesc::style` keeps the regular face's
/// glyphs, so the face is chosen here).
fn bold(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Bold)
}

/// `#rrggbb` as a colour (black if malformed; the style's colours are not).
fn color(hex: &str) -> RGBColor {
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    RGBColor(channel(1), channel(3), channel(5))
}

/// Runs of consecutive finite values: a NaN or infinite value breaks the line.
fn finite_runs(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for &(x, y) in points {
        if y.is_finite() {
            runs.last_mut().expect("never empty").push((x, y));
        } else if !runs.last().expect("never empty").is_empty() {
            runs.push(Vec::new());
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// A range around `lo..hi` with 5% margins (a unit around a single value).
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let d = if lo.abs() > 1e-12 { lo.abs() * 0.1 } else { 0.5 };
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * 0.05;
    (lo - d, hi + d)
}

type DrawResult<T> = std::result::Result<T, String>;

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel, index: usize) -> DrawResult<()> {
    let ink = color(STYLE.ink);
    let line = color(STYLE.palette[index % STYLE.palette.len()]);
    let all: Vec<(f64, f64)> = panel
        .train
        .iter()
        .chain(panel.validation.iter())
        .flatten()
        .copied()
        .filter(|p| p.1.is_finite())
        .collect();
    let xs = panel.train.iter().chain(panel.validation.iter()).flatten().map(|p| p.0);
    let (x_lo, x_hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let (x_lo, x_hi) = if x_hi - x_lo < 1.0 {
        (x_lo - 1.0, x_hi + 1.0)
    } else {
        padded(x_lo, x_hi)
    };
    let (y_lo, y_hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (y_lo, y_hi) = padded(y_lo, y_hi);
    let epochs = (x_hi - x_lo).floor() as usize + 1;

    let mut chart = ChartBuilder::on(area)
        .caption(&panel.name, bold(19.0).color(&ink))
        .margin(12)
        .margin_right(22)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        .map_err(|e| e.to_string())?;
    let label_font = (FONT, 13).into_font().color(&ink);
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(panel.name.as_str())
        .axis_desc_style((FONT, 14).into_font().color(&ink))
        .label_style(label_font.clone())
        .x_labels(epochs.clamp(2, 11))
        .y_labels(6)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-6 {
                format!("{}", x.round())
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format_tick(*y))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(230, 230, 230))
        .axis_style(ink)
        .draw()
        .map_err(|e| e.to_string())?;

    let markers = |points: &[(f64, f64)]| points.len() <= 15;
    if let Some(train) = &panel.train {
        let style = ShapeStyle::from(&line).stroke_width(2);
        let mut labelled = false;
        for run in finite_runs(train) {
            let series = chart
                .draw_series(LineSeries::new(run.clone(), style))
                .map_err(|e| e.to_string())?;
            if !labelled {
                series
                    .label(panel.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
                labelled = true;
            }
            if markers(train) {
                chart
                    .draw_series(run.iter().map(|&p| Circle::new(p, 3, line.filled())))
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    if let Some(validation) = &panel.validation {
        let style = ShapeStyle::from(&line).stroke_width(2);
        let mut labelled = false;
        for run in finite_runs(validation) {
            let series = chart
                .draw_series(DashedLineSeries::new(run.clone(), 7, 5, style))
                .map_err(|e| e.to_string())?;
            if !labelled {
                series
                    .label(format!("val_{}", panel.name))
                    .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 24, y)], 7, 5, style));
                labelled = true;
            }
            if markers(validation) {
                chart
                    .draw_series(
                        run.iter()
                            .map(|&p| Circle::new(p, 3, ShapeStyle::from(&line).stroke_width(2))),
                    )
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    // The legend where the curves are not: top right for falling curves (a loss), bottom
    // right for rising ones (an accuracy).
    let series = panel.train.as_ref().or(panel.validation.as_ref());
    let finite: Vec<f64> = series
        .into_iter()
        .flatten()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .collect();
    let rising = finite.len() >= 2 && finite[finite.len() - 1] > finite[0];
    if all.is_empty() {
        // Nothing was drawn, so no legend; say why the panel is empty.
        let centre = Pos::new(HPos::Center, VPos::Center);
        let text = Text::new(
            "no finite values",
            ((x_lo + x_hi) / 2.0, (y_lo + y_hi) / 2.0),
            (FONT, 14).into_font().color(&ink).pos(centre),
        );
        chart.draw_series(std::iter::once(text)).map_err(|e| e.to_string())?;
        return Ok(());
    }
    chart
        .configure_series_labels()
        .position(if rising {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        })
        .margin(10)
        .label_font(label_font)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(170, 170, 170))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// A tick label: few digits, no trailing zeros.
fn format_tick(y: f64) -> String {
    if y == 0.0 {
        return "0".into();
    }
    if y.abs() >= 1e4 || y.abs() < 1e-3 {
        return format!("{y:.1e}");
    }
    let s = format!("{y:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[Panel],
    options: &HistoryPlotOptions,
) -> DrawResult<()> {
    root.fill(&color(STYLE.paper)).map_err(|e| e.to_string())?;
    let (title, body) = root.split_vertically(TITLE_HEIGHT);
    let (width, _) = title.dim_in_pixel();
    title
        .draw_text(
            &options.title,
            &bold(22.0)
                .color(&color(STYLE.ink))
                .pos(Pos::new(HPos::Center, VPos::Center)),
            (width as i32 / 2, TITLE_HEIGHT as i32 / 2 + 2),
        )
        .map_err(|e| e.to_string())?;
    let columns = options.columns.max(1).min(panels.len().max(1));
    let rows = panels.len().div_ceil(columns);
    for (i, (area, panel)) in body.split_evenly((rows, columns)).iter().zip(panels).enumerate() {
        draw_panel(area, panel, i)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// The picture as SVG text.
fn to_svg(panels: &[Panel], options: &HistoryPlotOptions) -> DrawResult<String> {
    register_fonts();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, options.size(panels.len())).into_drawing_area();
        draw(root, panels, options)?;
    }
    Ok(text)
}

/// The picture as PNG bytes (8-bit RGB).
fn to_png(panels: &[Panel], options: &HistoryPlotOptions) -> DrawResult<Vec<u8>> {
    register_fonts();
    let (w, h) = options.size(panels.len());
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        draw(root, panels, options)?;
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&pixels).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

impl History {
    /// Draws the training curves to `path`: PNG for `.png`, SVG for `.svg`, with
    /// [`HistoryPlotOptions::default`]. One panel per quantity (`loss`, then each metric),
    /// epochs across, training solid, validation (`val_…`) dashed in the same colour.
    ///
    /// ```no_run
    /// # use kiln::prelude::*;
    /// # let history = History::default();
    /// history.plot("curves.png")?;
    /// # Ok::<(), KilnError>(())
    /// ```
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
        self.plot_with(path, &HistoryPlotOptions::default())
    }

    /// [`plot`](History::plot) with another title, panel size or number of columns.
    pub fn plot_with(&self, path: impl AsRef<Path>, options: &HistoryPlotOptions) -> Result<()> {
        let path = path.as_ref();
        let io_error = |message: String| KilnError::Io {
            path: path.display().to_string(),
            message,
        };
        let panels = panels(self);
        if panels.is_empty() || self.epoch.is_empty() {
            return Err(io_error("the history has no epochs to plot".into()));
        }
        if options.panel_width < 120 || options.panel_height < 100 {
            return Err(io_error(format!(
                "panels of {} x {} pixels are too small to draw; at least 120 x 100 are needed",
                options.panel_width, options.panel_height
            )));
        }
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let bytes = match extension.as_deref() {
            Some("png") => to_png(&panels, options),
            Some("svg") => to_svg(&panels, options).map(String::into_bytes),
            other => {
                return Err(io_error(format!(
                    "cannot tell the picture format from {}: use a .png or .svg file",
                    other.map_or_else(
                        || "a file without an extension".to_string(),
                        |e| format!("the extension .{e}")
                    )
                )));
            }
        }
        .map_err(|e| io_error(format!("cannot draw the training curves: {e}")))?;
        crate::io::write_atomic(path, &bytes).map_err(|e| io_error(format!("cannot write the file: {e}")))
    }
}
