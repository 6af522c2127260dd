//! The `kiln` binary as a user runs it.

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
