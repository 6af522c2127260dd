//! The passes in order: what a graph goes through before it is compiled for execution.

use super::{collapse_reshapes, fold_constants, fuse_conv_bias, remove_dead_nodes, sink_transposes};
use crate::error::IrError;
use crate::graph::Graph;
use crate::verify::verify;

/// Whether [`optimize`] sinks transposes. Off: on ndarray a transpose is a strided view,
/// and the channels-last memory it leaves is what ndarray's SIMD convolution and pooling
/// kernels need (`x.strides()[1] == 1`); with the transposes gone the CNN benchmark fell
/// onto ndarray's generic pooling path and became far slower. The pass stays, tested, for
/// a lowering that chooses memory layouts itself.
const SINK_TRANSPOSES: bool = false;

/// What [`optimize`] changed, pass by pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Nodes replaced by a constant.
    pub folded: usize,
    /// Bias adds fused into the convolution before them.
    pub fused: usize,
    /// Reshapes and transposes collapsed or removed.
    pub collapsed: usize,
    /// Transpose chains rewritten so that their transposes cancel.
    pub sunk: usize,
    /// Nodes dropped because nothing reads them any more.
    pub removed: usize,
}

/// Runs the passes in order — constant folding, convolution bias fusion,
/// reshape/transpose collapsing (transpose sinking and collapsing again: off, see
/// `SINK_TRANSPOSES`), dead-node removal — on a verified graph. Inputs,
/// parameters, outputs, state updates and added losses keep their ids; only nodes change,
/// and parameters are never folded, so training and gradients see the same parameters.
///
/// The verifier runs after each pass in debug builds and once at the end in every build:
/// a pass that broke an invariant is an error, never a wrong plan.
///
/// ```
/// use kiln_ir::{Activation, Graph, Op, Shape, TensorType, passes};
/// let mut g = Graph::new();
/// let x = g.add_input("x", TensorType::f32(Shape::batched([2, 3])));
/// let t = g.push(Op::Transpose { perm: vec![0, 2, 1] }, &[x], "a")?;
/// let back = g.push(Op::Transpose { perm: vec![0, 2, 1] }, &[t], "b")?;
/// let y = g.push(Op::Activation { kind: Activation::Relu }, &[back], "c")?;
/// g.set_outputs(vec![y]);
/// let report = passes::optimize(&mut g)?;
/// assert_eq!((report.collapsed, g.order().len()), (1, 1)); // relu alone, on x
/// # Ok::<(), kiln_ir::IrError>(())
/// ```
pub fn optimize(graph: &mut Graph) -> Result<PassReport, IrError> {
    let check = |graph: &Graph| if cfg!(debug_assertions) { verify(graph) } else { Ok(()) };
    let mut report = PassReport {
        folded: fold_constants(graph)?,
        ..PassReport::default()
    };
    check(graph)?;
    report.fused = fuse_conv_bias(graph)?;
    check(graph)?;
    report.collapsed = collapse_reshapes(graph)?;
    check(graph)?;
    if SINK_TRANSPOSES {
        report.sunk = sink_transposes(graph)?;
        check(graph)?;
        report.collapsed += collapse_reshapes(graph)?;
        check(graph)?;
    }
    report.removed = remove_dead_nodes(graph);
    verify(graph)?;
    Ok(report)
}
