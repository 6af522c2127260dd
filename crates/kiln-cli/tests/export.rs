//! `kiln export MODEL -o model.onnx`, run as a user runs it.

use kiln::onnx::proto::ModelProto;
use kiln::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-cli-export-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn kiln(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("export")
        .args(args)
        .output()
        .unwrap()
}

fn model() -> Model {
    let inputs = Input::named("pixels", [4]);
    let x = Dense::new(3).activation("relu").name("hidden").apply(&inputs).unwrap();
    let y = Dense::new(2).activation("softmax").name("probs").apply(&x).unwrap();
    Model::new(&[&inputs], &[&y]).unwrap()
}

#[test]
fn kiln_and_keras_files_export_with_their_names_and_weights() {
    let dir = scratch("ok");
    let m = model();
    for file in ["model.kiln", "model.keras"] {
        let path = dir.join(file);
        m.save(&path).unwrap();
        let onnx = dir.join(format!("{file}.onnx"));
        let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["export".as_ref(), path.as_os_str(), "-o".as_ref(), onnx.as_os_str()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let proto = ModelProto::from_bytes(&std::fs::read(&onnx).unwrap()).unwrap();
        let g = proto.graph.unwrap();
        assert_eq!(g.input.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["pixels"]);
        assert_eq!(g.output.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["probs"]);
        let names: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["hidden/kernel", "hidden/bias", "probs/kernel", "probs/bias"]);
        let kernel = m.get_weights().unwrap()[0].to_f32();
        let bytes: Vec<u8> = kernel.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(g.initializer[0].raw_data, bytes, "{file}: the kernel's values");
    }
}

#[test]
fn a_wrong_extension_or_a_missing_model_fails_with_one_line() {
    let dir = scratch("bad");
    let path = dir.join("model.kiln");
    model().save(&path).unwrap();
    let txt = dir.join("model.txt");
    let out = kiln(&[&path, Path::new("-o"), &txt]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        format!(
            "kiln: error: {}: `kiln export` writes ONNX files; give the output the .onnx extension",
            txt.display()
        )
    );
    let missing = dir.join("missing.kiln");
    let out = kiln(&[&missing, Path::new("-o"), &dir.join("m.onnx")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("kiln: error: {}: ", missing.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
