//! The headless subcommands, each in its own file; `run` dispatches to them.

mod classify;
mod eval;
mod explore;
mod show;
mod train;

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr, bail};
use mnist_explorer::dataset::{Dataset, NUM_CLASSES, Split};
use mnist_explorer::network::Network;

use crate::cli::{Cli, Command};

/// Runs what the command line asks for.
pub fn run(cli: Cli) -> Result<()> {
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .wrap_err("starting the worker threads")?;
    }
    match cli.command {
        Some(Command::Eval(args)) => eval::run(&cli.data_dir, &cli.weights, &args),
        Some(Command::Show(args)) => show::run(&cli.data_dir, &cli.weights, &args),
        Some(Command::Train(args)) => train::run(&cli.data_dir, &args),
        Some(Command::Classify(args)) => classify::run(&cli.weights, &args),
        None => explore::run(&cli.data_dir, &cli.weights, &cli.explore),
    }
}

/// Loads a split and a network and checks that they fit each other.
pub(crate) fn load(data_dir: &Path, weights: &Path, split: Split) -> Result<(Dataset, Network)> {
    let data = load_split(data_dir, split)?;
    let net = load_network(weights, data.rows(), data.cols())?;
    Ok((data, net))
}

/// Loads a network and checks that it takes `rows x cols` images and gives the ten classes.
pub(crate) fn load_network(weights: &Path, rows: usize, cols: usize) -> Result<Network> {
    let net = Network::load(weights).wrap_err("loading the network weights")?;
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

/// Fails if `out` (given by option `flag`) exists (without `force`), or if its folder is missing
/// or not writable, so that a long run does not end in an error.
pub(crate) fn check_out(out: &Path, force: bool, flag: &str) -> Result<()> {
    if out.is_dir() {
        bail!("{} is a directory; {flag} needs a file name", out.display());
    }
    if out.exists() && !force {
        bail!(
            "{} already exists; pass --force to replace it, or {flag} to write elsewhere",
            out.display()
        );
    }
    let dir = folder_of(out);
    if !dir.is_dir() {
        bail!(
            "cannot write {}: the folder {} does not exist",
            out.display(),
            dir.display()
        );
    }
    let probe = temp_path(out);
    std::fs::File::create(&probe).wrap_err_with(|| format!("cannot write in {}", dir.display()))?;
    std::fs::remove_file(&probe).wrap_err_with(|| format!("removing {}", probe.display()))?;
    Ok(())
}

/// The folder `path` is in (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.NAME.tmp-PID` beside `out`: same folder (so the rename stays on one filesystem), hidden,
/// and distinct per process.
pub(crate) fn temp_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "weights".into(), |n| n.to_string_lossy().into_owned());
    folder_of(out).join(format!(".{name}.tmp-{}", std::process::id()))
}
