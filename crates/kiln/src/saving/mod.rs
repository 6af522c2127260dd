//! Kiln's model file: [`Model::save`], [`Model::load`], [`Model::save_weights`] and
//! [`Model::load_weights`].
//!
//! A model file is one zip archive holding:
//!
//! - `metadata.json`: the format (`kiln-model`), its version, the Kiln version that wrote
//!   it and the model's name;
//! - `model.json`: the architecture — the model's inputs (name, shape, dtype), every layer
//!   call in execution order (class name, the layer's Kiln config, the tensors it was
//!   applied to, an explicit mask) and the outputs. Layers are rebuilt from it through
//!   [`crate::registry`]: a file carries no code;
//! - `graph.json`: the compiled IR ([`kiln_ir::to_json`]), to inspect or serve;
//! - `model.safetensors`: every weight by its Kiln name (`dense/kernel`, …), stored
//!   uncompressed in the safetensors layout so other tools can read it;
//! - for a compiled model, `training.json` (the compile configuration, the optimizer's
//!   step count and the seed of `fit`'s random streams) and, once it has trained,
//!   `optimizer.safetensors` (the optimizer's slots per weight, `dense/kernel/momentum`,
//!   …): a loaded model comes back compiled and `fit` continues exactly.
//!
//! `docs/file-format.md` describes every member.

pub(crate) mod archive_checks;
mod training;
mod weights;

use crate::devices::Device;
use crate::error::Result;
use crate::model::{Apply, Input, Kind, Model, Producer, SymNode, SymbolicTensor};
use kiln_ir::{DType, HostTensor, Shape, TensorType};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::path::Path;
use std::rc::Rc;
use weights::io_error;

/// The version of the model file's layout that this build writes and reads.
const FORMAT_VERSION: u32 = 1;
const FORMAT_NAME: &str = "kiln-model";
/// The largest JSON member read (bytes, uncompressed).
const MAX_JSON_BYTES: u64 = 256 << 20;
/// The most members a model file's archive may hold (Kiln writes at most six).
const MAX_MEMBERS: usize = 64;

/// `metadata.json`.
#[derive(Serialize, Deserialize)]
struct Metadata {
    format: String,
    format_version: u32,
    kiln_version: String,
    model_name: String,
}

/// `model.json`: enough to rebuild the model's layers and reconnect them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelSpec {
    name: String,
    kind: ModelKind,
    inputs: Vec<InputSpec>,
    layers: Vec<CallSpec>,
    outputs: Vec<TensorRef>,
}

#[derive(Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ModelKind {
    Sequential,
    Functional,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSpec {
    name: String,
    /// With the batch dimension (`null`).
    shape: Shape,
    dtype: DType,
}

/// One call of a layer.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallSpec {
    class_name: String,
    config: serde_json::Value,
    inputs: Vec<TensorRef>,
    /// An explicit mask for the first input (`layer.apply_with_mask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mask: Option<TensorRef>,
}

/// A symbolic tensor: model input `i`, or output `output` of layer call `call`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum TensorRef {
    Input(usize),
    Layer { call: usize, output: usize },
}

fn describe(model: &Model) -> Result<ModelSpec> {
    let built = model.built()?;
    let path_free = |message: String| crate::KilnError::Model {
        model: model.name.clone(),
        message,
    };
    let mut refs: HashMap<(u64, usize), TensorRef> = HashMap::new();
    let mut inputs = Vec::new();
    for (i, t) in built.inputs.iter().enumerate() {
        refs.insert((t.node.id, t.index), TensorRef::Input(i));
        inputs.push(InputSpec {
            name: t.producer_name().to_string(),
            shape: t.shape().clone(),
            dtype: t.dtype(),
        });
    }
    let lookup = |refs: &HashMap<(u64, usize), TensorRef>, t: &SymbolicTensor| {
        refs.get(&(t.node.id, t.index)).copied().ok_or_else(|| {
            path_free(format!(
                "cannot save: the tensor from '{}' is used before it is made",
                t.producer_name()
            ))
        })
    };
    let mut layers = Vec::new();
    for node in &built.nodes {
        let Producer::Layer(layer) = &node.producer else {
            continue;
        };
        let call = CallSpec {
            class_name: layer.class_name().to_string(),
            config: layer.config(),
            inputs: node.inputs.iter().map(|t| lookup(&refs, t)).collect::<Result<_>>()?,
            mask: node.explicit_mask.as_ref().map(|m| lookup(&refs, m)).transpose()?,
        };
        for output in 0..node.outputs.len() {
            refs.insert(
                (node.id, output),
                TensorRef::Layer {
                    call: layers.len(),
                    output,
                },
            );
        }
        layers.push(call);
    }
    let outputs = built.outputs.iter().map(|t| lookup(&refs, t)).collect::<Result<_>>()?;
    let kind = match model.kind {
        Kind::Sequential { .. } => ModelKind::Sequential,
        Kind::Functional => ModelKind::Functional,
    };
    Ok(ModelSpec {
        name: model.name.clone(),
        kind,
        inputs,
        layers,
        outputs,
    })
}

/// A model input with the saved name, shape and dtype.
fn input_tensor(spec: &InputSpec) -> SymbolicTensor {
    // `Input` hands out the fresh node id; the node is remade with the saved type.
    let fresh = Input::named(&spec.name, []);
    let node = SymNode {
        id: fresh.node.id,
        producer: Producer::Input {
            name: spec.name.clone(),
        },
        inputs: Vec::new(),
        outputs: vec![TensorType::new(spec.dtype, spec.shape.clone())],
        masks: vec![None],
        explicit_mask: None,
    };
    SymbolicTensor {
        node: Rc::new(node),
        index: 0,
    }
}

/// Rebuilds the layers of `spec` through the registry and connects them as saved.
fn rebuild(spec: &ModelSpec, path: &Path) -> Result<Model> {
    let bad = |message: String| io_error(path, format!("model.json: {message}"));
    let inputs: Vec<SymbolicTensor> = spec.inputs.iter().map(input_tensor).collect();
    let mut calls: Vec<Vec<SymbolicTensor>> = Vec::with_capacity(spec.layers.len());
    let resolve = |calls: &[Vec<SymbolicTensor>], r: TensorRef, at: &str| match r {
        TensorRef::Input(i) => inputs
            .get(i)
            .cloned()
            .ok_or_else(|| bad(format!("{at} refers to input {i}, but the model has {}", inputs.len()))),
        TensorRef::Layer { call, output } => {
            calls
                .get(call)
                .and_then(|outs| outs.get(output))
                .cloned()
                .ok_or_else(|| {
                    bad(format!(
                        "{at} refers to output {output} of layer call {call}, which is not made before it"
                    ))
                })
        }
    };
    for (k, call) in spec.layers.iter().enumerate() {
        let at = format!("layer call {k} ({})", call.class_name);
        let layer = crate::registry::layer_from_config(&call.class_name, &call.config)
            .map_err(|e| bad(format!("{at}: {e}")))?;
        let args = call
            .inputs
            .iter()
            .map(|r| resolve(&calls, *r, &at))
            .collect::<Result<Vec<_>>>()?;
        let outs = match call.mask {
            Some(m) => {
                let mask = resolve(&calls, m, &at)?;
                let [input] = args.as_slice() else {
                    return Err(bad(format!(
                        "{at} has an explicit mask but {} inputs; masks are for one-input layers",
                        args.len()
                    )));
                };
                Apply::apply_with_mask(&layer, input, &mask)
            }
            None => Apply::apply_all(&layer, &args.iter().collect::<Vec<_>>()),
        }
        .map_err(|e| bad(format!("{at} ('{}'): {e}", layer.name())))?;
        calls.push(outs);
    }
    let outputs = spec
        .outputs
        .iter()
        .map(|r| resolve(&calls, *r, "the model's outputs"))
        .collect::<Result<Vec<_>>>()?;
    if spec.kind == ModelKind::Sequential && (inputs.len() != 1 || outputs.len() != 1) {
        return Err(bad(format!(
            "a Sequential model has one input and one output; this one has {} and {}",
            inputs.len(),
            outputs.len()
        )));
    }
    let mut model = Model::new(&inputs.iter().collect::<Vec<_>>(), &outputs.iter().collect::<Vec<_>>())
        .map_err(|e| bad(e.to_string()))?
        .with_name(&spec.name);
    if spec.kind == ModelKind::Sequential {
        model.kind = Kind::Sequential {
            input: Some(inputs[0].clone()),
            tail: Some(outputs[0].clone()),
            pending: Vec::new(),
        };
    }
    Ok(model)
}

/// A model file's archive, and the file's length.
struct Archive<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    len: u64,
}

/// Reads one member of the archive, refusing one larger than `limit` bytes.
fn read_member(archive: &mut Archive, name: &str, limit: u64, path: &Path) -> Result<Vec<u8>> {
    archive_checks::read_member(&mut archive.zip, name, limit, archive.len, path, "Kiln model file")
}

fn read_json<T: serde::de::DeserializeOwned>(archive: &mut Archive, name: &str, path: &Path) -> Result<T> {
    let bytes = read_member(archive, name, MAX_JSON_BYTES, path)?;
    serde_json::from_slice(&bytes).map_err(|e| io_error(path, format!("'{name}' is not valid: {e}")))
}

fn to_json<T: Serialize>(value: &T, path: &Path) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| io_error(path, format!("cannot serialise: {e}")))
}

/// The Keras file kinds, told apart from Kiln's own by the file's extension.
enum KerasFile {
    /// Keras 3's `.keras` archive.
    Keras,
    /// The legacy HDF5 full-model file (`.h5`, `.hdf5`).
    LegacyH5,
}

impl KerasFile {
    fn of(path: &Path) -> Option<KerasFile> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "keras" => Some(KerasFile::Keras),
            "h5" | "hdf5" => Some(KerasFile::LegacyH5),
            _ => None,
        }
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io_error(path, format!("cannot read the file: {e}")))
}

impl Model {
    /// The weights' names, shapes and dtypes, in [`get_weights`](Model::get_weights) order.
    fn weight_specs(&self) -> Result<Vec<(String, Vec<usize>, DType)>> {
        Ok(self
            .built()?
            .graph
            .params()
            .iter()
            .map(|p| (p.name.clone(), p.dims(), p.ty.dtype))
            .collect())
    }

    /// Saves the model to one file: its architecture, its compiled IR and its weights
    /// (a zip archive of `metadata.json`, `model.json` — the layer configs and how they
    /// connect —, `graph.json` — the compiled IR — and `model.safetensors` — the weights by
    /// name, readable by other safetensors tools). The write is atomic: the file is
    /// written under a temporary name, flushed to disk and renamed, so a crash mid-save
    /// leaves any previous file intact. A compiled model also saves its compile
    /// configuration (`training.json`) and optimizer state (`optimizer.safetensors`),
    /// so that [`load`](Model::load) gives it back ready to continue training.
    ///
    /// ```no_run
    /// use kiln::prelude::*;
    /// let mut model = Sequential::new();
    /// model.add(Dense::new(8).activation("relu").input_shape([4]))?;
    /// model.add(Dense::new(1))?;
    /// model.save("model.kiln")?;
    /// let again = Model::load("model.kiln", &Device::Flex)?;
    /// assert_eq!(again.weight_names(), model.weight_names());
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        match KerasFile::of(path) {
            Some(KerasFile::Keras) => return crate::keras::export::save(self, path),
            Some(KerasFile::LegacyH5) => {
                return Err(io_error(
                    path,
                    "Kiln does not write legacy Keras .h5 files; save as .keras (Keras 3's format) or .kiln",
                ));
            }
            None => {}
        }
        let spec = describe(self)?;
        let metadata = Metadata {
            format: FORMAT_NAME.into(),
            format_version: FORMAT_VERSION,
            kiln_version: env!("CARGO_PKG_VERSION").into(),
            model_name: self.name.clone(),
        };
        let weights = weights::encode(&self.weight_names(), &self.get_weights()?, path)?;
        let mut members: Vec<(&str, Vec<u8>, bool)> = vec![
            ("metadata.json", to_json(&metadata, path)?, true),
            ("model.json", to_json(&spec, path)?, true),
            ("graph.json", kiln_ir::to_json(&self.built()?.graph).into_bytes(), true),
            ("model.safetensors", weights, false),
        ];
        members.extend(training::encode(self, path)?);
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes, compress) in &members {
            let method = if *compress {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(method)
                .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
            zip.start_file(*name, options)
                .map_err(|e| io_error(path, format!("cannot write '{name}': {e}")))?;
            zip.write_all(bytes)
                .map_err(|e| io_error(path, format!("cannot write '{name}': {e}")))?;
        }
        let bytes = zip
            .finish()
            .map_err(|e| io_error(path, format!("cannot write the archive: {e}")))?
            .into_inner();
        crate::io::write_atomic(path, &bytes).map_err(|e| io_error(path, format!("cannot write the file: {e}")))
    }

    /// Loads a model saved by [`save`](Model::save) onto `device`: its layers are rebuilt
    /// from their configs through [`crate::registry`] (a custom layer must be registered
    /// with [`register_layer`](crate::registry::register_layer) first) and its weights are
    /// set by name. A file that is not a Kiln model file, is incomplete, or whose weights
    /// do not fit the model is an error naming the file and the problem. A model saved
    /// compiled comes back compiled the same way, with its optimizer state: `fit` with
    /// `initial_epoch` set to the epochs already done continues as if training had not
    /// stopped. A model saved uncompiled comes back uncompiled.
    ///
    /// ```no_run
    /// use kiln::prelude::*;
    /// let model = Model::load("model.kiln", &"cpu".parse()?)?;
    /// model.summary();
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Model> {
        let path = path.as_ref();
        if KerasFile::of(path).is_some() {
            return crate::keras::import::load(path, device);
        }
        let bytes = read_file(path)?;
        Model::load_kiln_bytes(&bytes, path, device)
    }

    /// [`load`](Model::load) for a Keras file already in memory: a legacy HDF5 file when
    /// `path` ends in `.h5`/`.hdf5`, a `.keras` archive otherwise; `path` only names it in
    /// errors. An entry point of the fuzzers (`fuzz/`).
    #[doc(hidden)]
    pub fn load_keras_bytes(bytes: Vec<u8>, path: &Path, device: &Device) -> Result<Model> {
        crate::keras::import::load_bytes(bytes, path, device)
    }

    /// [`load`](Model::load) for a Kiln model file already in memory; `path` only names it
    /// in errors. The entry point of the fuzzers (`fuzz/`).
    #[doc(hidden)]
    pub fn load_kiln_bytes(bytes: &[u8], path: &Path, device: &Device) -> Result<Model> {
        let mut archive = Archive {
            zip: zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
                io_error(
                    path,
                    format!("not a Kiln model file, or a truncated one (not a readable zip archive): {e}"),
                )
            })?,
            len: bytes.len() as u64,
        };
        archive_checks::check_members(&archive.zip, bytes, MAX_MEMBERS, path)?;
        let metadata: Metadata = read_json(&mut archive, "metadata.json", path)?;
        if metadata.format != FORMAT_NAME {
            return Err(io_error(
                path,
                format!(
                    "not a Kiln model file: metadata.json says format '{}', expected '{FORMAT_NAME}'",
                    metadata.format
                ),
            ));
        }
        if metadata.format_version != FORMAT_VERSION {
            return Err(io_error(
                path,
                format!(
                    "model file format version {} (written by Kiln {}); this Kiln ({}) reads version {FORMAT_VERSION}",
                    metadata.format_version,
                    metadata.kiln_version,
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        let spec: ModelSpec = read_json(&mut archive, "model.json", path)?;
        // Present for inspection and serving; the model is rebuilt from model.json.
        read_member(&mut archive, "graph.json", MAX_JSON_BYTES, path)?;
        let weight_bytes = read_member(&mut archive, "model.safetensors", u64::MAX, path)?;
        // No more initial weights drawn than model.safetensors holds (4 bytes an element).
        let budget = weight_bytes.len() as u64 / 4;
        let mut model = crate::model::with_weight_budget(budget, || rebuild(&spec, path))?;
        let found = weights::decode(&weight_bytes, path, "model.safetensors")?;
        let ordered = weights::match_weights(&model.weight_specs()?, found, path, "model.safetensors")?;
        model.set_weights(&ordered)?;
        model.to_device(device)?;
        training::restore(&mut model, &mut archive, path)?;
        Ok(model)
    }

    /// Saves the weights alone to a `.safetensors` file, by weight name
    /// ([`weight_names`](Model::weight_names)). The write is atomic.
    ///
    /// ```no_run
    /// use kiln::prelude::*;
    /// let mut model = Sequential::new();
    /// model.add(Dense::new(2).input_shape([3]))?;
    /// model.save_weights("weights.safetensors")?;
    /// model.load_weights("weights.safetensors")?;
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = weights::encode(&self.weight_names(), &self.get_weights()?, path)?;
        crate::io::write_atomic(path, &bytes).map_err(|e| io_error(path, format!("cannot write the file: {e}")))
    }

    /// Sets the weights from a `.safetensors` file written by
    /// [`save_weights`](Model::save_weights) (or any safetensors file with the same
    /// names and shapes). A missing, extra or wrongly shaped weight is an error naming it,
    /// and the model is left as it was.
    ///
    /// ```no_run
    /// use kiln::prelude::*;
    /// let mut model = Sequential::new();
    /// model.add(Dense::new(2).input_shape([3]))?;
    /// model.load_weights("weights.safetensors")?;
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = read_file(path)?;
        let found = weights::decode(&bytes, path, "the file")?;
        let ordered: Vec<HostTensor> = weights::match_weights(&self.weight_specs()?, found, path, "the file")?;
        self.set_weights(&ordered)
    }
}
