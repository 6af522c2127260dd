//! `parity [FILTER]`: runs Kiln's backend-parity suite on every compiled backend and prints
//! the summary; exits non-zero on any failure. FILTER keeps the cases whose name contains it.
//!
//! ```text
//! cargo run -p kiln-parity --features wgpu,tch --bin parity
//! cargo run -p kiln-parity --bin parity -- softmax
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let filter = std::env::args().nth(1);
    let report = kiln_parity::run_all(filter.as_deref());
    print!("{}", report.render());
    let failures = report.failures().len();
    if failures > 0 {
        println!("\n{failures} parity check(s) failed");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
