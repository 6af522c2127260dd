//! The `kiln` binary as a user runs it.

use crate::common;
use common::{assert_error, fresh_dir, kiln, s, stdout};

use kiln::prelude::*;
use kiln::{DType, PredictOptions, npy};
use std::path::{Path, PathBuf};
use std::process::Command;

fn info(device_env: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.arg("info");
    match device_env {
        Some(d) => cmd.env("KILN_DEVICE", d),
        None => cmd.env_remove("KILN_DEVICE"),
    };
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn info_lists_the_compiled_backends_and_their_devices() {
    let text = info(None);
    assert!(
        text.starts_with(&format!("kiln {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let mut backends = Vec::new();
    for (on, name) in [
        (cfg!(feature = "ndarray"), "ndarray"),
        (cfg!(feature = "flex"), "flex"),
        (cfg!(feature = "wgpu"), "wgpu"),
        (cfg!(feature = "tch"), "tch"),
        (cfg!(feature = "remote"), "remote"),
    ] {
        if on {
            backends.push(name);
        }
    }
    assert!(text.contains(&format!("backends: {}\n", backends.join(", "))), "{text}");
    if cfg!(feature = "ndarray") {
        assert!(text.contains("  ndarray    ndarray (ndarray)\n"), "{text}");
    }
    if cfg!(feature = "tch") {
        assert!(text.contains("  tch:cpu    tch:cpu (tch)\n"), "{text}");
    }
    let default = if cfg!(feature = "tch") {
        "tch:cpu"
    } else if cfg!(feature = "flex") {
        "flex"
    } else {
        "ndarray"
    };
    assert!(
        text.contains(&format!("default device: {default} (set KILN_DEVICE to change it)")),
        "{text}"
    );
}

#[test]
fn kiln_device_chooses_the_default() {
    assert!(info(Some("ndarray")).contains("default device: ndarray ("));
}

#[test]
fn a_bad_default_device_is_reported_not_a_crash() {
    let text = info(Some("tpu:0"));
    assert!(
        text.contains("default device: none (KILN_DEVICE=tpu:0: unknown device 'tpu:0'"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    fresh_dir("kiln-cli", name)
}

/// Deterministic inputs in [-1, 1).
fn floats(shape: &[usize], seed: usize) -> Tensor {
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|i| ((i * 37 + seed * 101) % 97) as f32 / 48.5 - 1.0)
        .collect();
    Tensor::from_f32(data, shape.to_vec()).unwrap()
}

fn assert_close(a: &Tensor, b: &Tensor, tol: f32) {
    assert_eq!(a.shape(), b.shape());
    for (i, (x, y)) in a.to_f32().iter().zip(b.to_f32()).enumerate() {
        assert!((x - y).abs() <= tol, "element {i}: {x} vs {y}");
    }
}

fn cpu() -> Device {
    "cpu".parse().unwrap()
}

/// A small Sequential CNN with hand-counted weights:
/// conv_a 3·3·1·8 + 8 = 80; conv_b 3·3·8·16 + 16 = 1,168; 28 → 26 → pool 13 → 11, so the
/// flattened vector has 11·11·16 = 1,936 features; head 1,936·10 + 10 = 19,370; total 20,618.
fn cnn() -> Model {
    kiln::set_random_seed(11);
    let mut model = Sequential::new().with_name("small_cnn");
    model.add(Input::new([28, 28, 1])).unwrap();
    model.add(Conv2D::new(8, 3).activation("relu").name("conv_a")).unwrap();
    model.add(MaxPooling2D::new().name("pool")).unwrap();
    model.add(Conv2D::new(16, 3).activation("relu").name("conv_b")).unwrap();
    model.add(Flatten::new().name("flat")).unwrap();
    model.add(Dropout::new(0.5).name("drop")).unwrap();
    model.add(Dense::new(10).activation("softmax").name("head")).unwrap();
    model
}

/// Two inputs, two outputs: left (4) and right (3) each through a Dense of 8, concatenated,
/// into a Dense of 2 and a Dense of 1. Weights: 40 + 32 + 34 + 17 = 123.
fn two_by_two() -> Model {
    kiln::set_random_seed(12);
    let a = Input::named("left", [4]);
    let b = Input::named("right", [3]);
    let ha = Dense::new(8).activation("relu").name("left_dense").apply(&a).unwrap();
    let hb = Dense::new(8).activation("tanh").name("right_dense").apply(&b).unwrap();
    let c = Concatenate::new().name("joined").apply_list(&[&ha, &hb]).unwrap();
    let o1 = Dense::new(2).activation("softmax").name("class_out").apply(&c).unwrap();
    let o2 = Dense::new(1).name("value_out").apply(&c).unwrap();
    Model::new(&[&a, &b], &[&o1, &o2]).unwrap().with_name("two_by_two")
}

/// A shared Dense applied to two inputs, their difference, a head.
fn siamese() -> Model {
    kiln::set_random_seed(13);
    let a = Input::named("first", [5]);
    let b = Input::named("second", [5]);
    let shared = Dense::new(4).activation("tanh").name("shared_dense");
    let (ya, yb) = (shared.apply(&a).unwrap(), shared.apply(&b).unwrap());
    let d = Subtract::new().name("difference").apply_list(&[&ya, &yb]).unwrap();
    let out = Dense::new(1)
        .activation("sigmoid")
        .name("similarity")
        .apply(&d)
        .unwrap();
    Model::new(&[&a, &b], &[&out]).unwrap().with_name("siamese")
}

/// Token ids (int32) through an Embedding.
fn embedding() -> Model {
    kiln::set_random_seed(14);
    let tokens = Input::with_dtype([6], DType::I32);
    let e = Embedding::new(20, 4).name("embed").apply(&tokens).unwrap();
    let p = GlobalAveragePooling1D::new().apply(&e).unwrap();
    let y = Dense::new(1).name("score").apply(&p).unwrap();
    Model::new(&[&tokens], &[&y]).unwrap()
}

fn save(model: &Model, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    model.save(&path).unwrap();
    path
}

// ---------------------------------------------------------------------------------------
// summary

#[test]
fn summary_prints_the_layer_rows_and_hand_counted_params() {
    let d = dir("summary");
    let path = save(&cnn(), &d, "cnn.kiln");
    let text = stdout(&kiln(&["summary", s(&path)]));
    assert!(text.starts_with("Model: \"small_cnn\"\n"), "{text}");
    for row in [
        "conv_a (Conv2D)",
        "(None, 26, 26, 8)",
        "pool (MaxPooling2D)",
        "(None, 13, 13, 8)",
        "conv_b (Conv2D)",
        "(None, 11, 11, 16)",
        "flat (Flatten)",
        "(None, 1936)",
        "head (Dense)",
        "(None, 10)",
    ] {
        assert!(text.contains(row), "{row} missing from:\n{text}");
    }
    let params = |layer: &str| {
        let line = text.lines().find(|l| l.contains(layer)).unwrap();
        line.split('│').nth(3).unwrap().trim().to_string()
    };
    assert_eq!(params("conv_a (Conv2D)"), "80");
    assert_eq!(params("pool (MaxPooling2D)"), "0");
    assert_eq!(params("conv_b (Conv2D)"), "1,168");
    assert_eq!(params("head (Dense)"), "19,370");
    // 20,618 weights of 4 bytes: 82,472 B = 80.54 KB.
    assert!(text.contains(" Total params: 20,618 (80.54 KB)\n"), "{text}");
    assert!(text.contains(" Non-trainable params: 0 (0.00 B)\n"), "{text}");
}

#[test]
fn summary_of_a_functional_model_shows_connections() {
    let d = dir("summary_functional");
    let path = save(&two_by_two(), &d, "two.kiln");
    let text = stdout(&kiln(&["summary", s(&path)]));
    assert!(text.contains("Connected to"), "{text}");
    assert!(
        text.contains("left_dense[0][0], right_dense[0][0]") || text.contains("left_dense[0][0],"),
        "{text}"
    );
    assert!(text.contains(" Total params: 123 (492.00 B)\n"), "{text}");
}

// ---------------------------------------------------------------------------------------
// predict

#[test]
fn predict_equals_model_predict_in_process() {
    let d = dir("predict");
    let model = cnn();
    let path = save(&model, &d, "cnn.kiln");
    let x = floats(&[5, 28, 28, 1], 1);
    npy::write(d.join("x.npy"), &x).unwrap();
    let y_path = d.join("y.npy");
    let text = stdout(&kiln(&[
        "predict",
        s(&path),
        "--input",
        s(&d.join("x.npy")),
        "--output",
        s(&y_path),
        "--batch-size",
        "2",
    ]));
    assert_eq!(text, format!("{}: (5, 10) float32\n", y_path.display()));
    let y = npy::read(&y_path).unwrap();
    let loaded = Model::load(&path, &cpu()).unwrap();
    assert_close(&y, &loaded.predict(&x).unwrap(), 1e-6);
    assert_close(&y, &model.predict(&x).unwrap(), 1e-5);
    // Softmax rows sum to one.
    for row in y.to_f32().chunks(10) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn predict_with_two_inputs_and_two_outputs_keeps_their_order() {
    let d = dir("predict_multi");
    let model = two_by_two();
    let path = save(&model, &d, "two.kiln");
    let (xa, xb) = (floats(&[3, 4], 2), floats(&[3, 3], 3));
    npy::write(d.join("a.npy"), &xa).unwrap();
    npy::write(d.join("b.npy"), &xb).unwrap();
    stdout(&kiln(&[
        "predict",
        s(&path),
        "-i",
        s(&d.join("a.npy")),
        "-i",
        s(&d.join("b.npy")),
        "-o",
        s(&d.join("class.npy")),
        "-o",
        s(&d.join("value.npy")),
        "--device",
        "cpu",
    ]));
    let want = model.predict_multi(vec![xa, xb], PredictOptions::default()).unwrap();
    let class = npy::read(d.join("class.npy")).unwrap();
    let value = npy::read(d.join("value.npy")).unwrap();
    assert_eq!((class.shape(), value.shape()), (&[3usize, 2][..], &[3usize, 1][..]));
    assert_close(&class, &want[0], 1e-5);
    assert_close(&value, &want[1], 1e-5);
}

#[test]
fn predict_takes_int32_token_ids_and_refuses_floats_for_them() {
    let d = dir("predict_int");
    let model = embedding();
    let path = save(&model, &d, "emb.kiln");
    let ids = Tensor::from_i32((0..12).map(|i| (i * 7) % 20).collect(), [2, 6]).unwrap();
    npy::write(d.join("ids.npy"), &ids).unwrap();
    stdout(&kiln(&[
        "predict",
        s(&path),
        "-i",
        s(&d.join("ids.npy")),
        "-o",
        s(&d.join("y.npy")),
    ]));
    assert_close(
        &npy::read(d.join("y.npy")).unwrap(),
        &model.predict(&ids).unwrap(),
        1e-5,
    );
    let floats_path = d.join("float_ids.npy");
    npy::write(&floats_path, &ids.cast(DType::F32)).unwrap();
    let out = kiln(&["predict", s(&path), "-i", s(&floats_path), "-o", s(&d.join("y2.npy"))]);
    assert_error(&out, s(&floats_path), "holds float data but the model's input");
    assert!(!d.join("y2.npy").exists());
}

#[test]
fn predict_input_problems_name_the_file() {
    let d = dir("predict_errors");
    let path = save(&two_by_two(), &d, "two.kiln");
    let a = d.join("a.npy");
    let b = d.join("b.npy");
    npy::write(&a, &floats(&[3, 4], 1)).unwrap();
    npy::write(&b, &floats(&[3, 3], 2)).unwrap();
    let y = |n: &str| d.join(n).to_str().unwrap().to_string();
    let (y1, y2) = (y("y1.npy"), y("y2.npy"));
    // Wrong number of inputs / outputs.
    let out = kiln(&["predict", s(&path), "-i", s(&a), "-o", &y1, "-o", &y2]);
    assert_error(
        &out,
        s(&path),
        "the model takes 2 inputs (left, right) but 1 --input file was given",
    );
    let out = kiln(&["predict", s(&path), "-i", s(&a), "-i", s(&b), "-o", &y1]);
    assert_error(
        &out,
        s(&path),
        "the model gives 2 outputs (class_out, value_out) but 1 --output file was given",
    );
    // Inputs swapped: shapes do not fit.
    let out = kiln(&["predict", s(&path), "-i", s(&b), "-i", s(&a), "-o", &y1, "-o", &y2]);
    assert_error(
        &out,
        s(&b),
        "shape (3, 3) does not fit the model's input 'left', which takes float32 (None, 4)",
    );
    // Different sample counts.
    let b5 = d.join("b5.npy");
    npy::write(&b5, &floats(&[5, 3], 2)).unwrap();
    let out = kiln(&["predict", s(&path), "-i", s(&a), "-i", s(&b5), "-o", &y1, "-o", &y2]);
    assert_error(&out, s(&b5), "holds 5 samples but");
    // Missing, garbage and unsupported .npy files.
    let missing = d.join("missing.npy");
    let out = kiln(&[
        "predict",
        s(&path),
        "-i",
        s(&missing),
        "-i",
        s(&b),
        "-o",
        &y1,
        "-o",
        &y2,
    ]);
    assert_error(&out, s(&missing), "cannot read the file");
    let garbage = d.join("garbage.npy");
    std::fs::write(&garbage, b"this is not numpy").unwrap();
    let out = kiln(&[
        "predict",
        s(&path),
        "-i",
        s(&garbage),
        "-i",
        s(&b),
        "-o",
        &y1,
        "-o",
        &y2,
    ]);
    assert_error(&out, s(&garbage), "not a NumPy .npy file");
    let f16 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kiln/tests/data/npy/f16_2.npy");
    let out = kiln(&["predict", s(&path), "-i", s(&f16), "-i", s(&b), "-o", &y1, "-o", &y2]);
    assert_error(&out, s(&f16), "dtype '<f2' (float16) is not supported");
    // A bad device.
    let out = kiln(&[
        "predict",
        s(&path),
        "-i",
        s(&a),
        "-i",
        s(&b),
        "-o",
        &y1,
        "-o",
        &y2,
        "--device",
        "tpu",
    ]);
    assert_error(&out, "--device tpu", "unknown device 'tpu'");
    assert!(!Path::new(&y1).exists() && !Path::new(&y2).exists());
}

#[test]
fn bad_model_files_are_one_line_errors() {
    let d = dir("bad_models");
    let missing = d.join("nope.kiln");
    assert_error(&kiln(&["summary", s(&missing)]), s(&missing), "cannot read the file");
    let garbage = d.join("garbage.kiln");
    std::fs::write(&garbage, [0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    assert_error(&kiln(&["summary", s(&garbage)]), s(&garbage), "not a Kiln model file");
    let x = d.join("x.npy");
    npy::write(&x, &floats(&[1, 4], 0)).unwrap();
    let out = kiln(&["predict", s(&garbage), "-i", s(&x), "-o", s(&d.join("y.npy"))]);
    assert_error(&out, s(&garbage), "not a Kiln model file");
    let out = kiln(&["plot", s(&garbage), "-o", s(&d.join("g.svg"))]);
    assert_error(&out, s(&garbage), "not a Kiln model file");
    let out = kiln(&["convert", s(&garbage), s(&d.join("g.kiln"))]);
    assert_error(&out, s(&garbage), "not a Kiln model file");
}

#[test]
fn usage_errors_exit_with_status_2() {
    for args in [
        &[][..],
        &["summary"][..],
        &["predict", "m.kiln", "-o", "y.npy"][..],
        &["predict", "m.kiln", "-i", "x.npy", "-o", "y.npy", "--batch-size", "0"][..],
        &["plot", "m.kiln"][..],
        &["frobnicate"][..],
    ] {
        let out = kiln(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(stdout(&kiln(&["--help"])).contains("predict"));
}

// ---------------------------------------------------------------------------------------
// convert

#[test]
fn convert_to_kiln_keeps_predictions_and_refuses_unknown_formats() {
    let d = dir("convert");
    let model = two_by_two();
    let path = save(&model, &d, "two.kiln");
    let copy = d.join("copy.kiln");
    stdout(&kiln(&["convert", s(&path), s(&copy)]));
    let x = vec![floats(&[2, 4], 5), floats(&[2, 3], 6)];
    let a = Model::load(&path, &cpu())
        .unwrap()
        .predict_multi(x.clone(), PredictOptions::default())
        .unwrap();
    let b = Model::load(&copy, &cpu())
        .unwrap()
        .predict_multi(x, PredictOptions::default())
        .unwrap();
    assert_eq!(a, b);
    let txt = d.join("model.txt");
    assert_error(
        &kiln(&["convert", s(&path), s(&txt)]),
        s(&txt),
        "cannot tell the format",
    );
    let h5 = d.join("model.h5");
    assert_error(
        &kiln(&["convert", s(&path), s(&h5)]),
        s(&h5),
        "does not write legacy Keras .h5",
    );
}

/// kiln → keras → kiln gives the same predictions (and the .keras file itself does).
#[test]
fn convert_kiln_keras_kiln_keeps_predictions() {
    let d = dir("convert_keras");
    let model = cnn();
    let path = save(&model, &d, "cnn.kiln");
    let keras = d.join("cnn.keras");
    assert_eq!(
        stdout(&kiln(&["convert", s(&path), s(&keras)])),
        format!("{} -> {}\n", path.display(), keras.display())
    );
    let back = d.join("back.kiln");
    stdout(&kiln(&["convert", s(&keras), s(&back)]));
    let x = floats(&[3, 28, 28, 1], 9);
    let want = Model::load(&path, &cpu()).unwrap().predict(&x).unwrap();
    assert_eq!(Model::load(&back, &cpu()).unwrap().predict(&x).unwrap(), want);
    assert_eq!(Model::load(&keras, &cpu()).unwrap().predict(&x).unwrap(), want);
}

// ---------------------------------------------------------------------------------------
// plot

/// The text of every `<text>` element and every `<title>` of an SVG, parsed strictly.
fn svg_texts(svg: &str) -> (Vec<String>, Vec<String>, usize) {
    use xml::reader::{EventReader, XmlEvent};
    let (mut texts, mut titles, mut paths) = (Vec::new(), Vec::new(), 0);
    let mut stack: Vec<String> = Vec::new();
    let mut current = String::new();
    for event in EventReader::new(svg.as_bytes()) {
        match event.expect("the SVG is well-formed XML") {
            XmlEvent::StartElement { name, .. } => {
                if stack.is_empty() {
                    assert_eq!(name.local_name, "svg");
                    assert_eq!(name.namespace.as_deref(), Some("http://www.w3.org/2000/svg"));
                }
                if name.local_name == "path" {
                    paths += 1;
                }
                if name.local_name == "text" || name.local_name == "title" {
                    current.clear();
                }
                stack.push(name.local_name);
            }
            XmlEvent::Characters(c) => current.push_str(&c),
            XmlEvent::EndElement { name } => {
                stack.pop();
                match name.local_name.as_str() {
                    "text" => texts.push(current.clone()),
                    "title" => titles.push(current.clone()),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    (texts, titles, paths)
}

fn plot(model: &Model, name: &str) -> (String, String) {
    let d = dir(&format!("plot_{name}"));
    let path = save(model, &d, "model.kiln");
    let svg = d.join(format!("{name}.svg"));
    let dot = d.join(format!("{name}.dot"));
    assert_eq!(
        stdout(&kiln(&["plot", s(&path), "-o", s(&svg)])),
        format!("{}\n", svg.display())
    );
    stdout(&kiln(&["plot", s(&path), "--output", s(&dot)]));
    (
        std::fs::read_to_string(svg).unwrap(),
        std::fs::read_to_string(dot).unwrap(),
    )
}

#[test]
fn plot_of_a_sequential_cnn() {
    let (svg, dot) = plot(&cnn(), "cnn");
    let (texts, titles, paths) = svg_texts(&svg);
    let layers = ["conv_a", "pool", "conv_b", "flat", "drop", "head"];
    for (name, class) in layers
        .iter()
        .zip(["Conv2D", "MaxPooling2D", "Conv2D", "Flatten", "Dropout", "Dense"])
    {
        assert!(titles.contains(&name.to_string()), "{name}: {titles:?}");
        assert!(texts.contains(&format!("{name} ({class})")), "{name}: {texts:?}");
        assert!(dot.contains(&format!("\"{name}\" [label=<<table")), "{dot}");
    }
    // A Sequential model has no input box (as in Keras): six boxes, five arrows.
    assert_eq!(titles.len(), 1 + 6);
    assert_eq!(paths, 5);
    assert!(
        texts.contains(&"Input shape: (None, 28, 28, 1)".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"Output shape: (None, 26, 26, 8)".to_string()),
        "{texts:?}"
    );
    assert_eq!(dot.matches(" -> ").count(), 5);
    assert!(dot.contains("\"conv_a\" -> \"pool\" [penwidth=2];"), "{dot}");
}

#[test]
fn plot_of_two_inputs_and_two_outputs() {
    let (svg, dot) = plot(&two_by_two(), "two_by_two");
    let (texts, titles, paths) = svg_texts(&svg);
    for name in [
        "left",
        "right",
        "left_dense",
        "right_dense",
        "joined",
        "class_out",
        "value_out",
    ] {
        assert!(titles.contains(&name.to_string()), "{name}: {titles:?}");
    }
    assert!(texts.contains(&"left (InputLayer)".to_string()), "{texts:?}");
    assert!(
        texts.contains(&"Input shape: [(None, 8), (None, 8)]".to_string()),
        "{texts:?}"
    );
    // left→left_dense, right→right_dense, both → joined, joined → each output.
    assert_eq!(paths, 6);
    assert_eq!(dot.matches(" -> ").count(), 6);
}

#[test]
fn plot_draws_a_shared_layer_once() {
    let (svg, dot) = plot(&siamese(), "siamese");
    let (_, titles, paths) = svg_texts(&svg);
    assert_eq!(titles.iter().filter(|t| *t == "shared_dense").count(), 1);
    // first→shared, second→shared, shared→difference (once), difference→similarity.
    assert_eq!(paths, 4);
    assert_eq!(dot.matches(" -> ").count(), 4);
}

#[test]
fn plot_refuses_other_formats() {
    let d = dir("plot_png");
    let path = save(&siamese(), &d, "m.kiln");
    let png = d.join("graph.png");
    assert_error(
        &kiln(&["plot", s(&path), "-o", s(&png)]),
        s(&png),
        "cannot plot to '.png' files",
    );
}

#[test]
fn plot_of_a_residual_block_routes_the_skip_around() {
    kiln::set_random_seed(15);
    let x = Input::named("features", [8]);
    let h = Dense::new(8).activation("relu").name("block_1").apply(&x).unwrap();
    let h = Dense::new(8).activation("relu").name("block_2").apply(&h).unwrap();
    let h = Dense::new(8).name("block_3").apply(&h).unwrap();
    let sum = Add::new().name("residual").apply_list(&[&x, &h]).unwrap();
    let out = Dense::new(2).name("logits").apply(&sum).unwrap();
    let model = Model::new(&[&x], &[&out]).unwrap();
    let (svg, dot) = plot(&model, "residual");
    let (_, titles, paths) = svg_texts(&svg);
    assert_eq!(titles.len(), 1 + 6);
    // features→block_1→block_2→block_3→residual→logits, and features→residual.
    assert_eq!(paths, 6);
    assert_eq!(dot.matches(" -> ").count(), 6);
    assert!(dot.contains("\"features\" -> \"residual\" [penwidth=2];"), "{dot}");
}

#[test]
fn plot_of_a_layer_applied_to_its_own_output() {
    kiln::set_random_seed(16);
    let x = Input::named("start", [5]);
    let step = Dense::new(5).activation("tanh").name("step");
    let y = step.apply(&x).unwrap();
    let z = step.apply(&y).unwrap();
    let model = Model::new(&[&x], &[&z]).unwrap();
    let (svg, dot) = plot(&model, "loop");
    let (_, titles, paths) = svg_texts(&svg);
    assert_eq!(titles.len(), 1 + 2);
    assert_eq!(paths, 2);
    assert!(dot.contains("\"step\" -> \"step\" [penwidth=2];"), "{dot}");
}

// ---------------------------------------------------------------------------------------
// Keras's own files (tests/keras/make_keras_files.py): `kiln predict` gives Keras's outputs.

#[test]
fn predict_on_keras_golden_files_matches_keras() {
    let files = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/keras/goldens/files");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(files.join("manifest.json")).unwrap()).unwrap();
    let d = dir("keras_goldens");
    let mut checked = 0;
    for case in manifest["models"].as_array().unwrap() {
        let names = |key: &str| -> Vec<PathBuf> {
            case[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| files.join(n.as_str().unwrap()))
                .collect()
        };
        let (inputs, outputs) = (names("inputs"), names("outputs"));
        for key in ["keras", "h5"] {
            let Some(model) = case[key].as_str() else { continue };
            let mut args = vec!["predict".to_string(), s(&files.join(model)).to_string()];
            for x in &inputs {
                args.extend(["-i".to_string(), s(x).to_string()]);
            }
            let got: Vec<PathBuf> = (0..outputs.len()).map(|k| d.join(format!("{model}.{k}.npy"))).collect();
            for y in &got {
                args.extend(["-o".to_string(), s(y).to_string()]);
            }
            let out = kiln(&args.iter().map(String::as_str).collect::<Vec<_>>());
            stdout(&out);
            for (want, got) in outputs.iter().zip(&got) {
                let (want, got) = (npy::read(want).unwrap(), npy::read(got).unwrap());
                assert_eq!(want.shape(), got.shape(), "{model}");
                let worst = want
                    .to_f32()
                    .iter()
                    .zip(got.to_f32())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(worst <= 1e-5, "{model}: worst difference {worst}");
            }
            checked += 1;
            let text = stdout(&kiln(&["summary", s(&files.join(model))]));
            assert!(
                text.starts_with("Model: \"") && text.contains(" Total params: "),
                "{text}"
            );
        }
    }
    // Four models as .keras, three of them also as legacy .h5.
    assert_eq!(checked, 7);
}
