//! `kiln`: Kiln's command line.

mod info;

use clap::{Parser, Subcommand};

/// Keras for Rust: inspect Kiln's engines and devices.
#[derive(Parser)]
#[command(name = "kiln", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Kiln's version, the backends compiled in and the devices available here.
    Info,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Info => info::run(),
    }
}
