//! The parity suite as tests: each fails on any failed case and prints which, with the
//! case's graph and inputs. `cargo test -p kiln-parity --features wgpu,tch` adds backends.

use kiln_parity::{Report, discover, layer_cases, op_cases, run_cases, run_goldens};

fn check(report: &Report) {
    println!("{}", report.render());
    let failures = report.failures();
    assert!(
        failures.is_empty(),
        "{} parity check(s) failed:\n{}",
        failures.len(),
        report.failure_text()
    );
}

#[test]
fn every_op_matches_ndarray_on_every_backend() {
    let backends = discover();
    let mut report = Report::new(backends.clone());
    report.add(run_cases(&op_cases(), &backends));
    check(&report);
}

#[test]
fn every_layer_matches_ndarray_on_every_backend() {
    let backends = discover();
    let mut report = Report::new(backends.clone());
    report.add(run_cases(&layer_cases(), &backends));
    check(&report);
}

#[test]
fn keras_training_goldens_match_on_every_backend() {
    let backends = discover();
    let mut report = Report::new(backends.clone());
    report.add(run_goldens(&backends));
    assert_eq!(report.records.iter().filter(|r| r.backend == "ndarray").count(), 10);
    check(&report);
}
