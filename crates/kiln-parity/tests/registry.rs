//! The registry is complete: every op variant and kind, and every layer, has cases.

use kiln_ir::{Activation, BinaryOp, CompareOp, DType, Op, ReduceOp, UnaryOp};
use kiln_parity::{Gradient, layer_cases, layer_samples, op_cases, prototypes};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The variant names serde knows for `T`, read from the error it gives for an unknown one
/// ("unknown variant `x`, expected one of `a`, `b`"). `tagged` is the tag field of an
/// internally tagged enum, or `None` for a unit-only enum.
fn variants<T: DeserializeOwned>(tagged: Option<&str>) -> BTreeSet<String> {
    let probe = match tagged {
        Some(tag) => json!({ tag: "no_such_variant" }),
        None => json!("no_such_variant"),
    };
    let err = serde_json::from_value::<T>(probe)
        .err()
        .expect("an unknown variant is refused")
        .to_string();
    let expected = err.split("expected").nth(1).unwrap_or_else(|| panic!("{err}"));
    let names: BTreeSet<String> = expected.split('`').skip(1).step_by(2).map(str::to_string).collect();
    assert!(!names.is_empty(), "no variant names in: {err}");
    names
}

/// The variant names the prototypes of op `op` use in their enum field `field`.
fn used(op: &str, field: &str, tag: Option<&str>) -> BTreeSet<String> {
    prototypes()
        .iter()
        .filter_map(|proto| {
            let v = serde_json::to_value(proto).ok()?;
            if v["op"] != op {
                return None;
            }
            let inner = v.get(field)?;
            match tag {
                Some(t) => inner.get(t).and_then(Value::as_str).map(str::to_string),
                None => inner.as_str().map(str::to_string),
            }
        })
        .collect()
}

#[test]
fn registry_covers_every_op_variant() {
    let ops: BTreeSet<String> = prototypes()
        .iter()
        .map(|op| serde_json::to_value(op).unwrap()["op"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<_> = variants::<Op>(Some("op")).difference(&ops).cloned().collect();
    assert!(
        missing.is_empty(),
        "Op variants without prototypes in ops.rs: {missing:?}"
    );
    for (op, field, tag, all) in [
        ("binary", "kind", None, variants::<BinaryOp>(None)),
        ("unary", "kind", None, variants::<UnaryOp>(None)),
        ("compare", "kind", None, variants::<CompareOp>(None)),
        ("reduce", "kind", None, variants::<ReduceOp>(None)),
        ("activation", "kind", Some("fn"), variants::<Activation>(Some("fn"))),
        ("cast", "to", None, variants::<DType>(None)),
    ] {
        let used = used(op, field, tag);
        let missing: Vec<_> = all.difference(&used).collect();
        assert!(
            missing.is_empty(),
            "{op} kinds without prototypes in ops.rs: {missing:?}"
        );
    }
}

#[test]
fn every_op_case_type_checks_and_is_named_once() {
    let cases = op_cases();
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    let groups: BTreeSet<&str> = cases.iter().map(|c| c.group.as_str()).collect();
    for op in prototypes() {
        assert!(groups.contains(op.name().as_str()), "{op} has no case");
    }
    for case in &cases {
        kiln_ir::verify(&case.graph).unwrap();
        if let Gradient::Check(_) = case.gradient {
            let problem = case.gradient_problem().unwrap_or_else(|e| panic!("{}: {e}", case.name));
            kiln_ir::verify(&problem.graph).unwrap();
        }
    }
}

/// The class names that layer files under `crates/kiln/src/layers/` return.
fn layer_classes_in_sources() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../kiln/src/layers");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let marker = "fn class_name(&self) -> &'static str {";
        for part in text.split(marker).skip(1) {
            let name = part.split('"').nth(1).expect("a class name literal");
            out.insert(name.to_string());
        }
    }
    out
}

#[test]
fn registry_covers_every_layer() {
    let catalogue: BTreeSet<String> = kiln::layers::catalogue().into_iter().map(str::to_string).collect();
    assert_eq!(
        catalogue,
        layer_classes_in_sources(),
        "kiln::layers::catalogue() must name every layer under crates/kiln/src/layers/"
    );
    let registered: BTreeSet<String> = layer_samples().iter().map(|s| s.class.to_string()).collect();
    let missing: Vec<_> = catalogue.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "layers without parity samples in layers.rs: {missing:?}"
    );
    let cases = layer_cases();
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names are unique");
}
