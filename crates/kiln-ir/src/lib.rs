//! Kiln's portable intermediate representation.
//!
//! A model compiles to a [`Graph`]: typed [values](ValueId) (an element type and a shape
//! whose batch dimension is symbolic), [nodes](Node) applying an [`Op`] to values, and
//! [parameters](Param) with [initializers](Initializer). Every op infers its result type
//! when it is added, [`verify`] checks every invariant at once, and the graph reads and
//! writes a versioned JSON format ([`to_json`], [`from_json`]). Nothing here depends on
//! an engine.
//!
//! ```
//! use kiln_ir::{Activation, Graph, Initializer, Op, Shape, TensorType, verify};
//! let mut g = Graph::new();
//! let x = g.add_input("input_layer", TensorType::f32(Shape::batched([4])));
//! let w = g.add_param("dense/kernel", Shape::fixed([4, 3]), Initializer::GlorotUniform, true)?;
//! let b = g.add_param("dense/bias", Shape::fixed([3]), Initializer::Zeros, true)?;
//! let h = g.push(Op::Matmul, &[x, w], "dense")?;
//! let h = g.push(Op::BiasAdd, &[h, b], "dense")?;
//! let y = g.push(Op::Activation { kind: Activation::Relu }, &[h], "dense")?;
//! g.set_outputs(vec![y]);
//! verify(&g)?;
//! assert!(g.to_string().contains("%5:f32[?,3] = relu %4  ; dense"));
//! # Ok::<(), kiln_ir::IrError>(())
//! ```

mod constraint;
mod entities;
mod error;
mod format;
mod graph;
mod init;
mod op;
mod optim;
pub mod passes;
mod rng;
mod shape;
mod structural;
mod tensor;
mod verify;

pub use constraint::Constraint;
pub use entities::{NodeId, ParamId, ValueId};
pub use error::IrError;
pub use format::{FORMAT_VERSION, from_json, node_text, to_json};
pub use graph::{Graph, Input, Node, Param, Update, ValueData, ValueDef};
pub use init::{Initializer, compute_fans};
pub use op::{Activation, BinaryOp, CompareOp, NoiseKind, Op, PoolKind, ReduceOp, UnaryOp};
pub use optim::OptimizerKind;
pub use rng::Rng;
pub use shape::{DType, Dim, Shape, TensorType, broadcast_shapes};
pub use tensor::{HostData, HostTensor, SizeMismatch};
pub use verify::verify;
