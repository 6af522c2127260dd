//! `History::plot`: training curves as PNG and SVG, checked by decoding the PNG and
//! parsing the SVG (set `KILN_PLOT_DIR` to keep the pictures for looking at them).

use kiln::callbacks::History;
use kiln::plot::history::{HistoryPlotOptions, TITLE_HEIGHT};
use kiln::{KilnError, Result};
use std::path::{Path, PathBuf};

/// 8 epochs: a falling loss and a rising accuracy, with validation values, a learning
/// rate (training only) and a NaN that breaks the validation loss line.
fn history() -> History {
    let mut h = History {
        epoch: (0..8).collect(),
        ..Default::default()
    };
    let put = |h: &mut History, k: &str, v: Vec<f64>| h.history.insert(k.into(), v);
    put(&mut h, "loss", vec![2.0, 1.2, 0.8, 0.6, 0.45, 0.38, 0.33, 0.3]);
    put(&mut h, "val_loss", vec![2.1, 1.4, 1.0, f64::NAN, 0.8, 0.78, 0.8, 0.85]);
    put(&mut h, "accuracy", vec![0.3, 0.55, 0.7, 0.78, 0.84, 0.88, 0.9, 0.92]);
    put(
        &mut h,
        "val_accuracy",
        vec![0.28, 0.5, 0.62, 0.7, 0.72, 0.74, 0.73, 0.73],
    );
    put(
        &mut h,
        "learning_rate",
        vec![0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025, 0.0025],
    );
    h
}

/// A directory of its own for each test (they run at the same time).
fn out_dir(test: &str) -> PathBuf {
    let dir = std::env::var_os("KILN_PLOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("kiln-history-plot-{}", std::process::id())))
        .join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes a test's directory, and the run's directory once it is empty.
fn clean(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir(dir.parent().unwrap());
}

fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Pixels of exactly colour `rgb` in columns `x0..x1`.
fn count_color(pixels: &[u8], width: u32, (x0, x1): (u32, u32), rgb: [u8; 3]) -> usize {
    pixels
        .chunks(3)
        .enumerate()
        .filter(|(i, p)| {
            let x = (*i as u32) % width;
            x >= x0 && x < x1 && *p == rgb
        })
        .count()
}

#[test]
fn png_has_the_documented_size_and_each_panel_its_colour() -> Result<()> {
    let dir = out_dir("png");
    let path = dir.join("curves.png");
    history().plot(&path)?;
    let (w, h, pixels) = decode_png(&path);
    // Three quantities (loss, accuracy, learning_rate), two per row: 2 × 520 by 2 × 380 + title.
    assert_eq!((w, h), (2 * 520, 2 * 380 + TITLE_HEIGHT));
    assert_eq!(HistoryPlotOptions::default().size(3), (w, h));
    // loss (first panel, left) in tab10 blue, accuracy (second, right) in orange, and
    // neither colour in the other's half; learning_rate (third) in green.
    let blue = [0x1f, 0x77, 0xb4];
    let orange = [0xff, 0x7f, 0x0e];
    assert!(count_color(&pixels, w, (0, 520), blue) > 300);
    assert_eq!(count_color(&pixels, w, (520, 1040), blue), 0);
    assert!(count_color(&pixels, w, (520, 1040), orange) > 300);
    assert_eq!(count_color(&pixels, w, (0, 520), orange), 0);
    let green_rows = &pixels[(TITLE_HEIGHT + 380) as usize * w as usize * 3..];
    assert!(count_color(green_rows, w, (0, 520), [0x2c, 0xa0, 0x2c]) > 100);
    // Text was rendered (dark anti-aliased pixels in the title band), without system fonts.
    let title = &pixels[..TITLE_HEIGHT as usize * w as usize * 3];
    assert!(title.chunks(3).filter(|p| p.iter().all(|&c| c < 100)).count() > 100);

    // Another size.
    let options = HistoryPlotOptions {
        title: "t".into(),
        panel_width: 300,
        panel_height: 200,
        columns: 3,
    };
    history().plot_with(&path, &options)?;
    assert_eq!(decode_png(&path).0, 900);
    assert_eq!(decode_png(&path).1, 200 + TITLE_HEIGHT);
    if std::env::var_os("KILN_PLOT_DIR").is_none() {
        clean(&dir);
    } else {
        history().plot(&path)?;
    }
    Ok(())
}

/// A polyline's stroke colour and points.
type Polyline = (String, Vec<(f64, f64)>);

/// The text, and every `<polyline>`'s points by stroke colour, of an SVG.
fn parse_svg(text: &str) -> (Vec<String>, Vec<Polyline>) {
    use xml::reader::{EventReader, XmlEvent};
    let mut texts = Vec::new();
    let mut lines = Vec::new();
    for event in EventReader::from_str(text) {
        match event.expect("well-formed SVG") {
            XmlEvent::Characters(t) => texts.push(t.trim().to_string()),
            XmlEvent::StartElement { name, attributes, .. } if name.local_name == "polyline" => {
                let attr = |k: &str| {
                    attributes
                        .iter()
                        .find(|a| a.name.local_name == k)
                        .map(|a| a.value.clone())
                };
                let points = attr("points")
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect();
                lines.push((attr("stroke").unwrap_or_default().to_ascii_lowercase(), points));
            }
            _ => {}
        }
    }
    (texts, lines)
}

#[test]
fn svg_names_every_series_and_draws_the_values_where_they_belong() -> Result<()> {
    let dir = out_dir("svg");
    let path = dir.join("curves.svg");
    let h = history();
    h.plot(&path)?;
    let svg = std::fs::read_to_string(&path).unwrap();
    let (texts, lines) = parse_svg(&svg);
    for label in [
        "Training history",
        "loss",
        "val_loss",
        "accuracy",
        "val_accuracy",
        "learning_rate",
        "epoch",
    ] {
        assert!(texts.iter().any(|t| t == label), "no text {label:?} in {texts:?}");
    }
    assert!(!texts.iter().any(|t| t == "val_learning_rate"));
    assert!(svg.contains("DejaVu Sans"), "the style's font stack");

    // The solid training lines: one polyline of 8 points per quantity, in its colour
    // (the legend's sample is a 2-point line of the same colour).
    for (key, stroke) in [
        ("loss", "#1f77b4"),
        ("accuracy", "#ff7f0e"),
        ("learning_rate", "#2ca02c"),
    ] {
        let values = h.get(key).unwrap();
        let line = lines
            .iter()
            .find(|(s, p)| s == stroke && p.len() == 8)
            .unwrap_or_else(|| panic!("no 8-point {stroke} line for {key}"));
        // Epochs evenly spaced left to right; heights an affine function of the values
        // (a higher value higher up), to within a pixel of rounding.
        let p = &line.1;
        let dx = p[1].0 - p[0].0;
        assert!(
            dx > 10.0 && p.windows(2).all(|w| (w[1].0 - w[0].0 - dx).abs() <= 1.0),
            "{key}: {p:?}"
        );
        let (i_max, i_min) = (
            (0..8).max_by(|&a, &b| values[a].total_cmp(&values[b])).unwrap(),
            (0..8).min_by(|&a, &b| values[a].total_cmp(&values[b])).unwrap(),
        );
        let scale = (p[i_max].1 - p[i_min].1) / (values[i_max] - values[i_min]);
        assert!(scale < 0.0, "{key}: larger values must be drawn higher");
        for (v, pt) in values.iter().zip(p) {
            let expected = p[i_min].1 + scale * (v - values[i_min]);
            assert!(
                (pt.1 - expected).abs() <= 1.5,
                "{key}: {v} at y {} instead of {expected}",
                pt.1
            );
        }
    }
    // The validation loss: dashes in the same blue, and no solid 8-point line (a NaN at
    // epoch 4 splits it; dashes are short segments).
    let blue_lines: Vec<_> = lines.iter().filter(|(s, _)| s == "#1f77b4").collect();
    assert!(blue_lines.len() > 10, "dashes: {}", blue_lines.len());
    assert_eq!(blue_lines.iter().filter(|(_, p)| p.len() == 8).count(), 1);
    if std::env::var_os("KILN_PLOT_DIR").is_none() {
        clean(&dir);
    }
    Ok(())
}

#[test]
fn empty_histories_and_unknown_extensions_are_clean_errors() {
    let dir = out_dir("errors");
    let err = History::default().plot(dir.join("x.png")).unwrap_err();
    assert!(
        matches!(&err, KilnError::Io { message, .. } if message == "the history has no epochs to plot"),
        "{err}"
    );
    let err = history().plot(dir.join("curves.jpg")).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("cannot tell the picture format from the extension .jpg: use a .png or .svg file"),
        "{err}"
    );
    let err = history().plot(dir.join("no-such-dir").join("c.svg")).unwrap_err();
    assert!(err.to_string().contains("cannot write the file"), "{err}");
    let tiny = HistoryPlotOptions {
        panel_width: 10,
        ..Default::default()
    };
    assert!(history().plot_with(dir.join("t.png"), &tiny).is_err());
    if std::env::var_os("KILN_PLOT_DIR").is_none() {
        clean(&dir);
    }
}
