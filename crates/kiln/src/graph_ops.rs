//! A small helper to write IR for losses and metrics.

use crate::error::Result;
use kiln_ir::{Activation, BinaryOp, CompareOp, DType, Graph, Op, ReduceOp, UnaryOp, ValueId};

/// Appends ops to a graph under one label.
pub(crate) struct Ops<'g> {
    pub g: &'g mut Graph,
    pub label: String,
}

impl<'g> Ops<'g> {
    pub fn new(g: &'g mut Graph, label: &str) -> Self {
        Ops {
            g,
            label: label.to_string(),
        }
    }

    pub fn push(&mut self, op: Op, args: &[ValueId]) -> Result<ValueId> {
        Ok(self.g.push(op, args, &self.label)?)
    }

    pub fn rank(&self, v: ValueId) -> usize {
        self.g.value_type(v).map(|t| t.shape.rank()).unwrap_or(0)
    }

    pub fn dtype(&self, v: ValueId) -> DType {
        self.g.value_type(v).map(|t| t.dtype).unwrap_or(DType::F32)
    }

    pub fn last_dim(&self, v: ValueId) -> Option<usize> {
        self.g.value_type(v).ok().and_then(|t| t.shape.last().flatten())
    }

    pub fn binary(&mut self, kind: BinaryOp, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.push(Op::Binary { kind }, &[a, b])
    }

    pub fn add(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.binary(BinaryOp::Add, a, b)
    }

    pub fn sub(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.binary(BinaryOp::Sub, a, b)
    }

    pub fn mul(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.binary(BinaryOp::Mul, a, b)
    }

    pub fn div(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.binary(BinaryOp::Div, a, b)
    }

    pub fn unary(&mut self, kind: UnaryOp, x: ValueId) -> Result<ValueId> {
        self.push(Op::Unary { kind }, &[x])
    }

    pub fn constant(&mut self, value: f32) -> Result<ValueId> {
        self.push(Op::Constant { value }, &[])
    }

    pub fn scale(&mut self, x: ValueId, value: f32) -> Result<ValueId> {
        let c = self.constant(value)?;
        self.mul(x, c)
    }

    pub fn activation(&mut self, kind: Activation, x: ValueId) -> Result<ValueId> {
        self.push(Op::Activation { kind }, &[x])
    }

    pub fn clip(&mut self, x: ValueId, min: f32, max: f32) -> Result<ValueId> {
        self.push(Op::Clip { min, max }, &[x])
    }

    pub fn compare(&mut self, kind: CompareOp, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.push(Op::Compare { kind }, &[a, b])
    }

    fn reduce_last(&mut self, kind: ReduceOp, x: ValueId, keepdims: bool) -> Result<ValueId> {
        let axis = self.rank(x).saturating_sub(1);
        self.push(
            Op::Reduce {
                kind,
                axes: vec![axis],
                keepdims,
            },
            &[x],
        )
    }

    pub fn sum_last(&mut self, x: ValueId, keepdims: bool) -> Result<ValueId> {
        self.reduce_last(ReduceOp::Sum, x, keepdims)
    }

    pub fn mean_last(&mut self, x: ValueId) -> Result<ValueId> {
        self.reduce_last(ReduceOp::Mean, x, false)
    }

    pub fn mean_all(&mut self, x: ValueId) -> Result<ValueId> {
        self.push(
            Op::Reduce {
                kind: ReduceOp::Mean,
                axes: vec![],
                keepdims: false,
            },
            &[x],
        )
    }

    /// The mean of `values`, or with a `mask` of the same shape Keras's masked mean
    /// `sum(values * mask) / (sum(mask) + 1e-7)` (`apply_mask` with `sum_over_batch_size`).
    pub fn masked_mean(&mut self, values: ValueId, mask: Option<ValueId>) -> Result<ValueId> {
        let shape_of = |g: &Graph, v: ValueId| g.value_type(v).map(|t| t.shape.clone()).ok();
        match mask {
            Some(m) if shape_of(self.g, m) == shape_of(self.g, values) => {
                let weighted = self.mul(values, m)?;
                let all = |kind| Op::Reduce {
                    kind,
                    axes: vec![],
                    keepdims: false,
                };
                let total = self.push(all(ReduceOp::Sum), &[weighted])?;
                let valid = self.push(all(ReduceOp::Sum), &[m])?;
                let eps = self.constant(1e-7)?;
                let valid = self.add(valid, eps)?;
                self.div(total, valid)
            }
            _ => self.mean_all(values),
        }
    }

    pub fn argmax_last(&mut self, x: ValueId) -> Result<ValueId> {
        let axis = self.rank(x).saturating_sub(1);
        self.push(Op::Argmax { axis }, &[x])
    }
}
