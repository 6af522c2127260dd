//! `kiln plot MODEL -o OUT`.

use kiln::plot::PlotOptions;
use std::path::PathBuf;

/// Arguments of `kiln plot`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file: .kiln, .keras or .h5.
    model: PathBuf,
    /// The picture to write: .svg (drawn by Kiln) or .dot (Graphviz text).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Leave out the input and output shapes (shown by default).
    #[arg(long)]
    no_shapes: bool,
    /// Show classes only, not layer names (names are shown by default).
    #[arg(long)]
    no_layer_names: bool,
    /// Show each layer's output dtype.
    #[arg(long)]
    show_dtype: bool,
    /// Show the activation of layers that have one.
    #[arg(long)]
    show_activations: bool,
    /// Show whether each layer with weights is trainable.
    #[arg(long)]
    show_trainable: bool,
}

/// Writes the layer graph of the model to the output file.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let device = crate::failure::device(None)?;
    let model = crate::failure::load(&args.model, &device)?;
    let options = PlotOptions {
        show_shapes: !args.no_shapes,
        show_dtype: args.show_dtype,
        show_layer_names: !args.no_layer_names,
        show_layer_activations: args.show_activations,
        show_trainable: args.show_trainable,
    };
    kiln::plot::plot_model_with(&model, &args.output, &options).map_err(|e| crate::failure::at(&args.output, e))?;
    println!("{}", args.output.display());
    Ok(())
}
