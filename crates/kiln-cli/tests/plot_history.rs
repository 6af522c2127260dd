//! `kiln plot-history`: training curves from a CsvLogger file, and clean errors for CSV
//! files it cannot read.

use kiln::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Output;

fn kiln(args: &[&std::ffi::OsStr]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-cli-plot-history-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Width and height from a PNG's IHDR chunk (signature, length, "IHDR", then two
/// big-endian u32).
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn plots_the_file_a_csv_logger_wrote() {
    let dir = temp_dir("fit");
    let log = dir.join("log.csv");
    kiln::set_random_seed(3);
    let mut model = Sequential::new();
    model.add(Dense::new(3).activation("softmax").input_shape([2])).unwrap();
    model
        .compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    let x = Tensor::from_f32((0..40).map(|i| (i as f32 * 0.3).sin()).collect(), [20, 2]).unwrap();
    let y = Tensor::from_i32((0..20).map(|i| i % 3).collect(), [20]).unwrap();
    let options = FitOptions::new()
        .epochs(4)
        .verbose(0)
        .validation_split(0.2)
        .callback(CsvLogger::new(&log));
    model.fit(&x, &y, options).unwrap();

    let png = dir.join("curves.png");
    let out = kiln(&["plot-history".as_ref(), log.as_ref(), "-o".as_ref(), png.as_ref()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), png.display().to_string());
    // loss and accuracy: two 520 × 380 panels side by side under a 44-pixel title.
    assert_eq!(png_size(&png), (1040, 424));

    let svg = dir.join("curves.svg");
    let out = kiln(&[
        "plot-history".as_ref(),
        log.as_ref(),
        "-o".as_ref(),
        svg.as_ref(),
        "--title".as_ref(),
        "Run 7".as_ref(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&svg).unwrap();
    let texts: Vec<String> = xml::reader::EventReader::from_str(&text)
        .into_iter()
        .filter_map(|e| match e.expect("well-formed SVG") {
            xml::reader::XmlEvent::Characters(t) => Some(t.trim().to_string()),
            _ => None,
        })
        .collect();
    for label in ["Run 7", "loss", "val_loss", "accuracy", "val_accuracy", "epoch"] {
        assert!(texts.iter().any(|t| t == label), "{label} not in {texts:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_files_it_cannot_read_are_one_line_errors() {
    let dir = temp_dir("bad");
    let out_png = dir.join("out.png");
    let cases: [(&str, &str, &str); 7] = [
        ("empty", "", "the file is empty"),
        (
            "header",
            "step,loss\n0,1\n",
            "the first column is \"step\", expected \"epoch\"",
        ),
        ("nothing", "epoch\n0\n", "the header has no column after `epoch`"),
        ("twice", "epoch,loss,loss\n0,1,2\n", "column \"loss\" appears twice"),
        (
            "fields",
            "epoch,loss,val_loss\n0,1.5,1.7\n1,1.2\n",
            "line 3: 2 fields, the header has 3 columns",
        ),
        (
            "number",
            "epoch,loss\n0,1.5\n1,abc\n",
            "line 3, column \"loss\": \"abc\" is not a number",
        ),
        ("rows", "epoch,loss\n", "the file has a header but no epochs"),
    ];
    for (name, text, expected) in cases {
        let csv = dir.join(format!("{name}.csv"));
        std::fs::write(&csv, text).unwrap();
        let out = kiln(&["plot-history".as_ref(), csv.as_ref(), "-o".as_ref(), out_png.as_ref()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        let prefix = format!("kiln: error: {}: {expected}", csv.display());
        assert!(
            stderr.starts_with(&prefix) && stderr.lines().count() == 1,
            "{name}: {stderr}"
        );
        assert!(!out_png.exists(), "{name}");
    }
    // A missing file, and NA values (gaps) which are fine.
    let out = kiln(&[
        "plot-history".as_ref(),
        dir.join("missing.csv").as_ref(),
        "-o".as_ref(),
        out_png.as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.csv: cannot read the file"));
    let csv = dir.join("gaps.csv");
    std::fs::write(&csv, "epoch;loss;val_loss\n0;1.5;NA\n1;1.2;1.4\n").unwrap();
    let out = kiln(&[
        "plot-history".as_ref(),
        csv.as_ref(),
        "-o".as_ref(),
        out_png.as_ref(),
        "--separator".as_ref(),
        ";".as_ref(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(png_size(&out_png), (520, 424));
    std::fs::remove_dir_all(&dir).unwrap();
}
