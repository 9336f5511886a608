//! mnist-explorer: parse the command line and dispatch.

mod cli;
mod commands;

use clap::Parser;

fn main() -> color_eyre::Result<()> {
    color_eyre::install()?;
    let cli = cli::Cli::parse();
    commands::run(cli)
}
