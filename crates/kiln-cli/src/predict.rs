//! `kiln predict MODEL --input X.npy … --output Y.npy …`.

use crate::failure;
use kiln::DType;
use std::path::PathBuf;

/// Arguments of `kiln predict`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file: .kiln, .keras or .h5.
    model: PathBuf,
    /// An input array (.npy), one per model input, in the model's input order. float32
    /// (float64 is rounded to float32; integer data is converted) for float inputs,
    /// integer data for int32 inputs (e.g. an Embedding's token ids).
    #[arg(short, long = "input", value_name = "X.npy", required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write an output array (.npy), one per model output, in output order.
    #[arg(short, long = "output", value_name = "Y.npy", required = true)]
    outputs: Vec<PathBuf>,
    /// The device to run on: ndarray, flex, cpu, wgpu, wgpu:N, tch:cpu, tch:cuda:N, gpu
    /// (default: KILN_DEVICE, else cpu).
    #[arg(short, long, value_name = "DEV")]
    device: Option<String>,
    /// Samples per batch.
    #[arg(short, long, value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    }
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::I32 => "int32",
    }
}

/// Runs the model on the inputs and writes its outputs.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let device = failure::device(args.device.as_deref())?;
    let model = failure::load(&args.model, &device)?;
    let model_file = args.model.display();
    let graph = model.graph().map_err(|e| failure::at(&args.model, e))?;
    let mut wanted = Vec::new();
    for input in graph.inputs() {
        let ty = graph
            .value_type(input.value)
            .map_err(|e| failure::at(&args.model, e.into()))?;
        wanted.push((input.name.clone(), ty.clone()));
    }
    let names: Vec<&str> = wanted.iter().map(|(n, _)| n.as_str()).collect();
    let plural = |n: usize, what: &str| {
        if n == 1 {
            format!("1 {what}")
        } else {
            format!("{n} {what}s")
        }
    };
    let given = |n: usize, flag: &str| match n {
        1 => format!("1 {flag} file was given"),
        n => format!("{n} {flag} files were given"),
    };
    if args.inputs.len() != wanted.len() {
        anyhow::bail!(
            "{model_file}: the model takes {} ({}) but {} given",
            plural(wanted.len(), "input"),
            names.join(", "),
            given(args.inputs.len(), "--input")
        );
    }
    let output_names = model.output_names();
    if args.outputs.len() != output_names.len() {
        anyhow::bail!(
            "{model_file}: the model gives {} ({}) but {} given",
            plural(output_names.len(), "output"),
            output_names.join(", "),
            given(args.outputs.len(), "--output")
        );
    }
    let mut arrays = Vec::new();
    let mut samples: Option<(usize, &PathBuf)> = None;
    for (path, (name, ty)) in args.inputs.iter().zip(&wanted) {
        let x = kiln::npy::read(path).map_err(|e| failure::at(path, e))?;
        let at = path.display();
        let x = match (ty.dtype, x.dtype()) {
            (DType::I32, DType::F32) => anyhow::bail!(
                "{at}: holds float data but the model's input '{name}' takes int32 (e.g. token ids); save it as integers (x.astype('int32'))"
            ),
            (DType::F32, DType::I32) => x.cast(DType::F32),
            _ => x,
        };
        if !ty.shape.accepts(x.shape()) {
            anyhow::bail!(
                "{at}: shape {} does not fit the model's input '{name}', which takes {} {} (None: any number of samples)",
                shape_text(x.shape()),
                dtype_name(ty.dtype),
                ty.shape.keras_string()
            );
        }
        let n = x.shape().first().copied().unwrap_or(1);
        match samples {
            Some((m, first)) if m != n => anyhow::bail!(
                "{at}: holds {n} samples but {} holds {m}; every input needs the same number of samples",
                first.display()
            ),
            None if n == 0 => anyhow::bail!("{at}: holds 0 samples: nothing to predict"),
            _ => samples = Some((n, path)),
        }
        arrays.push(x);
    }
    let options = kiln::PredictOptions {
        batch_size: args.batch_size as usize,
    };
    let results = model
        .predict_multi(kiln::Data(arrays), options)
        .map_err(|e| failure::at(&args.model, e))?;
    for (path, y) in args.outputs.iter().zip(&results) {
        kiln::npy::write(path, y).map_err(|e| failure::at(path, e))?;
    }
    for (path, y) in args.outputs.iter().zip(&results) {
        println!(
            "{}: {} {}",
            path.display(),
            shape_text(y.shape()),
            dtype_name(y.dtype())
        );
    }
    Ok(())
}
