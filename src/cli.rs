//! Command-line definitions (clap derive): global options, subcommands and their flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use mnist_explorer::dataset::Split;
use mnist_explorer::network::OutputLayer;
use mnist_explorer::normalize::NormMode;

/// Default weights: the network this project trained and ships.
pub const DEFAULT_WEIGHTS: &str = "weights/mnist-784-50-100-10.npz";

const NORM_HELP: &str = "Input normalization: raw (0..255), div255 (x/255, the book's), \
l1 (x/sum|x|), l2 (x/sqrt(sum x^2)), max (x/max|x|), zscore ((x/255 - 0.1307)/0.3081, the \
mean and standard deviation of all 47,040,000 MNIST training pixels; an all-zero image \
becomes -0.424 everywhere, as its pixels would in any image)";

/// Explore how the book's 784-50-100-10 network classifies MNIST digits.
///
/// Without a subcommand, opens the interactive explorer on the test set.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
    #[arg(long, global = true, value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Network weights (.npz with float32 W1, b1, ..., Wn, bn in x·W + b layout)
    #[arg(long, global = true, value_name = "FILE", default_value = DEFAULT_WEIGHTS)]
    pub weights: PathBuf,

    /// What to do (default: open the explorer)
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The explorer's starting settings (without a subcommand)
    #[command(flatten)]
    pub explore: ExploreArgs,
}

/// Options of the explorer (no subcommand): where it starts; keys change them later.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// Which split the explorer browses (subcommands take their own --split)
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,

    /// Starting input normalization (n/N cycle through them)
    #[arg(long, value_enum, default_value_t = NormMode::Div255)]
    pub norm: NormMode,

    /// Starting batch size of the background evaluation (b/B cycle 1, 10, 100, 1000, 10000)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate the network on every image of a split, in batches
    Eval(EvalArgs),
    /// Print one image, its label, the prediction, the softmax and the norms
    Show(ShowArgs),
}

/// Options of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[arg(long, value_enum, default_value_t = NormMode::Div255, help = NORM_HELP)]
    pub norm: NormMode,

    /// Images per forward pass
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,

    /// Output layer: softmax (probabilities) or identity (raw scores; same predictions)
    #[arg(long, value_enum, default_value_t = OutputLayer::Softmax)]
    pub output: OutputLayer,

    /// Which split to evaluate
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,

    /// Print one JSON object instead of the human report
    #[arg(long)]
    pub json: bool,

    /// Write one predicted label per line, in dataset order, to FILE
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
}

/// Options of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Index of the image in the split (0-based)
    pub index: usize,

    #[arg(long, value_enum, default_value_t = NormMode::Div255, help = NORM_HELP)]
    pub norm: NormMode,

    /// Which split to take the image from
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
}
