//! What decides a training run and what can go wrong with one: [`TrainConfig`] (and its
//! default, the run that made the shipped weights), the [`Optimizer`] and learning-rate
//! [`Schedule`] choices, the hidden sizes' text form, and [`TrainError`].

use super::store::MAX_PIXELS;
use crate::network::WeightsFault;
use crate::normalize::NormMode;

/// How the weights follow the gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Plain stochastic gradient descent: `w -= lr * g`.
    Sgd,
    /// Gradient descent with momentum 0.9: `v = 0.9 v - lr g; w += v`.
    #[default]
    Momentum,
    /// Adam with the paper's beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8.
    Adam,
}

impl Optimizer {
    /// The name used on the command line and in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Momentum => "momentum",
            Optimizer::Adam => "adam",
        }
    }

    /// A learning rate that works for this optimizer on MNIST: 0.1 for SGD (the numpy peer's)
    /// and for momentum (with the cosine schedule it made the shipped weights), 0.001 for Adam
    /// (the paper's default).
    pub fn default_lr(self) -> f32 {
        match self {
            Optimizer::Sgd => 0.1,
            Optimizer::Momentum => 0.1,
            Optimizer::Adam => 0.001,
        }
    }
}

/// How the learning rate moves over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// The same learning rate for every step.
    Constant,
    /// Cosine annealing (Loshchilov & Hutter, SGDR): from `lr` at the first step down to 0 at
    /// the last, `lr * (1 + cos(pi * step / steps)) / 2`.
    #[default]
    Cosine,
}

impl Schedule {
    /// The learning rate for step `step` (0-based) of `steps`, starting from `lr`.
    pub fn rate(self, lr: f32, step: usize, steps: usize) -> f32 {
        match self {
            Schedule::Constant => lr,
            Schedule::Cosine => {
                let progress = step as f64 / steps.max(1) as f64;
                (f64::from(lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())) as f32
            }
        }
    }

    /// The name used on the command line and in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Cosine => "cosine",
        }
    }
}

/// Hidden layer sizes of the default run: the book's.
pub const DEFAULT_HIDDEN: &[usize] = &[50, 100];
/// Epochs of the default run, the one that made the shipped weights.
pub const DEFAULT_EPOCHS: usize = 40;
/// Images per step of the default run.
pub const DEFAULT_BATCH_SIZE: usize = 100;
/// Seed of the default run.
pub const DEFAULT_SEED: u64 = 1;

/// Everything that decides a training run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrainConfig {
    /// Hidden layer sizes, input side first (the book's: 50, 100).
    pub hidden: Vec<usize>,
    /// Passes over the training split.
    pub epochs: usize,
    /// Images per gradient step.
    pub batch_size: usize,
    /// Learning rate.
    #[serde(serialize_with = "shortest_f32")]
    pub lr: f32,
    /// The update rule.
    pub optimizer: Optimizer,
    /// How the learning rate changes from step to step.
    pub schedule: Schedule,
    /// Input normalization, applied to training and test images alike.
    pub norm: NormMode,
    /// Seed of the initialization and of the per-epoch shuffles.
    pub seed: u64,
}

/// Why training could not start, or stopped without a result.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrainError {
    /// Zero epochs.
    #[error("the number of epochs must be at least 1")]
    ZeroEpochs,
    /// Batch size 0 or above the number of training images.
    #[error(
        "the batch size must be between 1 and {images} (the training images), got {batch_size}"
    )]
    BadBatchSize {
        /// The size asked for.
        batch_size: usize,
        /// Images in the training split.
        images: usize,
    },
    /// No hidden layer given.
    #[error("the list of hidden layer sizes is empty; give at least one size, e.g. 50,100")]
    NoHiddenLayers,
    /// A hidden layer of size 0.
    #[error("hidden layer {position} has size 0; every layer needs at least one unit")]
    ZeroHiddenSize {
        /// 1-based position in the list.
        position: usize,
    },
    /// A learning rate that is NaN, infinite, zero or negative.
    #[error("the learning rate must be a finite number above 0, got {0}")]
    BadLearningRate(f32),
    /// The training split is empty.
    #[error("the training split holds no image")]
    NoImages,
    /// Labels not below the number of outputs.
    #[error("label {label} is not below the network's {outputs} outputs")]
    BadLabel {
        /// The offending label.
        label: u8,
        /// Outputs of the last layer.
        outputs: usize,
    },
    /// Test images of another size than the training images.
    #[error(
        "the test split's images are {}x{}, the training split's {}x{}: both must be the same size",
        test.0, test.1, train.0, train.1
    )]
    TestSize {
        /// Rows and columns of a test image.
        test: (usize, usize),
        /// Rows and columns of a training image.
        train: (usize, usize),
    },
    /// The loss became NaN or infinite: the run diverged.
    #[error(
        "the loss became {loss} at epoch {epoch}, batch {batch}: training diverged \
         (a smaller learning rate usually helps)"
    )]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
        /// The non-finite mean loss of that batch.
        loss: f64,
    },
    /// The callback asked to stop.
    #[error("stopped at epoch {epoch}, batch {batch}")]
    Stopped {
        /// 1-based epoch.
        epoch: usize,
        /// Batches done in that epoch.
        batch: usize,
    },
    /// A network or batch too large to hold in memory here.
    #[error(
        "layers of {sizes} with batches of {batch_size} need {needed} floats of weights and \
         activations; this trainer holds at most {most} (about {} GB), so use smaller \
         hidden layers or batches",
        most * 4 / 1_000_000_000
    )]
    TooLarge {
        /// The layer sizes, as in "784-50-100-10".
        sizes: String,
        /// Images per batch.
        batch_size: usize,
        /// Floats the weights and one batch's activations would take (saturated).
        needed: u128,
        /// The limit.
        most: u128,
    },
    /// Images with more pixels than training can index.
    #[error(
        "training takes images of at most {most} pixels (256x256); these have {pixels}",
        most = MAX_PIXELS
    )]
    TooManyPixels {
        /// Pixels per image.
        pixels: usize,
    },
    /// The weights are invalid (cannot happen with validated sizes; kept instead of a panic).
    #[error(transparent)]
    Weights(#[from] WeightsFault),
}

/// Writes an f32 as the shortest decimal that reads back as it (`0.1`), where a JSON value
/// built through f64 would show its binary expansion (`0.10000000149011612`).
fn shortest_f32<S: serde::Serializer>(x: &f32, s: S) -> Result<S::Ok, S::Error> {
    let shortest: f64 = x.to_string().parse().unwrap_or(f64::from(*x));
    s.serialize_f64(shortest)
}

/// The run that made the shipped weights: what `train` does without options and what the
/// explorer's training form starts from.
impl Default for TrainConfig {
    fn default() -> Self {
        let optimizer = Optimizer::default();
        Self {
            hidden: DEFAULT_HIDDEN.to_vec(),
            epochs: DEFAULT_EPOCHS,
            batch_size: DEFAULT_BATCH_SIZE,
            lr: optimizer.default_lr(),
            optimizer,
            schedule: Schedule::default(),
            norm: NormMode::default(),
            seed: DEFAULT_SEED,
        }
    }
}

/// Reads hidden layer sizes written as `50,100` (spaces allowed around each size); blank text
/// is the empty list, which [`TrainConfig::validate`] refuses with its own message.
///
/// # Errors
/// An item that is not a whole number, named in the message.
pub fn parse_hidden(text: &str) -> Result<Vec<usize>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|item| {
            let item = item.trim();
            item.parse::<usize>().map_err(|_| {
                format!(
                    "`{}` is not a layer size (expected e.g. 50,100)",
                    crate::excerpt::excerpt(item)
                )
            })
        })
        .collect()
}

/// Hidden layer sizes as [`parse_hidden`] reads them: `50,100`.
pub fn format_hidden(hidden: &[usize]) -> String {
    let sizes: Vec<String> = hidden.iter().map(ToString::to_string).collect();
    sizes.join(",")
}

impl TrainConfig {
    /// Layer sizes from input to output, e.g. `[784, 50, 100, 10]`.
    pub fn sizes(&self, inputs: usize, classes: usize) -> Vec<usize> {
        std::iter::once(inputs)
            .chain(self.hidden.iter().copied())
            .chain(std::iter::once(classes))
            .collect()
    }

    /// Checks the configuration against a training split of `images` images.
    ///
    /// # Errors
    /// Zero epochs, a batch size of 0 or above `images`, an empty hidden list or a 0 in it,
    /// a learning rate that is not finite and positive, or no images.
    pub fn validate(&self, images: usize) -> Result<(), TrainError> {
        if images == 0 {
            return Err(TrainError::NoImages);
        }
        if self.epochs == 0 {
            return Err(TrainError::ZeroEpochs);
        }
        if self.batch_size == 0 || self.batch_size > images {
            return Err(TrainError::BadBatchSize {
                batch_size: self.batch_size,
                images,
            });
        }
        if self.hidden.is_empty() {
            return Err(TrainError::NoHiddenLayers);
        }
        if let Some(i) = self.hidden.iter().position(|&h| h == 0) {
            return Err(TrainError::ZeroHiddenSize { position: i + 1 });
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(TrainError::BadLearningRate(self.lr));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::fixtures::config;

    #[test]
    fn cosine_schedule_falls_from_lr_to_zero_and_constant_stays() {
        let c = Schedule::Cosine;
        assert_eq!(c.rate(0.4, 0, 100), 0.4);
        assert!((c.rate(0.4, 50, 100) - 0.2).abs() < 1e-6);
        assert!(c.rate(0.4, 99, 100) < 0.001);
        let rates: Vec<f32> = (0..100).map(|s| c.rate(0.4, s, 100)).collect();
        assert!(
            rates.windows(2).all(|p| p[1] <= p[0]),
            "not falling: {rates:?}"
        );
        assert!((0..100).all(|s| Schedule::Constant.rate(0.4, s, 100) == 0.4));
    }

    #[test]
    fn bad_configurations_are_refused() {
        let ok = config(0);
        assert_eq!(ok.validate(100), Ok(()));
        let with = |f: &dyn Fn(&mut TrainConfig)| {
            let mut c = ok.clone();
            f(&mut c);
            c.validate(100)
        };
        assert_eq!(with(&|c| c.epochs = 0), Err(TrainError::ZeroEpochs));
        assert!(matches!(
            with(&|c| c.batch_size = 0),
            Err(TrainError::BadBatchSize { .. })
        ));
        assert!(matches!(
            with(&|c| c.batch_size = 101),
            Err(TrainError::BadBatchSize { .. })
        ));
        assert_eq!(with(&|c| c.batch_size = 100), Ok(()));
        assert_eq!(with(&|c| c.hidden.clear()), Err(TrainError::NoHiddenLayers));
        assert_eq!(
            with(&|c| c.hidden = vec![5, 0]),
            Err(TrainError::ZeroHiddenSize { position: 2 })
        );
        for lr in [f32::NAN, f32::INFINITY, 0.0, -1.0] {
            assert!(matches!(
                with(&|c| c.lr = lr),
                Err(TrainError::BadLearningRate(_))
            ));
        }
        assert_eq!(ok.validate(0), Err(TrainError::NoImages));
    }

    #[test]
    fn hidden_sizes_read_back_as_written() {
        assert_eq!(parse_hidden("50,100"), Ok(vec![50, 100]));
        assert_eq!(parse_hidden(" 7 , 3 "), Ok(vec![7, 3]));
        assert_eq!(parse_hidden("  "), Ok(vec![]));
        let err = parse_hidden("50,x1").unwrap_err();
        assert!(err.contains("`x1` is not a layer size"), "{err}");
        assert!(parse_hidden("50,,100").is_err(), "an empty item is no size");
        assert!(parse_hidden("-5").is_err());
        let sizes = vec![784, 1, 30];
        assert_eq!(parse_hidden(&format_hidden(&sizes)), Ok(sizes));
        assert_eq!(format_hidden(DEFAULT_HIDDEN), "50,100");
        assert_eq!(TrainConfig::default().validate(60_000), Ok(()));
    }
}
