//! Models: `Sequential` and Functional, both a [`Model`].

mod build;
mod sequential;
mod symbolic;

pub(crate) use build::with_weight_budget;
pub use sequential::{Sequential, SequentialEntry, WithInputShape};
pub use symbolic::{Apply, Input, SymbolicTensor};
pub(crate) use symbolic::{Producer, SymNode};

use crate::devices::Device;
use crate::error::{KilnError, Result};
use crate::fit::Compiled;
use crate::mixed_precision::DTypePolicy;
use kiln_burn::{Plan, Session};
use kiln_ir::{Graph, HostTensor};
use std::rc::Rc;

/// How the model was put together (it changes how `summary` prints it).
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// Layers added in order.
    Sequential {
        input: Option<SymbolicTensor>,
        tail: Option<SymbolicTensor>,
        pending: Vec<Box<dyn crate::layer::Layer>>,
    },
    /// Inputs and outputs given to [`Model::new`].
    Functional,
}

/// The compiled form of a built model.
pub(crate) struct Built {
    pub inputs: Vec<SymbolicTensor>,
    pub outputs: Vec<SymbolicTensor>,
    /// The mask each output carries, if any (losses and metrics skip masked steps).
    pub output_masks: Vec<Option<kiln_ir::ValueId>>,
    /// Layer calls (and inputs) in execution order.
    pub nodes: Vec<Rc<SymNode>>,
    pub graph: Graph,
    pub plan: Plan,
    pub session: Session,
}

/// A model: a graph of layers with weights on a device. Made by [`Sequential::new`] or
/// [`Model::new`]; trained with [`compile`](Model::compile) and [`fit`](Model::fit).
///
/// ```
/// use kiln::prelude::*;
/// let inputs = Input::new([784]);
/// let x = Dense::new(64).activation("relu").apply(&inputs)?;
/// let outputs = Dense::new(10).activation("softmax").apply(&x)?;
/// let model = Model::new(&[&inputs], &[&outputs])?;
/// assert_eq!(model.count_params(), 784 * 64 + 64 + 64 * 10 + 10);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub struct Model {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) built: Option<Built>,
    pub(crate) device: Device,
    pub(crate) compiled: Option<Compiled>,
    /// Set by a callback to end `fit` after the current epoch (Keras's
    /// `model.stop_training`).
    pub stop_training: bool,
    /// The devices each batch is split across, when data-parallel.
    pub(crate) replicas: Option<crate::distribution::Replicas>,
    /// The model's dtype policy (`None`: the global policy at `compile`).
    pub(crate) dtype_policy: Option<DTypePolicy>,
    /// Layers whose policy differs from the model's.
    pub(crate) layer_policies: std::collections::BTreeMap<String, DTypePolicy>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("params", &self.count_params())
            .field("device", &self.device)
            .field("compiled", &self.compiled.is_some())
            .finish()
    }
}

impl Model {
    /// A Functional model from its inputs to its outputs, named `functional`, `functional_1`, …
    pub fn new(inputs: &[&SymbolicTensor], outputs: &[&SymbolicTensor]) -> Result<Model> {
        let name = crate::names::unique_name("functional");
        let mut model = Model {
            name,
            kind: Kind::Functional,
            built: None,
            device: Device::default_device()?,
            compiled: None,
            stop_training: false,
            replicas: None,
            dtype_policy: None,
            layer_policies: Default::default(),
        };
        let inputs: Vec<SymbolicTensor> = inputs.iter().map(|t| (*t).clone()).collect();
        let outputs: Vec<SymbolicTensor> = outputs.iter().map(|t| (*t).clone()).collect();
        model.built = Some(build::build(&model.name, &model.device, inputs, outputs)?);
        Ok(model)
    }

    /// Renames the model.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device the model's weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    pub(crate) fn built(&self) -> Result<&Built> {
        self.built.as_ref().ok_or_else(|| self.unbuilt())
    }

    pub(crate) fn built_mut(&mut self) -> Result<&mut Built> {
        let err = self.unbuilt();
        self.built.as_mut().ok_or(err)
    }

    fn unbuilt(&self) -> KilnError {
        KilnError::Model {
            model: self.name.clone(),
            message: "the model has no input shape yet: add `Input::new([..])` first, or give the first layer `.input_shape([..])`".into(),
        }
    }

    /// The model's IR graph (inference).
    pub fn graph(&self) -> Result<&Graph> {
        Ok(&self.built()?.graph)
    }

    /// Names of the output layers, in output order.
    pub fn output_names(&self) -> Vec<String> {
        self.built
            .as_ref()
            .map(|b| b.outputs.iter().map(|t| t.producer_name().to_string()).collect())
            .unwrap_or_default()
    }

    /// Total number of weights (trainable and not).
    pub fn count_params(&self) -> usize {
        self.built
            .as_ref()
            .map_or(0, |b| b.graph.params().iter().map(|p| p.size()).sum())
    }

    /// Weight names (`dense/kernel`, …) in the order of [`get_weights`](Model::get_weights).
    pub fn weight_names(&self) -> Vec<String> {
        self.built
            .as_ref()
            .map(|b| b.graph.params().iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Copies every weight to the host.
    pub fn get_weights(&self) -> Result<Vec<HostTensor>> {
        Ok(self.built()?.session.params_to_host()?)
    }

    /// Replaces every weight; shapes must match [`get_weights`](Model::get_weights).
    pub fn set_weights(&mut self, weights: &[HostTensor]) -> Result<()> {
        let name = self.name.clone();
        let built = self.built_mut()?;
        let params = built.graph.params();
        if weights.len() != params.len() {
            return Err(KilnError::Model {
                model: name,
                message: format!(
                    "set_weights expected {} weight tensors, received {}",
                    params.len(),
                    weights.len()
                ),
            });
        }
        for (p, w) in params.iter().zip(weights) {
            if w.shape() != p.dims().as_slice() {
                return Err(KilnError::Model {
                    model: name,
                    message: format!(
                        "weight '{}' has shape {:?}; set_weights received {:?}",
                        p.name,
                        p.dims(),
                        w.shape()
                    ),
                });
            }
        }
        for (i, w) in weights.iter().enumerate() {
            built.session.set_param(i, w)?;
        }
        Ok(())
    }

    /// Moves the model (weights and optimizer state) to another device. A data-parallel
    /// model goes back to one device.
    pub fn to_device(&mut self, device: &Device) -> Result<()> {
        let engine = device.engine()?;
        self.move_to(device, &engine)?;
        self.replicas = None;
        Ok(())
    }

    fn move_to(&mut self, device: &Device, engine: &kiln_burn::EngineDevice) -> Result<()> {
        if let Some(built) = self.built.as_mut() {
            built.session = built.session.to_device(engine)?;
        }
        self.device = device.clone();
        Ok(())
    }

    /// Splits every batch of `fit`, `evaluate` and `predict` across the devices of
    /// `distribution` (see [`crate::distribution`]), moving the weights and optimizer
    /// state to its main device; `None` keeps the model on its main device alone. Every
    /// device is connected here, so a device that cannot be used is an error now.
    pub fn set_distribution(&mut self, distribution: Option<crate::distribution::DataParallel>) -> Result<()> {
        let Some(plan) = distribution else {
            self.replicas = None;
            return Ok(());
        };
        let replicas = crate::distribution::Replicas::new(plan)?;
        let main = replicas.plan.main_device().clone();
        self.move_to(&main, &replicas.engines[0])?;
        self.replicas = (replicas.engines.len() > 1).then_some(replicas);
        Ok(())
    }

    /// The names of the model's layers, in execution order (inputs left out).
    pub fn layer_names(&self) -> Vec<String> {
        self.built
            .as_ref()
            .map(|b| {
                b.nodes
                    .iter()
                    .filter(|n| matches!(n.producer, Producer::Layer(_)))
                    .map(|n| n.name().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sets the model's dtype policy (`float32`, `mixed_float16`, `mixed_bfloat16`; see
    /// [`crate::mixed_precision`]). It takes effect at the next `compile`.
    pub fn set_dtype_policy(&mut self, policy: &str) -> Result<()> {
        self.dtype_policy = Some(policy.parse()?);
        Ok(())
    }

    /// Gives the layer `layer` its own dtype policy (Keras's `dtype=` argument of a
    /// layer), such as `float32` for an output layer of a mixed model. It takes effect
    /// at the next `compile`.
    pub fn set_layer_dtype_policy(&mut self, layer: &str, policy: &str) -> Result<()> {
        let policy: DTypePolicy = policy.parse()?;
        let names = self.layer_names();
        if !names.iter().any(|n| n == layer) {
            return Err(KilnError::Model {
                model: self.name.clone(),
                message: format!("no layer named '{layer}'; its layers are: {}", names.join(", ")),
            });
        }
        self.layer_policies.insert(layer.to_string(), policy);
        Ok(())
    }

    /// The dtype policy in force: the model's own, else the global one.
    pub fn dtype_policy(&self) -> DTypePolicy {
        self.dtype_policy.unwrap_or_else(crate::mixed_precision::global_policy)
    }

    /// The loss scale of float16 mixed precision (`None` when loss scaling is off).
    pub fn loss_scale(&self) -> Option<f32> {
        self.built.as_ref()?.session.loss_scale().map(|s| s.scale)
    }

    /// The devices the model splits its batches across (its own device alone when it is
    /// not data-parallel).
    pub fn distribution_devices(&self) -> Vec<Device> {
        match &self.replicas {
            Some(r) => r.plan.devices().to_vec(),
            None => vec![self.device.clone()],
        }
    }
}
