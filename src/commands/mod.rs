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
use mnist_explorer::whiten;

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
        Some(Command::Classify(args)) => {
            classify::run(&cli.data_dir, cli.weights_for(&args.weights), args)
        }
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
    if let Some(asked) = asked {
        warn_other_mode(&weights.display().to_string(), recorded, asked);
    }
    asked.or(recorded).unwrap_or_default()
}

/// Warns on stderr when the network called `what` is fed `used` inputs though its file
/// records another mode (`recorded`), with the reason that costs it accuracy.
pub(crate) fn warn_other_mode(what: &str, recorded: Option<NormMode>, used: NormMode) {
    if let Some(recorded) = recorded
        && let Some(reason) = trained_on::reason(recorded, used)
    {
        stdio::note(&format!(
            "warning: {what} was trained on {recorded}, not {used} (its record says so): {reason}"
        ));
    }
}

/// Makes `norm` ready to use: a whitening is fitted on the training split (`train` when the
/// caller has it loaded, else read from `data_dir`), or taken from this run's earlier fit, with
/// a note on stderr saying what the fit kept and how long it took. Other modes need nothing.
pub(crate) fn ready_norm(norm: NormMode, data_dir: &Path, train: Option<&Dataset>) -> Result<()> {
    if norm.whitening().is_none() {
        return Ok(());
    }
    let read;
    let train = match train {
        Some(train) => train,
        None => {
            read = load_split(data_dir, Split::Train)
                .wrap_err_with(|| format!("{norm} whitening is fitted on the training split"))?;
            &read
        }
    };
    let fit = whiten::prepare(train).wrap_err_with(|| format!("fitting {norm} whitening"))?;
    stdio::note(&format!("{norm}: {}", fit.summary()));
    Ok(())
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
