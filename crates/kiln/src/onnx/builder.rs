//! Collects ONNX nodes with fresh value names, and the constants they need.

use super::proto::{AttributeProto, NodeProto, TensorProto};
use std::collections::HashMap;

/// The nodes written so far, in topological order.
pub(crate) struct Builder {
    pub nodes: Vec<NodeProto>,
    /// The Kiln layer (node label) being translated: it prefixes value names.
    pub label: String,
    counter: usize,
    /// Constants already written, by (element type, dims, bytes): each is written once.
    constants: HashMap<(i32, Vec<i64>, Vec<u8>), String>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            nodes: Vec::new(),
            label: String::new(),
            counter: 0,
            constants: HashMap::new(),
        }
    }

    /// A fresh value name, `<layer>/<op>:<n>` with `n` counting every value written here
    /// (the caller names outputs apart from these).
    fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        let label = if self.label.is_empty() { "kiln" } else { &self.label };
        format!("{label}/{hint}:{}", self.counter)
    }

    /// Appends a node with `outputs` results and returns their names.
    pub fn op_n(&mut self, op_type: &str, inputs: &[&str], attrs: Vec<AttributeProto>, outputs: usize) -> Vec<String> {
        let names: Vec<String> = (0..outputs).map(|_| self.fresh(op_type)).collect();
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: names.clone(),
            name: names[0].clone(),
            op_type: op_type.into(),
            attribute: attrs,
            doc_string: self.label.clone(),
        });
        names
    }

    /// Appends a node with one result and returns its name.
    pub fn op(&mut self, op_type: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        self.op_n(op_type, inputs, attrs, 1).remove(0)
    }

    /// `op_type(x)` without attributes.
    pub fn un(&mut self, op_type: &str, x: &str) -> String {
        self.op(op_type, &[x], Vec::new())
    }

    /// `op_type(a, b)` without attributes.
    pub fn bin(&mut self, op_type: &str, a: &str, b: &str) -> String {
        self.op(op_type, &[a, b], Vec::new())
    }

    /// Appends `Identity(x)` writing the value `name`.
    pub fn identity_to(&mut self, x: &str, name: &str) {
        self.nodes.push(NodeProto {
            input: vec![x.to_string()],
            output: vec![name.to_string()],
            name: name.to_string(),
            op_type: "Identity".into(),
            attribute: Vec::new(),
            doc_string: "output".into(),
        });
    }

    fn constant(&mut self, t: TensorProto) -> String {
        let key = (t.data_type, t.dims.clone(), t.raw_data.clone());
        if let Some(name) = self.constants.get(&key) {
            return name.clone();
        }
        let label = std::mem::replace(&mut self.label, "const".into());
        let name = self.op("Constant", &[], vec![AttributeProto::tensor("value", t)]);
        self.label = label;
        self.constants.insert(key, name.clone());
        name
    }

    /// A rank-0 f32 constant.
    pub fn scalar(&mut self, v: f32) -> String {
        self.constant(TensorProto::f32("", &[], &[v]))
    }

    /// An f32 constant of shape `dims`.
    pub fn f32s(&mut self, dims: &[usize], values: &[f32]) -> String {
        self.constant(TensorProto::f32("", dims, values))
    }

    /// A rank-0 i32 constant.
    pub fn i32_scalar(&mut self, v: i32) -> String {
        self.constant(TensorProto::i32("", &[], &[v]))
    }

    /// An i32 vector constant.
    pub fn i32s(&mut self, values: &[i32]) -> String {
        self.constant(TensorProto::i32("", &[values.len()], values))
    }

    /// An i64 vector constant (shapes, axes, pads).
    pub fn i64s(&mut self, values: &[i64]) -> String {
        self.constant(TensorProto::i64_vec("", values))
    }

    /// A rank-0 i64 constant.
    pub fn i64_scalar(&mut self, v: i64) -> String {
        let mut t = TensorProto::i64_vec("", &[v]);
        t.dims.clear();
        self.constant(t)
    }

    /// `Cast(x, to)`.
    pub fn cast(&mut self, x: &str, to: i32) -> String {
        self.op("Cast", &[x], vec![AttributeProto::int("to", i64::from(to))])
    }

    /// `Clip(x, lo, hi)` with f32 bounds.
    pub fn clip(&mut self, x: &str, lo: f32, hi: f32) -> String {
        let (lo, hi) = (self.scalar(lo), self.scalar(hi));
        self.op("Clip", &[x, &lo, &hi], Vec::new())
    }

    /// `a <op> c` with an f32 scalar `c`.
    pub fn with_scalar(&mut self, op_type: &str, a: &str, c: f32) -> String {
        let c = self.scalar(c);
        self.bin(op_type, a, &c)
    }

    /// A reduction along `axes` (all axes when `None`): ReduceSum takes them as an input,
    /// the others as an attribute (opset 17).
    pub fn reduce(&mut self, op_type: &str, x: &str, axes: Option<&[i64]>, keepdims: bool) -> String {
        let keep = AttributeProto::int("keepdims", i64::from(keepdims));
        match (axes, op_type) {
            (None, _) => self.op(op_type, &[x], vec![keep]),
            (Some(axes), "ReduceSum") => {
                let a = self.i64s(axes);
                self.op(op_type, &[x, &a], vec![keep])
            }
            (Some(axes), _) => self.op(op_type, &[x], vec![keep, AttributeProto::ints("axes", axes.to_vec())]),
        }
    }
}
