//! Command-line definitions (clap derive): global options, subcommands and their flags.

use std::path::PathBuf;

use clap::builder::{EnumValueParser, TypedValueParser};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use mnist_explorer::dataset::Split;
use mnist_explorer::layer::OutputLayer;
use mnist_explorer::normalize::NormMode;
use mnist_explorer::train::{
    DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_HIDDEN, DEFAULT_SEED, Optimizer, Schedule,
    TrainConfig, format_hidden, parse_hidden,
};

/// A clap value enum mirroring an engine enum, so that the engine does not depend on clap.
/// Both conversions are exhaustive matches: a variant added on either side without the other
/// does not compile.
macro_rules! value_enum {
    ($name:ident => $engine:ident { $($variant:ident),+ $(,)? }) => {
        #[doc = concat!("The command line's spelling of [`", stringify!($engine), "`].")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
        pub enum $name {
            $($variant),+
        }

        impl From<$name> for $engine {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $engine::$variant),+
                }
            }
        }

        impl From<$engine> for $name {
            fn from(value: $engine) -> Self {
                match value {
                    $($engine::$variant => $name::$variant),+
                }
            }
        }
    };
}

value_enum!(NormArg => NormMode { Raw, Div255, L1, L2, Max, Zscore, Pca, Zca });
value_enum!(OutputArg => OutputLayer { Softmax, Identity });
value_enum!(SplitArg => Split { Test, Train });
value_enum!(OptimizerArg => Optimizer { Sgd, Momentum, Adam });
value_enum!(ScheduleArg => Schedule { Constant, Cosine });

/// Parses a command-line name into the engine's enum `E` through its mirror `C`.
fn engine<C, E>() -> impl TypedValueParser<Value = E>
where
    C: ValueEnum + Clone + Send + Sync + 'static,
    E: From<C> + Clone + Send + Sync + 'static,
{
    EnumValueParser::<C>::new().map(E::from)
}

/// Default weights: the network this project trained and ships.
pub const DEFAULT_WEIGHTS: &str = "weights/mnist-784-50-100-10.npz";

/// The modes and their formulas, for every `--norm`'s help.
macro_rules! norm_help {
    () => {
        "Input normalization: raw (0..255), div255 (x/255, the book's), \
l1 (x/sum|x|), l2 (x/sqrt(sum x^2)), max (x/max|x|), zscore ((x/255 - 0.1307)/0.3081, the \
mean and standard deviation of all 47,040,000 MNIST training pixels; an all-zero image \
becomes -0.424 everywhere, as its pixels would in any image), pca (x/255 whitened: turned onto \
the training split's principal directions, each scaled to variance 1), zca (pca turned back onto \
the pixels, so the image still looks like a digit); pca and zca are fitted on the training split \
first (about a second)"
    };
}

const NORM_HELP: &str = norm_help!();

/// `--norm` of the commands that read a weights file.
const READ_NORM_HELP: &str = concat!(
    norm_help!(),
    " [default: the mode the weights file records it was trained with, else div255; another \
     mode than the recorded one is warned about]"
);

const KERNEL_HELP: &str = "\
Environment:
  MNIST_EXPLORER_KERNEL=avx2+fma|portable
      Run a slower code path than the one detected (AVX-512, AVX2+FMA or
      portable), for the forward pass and for training alike, to compare them.
      An unknown or unsupported name is ignored; `eval --json` and
      `train --json` report the path that ran.";

/// Explore how the book's 784-50-100-10 network classifies MNIST digits.
///
/// Without a subcommand, opens the interactive explorer on the test set.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = KERNEL_HELP
)]
pub struct Cli {
    /// Folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz], or mnist_784.arff[.gz],
    /// or mnist_{train,test}.csv[.gz] (looked for in that order)
    #[arg(long, global = true, value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Network weights (.npz, or the book's pickle .pkl, with W1, b1, ..., Wn, bn in x·W + b
    /// layout); also taken by `eval`, `show` and `classify` after their name
    #[arg(long, value_name = "FILE", default_value = DEFAULT_WEIGHTS)]
    pub weights: PathBuf,

    /// Threads for the forward pass and for training (default: one per core; at most 256)
    #[arg(long, global = true, value_name = "N", value_parser = thread_count)]
    pub threads: Option<usize>,

    /// What to do (default: open the explorer)
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The explorer's starting settings (without a subcommand)
    #[command(flatten)]
    pub explore: ExploreArgs,
}

/// `--weights` of the commands that read a network.
#[derive(Debug, Args)]
pub struct WeightsArg {
    /// Network weights (.npz, or the book's pickle .pkl, with W1, b1, ..., Wn, bn in x·W + b
    /// layout) [default: weights/mnist-784-50-100-10.npz, or --weights before the command]
    #[arg(long = "weights", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

impl Cli {
    /// The weights `command` reads: its own `--weights`, else the one before it.
    pub fn weights_for<'a>(&'a self, own: &'a WeightsArg) -> &'a std::path::Path {
        own.path.as_deref().unwrap_or(&self.weights)
    }

    /// Parses the process arguments, exiting with clap's usage error when an explorer-only
    /// option comes before a subcommand, or `--weights` comes with `train` (either would
    /// otherwise be silently ignored).
    pub fn parse_checked() -> Self {
        let matches = Self::command().get_matches();
        let cli = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let weights_given = |m: &clap::ArgMatches| {
            m.value_source("weights") == Some(clap::parser::ValueSource::CommandLine)
        };
        // Given before `train`, which would silently ignore it.
        if matches.subcommand_matches("train").is_some() && weights_given(&matches) {
            Self::command()
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    "`train` does not read --weights: it starts from random weights; \
                     --out names the file it writes",
                )
                .exit();
        }
        // Numbers no run could use (a learning rate of 0, a hidden layer of 0 units) are a bad
        // command line like any other, refused the same way; the batch size against the
        // split's size is checked once the data is read.
        if let Some(Command::Train(args)) = &cli.command
            && let Err(e) = args.config().validate(usize::MAX)
        {
            Self::command()
                .find_subcommand_mut("train")
                .map_or_else(Self::command, |train| {
                    std::mem::take(train).bin_name("mnist-explorer train")
                })
                .error(clap::error::ErrorKind::ValueValidation, e)
                .exit();
        }
        if let (Some(command), Some(flag)) = (&cli.command, cli.explore.first_given()) {
            let name = command.name();
            let takes_it = Self::command().find_subcommand(name).is_some_and(|sub| {
                sub.get_arguments()
                    .any(|a| a.get_long() == flag.strip_prefix("--"))
            });
            let advice = if takes_it {
                format!("give it after the subcommand: `mnist-explorer {name} {flag} ...`")
            } else {
                format!("`{name}` has no {flag}")
            };
            Self::command()
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("{flag} before `{name}` sets only the explorer's start; {advice}"),
                )
                .exit();
        }
        cli
    }
}

/// Options of the explorer (no subcommand): where it starts; keys change them later.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// Which split the explorer browses [default: test]
    #[arg(long, value_parser = engine::<SplitArg, Split>())]
    pub split: Option<Split>,

    /// Starting input normalization (n/N cycle through them) [default: div255]
    #[arg(long, value_parser = engine::<NormArg, NormMode>())]
    pub norm: Option<NormMode>,

    /// Starting batch size of the background evaluation (b/B cycle 1, 10, 100, 1000, 10000)
    /// [default: 100]
    #[arg(long, value_parser = positive)]
    pub batch_size: Option<usize>,

    /// A second network (.npz) to hold against the first: its bars beside the first's, its
    /// accuracy in the modes table, and a filter for the images where the two disagree
    #[arg(long, value_name = "FILE")]
    pub compare: Option<PathBuf>,
}

impl ExploreArgs {
    /// The first explorer option given, if any: they are meaningless before a subcommand,
    /// which takes its own `--split`, `--norm` and `--batch-size` after its name.
    pub fn first_given(&self) -> Option<&'static str> {
        if self.split.is_some() {
            Some("--split")
        } else if self.norm.is_some() {
            Some("--norm")
        } else if self.batch_size.is_some() {
            Some("--batch-size")
        } else if self.compare.is_some() {
            Some("--compare")
        } else {
            None
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate the network on every image of a split, in batches
    Eval(EvalArgs),
    /// Print one image, its label, the prediction, the softmax and the norms
    Show(ShowArgs),
    /// The book's softmax example: naive and stable softmax of the given scores, in float32
    ///
    /// The naive softmax exp(a) / sum exp(a) overflows once a score passes about 88.7 (the
    /// largest x whose exp(x) a float32 holds); the stable one subtracts max(a) first.
    /// Try `mnist-explorer softmax 1010 1000 990`.
    Softmax(SoftmaxArgs),
    /// Train a network from random weights on the training split and save it as .npz
    ///
    /// Starts from Glorot-initialized weights (it reads no weights file) and writes
    /// --out atomically: a temporary file in the same folder, synced, then renamed. Ctrl-C
    /// stops between batches and writes nothing (exit status 130). Training takes images of
    /// up to 65,536 pixels (256x256), the same size in both splits.
    Train(TrainArgs),
    /// Classify digits in image files (PNG, JPEG, BMP, GIF, PGM/PPM), prepared as MNIST's were
    ///
    /// Each file is turned gray, inverted if its background is light (MNIST's ink is bright on
    /// black), cleared of faint noise, and its ink scaled to fit 20x20 and centered by mass in
    /// 28x28, as the MNIST description says its digits were. A file that cannot be read gets
    /// an error naming it; the others are still classified, and the exit status is 1.
    Classify(ClassifyArgs),
}

impl Command {
    /// The subcommand's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Eval(_) => "eval",
            Command::Show(_) => "show",
            Command::Train(_) => "train",
            Command::Softmax(_) => "softmax",
            Command::Classify(_) => "classify",
        }
    }
}

/// Options of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[arg(long, value_parser = engine::<NormArg, NormMode>(), help = READ_NORM_HELP)]
    pub norm: Option<NormMode>,

    /// Images per forward pass
    #[arg(long, default_value_t = 100, value_parser = positive)]
    pub batch_size: usize,

    /// Output layer: softmax (probabilities) or identity (raw scores; same predictions)
    #[arg(long, value_parser = engine::<OutputArg, OutputLayer>(), default_value = OutputLayer::Softmax.name())]
    pub output: OutputLayer,

    /// Which split to evaluate
    #[arg(long, value_parser = engine::<SplitArg, Split>(), default_value = Split::Test.name())]
    pub split: Split,

    /// Print one JSON object instead of the human report
    #[arg(long)]
    pub json: bool,

    /// Write one predicted label per line, in dataset order, to FILE; `-` writes them to
    /// standard output, and the report then goes to standard error
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,

    /// Replace --predictions if it exists (the new file is written whole, then renamed)
    #[arg(long, requires = "predictions")]
    pub force: bool,

    /// Time N passes after one warm-up pass and report the median (for benchmarks; at most
    /// 100000)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = repeat_count)]
    pub repeat: usize,

    /// List the N images with the highest loss (-ln p of the true class), ties by index
    #[arg(long, value_name = "N", value_parser = positive)]
    pub worst: Option<usize>,

    /// Evaluate a second network the same way: both accuracies and where the two disagree
    #[arg(long, value_name = "FILE")]
    pub compare: Option<PathBuf>,

    /// The train × test table: the network trained on each mode (--weights for its own
    /// mode, `<stem>-<mode>.npz` beside it for the others) evaluated under every mode
    #[arg(
        long,
        conflicts_with_all = ["norm", "output", "predictions", "repeat", "worst", "compare"]
    )]
    pub matrix: bool,

    #[command(flatten)]
    pub weights: WeightsArg,
}

/// Options of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Index of the image in the split (0-based)
    pub index: usize,

    #[arg(long, value_parser = engine::<NormArg, NormMode>(), help = READ_NORM_HELP)]
    pub norm: Option<NormMode>,

    /// Which split to take the image from
    #[arg(long, value_parser = engine::<SplitArg, Split>(), default_value = Split::Test.name())]
    pub split: Split,

    /// Output layer shown: softmax (probabilities) or identity (the raw scores, which are not
    /// probabilities; same prediction)
    #[arg(long, value_parser = engine::<OutputArg, OutputLayer>(), default_value = OutputLayer::Softmax.name())]
    pub output: OutputLayer,

    /// Also print every hidden layer's activations, the scores and the softmax
    #[arg(long)]
    pub layers: bool,

    /// Print one JSON object: index, label, prediction, norm, output (logits, softmax) and
    /// activations (one array per hidden layer)
    #[arg(long, conflicts_with_all = ["layers", "output"])]
    pub json: bool,

    #[command(flatten)]
    pub weights: WeightsArg,
}

/// Options of `softmax`.
#[derive(Debug, Args)]
pub struct SoftmaxArgs {
    /// The scores (logits), e.g. 1010 1000 990
    #[arg(required = true, num_args = 1.., allow_negative_numbers = true, value_parser = finite_f32)]
    pub scores: Vec<f32>,

    /// Print one JSON object: naive, stable (null where a value is inf or NaN), their sums,
    /// and overflowed
    #[arg(long)]
    pub json: bool,
}

/// Parses a score: a number that a float32 holds (inf, NaN and anything beyond about 3.4e38
/// are refused).
pub fn finite_f32(text: &str) -> Result<f32, String> {
    let value: f32 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!(
            "`{text}` is not a finite float32 (the largest is about 3.4e38)"
        ))
    }
}

/// Options of `classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Image files, any size and color
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Also print the 28x28 image the network receives, in block characters
    #[arg(long)]
    pub show: bool,

    /// Print one JSON object per file and line: file, prediction, probabilities (or error)
    #[arg(long)]
    pub json: bool,

    #[arg(long, value_parser = engine::<NormArg, NormMode>(), help = READ_NORM_HELP)]
    pub norm: Option<NormMode>,

    #[command(flatten)]
    pub weights: WeightsArg,
}

/// Parses a whole number of at least 1 (batch sizes, counts).
pub fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a whole number: {e}")),
    }
}

/// Most threads `--threads` takes: far more than cores only slows a pass down (each thread
/// spins a little while waiting for work), and tens of thousands would take minutes to start.
pub const MAX_THREADS: usize = 256;

/// Parses `--threads`: a whole number from 1 to [`MAX_THREADS`].
pub fn thread_count(text: &str) -> Result<usize, String> {
    at_most(text, MAX_THREADS)
}

/// Parses `train --out`: a file name, `.npz` added if it has another ending (see
/// [`npz_path`](mnist_explorer::weights::npz_path)).
fn npz_out(text: &str) -> Result<PathBuf, String> {
    if text.trim().is_empty() {
        return Err("give a file name, e.g. net.npz".into());
    }
    Ok(mnist_explorer::weights::npz_path(std::path::Path::new(
        text,
    )))
}

/// Most passes `eval --repeat` times: each keeps its time for the median and the JSON
/// report, and 100,000 test-set passes already take a quarter of an hour or more.
pub const MAX_REPEAT: usize = 100_000;

/// Parses `--repeat`: a whole number from 1 to [`MAX_REPEAT`].
pub fn repeat_count(text: &str) -> Result<usize, String> {
    at_most(text, MAX_REPEAT)
}

/// Parses a whole number from 1 to `max`.
fn at_most(text: &str, max: usize) -> Result<usize, String> {
    match positive(text)? {
        n if n > max => Err(format!("must be at most {max}")),
        n => Ok(n),
    }
}

/// Options of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Passes over the 60,000 training images
    #[arg(long, default_value_t = DEFAULT_EPOCHS, value_parser = positive)]
    pub epochs: usize,

    /// Images per gradient step
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE, value_parser = positive)]
    pub batch_size: usize,

    /// Learning rate [default: 0.1 for sgd and momentum, 0.001 for adam]
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f32>,

    /// Update rule: sgd, momentum (0.9) or adam (beta1 0.9, beta2 0.999, epsilon 1e-8)
    #[arg(long, value_parser = engine::<OptimizerArg, Optimizer>(), default_value = Optimizer::default().name())]
    pub optimizer: Optimizer,

    /// Learning rate schedule: constant, or cosine annealing from --lr down to 0 at the last step
    #[arg(long, value_parser = engine::<ScheduleArg, Schedule>(), default_value = Schedule::default().name())]
    pub schedule: Schedule,

    /// Hidden layer sizes, comma-separated, input side first
    #[arg(long, value_name = "SIZES", default_value_t = HiddenSizes(DEFAULT_HIDDEN.to_vec()))]
    pub hidden: HiddenSizes,

    #[arg(long, value_parser = engine::<NormArg, NormMode>(), default_value = NormMode::default().name(), help = NORM_HELP)]
    pub norm: NormMode,

    /// Seed of the initial weights and of the shuffles (same seed, same weights)
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,

    /// Where to write the trained weights (.npz; added to a name without it, as numpy's
    /// savez does)
    #[arg(long, value_name = "FILE", default_value = DEFAULT_WEIGHTS, value_parser = npz_out)]
    pub out: PathBuf,

    /// Replace --out if it exists
    #[arg(long)]
    pub force: bool,

    /// Print one JSON object at the end (epoch lines go to stderr)
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    /// The run these options ask for (the learning rate, when not given, is the optimizer's
    /// default); the explorer's training form builds the same from the same defaults.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            hidden: self.hidden.0.clone(),
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr.unwrap_or_else(|| self.optimizer.default_lr()),
            optimizer: self.optimizer,
            schedule: self.schedule,
            norm: self.norm,
            seed: self.seed,
        }
    }
}

/// A comma-separated list of hidden layer sizes, e.g. `50,100`; `""` is the empty list
/// (refused later with a clear message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenSizes(pub Vec<usize>);

impl std::str::FromStr for HiddenSizes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hidden(s).map(Self)
    }
}

impl std::fmt::Display for HiddenSizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_hidden(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_without_options_is_the_default_run() {
        let cli = Cli::try_parse_from(["mnist-explorer", "train"]).unwrap();
        let Some(Command::Train(args)) = cli.command else {
            panic!("train parses as train")
        };
        assert_eq!(args.config(), TrainConfig::default());
        let cli = Cli::try_parse_from([
            "mnist-explorer",
            "train",
            "--optimizer",
            "adam",
            "--hidden",
            "7, 3",
        ])
        .unwrap();
        let Some(Command::Train(args)) = cli.command else {
            panic!("train parses as train")
        };
        let config = args.config();
        assert_eq!(
            config.lr,
            Optimizer::Adam.default_lr(),
            "adam's own default"
        );
        assert_eq!(config.hidden, [7, 3]);
    }
}
