//! Running the `kiln` binary in tests, and checking how it fails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `kiln ARGS` with the default device `cpu`.
pub fn kiln(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .env("KILN_DEVICE", "cpu")
        .output()
        .unwrap()
}

/// The standard output of a run that must have succeeded.
pub fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "kiln failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Asserts exit status 1 and one line on stderr `kiln: error: FILE: …` containing `message`.
pub fn assert_error(out: &Output, file: &str, message: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(err.ends_with('\n'), "{err}");
    assert!(err.starts_with(&format!("kiln: error: {file}: ")), "{err}");
    assert!(err.contains(message), "expected '{message}' in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A fresh directory `group/name` under the test target's temp dir.
pub fn fresh_dir(group: &str, name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(group).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `p` as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
