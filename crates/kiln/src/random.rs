//! The global seed, as `keras.utils.set_random_seed`.
//!
//! Initial weights, shuffling and dropout masks are drawn on the host from this seed, so
//! a program that sets it gets the same numbers on every engine.

use std::cell::Cell;

const DEFAULT_SEED: u64 = 1337;

thread_local! {
    static SEED: Cell<u64> = const { Cell::new(DEFAULT_SEED) };
    static DRAWS: Cell<u64> = const { Cell::new(0) };
}

/// Sets the seed for everything Kiln draws at random on this thread and restarts its
/// sequence.
pub fn set_random_seed(seed: u64) {
    SEED.with(|s| s.set(seed));
    DRAWS.with(|d| d.set(0));
}

/// A new seed from the sequence (each call gives a different one).
pub(crate) fn next_seed() -> u64 {
    let seed = SEED.with(Cell::get);
    let n = DRAWS.with(|d| {
        let n = d.get();
        d.set(n + 1);
        n
    });
    kiln_ir::Rng::stream(seed, n).next_u64()
}

pub(crate) fn reset() {
    DRAWS.with(|d| d.set(0));
}
