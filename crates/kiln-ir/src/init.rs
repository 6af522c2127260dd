//! Weight initializers, drawn on the host from a seed (Keras's formulas).

use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// How a parameter's initial value is drawn. Names and formulas follow
/// `keras.initializers`; the variance-scaling family uses Keras's fans.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Initializer {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// Every element `value`.
    Constant {
        /// The value.
        value: f32,
    },
    /// Normal with `mean` and `stddev`.
    RandomNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        stddev: f32,
    },
    /// Uniform in `[minval, maxval)`.
    RandomUniform {
        /// Lower bound.
        minval: f32,
        /// Upper bound.
        maxval: f32,
    },
    /// Normal with `mean` and `stddev`, redrawn beyond two standard deviations.
    TruncatedNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        stddev: f32,
    },
    /// Uniform in `±sqrt(6 / (fan_in + fan_out))`.
    GlorotUniform,
    /// Truncated normal with `stddev = sqrt(2 / (fan_in + fan_out))`.
    GlorotNormal,
    /// Truncated normal with `stddev = sqrt(2 / fan_in)`.
    HeNormal,
    /// Uniform in `±sqrt(6 / fan_in)`.
    HeUniform,
    /// Truncated normal with `stddev = sqrt(1 / fan_in)`.
    LecunNormal,
    /// Uniform in `±sqrt(3 / fan_in)`.
    LecunUniform,
}

/// Keras's `compute_fans`: `(fan_in, fan_out)` of a weight shape.
pub fn compute_fans(shape: &[usize]) -> (f64, f64) {
    match shape {
        [] => (1.0, 1.0),
        [n] => (*n as f64, *n as f64),
        [a, b] => (*a as f64, *b as f64),
        _ => {
            let r = shape.len();
            let receptive: usize = shape[..r - 2].iter().product();
            ((shape[r - 2] * receptive) as f64, (shape[r - 1] * receptive) as f64)
        }
    }
}

/// Stddev correction of a normal truncated at two standard deviations (Keras's constant).
const TRUNCATED_STDDEV_CORRECTION: f64 = 0.879_625_661_034_239_8;

enum Mode {
    FanIn,
    FanAvg,
}

impl Initializer {
    /// The Keras name (`glorot_uniform`, `zeros`, …).
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("class").and_then(|c| c.as_str()).map(str::to_string))
            .unwrap_or_default()
    }

    /// Draws a tensor of `shape`, row-major, from `rng`.
    pub fn sample(&self, shape: &[usize], rng: &mut Rng) -> Vec<f32> {
        let n: usize = shape.iter().product();
        let (fan_in, fan_out) = compute_fans(shape);
        let fan = |mode: Mode| -> f64 {
            match mode {
                Mode::FanIn => fan_in.max(1.0),
                Mode::FanAvg => ((fan_in + fan_out) / 2.0).max(1.0),
            }
        };
        let uniform = |rng: &mut Rng, limit: f64| -> Vec<f32> {
            (0..n).map(|_| ((rng.uniform() * 2.0 - 1.0) * limit) as f32).collect()
        };
        let truncated = |rng: &mut Rng, stddev: f64| -> Vec<f32> {
            (0..n).map(|_| (rng.truncated_normal() * stddev) as f32).collect()
        };
        let scaled_truncated = |rng: &mut Rng, scale: f64, mode: Mode| -> Vec<f32> {
            truncated(rng, (scale / fan(mode)).sqrt() / TRUNCATED_STDDEV_CORRECTION)
        };
        match self {
            Initializer::Zeros => vec![0.0; n],
            Initializer::Ones => vec![1.0; n],
            Initializer::Constant { value } => vec![*value; n],
            Initializer::RandomNormal { mean, stddev } => {
                (0..n).map(|_| (rng.normal() * *stddev as f64) as f32 + mean).collect()
            }
            Initializer::RandomUniform { minval, maxval } => (0..n)
                .map(|_| minval + (rng.uniform() as f32) * (maxval - minval))
                .collect(),
            Initializer::TruncatedNormal { mean, stddev } => (0..n)
                .map(|_| (rng.truncated_normal() * *stddev as f64) as f32 + mean)
                .collect(),
            Initializer::GlorotUniform => uniform(rng, (3.0 / fan(Mode::FanAvg)).sqrt()),
            Initializer::GlorotNormal => scaled_truncated(rng, 1.0, Mode::FanAvg),
            Initializer::HeNormal => scaled_truncated(rng, 2.0, Mode::FanIn),
            Initializer::HeUniform => uniform(rng, (6.0 / fan(Mode::FanIn)).sqrt()),
            Initializer::LecunNormal => scaled_truncated(rng, 1.0, Mode::FanIn),
            Initializer::LecunUniform => uniform(rng, (3.0 / fan(Mode::FanIn)).sqrt()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(v: &[f32]) -> (f64, f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let max = v.iter().map(|x| x.abs() as f64).fold(0.0, f64::max);
        (mean, var.sqrt(), max)
    }

    #[test]
    fn glorot_uniform_respects_its_limit() {
        let v = Initializer::GlorotUniform.sample(&[100, 64], &mut Rng::new(0));
        let limit = (6.0f64 / 164.0).sqrt();
        let (mean, std, max) = stats(&v);
        assert!(max <= limit);
        assert!(mean.abs() < 0.01);
        // A uniform on ±limit has stddev limit/sqrt(3).
        assert!((std - limit / 3f64.sqrt()).abs() < 0.01, "{std}");
    }

    #[test]
    fn he_normal_has_keras_stddev() {
        let v = Initializer::HeNormal.sample(&[400, 300], &mut Rng::new(1));
        let (_, std, max) = stats(&v);
        let expected = (2.0f64 / 400.0).sqrt();
        assert!((std - expected).abs() / expected < 0.02, "{std} vs {expected}");
        assert!(max <= 2.0 * expected / TRUNCATED_STDDEV_CORRECTION + 1e-6);
    }

    #[test]
    fn fans_follow_keras() {
        assert_eq!(compute_fans(&[3, 3, 8, 16]), (72.0, 144.0));
        assert_eq!(compute_fans(&[5]), (5.0, 5.0));
    }

    #[test]
    fn names() {
        assert_eq!(Initializer::GlorotUniform.name(), "glorot_uniform");
        assert_eq!(Initializer::Constant { value: 1.0 }.name(), "constant");
    }
}
