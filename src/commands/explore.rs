//! No subcommand: the interactive explorer, after checking that there is a terminal to run in.

use std::io::IsTerminal;
use std::path::Path;

use color_eyre::eyre::Result;
use mnist_explorer::app::shared::Origin;
use mnist_explorer::app::{self, Exit, evaluations::EvalKey};
use mnist_explorer::dataset::Split;
use mnist_explorer::layer::OutputLayer;

use crate::cli::ExploreArgs;

/// What to use instead of the explorer where it cannot run.
const INSTEAD: &str = "Without a terminal, use `mnist-explorer eval` for the accuracy over a split, \
or `mnist-explorer show INDEX` for one image (see `mnist-explorer --help`).";

/// Loads the split and the weights and runs the explorer until the user quits.
pub fn run(data_dir: &Path, weights: &Path, args: &ExploreArgs) -> Result<()> {
    let split = args.split.unwrap_or(Split::Test);
    // Checked first, and reported in plain text rather than through color-eyre (which colors
    // its report unconditionally), so that a pipe or a log gets no escape code at all.
    let unusable = if !std::io::stdout().is_terminal() {
        Some("a terminal, and standard output is not one")
    } else if std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
        // A dumb terminal cannot move the cursor: the explorer's screen would arrive as
        // escape codes and garbage.
        Some("a terminal that can move the cursor, and TERM=dumb says this one cannot")
    } else {
        None
    };
    if let Some(what) = unusable {
        super::stdio::note(&format!(
            "mnist-explorer: the interactive explorer needs {what}.\n{INSTEAD}"
        ));
        std::process::exit(1);
    }
    let (data, loaded) = super::load(data_dir, weights, split)?;
    // Without --norm the explorer starts in the mode the network was trained with; another
    // mode is marked on screen, where a warning printed now would be hidden.
    let norm = args.norm.or(loaded.trained_on()).unwrap_or_default();
    // A whitened start needs its fit before the first image is drawn: made here, before the
    // terminal is taken (later choices of pca or zca are fitted on the worker).
    super::ready_norm(norm, data_dir, (split == Split::Train).then_some(&data))?;
    let other = match &args.compare {
        Some(path) => {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into(),
            );
            let loaded = super::load_network(
                path,
                data.rows(),
                data.cols(),
                "the network to compare with (--compare)",
            )?;
            let trained_on = loaded.trained_on();
            Some((loaded.network, name, trained_on))
        }
        None => None,
    };
    let start = EvalKey {
        norm,
        batch_size: args.batch_size.unwrap_or(100),
        output: OutputLayer::Softmax,
    };
    let label = match weights.file_name() {
        Some(name) => format!("loaded network · {}", name.to_string_lossy()),
        None => "loaded network".to_string(),
    };
    let origin = Origin {
        path: Some(weights.to_path_buf()),
        trained_on: loaded.trained_on(),
    };
    match app::run(
        data,
        (loaded.network, label),
        origin,
        other,
        split,
        start,
        data_dir,
    )? {
        Exit::Quit => Ok(()),
        // The conventional status of a process ended by a signal, now that the terminal is
        // restored.
        Exit::Signal(sig) => std::process::exit(128 + sig),
    }
}
