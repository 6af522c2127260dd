//! `fit`, `evaluate` and `predict` flush denormal floats to zero on the calling thread and
//! on rayon's global pool, unless `set_flush_denormals(false)` (one test: the switch is
//! process-wide).

#![cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]

use kiln::prelude::*;
use std::hint::black_box;

/// Below f32's smallest normal number (about 1.18e-38).
const TINY: f32 = 1e-39;

fn product() -> f32 {
    black_box(TINY) * black_box(1.0_f32)
}

fn pool_products() -> Vec<f32> {
    rayon::broadcast(|_| product())
}

#[test]
fn the_switch_reaches_the_calling_thread_and_the_rayon_pool() -> kiln::Result<()> {
    let mut model = Sequential::new();
    model.add(Dense::new(2).input_shape([3]))?;
    model.compile("sgd", "mse", &[])?;
    let x = Tensor::from_f32(vec![0.5; 6], [2, 3])?;
    let y = Tensor::from_f32(vec![1.0; 4], [2, 2])?;

    // Untouched, the thread keeps IEEE gradual underflow.
    assert_eq!(product(), TINY);
    // On by default, unless the environment turns it off.
    let env_off = std::env::var("KILN_FLUSH_DENORMALS").is_ok_and(|v| v.trim() == "0");
    assert_eq!(kiln::flush_denormals(), !env_off);
    kiln::set_flush_denormals(true);
    model.predict(&x)?;
    assert_eq!(product(), 0.0, "predict sets flush-to-zero on the calling thread");
    assert!(pool_products().iter().all(|&p| p == 0.0), "and on rayon's pool");

    kiln::set_flush_denormals(false);
    assert!(!kiln::flush_denormals());
    model.evaluate(&x, &y)?;
    assert_eq!(product(), TINY, "evaluate clears it when switched off");
    assert!(pool_products().iter().all(|&p| p == TINY));

    kiln::set_flush_denormals(true);
    model.fit(&x, &y, FitOptions::new().epochs(1).verbose(0))?;
    assert_eq!(product(), 0.0, "fit sets it again");
    assert!(pool_products().iter().all(|&p| p == 0.0));
    Ok(())
}
