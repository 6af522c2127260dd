//! `kiln export MODEL -o model.onnx`.

use crate::failure;
use std::path::PathBuf;

/// Arguments of `kiln export`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file: .kiln, .keras or .h5.
    model: PathBuf,
    /// The ONNX file to write (.onnx).
    #[arg(short, long)]
    output: PathBuf,
}

/// Loads the model and writes its inference graph as an ONNX file (opset 17).
pub fn run(args: &Args) -> anyhow::Result<()> {
    let ext = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if ext.as_deref() != Some("onnx") {
        anyhow::bail!(
            "{}: `kiln export` writes ONNX files; give the output the .onnx extension",
            args.output.display()
        );
    }
    let device = failure::device(None)?;
    let model = failure::load(&args.model, &device)?;
    model.export_onnx(&args.output).map_err(|e| match e {
        // Writing failed: the message names the output file already.
        kiln::KilnError::Io { .. } => failure::at(&args.output, e),
        // An op ONNX cannot express: the model's problem.
        e => failure::at(&args.model, e),
    })?;
    println!("{} -> {}", args.model.display(), args.output.display());
    Ok(())
}
