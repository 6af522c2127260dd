//! Whole Keras model configs ⇄ Kiln models, against Keras 3 (`tests/keras/goldens/model_configs/`,
//! made by `tests/keras/make_model_configs.py`): every config (Keras 3's `to_json`, Keras 3's
//! legacy `.h5` `model_config`, and hand-made Keras 2 variants) imports with Keras's layer
//! names, output shapes and parameter counts; export → re-import gives the same model; the
//! refusals name what they refuse. With `KILN_EXPORT_DIR` set, every exported config is
//! written there for `tests/keras/check_model_configs.py` to load into Keras.

use crate::common;

use common::*;
use kiln::keras::{model_from_keras_config, model_to_keras_config};
use kiln::prelude::*;
use serde_json::{Value, json};

fn goldens() -> Vec<(String, Value)> {
    let dir = goldens_dir().join("model_configs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the model-config goldens in {}",
        dir.display()
    );
    files
        .iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            (name, v)
        })
        .collect()
}

/// The summary table's rows as (layer name, class, output shape text), and the trainable and
/// non-trainable counts.
struct Summary {
    rows: Vec<(String, String, String)>,
    trainable: usize,
    non_trainable: usize,
}

fn parse_summary(text: &str) -> Summary {
    let mut rows = Vec::new();
    let mut cells: Vec<Vec<String>> = Vec::new();
    let flush = |cells: &mut Vec<Vec<String>>, rows: &mut Vec<(String, String, String)>| {
        if cells.is_empty() {
            return;
        }
        let joined: Vec<String> = cells.iter().map(|c| c.join(" ")).collect();
        cells.clear();
        if joined[0] == "Layer (type)" {
            return;
        }
        let (name, class) = joined[0].rsplit_once(" (").expect("name (Class)");
        rows.push((
            name.to_string(),
            class.trim_end_matches(')').to_string(),
            joined[1].clone(),
        ));
    };
    let mut trainable = 0;
    let mut non_trainable = 0;
    for line in text.lines() {
        if line.starts_with('│') || line.starts_with('┃') {
            let parts: Vec<String> = line
                .trim_matches(|c| c == '│' || c == '┃')
                .split(['│', '┃'])
                .map(|s| s.trim().to_string())
                .collect();
            if cells.is_empty() {
                cells = vec![Vec::new(); parts.len()];
            }
            for (c, p) in cells.iter_mut().zip(parts) {
                if !p.is_empty() {
                    c.push(p);
                }
            }
        } else {
            flush(&mut cells, &mut rows);
        }
        let count = |label: &str| {
            line.trim().strip_prefix(label).map(|r| {
                r.split(" (")
                    .next()
                    .unwrap()
                    .replace(',', "")
                    .trim()
                    .parse::<usize>()
                    .unwrap()
            })
        };
        if let Some(n) = count("Trainable params:") {
            trainable = n;
        }
        if let Some(n) = count("Non-trainable params:") {
            non_trainable = n;
        }
    }
    Summary {
        rows,
        trainable,
        non_trainable,
    }
}

fn shape_text(shape: &Value) -> String {
    let dims: Vec<String> = shape
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().map_or("None".to_string(), |n| n.to_string()))
        .collect();
    if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    }
}

/// Checks an imported model against the golden's Keras numbers; returns the failures.
fn check_against_keras(label: &str, model: &Model, golden: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    let summary = parse_summary(&model.summary_string());
    let want_t = golden["trainable_params"].as_u64().unwrap() as usize;
    let want_n = golden["non_trainable_params"].as_u64().unwrap() as usize;
    if (summary.trainable, summary.non_trainable) != (want_t, want_n) {
        failures.push(format!(
            "{label}: params trainable/non-trainable {}/{}, Keras {want_t}/{want_n}",
            summary.trainable, summary.non_trainable
        ));
    }
    for layer in golden["layers"].as_array().unwrap() {
        let name = layer["name"].as_str().unwrap();
        let class = layer["class"].as_str().unwrap();
        if class == "InputLayer" {
            continue;
        }
        let want: Vec<String> = layer["output_shapes"]
            .as_array()
            .unwrap()
            .iter()
            .map(shape_text)
            .collect();
        let want = want.join(", ");
        match summary.rows.iter().find(|r| r.0 == name) {
            None => failures.push(format!("{label}: no layer '{name}' ({class})")),
            Some((_, got_class, got)) => {
                if got_class != class || *got != want {
                    failures.push(format!(
                        "{label}: layer '{name}': {got_class} {got}, Keras {class} {want}"
                    ));
                }
            }
        }
    }
    failures
}

#[test]
fn every_keras_config_imports_with_keras_names_shapes_and_param_counts() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, golden) in goldens() {
        for key in ["config", "legacy_h5_config", "keras2_config"] {
            let Some(config) = golden.get(key) else { continue };
            let label = format!("{name} [{key}]");
            match model_from_keras_config(config) {
                Ok(model) => {
                    assert_eq!(model.name(), config["config"]["name"].as_str().unwrap(), "{label}");
                    failures.extend(check_against_keras(&label, &model, &golden));
                    checked += 1;
                }
                Err(e) => failures.push(format!("{label}: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 25, "only {checked} configs checked");
}

/// Every Kiln layer config of a model, in execution order, through its Keras export (the
/// exported config's `layers` list, re-imported): the structure to compare.
fn layer_configs(model: &Model) -> Vec<(String, Value)> {
    let config = model_to_keras_config(model).unwrap_or_else(|e| panic!("{}: {e}", model.name()));
    config["config"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["class_name"] != "InputLayer")
        .map(|l| {
            let class = l["class_name"].as_str().unwrap().to_string();
            let layer = kiln::keras::layer_from_config(&class, &l["config"]).unwrap();
            (class, layer.config())
        })
        .collect()
}

#[test]
fn export_then_import_gives_the_same_model() {
    let export_dir = std::env::var_os("KILN_EXPORT_DIR").map(std::path::PathBuf::from);
    if let Some(d) = &export_dir {
        std::fs::create_dir_all(d).unwrap();
    }
    let mut failures = Vec::new();
    for (name, golden) in goldens() {
        let model = model_from_keras_config(&golden["config"]).unwrap();
        let exported = match model_to_keras_config(&model) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: export: {e}"));
                continue;
            }
        };
        assert_eq!(exported["class_name"], golden["config"]["class_name"], "{name}");
        // The exported layer list keeps Keras's layer names, in the golden's order of layers.
        let names = |c: &Value| -> Vec<String> {
            c["config"]["layers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["class_name"] != "NotEqual")
                .map(|l| l["config"]["name"].as_str().unwrap().to_string())
                .collect()
        };
        let mut want = names(&golden["config"]);
        let mut got = names(&exported);
        want.sort();
        got.sort();
        assert_eq!(got, want, "{name}: layer names");
        if let Some(d) = &export_dir {
            std::fs::write(
                d.join(format!("{name}.json")),
                serde_json::to_string_pretty(&exported).unwrap(),
            )
            .unwrap();
        }
        let again = match model_from_keras_config(&exported) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: re-import: {e}"));
                continue;
            }
        };
        if again.summary_string() != model.summary_string() {
            failures.push(format!(
                "{name}: summaries differ:\n{}\n{}",
                model.summary_string(),
                again.summary_string()
            ));
        }
        if again.weight_names() != model.weight_names() {
            failures.push(format!("{name}: weight names differ"));
        }
        if layer_configs(&again) != layer_configs(&model) {
            failures.push(format!("{name}: layer configs differ"));
        }
        failures.extend(check_against_keras(&format!("{name} [exported]"), &again, &golden));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn kiln_built_models_export_with_call_arguments_and_masks() {
    // MultiHeadAttention with a causal mask and scores: Keras call arguments.
    let x = Input::named("x", [5, 8]);
    let mha = MultiHeadAttention::new(2, 4)
        .use_causal_mask(true)
        .return_attention_scores(true)
        .name("mha");
    let outs = mha.apply_all(&[&x, &x]).unwrap();
    let model = Model::new(&[&x], &[&outs[0], &outs[1]]).unwrap().with_name("causal");
    let config = model_to_keras_config(&model).unwrap();
    let mha_entry = &config["config"]["layers"][1];
    assert_eq!(mha_entry["config"]["name"], "mha");
    assert!(mha_entry["config"].get("use_causal_mask").is_none());
    assert_eq!(mha_entry["inbound_nodes"][0]["kwargs"]["use_causal_mask"], true);
    assert_eq!(mha_entry["inbound_nodes"][0]["kwargs"]["return_attention_scores"], true);
    let again = model_from_keras_config(&config).unwrap();
    assert_eq!(again.summary_string(), model.summary_string());
    assert_eq!(again.count_params(), 4 * (8 * 8 + 8)); // query, key, value, output: kernel 64 + bias 8 each

    // An explicit mask from a second input.
    let seq = Input::named("seq", [6, 3]);
    let keep = Input::with_dtype([6], kiln::DType::I32);
    let y = LSTM::new(4).name("lstm").apply_with_mask(&seq, &keep).unwrap();
    let model = Model::new(&[&seq, &keep], &[&y[0]]).unwrap();
    let config = model_to_keras_config(&model).unwrap();
    let lstm = config["config"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "lstm")
        .unwrap();
    assert_eq!(
        lstm["inbound_nodes"][0]["kwargs"]["mask"]["config"]["keras_history"][0],
        json!(keep.producer_name())
    );
    let again = model_from_keras_config(&config).unwrap();
    assert_eq!(again.summary_string(), model.summary_string());
}

fn refusal(config: Value) -> String {
    model_from_keras_config(&config).unwrap_err().to_string()
}

fn sequential_with(layer: Value) -> Value {
    json!({"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "x"}},
        layer
    ]}})
}

#[test]
fn refusals_name_what_they_refuse() {
    let err = refusal(sequential_with(
        json!({"class_name": "Lambda", "config": {"name": "double", "function": "4wEAAAAAAAAA"}}),
    ));
    assert!(
        err.contains("Lambda 'double'") && err.contains("never runs code"),
        "{err}"
    );
    let err = refusal(sequential_with(
        json!({"class_name": "Frobnicate", "config": {"name": "f"}}),
    ));
    assert!(err.contains("Frobnicate 'f'") && err.contains("not supported"), "{err}");
    let err = refusal(sequential_with(
        json!({"class_name": "Dense", "config": {"name": "d", "units": 2, "colour": "red"}}),
    ));
    assert!(err.contains("Dense 'd'") && err.contains("colour"), "{err}");
    let err = refusal(sequential_with(json!({"module": "my_package", "class_name": "Dense",
        "registered_name": "my_package>Dense", "config": {"name": "d", "units": 2}})));
    assert!(err.contains("Dense 'd'") && err.contains("my_package>Dense"), "{err}");
    let err = refusal(sequential_with(
        json!({"class_name": "Sequential", "config": {"name": "inner", "layers": []}}),
    ));
    assert!(
        err.contains("Sequential 'inner'") && err.contains("nested model"),
        "{err}"
    );
    let err = refusal(sequential_with(
        json!({"class_name": "Dense", "config": {"name": "d", "units": 2,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}}}),
    ));
    assert!(err.contains("Dense 'd'") && err.contains("mixed_float16"), "{err}");
    // A call argument Kiln does not take, named.
    let mut cfg = golden("model_configs/lstm_state.json")["config"].clone();
    let layers = cfg["config"]["layers"].as_array_mut().unwrap();
    let decoder = layers.iter_mut().find(|l| l["name"] == "decoder").unwrap();
    decoder["inbound_nodes"][0]["kwargs"]["initial_state"] = json!(null);
    decoder["inbound_nodes"][0]["kwargs"]["constants"] = json!(1);
    let err = refusal(cfg);
    assert!(err.contains("LSTM 'decoder'") && err.contains("constants"), "{err}");
    // A custom Kiln layer has no Keras counterpart.
    let err = model_to_keras_config(&custom_model()).unwrap_err().to_string();
    assert!(err.contains("'twice'") && err.contains("no Keras counterpart"), "{err}");
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Twice {
    name: String,
}

impl kiln::Layer for Twice {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "tests>Twice"
    }
    fn compute_output_shape(&self, inputs: &[kiln::ir::TensorType]) -> kiln::Result<Vec<kiln::ir::TensorType>> {
        Ok(inputs.to_vec())
    }
    fn emit(&self, ctx: &mut kiln::EmitContext, inputs: &[kiln::ir::ValueId]) -> kiln::Result<Vec<kiln::ir::ValueId>> {
        Ok(vec![ctx.scale(inputs[0], 2.0)?])
    }
    fn config(&self) -> Value {
        serde_json::to_value(self).unwrap()
    }
}

fn custom_model() -> Model {
    let x = Input::new([3]);
    let y = Twice { name: "twice".into() }.apply(&x).unwrap();
    Model::new(&[&x], &[&y]).unwrap()
}
