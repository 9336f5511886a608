//! No subcommand: the interactive explorer, after checking that there is a terminal to run in.

use std::io::IsTerminal;
use std::path::Path;

use color_eyre::eyre::Result;
use mnist_explorer::app::{self, Exit, state::EvalKey};
use mnist_explorer::dataset::Split;
use mnist_explorer::network::OutputLayer;

use crate::cli::ExploreArgs;

/// Why the explorer will not start without a terminal, and what to use instead.
const NOT_A_TERMINAL: &str = "mnist-explorer: the interactive explorer needs a terminal, and \
standard output is not one.
Without a terminal, use `mnist-explorer eval` for the accuracy over a split, or \
`mnist-explorer show INDEX` for one image (see `mnist-explorer --help`).";

/// Loads the split and the weights and runs the explorer until the user quits.
pub fn run(data_dir: &Path, weights: &Path, args: &ExploreArgs) -> Result<()> {
    let split = args.split.unwrap_or(Split::Test);
    // Checked first, and reported in plain text rather than through color-eyre (which colors
    // its report unconditionally), so that a pipe or a log gets no escape code at all.
    if !std::io::stdout().is_terminal() {
        super::stdio::note(NOT_A_TERMINAL);
        std::process::exit(1);
    }
    let (data, net) = super::load(data_dir, weights, split)?;
    let start = EvalKey {
        norm: args.norm.unwrap_or_default(),
        batch_size: args.batch_size.unwrap_or(100),
        output: OutputLayer::Softmax,
    };
    match app::run(data, net, split, start)? {
        Exit::Quit => Ok(()),
        // The conventional status of a process ended by a signal, now that the terminal is
        // restored.
        Exit::Signal(sig) => std::process::exit(128 + sig),
    }
}
