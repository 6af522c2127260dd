//! Weight and activity regularizers (`keras.regularizers`): penalties added to the loss.

use crate::error::Result;
use crate::layer::EmitContext;
use kiln_ir::{ReduceOp, UnaryOp, ValueId};
use serde::{Deserialize, Serialize};

/// A penalty on a tensor `w`: `l1 * sum(|w|) + l2 * sum(w²)`.
///
/// Keras's `"l1"` and `"l2"` names have factor 0.01; `L1L2` defaults to zero for both.
///
/// ```
/// use kiln::regularizers::Regularizer;
/// assert_eq!(Regularizer::from_name("l2").unwrap(), Regularizer::L2 { l2: 0.01 });
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class_name")]
pub enum Regularizer {
    /// `l1 * sum(|w|)`.
    L1 {
        /// Factor.
        l1: f32,
    },
    /// `l2 * sum(w²)`.
    L2 {
        /// Factor.
        l2: f32,
    },
    /// Both.
    L1L2 {
        /// L1 factor.
        l1: f32,
        /// L2 factor.
        l2: f32,
    },
}

impl Regularizer {
    /// The regularizer Keras names `name` (`"l1"`, `"l2"`, `"l1_l2"`), with its defaults.
    pub fn from_name(name: &str) -> Result<Regularizer> {
        Ok(match name {
            "l1" => Regularizer::L1 { l1: 0.01 },
            "l2" => Regularizer::L2 { l2: 0.01 },
            "l1_l2" | "l1l2" => Regularizer::L1L2 { l1: 0.01, l2: 0.01 },
            other => {
                return Err(crate::KilnError::UnknownName {
                    kind: "regularizer",
                    name: other.to_string(),
                    expected: "l1, l2, l1_l2".into(),
                });
            }
        })
    }

    fn factors(&self) -> (f32, f32) {
        match *self {
            Regularizer::L1 { l1 } => (l1, 0.0),
            Regularizer::L2 { l2 } => (0.0, l2),
            Regularizer::L1L2 { l1, l2 } => (l1, l2),
        }
    }

    /// Emits the penalty on `w` and adds it to the training loss.
    pub fn emit(&self, ctx: &mut EmitContext, w: ValueId) -> Result<()> {
        let (l1, l2) = self.factors();
        let mut terms = Vec::new();
        if l1 != 0.0 {
            let a = ctx.unary(UnaryOp::Abs, w)?;
            let s = ctx.reduce(ReduceOp::Sum, a, vec![], false)?;
            terms.push(ctx.scale(s, l1)?);
        }
        if l2 != 0.0 {
            let q = ctx.unary(UnaryOp::Square, w)?;
            let s = ctx.reduce(ReduceOp::Sum, q, vec![], false)?;
            terms.push(ctx.scale(s, l2)?);
        }
        let mut total = match terms.first() {
            Some(&t) => t,
            None => return Ok(()),
        };
        for &t in &terms[1..] {
            total = ctx.add(total, t)?;
        }
        ctx.add_loss(total)
    }
}

impl Regularizer {
    /// Emits the penalty on a layer's batched output `y` divided by the batch size (Keras's
    /// `activity_regularizer`) and adds it to the training loss.
    pub fn emit_activity(&self, ctx: &mut EmitContext, y: ValueId) -> Result<()> {
        let (l1, l2) = self.factors();
        let rank = ctx.rank(y)?;
        let per_sample = |ctx: &mut EmitContext, t: ValueId| -> Result<ValueId> {
            let s = if rank > 1 {
                ctx.reduce(ReduceOp::Sum, t, (1..rank).collect(), false)?
            } else {
                t
            };
            ctx.reduce(ReduceOp::Mean, s, vec![], false)
        };
        let mut total = None;
        for (factor, kind) in [(l1, UnaryOp::Abs), (l2, UnaryOp::Square)] {
            if factor == 0.0 {
                continue;
            }
            let t = ctx.unary(kind, y)?;
            let m = per_sample(ctx, t)?;
            let term = ctx.scale(m, factor)?;
            total = Some(match total {
                Some(acc) => ctx.add(acc, term)?,
                None => term,
            });
        }
        match total {
            Some(t) => ctx.add_loss(t),
            None => Ok(()),
        }
    }
}

/// Adds `regularizer`'s penalty on weight `w`, if there is one, once per weight (a shared
/// layer's penalty counts once).
pub(crate) fn apply(ctx: &mut EmitContext, regularizer: &Option<Regularizer>, w: ValueId) -> Result<()> {
    match regularizer {
        Some(r) if ctx.first_penalty(w) => r.emit(ctx, w),
        _ => Ok(()),
    }
}
