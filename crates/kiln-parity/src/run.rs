//! Running cases on every backend and comparing each with the ndarray reference.

use crate::backends::{Backend, Backends};
use crate::case::{Case, GRADIENT_OPTIMIZER, GradientProblem, Suite};
use crate::spec::{Gradient, Tolerance, known_failure};
use kiln_burn::{Plan, Session};
use kiln_ir::HostTensor;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// What was compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The outputs, against ndarray.
    Forward,
    /// The gradients of the float operands and trainable weights, against ndarray.
    Gradient,
    /// Five training steps' losses and final weights, against Keras.
    Keras,
    /// Five training steps' losses and final weights, against ndarray.
    Training,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Forward => "forward",
            Phase::Gradient => "gradient",
            Phase::Keras => "vs Keras",
            Phase::Training => "training vs ndarray",
        })
    }
}

/// The largest difference found, and the element where it is worst against its tolerance.
#[derive(Clone, Debug, PartialEq)]
pub struct Diff {
    /// Largest `|got − want|`.
    pub max_abs: f32,
    /// Largest `|got − want| / allowed`: ≤ 1 passes.
    pub ratio: f32,
    /// Where the ratio is largest: `(tensor, flat index, got, want)`.
    pub worst: Option<(usize, usize, f32, f32)>,
}

impl Diff {
    /// No difference.
    pub const ZERO: Diff = Diff {
        max_abs: 0.0,
        ratio: 0.0,
        worst: None,
    };

    /// Whether it is within tolerance.
    pub fn passes(&self) -> bool {
        self.ratio <= 1.0
    }

    /// The worse of two diffs.
    pub fn max(self, other: Diff) -> Diff {
        let worst = if other.ratio > self.ratio {
            other.worst
        } else {
            self.worst
        };
        Diff {
            max_abs: self.max_abs.max(other.max_abs),
            ratio: self.ratio.max(other.ratio),
            worst,
        }
    }
}

/// Compares tensors element by element: shapes and element types must match.
pub fn compare(got: &[HostTensor], want: &[HostTensor], tol: Tolerance) -> Result<Diff, String> {
    if got.len() != want.len() {
        return Err(format!("{} tensors, the reference has {}", got.len(), want.len()));
    }
    let mut diff = Diff::ZERO;
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        if g.shape() != w.shape() || g.dtype() != w.dtype() {
            return Err(format!("tensor {k} is {g}, the reference is {w}"));
        }
        for (i, (a, b)) in g.to_f32().into_iter().zip(w.to_f32()).enumerate() {
            let err = if a == b || (a.is_nan() && b.is_nan()) {
                0.0
            } else {
                (a - b).abs()
            };
            let err = if err.is_nan() { f32::INFINITY } else { err };
            let allowed = tol.allowed(b);
            let ratio = if err == 0.0 {
                0.0
            } else if allowed > 0.0 {
                err / allowed
            } else {
                f32::INFINITY
            };
            diff.max_abs = diff.max_abs.max(err);
            if ratio > diff.ratio || diff.worst.is_none() && ratio > 0.0 {
                diff.ratio = ratio;
                diff.worst = Some((k, i, a, b));
            }
        }
    }
    Ok(diff)
}

/// How one comparison ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Within tolerance.
    Passed(Diff),
    /// Out of tolerance, or the backend failed to run it.
    Failed {
        /// The difference, when there were numbers to compare.
        diff: Option<Diff>,
        /// What went wrong.
        message: String,
    },
    /// Fails as a listed known failure.
    Known {
        /// The difference, when there were numbers to compare.
        diff: Option<Diff>,
        /// The known failure's reason.
        reason: &'static str,
    },
    /// Not compared, and why.
    Skipped(String),
}

impl Outcome {
    /// The difference measured, if any.
    pub fn diff(&self) -> Option<&Diff> {
        match self {
            Outcome::Passed(d) => Some(d),
            Outcome::Failed { diff, .. } | Outcome::Known { diff, .. } => diff.as_ref(),
            Outcome::Skipped(_) => None,
        }
    }
}

/// One comparison: a case, a phase, a backend and its outcome.
#[derive(Clone, Debug)]
pub struct Record {
    /// Ops, layers or goldens.
    pub suite: Suite,
    /// The summary row (op name, layer class, training run).
    pub group: String,
    /// The case's name.
    pub case: String,
    /// What was compared.
    pub phase: Phase,
    /// The device's name.
    pub backend: String,
    /// The result.
    pub outcome: Outcome,
    /// The inputs and graph, printed for failures.
    pub detail: String,
    /// A remark, e.g. that a known failure passes now.
    pub note: Option<String>,
}

/// Runs `f`, turning a panic into an error.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .map_or_else(|| "panicked".into(), |m| format!("panicked: {m}")))
    })
}

/// Runs a case's graph on `backend`; returns its outputs.
pub fn forward(case: &Case, backend: &Backend) -> Result<Vec<HostTensor>, String> {
    guard(|| {
        let plan = Plan::compile(&case.graph).map_err(|e| e.to_string())?;
        let session = Session::new(&backend.engine, &case.graph, &case.params).map_err(|e| e.to_string())?;
        session.run(&plan, &case.inputs, case.mode).map_err(|e| e.to_string())
    })
}

/// One SGD step at learning rate 1 on `backend`; returns `before − after` of every
/// trainable parameter: the gradient.
pub fn gradient(problem: &GradientProblem, case: &Case, backend: &Backend) -> Result<Vec<HostTensor>, String> {
    guard(|| {
        let plan = Plan::compile(&problem.graph).map_err(|e| e.to_string())?;
        let mut session = Session::new(&backend.engine, &problem.graph, &problem.params).map_err(|e| e.to_string())?;
        session
            .train_step(&plan, &problem.inputs, &GRADIENT_OPTIMIZER, 1.0, case.mode)
            .map_err(|e| e.to_string())?;
        let after = session.params_to_host().map_err(|e| e.to_string())?;
        problem
            .trainable
            .iter()
            .map(|&i| {
                let (b, a) = (&problem.params[i], &after[i]);
                let g = b.to_f32().iter().zip(a.to_f32()).map(|(b, a)| b - a).collect();
                HostTensor::from_f32(g, b.shape()).map_err(|e| e.to_string())
            })
            .collect()
    })
}

/// A case's inputs and graph (and for a gradient, the loss weights), for failure reports.
fn detail(case: &Case, phase: Phase, problem: Option<&GradientProblem>) -> String {
    let mut s = format!("{}", case.graph);
    for (input, t) in case.graph.inputs().iter().zip(&case.inputs) {
        s.push_str(&format!("\n  {} = {t} {:?}", input.name, t.to_f32()));
    }
    for (p, t) in case.graph.params().iter().zip(&case.params) {
        s.push_str(&format!("\n  {} = {t} {:?}", p.name, t.to_f32()));
    }
    if case.mode.training {
        s.push_str(&format!("\n  training mode, seed {}", case.mode.seed));
    }
    if let (Phase::Gradient, Some(p)) = (phase, problem) {
        let names = p.graph.inputs().iter().map(|i| i.name.as_str());
        for (name, t) in names.zip(&p.inputs).filter(|(n, _)| n.starts_with("loss_weights")) {
            s.push_str(&format!(
                "\n  gradient of sum({name} * output): {name} = {:?}",
                t.to_f32()
            ));
        }
    }
    s
}

/// The outcome of `got` against the reference `want`.
pub(crate) fn judge(
    got: Result<Vec<HostTensor>, String>,
    want: &Result<Vec<HostTensor>, String>,
    tol: Tolerance,
    what: &str,
) -> Outcome {
    let want = match want {
        Ok(w) => w,
        Err(_) => return Outcome::Skipped(format!("no {what} to compare with: it failed")),
    };
    match got.and_then(|g| compare(&g, want, tol)) {
        Ok(d) if d.passes() => Outcome::Passed(d),
        Ok(d) => {
            let (k, i, a, b) = d.worst.unwrap_or_default();
            Outcome::Failed {
                message: format!(
                    "tensor {k} element {i}: {a:e} against {what}'s {b:e}, |diff| {:.2e} > {:.2e} ({tol})",
                    (a - b).abs(),
                    tol.allowed(b)
                ),
                diff: Some(d),
            }
        }
        Err(message) => Outcome::Failed { diff: None, message },
    }
}

/// A run of the reference alone: it passes when it runs and gives finite numbers.
fn reference_outcome(result: &Result<Vec<HostTensor>, String>) -> Outcome {
    match result {
        Ok(ts) if ts.iter().any(HostTensor::has_non_finite) => Outcome::Failed {
            diff: None,
            message: "the reference gives non-finite values".into(),
        },
        Ok(_) => Outcome::Passed(Diff::ZERO),
        Err(e) => Outcome::Failed {
            diff: None,
            message: e.clone(),
        },
    }
}

struct Reference {
    forward: Result<Vec<HostTensor>, String>,
    gradient: Result<Vec<HostTensor>, String>,
    problem: Result<GradientProblem, String>,
}

/// Records of every case on one backend, given the reference results (`None` on the
/// reference itself).
fn run_backend(cases: &[Case], refs: &[Reference], backend: &Backend) -> Vec<Record> {
    let mut out = Vec::new();
    for (case, r) in cases.iter().zip(refs) {
        let forward = if backend.is_reference() {
            reference_outcome(&r.forward)
        } else {
            judge(forward(case, backend), &r.forward, case.forward, "ndarray")
        };
        let gradient = match (&case.gradient, &r.problem) {
            (Gradient::Skip(why), _) => Outcome::Skipped(why.to_string()),
            (Gradient::Check(_), Err(e)) => Outcome::Failed {
                diff: None,
                message: format!("cannot build the gradient graph: {e}"),
            },
            (Gradient::Check(_), Ok(_)) if backend.is_reference() => reference_outcome(&r.gradient),
            (Gradient::Check(tol), Ok(problem)) => {
                judge(gradient(problem, case, backend), &r.gradient, *tol, "ndarray")
            }
        };
        for (phase, outcome) in [(Phase::Forward, forward), (Phase::Gradient, gradient)] {
            let mut rec = Record {
                suite: case.suite,
                group: case.group.clone(),
                case: case.name.clone(),
                phase,
                backend: backend.name(),
                outcome,
                detail: String::new(),
                note: None,
            };
            apply_known_failures(&mut rec, backend.backend());
            if matches!(rec.outcome, Outcome::Failed { .. } | Outcome::Known { .. }) {
                rec.detail = detail(case, phase, r.problem.as_ref().ok());
            }
            out.push(rec);
        }
    }
    out
}

/// Turns a failure listed in [`KNOWN_FAILURES`](crate::spec::KNOWN_FAILURES) into a known
/// one, and notes a listed one that passes.
pub(crate) fn apply_known_failures(rec: &mut Record, backend: &str) {
    let Some(known) = known_failure(&rec.case, rec.phase, backend) else {
        return;
    };
    match &rec.outcome {
        Outcome::Failed { diff, .. } => {
            rec.outcome = Outcome::Known {
                diff: diff.clone(),
                reason: known.reason,
            }
        }
        Outcome::Passed(_) => {
            rec.note = Some(format!(
                "listed as a known failure on {backend} but passes: remove its KNOWN_FAILURES entry"
            ))
        }
        Outcome::Known { .. } | Outcome::Skipped(_) => {}
    }
}

/// The records of every case on every available backend, with each backend's time.
pub fn run_cases(cases: &[Case], backends: &Backends) -> (Vec<Record>, Vec<(String, Duration)>) {
    let Some(reference) = backends.available.iter().find(|b| b.is_reference()) else {
        return (Vec::new(), Vec::new());
    };
    let start = Instant::now();
    let refs: Vec<Reference> = cases
        .iter()
        .map(|case| {
            let problem = match case.gradient {
                Gradient::Check(_) => case.gradient_problem(),
                Gradient::Skip(why) => Err(why.to_string()),
            };
            let gradient = match &problem {
                Ok(p) => gradient(p, case, reference),
                Err(e) => Err(e.clone()),
            };
            Reference {
                forward: forward(case, reference),
                gradient,
                problem,
            }
        })
        .collect();
    let mut records = run_backend(cases, &refs, reference);
    let mut times = vec![(reference.name(), start.elapsed())];
    let others: Vec<&Backend> = backends.available.iter().filter(|b| !b.is_reference()).collect();
    let results: Vec<(Vec<Record>, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = others
            .iter()
            .map(|b| {
                let refs = &refs;
                s.spawn(move || {
                    let start = Instant::now();
                    let records = run_backend(cases, refs, b);
                    (records, start.elapsed())
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(&others)
            .map(|(h, b)| {
                h.join().unwrap_or_else(|_| {
                    let rec = Record {
                        suite: cases.first().map_or(Suite::Ops, |c| c.suite),
                        group: "(all)".into(),
                        case: "(all)".into(),
                        phase: Phase::Forward,
                        backend: b.name(),
                        outcome: Outcome::Failed {
                            diff: None,
                            message: "the backend's thread panicked".into(),
                        },
                        detail: String::new(),
                        note: None,
                    };
                    (vec![rec], Duration::ZERO)
                })
            })
            .collect()
    });
    for (b, (recs, t)) in others.iter().zip(results) {
        records.extend(recs);
        times.push((b.name(), t));
    }
    (records, times)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Vec<HostTensor> {
        vec![HostTensor::from_f32(v.to_vec(), [v.len()]).unwrap()]
    }

    #[test]
    fn compare_measures_against_the_tolerance() {
        let d = compare(&t(&[1.0, 2.0]), &t(&[1.0, 2.000_005]), Tolerance::ELEMENTWISE).unwrap();
        assert!(d.passes() && d.max_abs > 0.0 && d.ratio < 1.0, "{d:?}");
        let d = compare(&t(&[1.0, 100.0]), &t(&[1.0, 100.005]), Tolerance::REDUCTION).unwrap();
        assert!(d.passes(), "5e-5 relative is within 1e-4: {d:?}");
        let d = compare(&t(&[1.0, 2.1]), &t(&[1.0, 2.0]), Tolerance::ELEMENTWISE).unwrap();
        assert!(!d.passes());
        assert_eq!(d.worst.map(|w| w.1), Some(1));
    }

    #[test]
    fn nan_matches_only_nan_and_shapes_must_agree() {
        assert!(
            compare(&t(&[f32::NAN]), &t(&[f32::NAN]), Tolerance::EXACT)
                .unwrap()
                .passes()
        );
        assert!(
            !compare(&t(&[f32::NAN]), &t(&[0.0]), Tolerance::ELEMENTWISE)
                .unwrap()
                .passes()
        );
        assert!(compare(&t(&[1.0]), &t(&[1.0, 2.0]), Tolerance::ELEMENTWISE).is_err());
    }

    #[test]
    fn a_failure_names_the_element_and_both_values() {
        let out = judge(
            Ok(t(&[0.5, 3.0])),
            &Ok(t(&[0.5, 2.0])),
            Tolerance::ELEMENTWISE,
            "ndarray",
        );
        let Outcome::Failed { message, .. } = out else {
            panic!("{out:?}")
        };
        assert_eq!(
            message,
            "tensor 0 element 1: 3e0 against ndarray's 2e0, |diff| 1.00e0 > 1.00e-5 (abs 1e-5)"
        );
    }
}
