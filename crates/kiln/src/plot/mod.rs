//! Pictures of models, like Keras's `keras.utils.plot_model`: each layer a box with its
//! name and class, input and output shapes, arrows from each layer to the layers it
//! feeds. [`plot_model`] writes an SVG drawn by Kiln itself (no Graphviz needed) or
//! Graphviz DOT text, by the file's extension.
//!
//! The pieces: [`PlotGraph`] (the layer graph of a model), [`layout`] (a layered layout:
//! rank by longest path, order by barycentre sweeps), [`svg`] and [`dot`] (the writers) and
//! [`style`] (colours, fonts and sizes, shared by every Kiln picture).
//!
//! ```no_run
//! use kiln::prelude::*;
//! let inputs = Input::new([784]);
//! let x = Dense::new(64).activation("relu").apply(&inputs)?;
//! let outputs = Dense::new(10).activation("softmax").apply(&x)?;
//! let model = Model::new(&[&inputs], &[&outputs])?;
//! kiln::plot::plot_model(&model, "model.svg")?;
//! # Ok::<(), kiln::KilnError>(())
//! ```

pub mod dot;
pub mod history;
pub mod layout;
pub mod style;
pub mod svg;

use crate::error::{KilnError, Result};
use crate::model::{Kind, Model, Producer};
use kiln_ir::{DType, TensorType};
use std::collections::HashMap;
use std::path::Path;

/// What the boxes show (Keras's `plot_model` arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlotOptions {
    /// Input and output shapes (`show_shapes`; on by default here, off in Keras).
    pub show_shapes: bool,
    /// The output dtype (`show_dtype`).
    pub show_dtype: bool,
    /// Layer names besides classes (`show_layer_names`; on by default here).
    pub show_layer_names: bool,
    /// The activation of layers that have one (`show_layer_activations`).
    pub show_layer_activations: bool,
    /// Whether each layer with weights is trainable (`show_trainable`).
    pub show_trainable: bool,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            show_shapes: true,
            show_dtype: false,
            show_layer_names: true,
            show_layer_activations: false,
            show_trainable: false,
        }
    }
}

/// One box: a layer (a shared layer is one box, as in Keras) or a Functional model's input.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotNode {
    /// Layer name.
    pub name: String,
    /// Class name (`Dense`, `InputLayer`, …).
    pub class: String,
    /// Input shape(s) as Keras prints them (`(None, 784)`, or a list for several inputs);
    /// `None` for inputs. `multiple` for a shared layer called on different shapes.
    pub input_shape: Option<String>,
    /// Output shape(s), likewise.
    pub output_shape: String,
    /// Output dtype (`float32`, `int32`).
    pub dtype: String,
    /// The `activation` of its config, if it has one.
    pub activation: Option<String>,
    /// Trainable or not, for a layer with weights.
    pub trainable: Option<bool>,
}

/// A model's layer graph: boxes and arrows (source, target), deduplicated.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotGraph {
    /// The model's name.
    pub name: String,
    /// Boxes in execution order of their first call.
    pub nodes: Vec<PlotNode>,
    /// Arrows, each once.
    pub edges: Vec<(usize, usize)>,
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::I32 => "int32",
    }
}

fn shapes_text<'a>(types: impl Iterator<Item = &'a TensorType>) -> String {
    let texts: Vec<String> = types.map(|t| t.shape.keras_string()).collect();
    match texts.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

impl PlotGraph {
    /// The layer graph of `model`, as Keras's `model_to_dot` draws it: a Sequential model
    /// without its input box, a Functional one with an `InputLayer` box per input.
    pub fn from_model(model: &Model) -> Result<PlotGraph> {
        let built = model.built()?;
        let sequential = matches!(model.kind, Kind::Sequential { .. });
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut nodes: Vec<PlotNode> = Vec::new();
        let mut edges: Vec<(usize, usize)> = Vec::new();
        let has_weights = |name: &str| {
            built
                .graph
                .params()
                .iter()
                .any(|p| p.name.split_once('/').is_some_and(|(l, _)| l == name))
        };
        for call in &built.nodes {
            let (name, node) = match &call.producer {
                Producer::Input { .. } if sequential => continue,
                Producer::Input { name } => (
                    name.clone(),
                    PlotNode {
                        name: name.clone(),
                        class: "InputLayer".into(),
                        input_shape: None,
                        output_shape: shapes_text(call.outputs.iter()),
                        dtype: call.outputs.first().map_or("float32", |t| dtype_name(t.dtype)).into(),
                        activation: None,
                        trainable: None,
                    },
                ),
                Producer::Layer(layer) => {
                    let config = layer.config();
                    (
                        layer.name().to_string(),
                        PlotNode {
                            name: layer.name().to_string(),
                            class: layer.class_name().to_string(),
                            input_shape: Some(shapes_text(call.inputs.iter().map(|t| t.tensor_type()))),
                            output_shape: shapes_text(call.outputs.iter()),
                            dtype: call.outputs.first().map_or("float32", |t| dtype_name(t.dtype)).into(),
                            activation: config.get("activation").and_then(|a| a.as_str()).map(str::to_string),
                            trainable: has_weights(layer.name()).then(|| layer.trainable()),
                        },
                    )
                }
            };
            let at = match index.get(&name) {
                Some(&at) => {
                    // A shared layer: one box; shapes that differ between calls read "multiple".
                    let seen = &mut nodes[at];
                    if seen.input_shape != node.input_shape {
                        seen.input_shape = Some("multiple".into());
                    }
                    if seen.output_shape != node.output_shape {
                        seen.output_shape = "multiple".into();
                    }
                    at
                }
                None => {
                    index.insert(name.clone(), nodes.len());
                    nodes.push(node);
                    nodes.len() - 1
                }
            };
            for source in call.inputs.iter().chain(call.explicit_mask.as_ref()) {
                if let Some(&from) = index.get(source.producer_name())
                    && !edges.contains(&(from, at))
                {
                    edges.push((from, at));
                }
            }
        }
        Ok(PlotGraph {
            name: model.name.clone(),
            nodes,
            edges,
        })
    }
}

/// One cell of a box's body row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    /// `label` in regular type, then `value` in bold.
    Field { label: &'static str, value: String },
    /// White bold text on a coloured cell.
    Badge { text: &'static str, trainable: bool },
}

/// What one box says, in Keras's `make_layer_label` order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Label {
    /// The bold part of the title (the name, or the class without names).
    pub title_bold: String,
    /// The rest of the title (` (Class)`).
    pub title_rest: String,
    /// The activation row's value.
    pub activation: Option<String>,
    /// The body row.
    pub cells: Vec<Cell>,
}

impl Label {
    pub(crate) fn of(node: &PlotNode, options: &PlotOptions) -> Label {
        let (title_bold, title_rest) = if options.show_layer_names {
            (node.name.clone(), format!(" ({})", node.class))
        } else {
            (node.class.clone(), String::new())
        };
        let mut cells = Vec::new();
        if options.show_shapes {
            if node.class != "InputLayer" {
                cells.push(Cell::Field {
                    label: "Input shape: ",
                    value: node.input_shape.clone().unwrap_or_else(|| "?".into()),
                });
            }
            cells.push(Cell::Field {
                label: "Output shape: ",
                value: node.output_shape.clone(),
            });
        }
        if options.show_dtype {
            cells.push(Cell::Field {
                label: "Output dtype: ",
                value: node.dtype.clone(),
            });
        }
        if options.show_trainable
            && let Some(trainable) = node.trainable
        {
            cells.push(Cell::Badge {
                text: if trainable { "Trainable" } else { "Non-trainable" },
                trainable,
            });
        }
        Label {
            title_bold,
            title_rest,
            activation: node.activation.clone().filter(|_| options.show_layer_activations),
            cells,
        }
    }
}

/// The SVG picture of `model`'s layer graph.
pub fn model_to_svg(model: &Model, options: &PlotOptions) -> Result<String> {
    Ok(svg::render(&PlotGraph::from_model(model)?, options, &style::STYLE))
}

/// `model`'s layer graph as Graphviz DOT text, as Keras's `keras.utils.model_to_dot`
/// writes it (HTML-like table labels, `splines=ortho`).
pub fn model_to_dot(model: &Model, options: &PlotOptions) -> Result<String> {
    Ok(dot::render(&PlotGraph::from_model(model)?, options))
}

/// Writes a picture of `model` to `path`: SVG for `.svg`, Graphviz DOT for `.dot`/`.gv`,
/// with the default [`PlotOptions`] (shapes and layer names shown). The write is atomic.
pub fn plot_model(model: &Model, path: impl AsRef<Path>) -> Result<()> {
    plot_model_with(model, path, &PlotOptions::default())
}

/// [`plot_model`] with options.
pub fn plot_model_with(model: &Model, path: impl AsRef<Path>, options: &PlotOptions) -> Result<()> {
    let path = path.as_ref();
    let io_error = |message: String| KilnError::Io {
        path: path.display().to_string(),
        message,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let text = match ext.as_str() {
        "svg" => model_to_svg(model, options)?,
        "dot" | "gv" => model_to_dot(model, options)?,
        other => {
            let what = if other.is_empty() {
                "a file without an extension".to_string()
            } else {
                format!("'.{other}' files")
            };
            return Err(io_error(format!(
                "cannot plot to {what}: Kiln writes .svg (drawn by Kiln) and .dot (Graphviz: `dot -Tpng model.dot -o model.png`)"
            )));
        }
    };
    crate::io::write_atomic(path, text.as_bytes()).map_err(|e| io_error(format!("cannot write the file: {e}")))
}
