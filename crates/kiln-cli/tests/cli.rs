//! The `kiln` binary as a user runs it.

use std::process::Command;

#[test]
fn info_lists_the_ndarray_device() {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("info")
        .env_remove("KILN_DEVICE")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("kiln {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("backends: ndarray"), "{text}");
    assert!(text.contains("  ndarray    ndarray (ndarray)"), "{text}");
    assert!(text.contains("default device: ndarray"), "{text}");
}

#[test]
fn a_bad_default_device_is_reported_not_a_crash() {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("info")
        .env("KILN_DEVICE", "tpu:0")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("default device: none (KILN_DEVICE=tpu:0: unknown device 'tpu:0'"),
        "{text}"
    );
}
