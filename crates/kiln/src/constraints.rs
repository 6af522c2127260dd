//! Weight constraints (`keras.constraints`) by Keras name or in full.

use crate::error::{KilnError, Result};
use serde::{Deserialize, Serialize};

/// A constraint as a layer argument. Axes are Keras's `axis` (negative counts from the
/// end) and resolve against the weight's rank when the layer is built.
///
/// ```
/// use kiln::constraints::ConstraintArg;
/// let c = ConstraintArg::from_name("max_norm").unwrap();
/// assert_eq!(c, ConstraintArg::MaxNorm { max_value: 2.0, axis: vec![0] });
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class_name")]
pub enum ConstraintArg {
    /// Norm at most `max_value` (Keras default 2, axis 0).
    MaxNorm {
        /// Largest norm.
        max_value: f32,
        /// Axes of the norm.
        axis: Vec<i64>,
    },
    /// No negative entries.
    NonNeg,
    /// Norm 1 (axis 0).
    UnitNorm {
        /// Axes of the norm.
        axis: Vec<i64>,
    },
    /// Norm in `[min_value, max_value]` (Keras defaults 0, 1, rate 1, axis 0).
    MinMaxNorm {
        /// Smallest norm.
        min_value: f32,
        /// Largest norm.
        max_value: f32,
        /// How far to move towards the clipped norm.
        rate: f32,
        /// Axes of the norm.
        axis: Vec<i64>,
    },
}

impl ConstraintArg {
    /// The constraint Keras names `name`, with its defaults.
    pub fn from_name(name: &str) -> Result<ConstraintArg> {
        Ok(match name {
            "max_norm" => ConstraintArg::MaxNorm {
                max_value: 2.0,
                axis: vec![0],
            },
            "non_neg" => ConstraintArg::NonNeg,
            "unit_norm" => ConstraintArg::UnitNorm { axis: vec![0] },
            "min_max_norm" => ConstraintArg::MinMaxNorm {
                min_value: 0.0,
                max_value: 1.0,
                rate: 1.0,
                axis: vec![0],
            },
            other => {
                return Err(KilnError::UnknownName {
                    kind: "constraint",
                    name: other.to_string(),
                    expected: "max_norm, non_neg, unit_norm, min_max_norm".into(),
                });
            }
        })
    }

    /// The IR constraint for a weight of `rank`, or an error naming a bad axis.
    pub fn resolve(&self, rank: usize) -> Result<kiln_ir::Constraint> {
        let axes = |axis: &[i64]| -> Result<Vec<usize>> {
            let r = rank as i64;
            let mut out = Vec::new();
            for &a in axis {
                if a >= r || a < -r {
                    return Err(KilnError::Data(format!(
                        "constraint axis {a} is out of range for a weight of rank {rank}"
                    )));
                }
                out.push(if a < 0 { (a + r) as usize } else { a as usize });
            }
            out.sort_unstable();
            out.dedup();
            Ok(out)
        };
        Ok(match self {
            ConstraintArg::MaxNorm { max_value, axis } => kiln_ir::Constraint::MaxNorm {
                max_value: *max_value,
                axes: axes(axis)?,
            },
            ConstraintArg::NonNeg => kiln_ir::Constraint::NonNeg,
            ConstraintArg::UnitNorm { axis } => kiln_ir::Constraint::UnitNorm { axes: axes(axis)? },
            ConstraintArg::MinMaxNorm {
                min_value,
                max_value,
                rate,
                axis,
            } => kiln_ir::Constraint::MinMaxNorm {
                min_value: *min_value,
                max_value: *max_value,
                rate: *rate,
                axes: axes(axis)?,
            },
        })
    }
}

/// Attaches `constraint` to weight `w` (of rank `rank`), if there is one.
pub(crate) fn apply(
    ctx: &mut crate::layer::EmitContext,
    constraint: &Option<ConstraintArg>,
    w: kiln_ir::ValueId,
    rank: usize,
) -> Result<()> {
    match constraint {
        Some(c) => {
            let c = c.resolve(rank)?;
            ctx.constrain(w, c)
        }
        None => Ok(()),
    }
}
