//! `kiln summary MODEL`.

use std::path::PathBuf;

/// Arguments of `kiln summary`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file: .kiln, .keras or .h5.
    model: PathBuf,
}

/// Prints Keras's summary table of the model: each layer's name and class, output shape
/// and parameter count, then the totals.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let device = crate::failure::device(None)?;
    let model = crate::failure::load(&args.model, &device)?;
    print!("{}", model.summary_string());
    Ok(())
}
