//! `kiln convert IN OUT`.

use crate::failure;
use std::path::{Path, PathBuf};

/// Arguments of `kiln convert`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file to read: .kiln, .keras or .h5.
    input: PathBuf,
    /// The file to write: .kiln (Kiln's format) or .keras (Keras 3's format).
    output: PathBuf,
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

/// Loads the model and saves it in the format of the output's extension.
pub fn run(args: &Args) -> anyhow::Result<()> {
    match extension(&args.output).as_str() {
        "kiln" | "keras" => {}
        "h5" | "hdf5" => anyhow::bail!(
            "{}: Kiln does not write legacy Keras .h5 files; write .keras (Keras 3's format) or .kiln",
            args.output.display()
        ),
        other => anyhow::bail!(
            "{}: cannot tell the format from the extension '{other}': write .kiln (Kiln) or .keras (Keras 3)",
            args.output.display()
        ),
    }
    let device = failure::device(None)?;
    let model = failure::load(&args.input, &device)?;
    model.save(&args.output).map_err(|e| failure::at(&args.output, e))?;
    println!("{} -> {}", args.input.display(), args.output.display());
    Ok(())
}
