//! The headless subcommands, each in its own file; `run` dispatches to them.

mod analysis;
mod classify;
mod eval;
mod explore;
mod show;
mod softmax;
mod stdio;
mod train;

use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, bail};
use mnist_explorer::dataset::{Dataset, NUM_CLASSES, Split};
use mnist_explorer::network::Network;
use mnist_explorer::out_file;
use mnist_explorer::weights;

use crate::cli::{Cli, Command};

pub(crate) use stdio::note;

/// Runs what the command line asks for.
pub fn run(cli: Cli) -> Result<()> {
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .wrap_err("starting the worker threads")?;
    }
    match &cli.command {
        Some(Command::Eval(args)) => eval::run(&cli.data_dir, cli.weights_for(&args.weights), args),
        Some(Command::Show(args)) => show::run(&cli.data_dir, cli.weights_for(&args.weights), args),
        Some(Command::Train(args)) => train::run(&cli.data_dir, args),
        Some(Command::Softmax(args)) => softmax::run(args),
        Some(Command::Classify(args)) => classify::run(cli.weights_for(&args.weights), args),
        None => explore::run(&cli.data_dir, &cli.weights, &cli.explore),
    }
}

/// Loads a split and a network and checks that they fit each other.
pub(crate) fn load(data_dir: &Path, weights: &Path, split: Split) -> Result<(Dataset, Network)> {
    let data = load_split(data_dir, split)?;
    let net = load_network(weights, data.rows(), data.cols(), "the network weights")?;
    Ok((data, net))
}

/// Loads a network (`what` it is, for errors) and checks that it takes `rows x cols`
/// images and gives the ten classes; what the reader converted on the way (float64 to
/// float32) is noted on stderr.
pub(crate) fn load_network(
    weights: &Path,
    rows: usize,
    cols: usize,
    what: &str,
) -> Result<Network> {
    let loaded = weights::load_noting(weights).wrap_err_with(|| format!("loading {what}"))?;
    if let Some(note) = loaded.note() {
        stdio::note(&format!("{}: {note}", weights.display()));
    }
    let net = loaded.network;
    net.check_fits(rows * cols, NUM_CLASSES)
        .map_err(|fault| color_eyre::eyre::eyre!("{}: {fault}", weights.display()))
        .wrap_err_with(|| {
            format!("the network does not fit {rows}x{cols} images with {NUM_CLASSES} classes")
        })?;
    Ok(net)
}

/// Loads a split, refusing one without images: an accuracy over no image, or a range of
/// indices like `0..=0` to pick from, would only mislead.
pub(crate) fn load_split(data_dir: &Path, split: Split) -> Result<Dataset> {
    let data = Dataset::load(data_dir, split)
        .wrap_err_with(|| format!("loading the {split} split from {}", data_dir.display()))?;
    if data.is_empty() {
        bail!("the {split} split in {} holds no image", data_dir.display());
    }
    Ok(data)
}
