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
    /// Keras's `Orthogonal`: the `Q` of the QR decomposition of a normal matrix (signs
    /// fixed so `R` has a positive diagonal), for the shape flattened to
    /// `(prod(shape[..-1]), shape[-1])` (transposed when wider than tall), times `gain`.
    /// The default recurrent kernel initializer of recurrent layers.
    Orthogonal {
        /// Multiplier.
        gain: f32,
    },
    /// Consecutive blocks along the first axis, each `[len, ..rest]` drawn with its own
    /// initializer (LSTM's `unit_forget_bias`: the bias, ones for the forget gate, the bias).
    Segments {
        /// `(rows, initializer)` per block, in order.
        parts: Vec<(usize, Initializer)>,
    },
    /// Given values, row-major (statistics computed by `Normalization.adapt`); a shape of
    /// another size repeats or cuts them.
    Values {
        /// The values.
        values: Vec<f32>,
    },
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
            Initializer::Orthogonal { gain } => orthogonal(shape, *gain, rng),
            Initializer::Segments { parts } => {
                let rest = shape.get(1..).unwrap_or(&[]);
                let mut out = Vec::with_capacity(n);
                for (rows, init) in parts {
                    let mut dims = vec![*rows];
                    dims.extend_from_slice(rest);
                    out.extend(init.sample(&dims, rng));
                }
                out.resize(n, 0.0);
                out
            }
            Initializer::Values { values } if values.is_empty() => vec![0.0; n],
            Initializer::Values { values } => values.iter().copied().cycle().take(n).collect(),
        }
    }
}

/// Keras's `Orthogonal` initializer (gain times `Q` of a normal matrix's QR decomposition,
/// with `R`'s diagonal made positive); `Q` comes from Gram-Schmidt with
/// re-orthogonalization in f64, which gives that same `Q`.
fn orthogonal(shape: &[usize], gain: f32, rng: &mut Rng) -> Vec<f32> {
    let cols = shape.last().copied().unwrap_or(1);
    let rows: usize = shape.iter().rev().skip(1).product();
    let (m, k) = (rows.max(cols), rows.min(cols));
    if k == 0 {
        return Vec::new();
    }
    // `a` is m × k, row-major; orthonormalize its columns.
    let mut a: Vec<f64> = (0..m * k).map(|_| rng.normal()).collect();
    for j in 0..k {
        for _pass in 0..2 {
            for p in 0..j {
                let dot: f64 = (0..m).map(|i| a[i * k + p] * a[i * k + j]).sum();
                for i in 0..m {
                    a[i * k + j] -= dot * a[i * k + p];
                }
            }
        }
        let norm = (0..m).map(|i| a[i * k + j].powi(2)).sum::<f64>().sqrt();
        for i in 0..m {
            a[i * k + j] = if norm > 0.0 { a[i * k + j] / norm } else { 0.0 };
        }
    }
    let g = gain as f64;
    if rows < cols {
        // The result is Qᵀ (k × m).
        (0..k)
            .flat_map(|r| (0..m).map(move |c| (r, c)))
            .map(|(r, c)| (g * a[c * k + r]) as f32)
            .collect()
    } else {
        a.iter().map(|&x| (g * x) as f32).collect()
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
    fn orthogonal_rows_or_columns_are_orthonormal() {
        for (rows, cols) in [(3, 12), (12, 3), (5, 5)] {
            let v = Initializer::Orthogonal { gain: 1.0 }.sample(&[rows, cols], &mut Rng::new(4));
            assert_eq!(v.len(), rows * cols);
            // Gram matrix of the shorter side is the identity.
            let wide = rows <= cols;
            let (outer, inner) = if wide { (rows, cols) } else { (cols, rows) };
            let at = |i: usize, j: usize| if wide { v[i * cols + j] } else { v[j * cols + i] };
            for p in 0..outer {
                for q in 0..outer {
                    let dot: f32 = (0..inner).map(|t| at(p, t) * at(q, t)).sum();
                    let want = if p == q { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-5, "{rows}x{cols} [{p},{q}] = {dot}");
                }
            }
        }
        let v = Initializer::Orthogonal { gain: 2.0 }.sample(&[4, 4], &mut Rng::new(1));
        let norm: f32 = v[..4].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 2.0).abs() < 1e-5);
    }

    #[test]
    fn segments_are_drawn_block_by_block() {
        let init = Initializer::Segments {
            parts: vec![(2, Initializer::Zeros), (2, Initializer::Ones), (4, Initializer::Zeros)],
        };
        let v = init.sample(&[8], &mut Rng::new(0));
        assert_eq!(v, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(init.name(), "segments");
    }

    #[test]
    fn names() {
        assert_eq!(Initializer::GlorotUniform.name(), "glorot_uniform");
        assert_eq!(Initializer::Constant { value: 1.0 }.name(), "constant");
    }
}
