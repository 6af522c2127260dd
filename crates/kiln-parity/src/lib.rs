//! Kiln's backend-parity suite.
//!
//! Every IR op and every layer, forward and gradient, and the Keras training goldens run on
//! every compiled backend; each backend is compared with ndarray, and the goldens also with
//! Keras. The parts:
//!
//! - [`spec`]: the one table of tolerances and gradient policies ([`op_spec`], exhaustive
//!   over [`kiln_ir::Op`]) and the [known failures](spec::KNOWN_FAILURES).
//! - [`ops`] and [`layers`]: the registry of cases. A new op variant fails to compile until
//!   it has samples; a new layer or op kind fails the registry tests until it has some.
//! - [`Case::gradient_problem`]: the gradient of a case is read from one SGD step at
//!   learning rate 1 on `loss = Σ reduce_sum(output · fixed random weights)` with the float
//!   inputs made trainable parameters: `gradient = before − after`.
//! - [`run_cases`], [`run_goldens`] and [`Report`]: running, comparing and the summary.
//!
//! ```no_run
//! let report = kiln_parity::run_all(None);
//! println!("{}", report.render());
//! assert!(report.failures().is_empty());
//! ```
//!
//! `just parity` (or `cargo run -p kiln-parity --features wgpu,tch --bin parity`) prints the
//! summary; `cargo test -p kiln-parity` runs the same cases as tests.

mod backends;
mod case;
mod goldens;
pub mod layers;
pub mod ops;
mod report;
mod run;
pub mod spec;

pub use backends::{Backend, Backends, Unavailable, discover};
pub use case::{Case, GRADIENT_OPTIMIZER, GradientProblem, Suite};
pub use goldens::{golden_runs, run_goldens, run_goldens_matching};
pub use layers::{LayerSample, layer_cases, layer_samples};
pub use ops::{op_cases, prototypes};
pub use report::{Counts, Report};
pub use run::{Diff, Outcome, Phase, Record, compare, forward, gradient, run_cases};
pub use spec::{Gradient, KnownFailure, OpSpec, Tolerance, known_failure, op_spec};

/// Runs the whole suite (ops, layers, training goldens) on every backend found. With a
/// `filter`, only cases whose name contains it.
pub fn run_all(filter: Option<&str>) -> Report {
    let backends = discover();
    let keep = |name: &str| filter.is_none_or(|f| name.contains(f));
    let mut report = Report::new(backends.clone());
    let ops: Vec<Case> = op_cases().into_iter().filter(|c| keep(&c.name)).collect();
    report.add(run_cases(&ops, &backends));
    let layers: Vec<Case> = layer_cases().into_iter().filter(|c| keep(&c.name)).collect();
    report.add(run_cases(&layers, &backends));
    report.add(run_goldens_matching(&backends, keep));
    report
}
