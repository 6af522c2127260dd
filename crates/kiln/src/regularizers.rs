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
        self.emit_terms(ctx, w, |ctx, t| ctx.reduce(ReduceOp::Sum, t, vec![], false))
    }

    /// Emits the penalty on a layer's batched output `y` divided by the batch size (Keras's
    /// `activity_regularizer`) and adds it to the training loss.
    pub fn emit_activity(&self, ctx: &mut EmitContext, y: ValueId) -> Result<()> {
        let rank = ctx.rank(y)?;
        self.emit_terms(ctx, y, |ctx, t| {
            let s = if rank > 1 {
                ctx.reduce(ReduceOp::Sum, t, (1..rank).collect(), false)?
            } else {
                t
            };
            ctx.reduce(ReduceOp::Mean, s, vec![], false)
        })
    }

    /// `l1 * reduce(|x|) + l2 * reduce(x²)`, the terms with a zero factor left out, added
    /// to the training loss.
    fn emit_terms(
        &self,
        ctx: &mut EmitContext,
        x: ValueId,
        reduce: impl Fn(&mut EmitContext, ValueId) -> Result<ValueId>,
    ) -> Result<()> {
        let (l1, l2) = self.factors();
        let mut total = None;
        for (factor, kind) in [(l1, UnaryOp::Abs), (l2, UnaryOp::Square)] {
            if factor == 0.0 {
                continue;
            }
            let t = ctx.unary(kind, x)?;
            let r = reduce(ctx, t)?;
            let term = ctx.scale(r, factor)?;
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
