//! The headless subcommands, each in its own file; `run` dispatches to them.

mod analysis;
mod classify;
mod eval;
mod explore;
mod matrix;
mod show;
mod softmax;
mod stdio;
mod train;

use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, bail};
use mnist_explorer::dataset::{Dataset, NUM_CLASSES, Split};
use mnist_explorer::normalize::NormMode;
use mnist_explorer::out_file;
use mnist_explorer::trained_on;
use mnist_explorer::weights::{self, Loaded};

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

/// Loads a split and a network (with its file's record) and checks that they fit each other.
pub(crate) fn load(data_dir: &Path, weights: &Path, split: Split) -> Result<(Dataset, Loaded)> {
    let data = load_split(data_dir, split)?;
    let net = load_network(weights, data.rows(), data.cols(), "the network weights")?;
    Ok((data, net))
}

/// Loads a network (`what` it is, for errors) with its file's record, and checks that it
/// takes `rows x cols` images and gives the ten classes; what the reader converted on the
/// way (float64 to float32) is noted on stderr.
pub(crate) fn load_network(weights: &Path, rows: usize, cols: usize, what: &str) -> Result<Loaded> {
    let net = weights::load(weights).wrap_err_with(|| format!("loading {what}"))?;
    if let Some(note) = net.note() {
        stdio::note(&format!("{}: {note}", weights.display()));
    }
    net.network
        .check_fits(rows * cols, NUM_CLASSES)
        .map_err(|fault| color_eyre::eyre::eyre!("{}: {fault}", weights.display()))
        .wrap_err_with(|| {
            format!("the network does not fit {rows}x{cols} images with {NUM_CLASSES} classes")
        })?;
    Ok(net)
}

/// The normalization a command uses: the one asked for (`--norm`), else the one the weights
/// file records, else div255. Asking for another mode than the recorded one is allowed (it is
/// how a learner sees a mode fail) but warned about on stderr, with the reason.
pub(crate) fn norm_for(asked: Option<NormMode>, loaded: &Loaded, weights: &Path) -> NormMode {
    let recorded = loaded.trained_on();
    if let (Some(asked), Some(recorded)) = (asked, recorded)
        && let Some(reason) = trained_on::reason(recorded, asked)
    {
        stdio::note(&format!(
            "warning: {} was trained on {recorded}, not {asked} (its record says so): {reason}",
            weights.display()
        ));
    }
    asked.or(recorded).unwrap_or_default()
}

/// What the weights file says the network was trained on, for reports: a mode's name or
/// "unknown" (a file without a record).
pub(crate) fn trained_on_name(trained_on: Option<NormMode>) -> &'static str {
    trained_on.map_or("unknown", NormMode::name)
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
