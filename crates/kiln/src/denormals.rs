//! Flushing denormal floats to zero on the threads that run Kiln's engines, as XLA does.
//!
//! Arithmetic on denormal (subnormal) floats — magnitudes below about 1.2e-38 in f32 — is
//! tens of times slower than on normal ones on most CPUs, and training produces them (tiny
//! gradients, decaying optimizer moments). XLA, and so Keras on JAX or TensorFlow, sets
//! the CPU's flush-to-zero modes on its threads: denormal results become zero (FTZ) and
//! denormal inputs read as zero (DAZ). Kiln does the same at the start of `fit`,
//! `evaluate` and `predict`, on the calling thread and on every thread of rayon's global
//! pool, and leaves the modes set afterwards as XLA does.
//!
//! [`set_flush_denormals(false)`](set_flush_denormals), or the environment variable
//! `KILN_FLUSH_DENORMALS=0`, turns it off (IEEE-exact gradual underflow). On x86_64 the
//! switch is the FTZ and DAZ bits of MXCSR, on aarch64 the FZ bit of FPCR; on other
//! targets it does nothing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// No explicit choice yet: the environment variable decides.
const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

/// The switch as set by [`set_flush_denormals`].
static SWITCH: AtomicU8 = AtomicU8::new(UNSET);
/// The mode last applied to rayon's global pool (`UNSET` before the first time).
static POOL: AtomicU8 = AtomicU8::new(UNSET);

/// Turns flushing denormals to zero on (the default) or off for Kiln's training and
/// inference from the next `fit`, `evaluate` or `predict` on. Overrides
/// `KILN_FLUSH_DENORMALS`.
///
/// Flushing makes CPU training faster where values become tiny and matches what Keras
/// does on XLA; off, results below f32's normal range keep IEEE gradual underflow. The
/// mode stays set on the threads Kiln ran on (as XLA leaves it), so code run afterwards on
/// those threads sees it too.
pub fn set_flush_denormals(on: bool) {
    SWITCH.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// Whether denormals are flushed to zero: the last [`set_flush_denormals`], else `false`
/// when the environment variable `KILN_FLUSH_DENORMALS` is `0` (or `false`, `off`), else
/// `true`.
pub fn flush_denormals() -> bool {
    match SWITCH.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => env_default(),
    }
}

/// `KILN_FLUSH_DENORMALS`, read once per process.
fn env_default() -> bool {
    static ENV: OnceLock<bool> = OnceLock::new();
    *ENV.get_or_init(|| {
        std::env::var("KILN_FLUSH_DENORMALS")
            .map(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "off"))
            .unwrap_or(true)
    })
}

/// Applies the switch: on the calling thread every time (a register read, and a write
/// when it differs), on rayon's global pool once per process and again when the switch
/// changes.
pub(crate) fn apply() {
    let on = flush_denormals();
    set_thread(on);
    let want = if on { ON } else { OFF };
    if POOL.swap(want, Ordering::Relaxed) != want {
        rayon::broadcast(|_| set_thread(on));
    }
}

/// Sets or clears flush-to-zero (and denormals-are-zero where the CPU has it) on the
/// calling thread.
#[cfg(target_arch = "x86_64")]
pub(crate) fn set_thread(on: bool) {
    /// MXCSR bit 15: denormal results are flushed to zero.
    const FTZ: u32 = 1 << 15;
    /// MXCSR bit 6: denormal inputs are read as zero.
    const DAZ: u32 = 1 << 6;
    // SSE is part of x86_64; `_mm_getcsr`/`_mm_setcsr` are deprecated in favour of inline
    // assembly but remain the plain way to reach MXCSR.
    #[allow(deprecated)]
    // SAFETY: reading and writing MXCSR only changes this thread's floating-point modes.
    unsafe {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        let csr = _mm_getcsr();
        let new = if on { csr | FTZ | DAZ } else { csr & !(FTZ | DAZ) };
        if new != csr {
            _mm_setcsr(new);
        }
    }
}

/// Sets or clears flush-to-zero (FPCR.FZ) on the calling thread.
#[cfg(target_arch = "aarch64")]
pub(crate) fn set_thread(on: bool) {
    /// FPCR bit 24: denormal inputs and results are flushed to zero.
    const FZ: u64 = 1 << 24;
    let fpcr: u64;
    // SAFETY: reading and writing FPCR only changes this thread's floating-point modes.
    unsafe {
        std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags));
        let new = if on { fpcr | FZ } else { fpcr & !FZ };
        if new != fpcr {
            std::arch::asm!("msr fpcr, {}", in(reg) new, options(nomem, nostack, preserves_flags));
        }
    }
}

/// No flush-to-zero control on this target.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) fn set_thread(_on: bool) {}

#[cfg(all(test, any(target_arch = "x86_64", target_arch = "aarch64")))]
mod tests {
    use super::*;
    use std::hint::black_box;

    /// 1e-39 is below f32's smallest normal number (about 1.18e-38): a denormal.
    const TINY: f32 = 1e-39;

    #[test]
    fn the_thread_mode_flushes_denormal_products() {
        // Each test runs on its own thread, so this changes no other test's mode.
        set_thread(false);
        let kept = black_box(TINY) * black_box(1.0_f32);
        assert_eq!(kept, TINY, "gradual underflow keeps 1e-39");
        assert!(kept != 0.0 && !kept.is_normal());
        set_thread(true);
        assert_eq!(black_box(TINY) * black_box(1.0_f32), 0.0);
        // An exact power of two, to show flushing applies to results too: 2^-100 * 2^-30.
        assert_eq!(black_box(2f32.powi(-100)) * black_box(2f32.powi(-30)), 0.0);
        set_thread(false);
        assert_eq!(black_box(2f32.powi(-100)) * black_box(2f32.powi(-30)), 2f32.powi(-130));
    }
}
