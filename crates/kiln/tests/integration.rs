//! Kiln's integration tests, one module per file, linked into one binary so the suite
//! builds and links once. `denormals` stays a binary of its own: its switch is process-wide.

mod applications;
mod atomic_save;
mod bad_files;
mod bad_input;
mod callbacks;
mod checkpoint;
mod common;
mod constraints;
mod custom_layer;
mod data_parallel;
mod datasets;
mod devices;
mod fit_host_sync;
mod fit_semantics;
mod graph_passes;
mod history_plot;
mod keras_files;
mod keras_goldens;
mod keras_model_config;
mod layer_goldens;
mod masked_loss;
mod mixed_precision;
mod npy;
mod onnx_export;
mod quickstart;
mod resume;
mod saving;
mod summary_goldens;
mod tensorboard;
