//! The op vocabulary layers are written in: one method per IR op on [`EmitContext`].
//!
//! Built-in layers and custom layers alike emit their computation with these methods;
//! each checks its operands and infers the result type, so a wrong shape is an error
//! naming the layer.
//!
//! ```
//! use kiln::prelude::*;
//! use kiln::{EmitContext, Layer};
//! use kiln::ir::{TensorType, ValueId};
//!
//! /// `y = x * scale`, a custom layer written with the op vocabulary.
//! #[derive(Clone, Debug)]
//! struct Scale { name: String, scale: f32 }
//!
//! impl Layer for Scale {
//!     fn name(&self) -> &str { &self.name }
//!     fn class_name(&self) -> &'static str { "Scale" }
//!     fn compute_output_shape(&self, inputs: &[TensorType]) -> kiln::Result<Vec<TensorType>> {
//!         Ok(inputs.to_vec())
//!     }
//!     fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> kiln::Result<Vec<ValueId>> {
//!         Ok(vec![ctx.scale(inputs[0], self.scale)?])
//!     }
//!     fn config(&self) -> serde_json::Value { serde_json::json!({"scale": self.scale}) }
//! }
//!
//! let x = Input::new([3]);
//! let y = Scale { name: "scale".into(), scale: 2.0 }.apply(&x)?;
//! let model = Model::new(&[&x], &[&y])?;
//! let out = model.predict(Tensor::from_f32(vec![1.0, 2.0, 3.0], vec![1, 3])?)?;
//! assert_eq!(out.to_f32(), vec![2.0, 4.0, 6.0]);
//! # Ok::<(), kiln::KilnError>(())
//! ```

use crate::error::Result;
use crate::layer::EmitContext;
use kiln_ir::{Activation, BinaryOp, Op, ReduceOp, Shape, UnaryOp, ValueId};

impl EmitContext<'_> {
    /// The shape of a value.
    pub fn shape(&self, v: ValueId) -> Result<Shape> {
        Ok(self.value_type(v)?.shape)
    }

    /// The rank of a value.
    pub fn rank(&self, v: ValueId) -> Result<usize> {
        Ok(self.shape(v)?.rank())
    }

    /// An element-wise binary op with numpy broadcasting.
    pub fn binary(&mut self, kind: BinaryOp, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.push(Op::Binary { kind }, &[a, b])
    }

    /// `a + b`.
    pub fn add(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.binary(BinaryOp::Add, a, b)
    }

    /// `a - b`.
    pub fn sub(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.binary(BinaryOp::Sub, a, b)
    }

    /// `a * b`.
    pub fn mul(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.binary(BinaryOp::Mul, a, b)
    }

    /// `a / b`.
    pub fn div(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.binary(BinaryOp::Div, a, b)
    }

    /// A scalar constant.
    pub fn constant(&mut self, value: f32) -> Result<ValueId> {
        self.push(Op::Constant { value }, &[])
    }

    /// `x * factor`.
    pub fn scale(&mut self, x: ValueId, factor: f32) -> Result<ValueId> {
        let c = self.constant(factor)?;
        self.mul(x, c)
    }

    /// `x + value`.
    pub fn add_scalar(&mut self, x: ValueId, value: f32) -> Result<ValueId> {
        let c = self.constant(value)?;
        self.add(x, c)
    }

    /// An element-wise unary op.
    pub fn unary(&mut self, kind: UnaryOp, x: ValueId) -> Result<ValueId> {
        self.push(Op::Unary { kind }, &[x])
    }

    /// An activation function.
    pub fn activation(&mut self, kind: Activation, x: ValueId) -> Result<ValueId> {
        if kind == Activation::Linear {
            return Ok(x);
        }
        self.push(Op::Activation { kind }, &[x])
    }

    /// Matrix product over the last two axes.
    pub fn matmul(&mut self, a: ValueId, b: ValueId) -> Result<ValueId> {
        self.push(Op::Matmul, &[a, b])
    }

    /// `x + bias` along the last axis.
    pub fn bias_add(&mut self, x: ValueId, bias: ValueId) -> Result<ValueId> {
        self.push(Op::BiasAdd, &[x, bias])
    }

    /// A reduction over `axes` (non-negative, increasing).
    pub fn reduce(&mut self, kind: ReduceOp, x: ValueId, axes: Vec<usize>, keepdims: bool) -> Result<ValueId> {
        self.push(Op::Reduce { kind, axes, keepdims }, &[x])
    }

    /// The mean over `axes`.
    pub fn mean(&mut self, x: ValueId, axes: Vec<usize>, keepdims: bool) -> Result<ValueId> {
        self.reduce(ReduceOp::Mean, x, axes, keepdims)
    }

    /// The sum over `axes`.
    pub fn sum(&mut self, x: ValueId, axes: Vec<usize>, keepdims: bool) -> Result<ValueId> {
        self.reduce(ReduceOp::Sum, x, axes, keepdims)
    }

    /// Permutes axes: result axis `i` is axis `perm[i]`.
    pub fn transpose(&mut self, x: ValueId, perm: Vec<usize>) -> Result<ValueId> {
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(x);
        }
        self.push(Op::Transpose { perm }, &[x])
    }

    /// Reshapes (a `None` first dimension keeps the batch).
    pub fn reshape(&mut self, x: ValueId, shape: Shape) -> Result<ValueId> {
        if self.shape(x)? == shape {
            return Ok(x);
        }
        self.push(Op::Reshape { shape }, &[x])
    }

    /// `x[start..end]` along `axis`.
    pub fn slice(&mut self, x: ValueId, axis: usize, start: usize, end: usize) -> Result<ValueId> {
        self.push(Op::Slice { axis, start, end }, &[x])
    }

    /// Concatenates along `axis`.
    pub fn concat(&mut self, xs: &[ValueId], axis: usize) -> Result<ValueId> {
        if let [one] = xs {
            return Ok(*one);
        }
        self.push(Op::Concat { axis }, xs)
    }

    /// Pads every axis with `value`.
    pub fn pad(&mut self, x: ValueId, pads: Vec<(usize, usize)>, value: f32) -> Result<ValueId> {
        if pads.iter().all(|&(b, e)| b == 0 && e == 0) {
            return Ok(x);
        }
        self.push(Op::Pad { pads, value }, &[x])
    }

    /// `in_training` while training, `otherwise` in inference.
    pub fn if_training(&mut self, in_training: ValueId, otherwise: ValueId) -> Result<ValueId> {
        self.push(Op::IfTraining, &[in_training, otherwise])
    }

    /// `x` averaged over the devices of a data-parallel training step, each weighted by
    /// its rows ([`Op::ReplicaMean`]); `x` itself on one device and in inference.
    pub fn replica_mean(&mut self, x: ValueId) -> Result<ValueId> {
        self.push(Op::ReplicaMean, &[x])
    }

    /// Moves the last (channel) axis to position 1: channels-last to channels-first.
    pub fn to_channels_first(&mut self, x: ValueId) -> Result<ValueId> {
        let r = self.rank(x)?;
        let mut perm = vec![0, r - 1];
        perm.extend(1..r - 1);
        self.transpose(x, perm)
    }

    /// Moves axis 1 (channels) to the end: channels-first to channels-last.
    pub fn to_channels_last(&mut self, x: ValueId) -> Result<ValueId> {
        let r = self.rank(x)?;
        let mut perm = vec![0];
        perm.extend(2..r);
        perm.push(1);
        self.transpose(x, perm)
    }
}
