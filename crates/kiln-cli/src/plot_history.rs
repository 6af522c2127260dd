//! `kiln plot-history LOG.csv -o curves.png`: training curves from a `CsvLogger` file.

use kiln::callbacks::History;
use std::path::PathBuf;

/// Arguments of `kiln plot-history`.
#[derive(clap::Args)]
pub struct Args {
    /// The CSV file CsvLogger (or Keras's CSVLogger) wrote: an `epoch` column, then one
    /// column per log (`loss`, `val_loss`, …).
    log: PathBuf,
    /// The picture to write: .png or .svg.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// The CSV field separator.
    #[arg(long, default_value = ",", value_name = "CHAR")]
    separator: String,
    /// The title above the panels.
    #[arg(long, default_value = "Training history")]
    title: String,
}

/// Reads the log and writes its curves.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.log)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the file: {e}", args.log.display()))?;
    let history = parse(&text, &args.separator).map_err(|e| anyhow::anyhow!("{}: {e}", args.log.display()))?;
    let options = kiln::plot::history::HistoryPlotOptions {
        title: args.title.clone(),
        ..Default::default()
    };
    history
        .plot_with(&args.output, &options)
        .map_err(|e| crate::failure::at(&args.output, e))?;
    println!("{}", args.output.display());
    Ok(())
}

/// A `CsvLogger` file as a History. Values `NA`, `nan` (any case) or empty are kept as
/// NaN (a gap in the curve), `inf` as infinity; anything else that is not a number is an error naming its line and
/// column.
fn parse(text: &str, separator: &str) -> Result<History, String> {
    if separator.is_empty() {
        return Err("the separator is empty".into());
    }
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err("the file is empty; expected a CSV header `epoch,loss,…` as CsvLogger writes".into());
    };
    let columns: Vec<&str> = header.split(separator).map(str::trim).collect();
    if columns[0] != "epoch" {
        return Err(format!(
            "the first column is {:?}, expected \"epoch\" (a CsvLogger header `epoch{separator}loss{separator}…`)",
            columns[0]
        ));
    }
    let names = &columns[1..];
    if names.is_empty() {
        return Err("the header has no column after `epoch`: nothing to plot".into());
    }
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(format!("column {} of the header has no name", i + 2));
        }
        if names[..i].contains(name) {
            return Err(format!("column {:?} appears twice in the header", name));
        }
    }
    let mut history = History::default();
    for (n, line) in lines {
        let fields: Vec<&str> = line.split(separator).map(str::trim).collect();
        if fields.len() != columns.len() {
            return Err(format!(
                "line {}: {} fields, the header has {} columns",
                n + 1,
                fields.len(),
                columns.len()
            ));
        }
        let epoch: usize = fields[0]
            .parse()
            .map_err(|_| format!("line {}: epoch {:?} is not a whole number", n + 1, fields[0]))?;
        history.epoch.push(epoch);
        for (name, field) in names.iter().zip(&fields[1..]) {
            let value = match field.to_ascii_lowercase().as_str() {
                "na" | "nan" | "" => f64::NAN,
                _ => field
                    .parse::<f64>()
                    .map_err(|_| format!("line {}, column {name:?}: {field:?} is not a number", n + 1))?,
            };
            history.history.entry(name.to_string()).or_default().push(value);
        }
    }
    if history.epoch.is_empty() {
        return Err("the file has a header but no epochs".into());
    }
    Ok(history)
}
