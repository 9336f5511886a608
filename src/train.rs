//! Training the book's network: Glorot initialization, backpropagation over shuffled
//! mini-batches (sigmoid hidden layers, softmax + cross-entropy), the SGD, momentum and Adam
//! optimizers, and the epoch loop that reports progress through a callback. No terminal code.
//!
//! Speed is designed in (issue 5): a [`Trainer`] allocates every buffer once, so a step
//! allocates only its short lists of tasks when it runs on several threads; the products run
//! in register tiles with bias and activation fused, and the sigmoid derivative folded into
//! the backward product; the input layer works on the non-zero pixels only (about 150 of
//! MNIST's 784), gathering rows of W image by image forward and adding each image's delta to
//! the rows of its pixels for the weight gradient, with the images stored in 3 bytes per
//! non-zero input (see [`SparseImages`]); a step is split into tasks over the batch
//! rows, then over the weight rows, that run on a small team of spinning threads kept by the
//! trainer; and the same loops are compiled three times, for AVX-512 and for AVX2+FMA (chosen
//! at run time, like the forward pass's [`Path`]) and portable.
//!
//! Determinism: every sum runs in a fixed order that does not depend on how the work is
//! split, so one seed gives the same weights bit for bit on one machine, whatever the number
//! of threads, and whether the CPU has AVX-512 or only AVX2+FMA (each element's sum runs
//! lane by lane in the same order, and the sigmoid divides on both). The portable kernel
//! rounds differently (no fused multiply-add), so it agrees only to float precision.

use std::ops::ControlFlow;
use std::time::Instant;

use ndarray::{Array1, Array2};

mod team;
mod tiles;

use crate::dataset::Dataset;
use crate::eval::evaluate;
use crate::kernels::Path;
use crate::kernels::simd::{Kernel, LANES, Simd, Vector};
use crate::layer::{Layer, OutputLayer};
use crate::network::{Network, WeightsFault};
use crate::normalize::NormMode;
use crate::rng::SplitMix64;
use team::Team;
use tiles::{Buf, Epilogue, Product, padded};

/// Momentum coefficient of the momentum optimizer (the book's value).
pub const MOMENTUM: f32 = 0.9;
/// Adam's decay rate of the first moment (Kingma & Ba 2015, their default).
pub const ADAM_BETA1: f32 = 0.9;
/// Adam's decay rate of the second moment (their default).
pub const ADAM_BETA2: f32 = 0.999;
/// Adam's epsilon (their default).
pub const ADAM_EPSILON: f32 = 1e-8;

/// Images per forward pass when measuring test accuracy after an epoch (not a training knob).
const EVAL_BATCH: usize = 1000;

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

/// Glorot/Xavier uniform initialization (Glorot & Bengio 2010), made for sigmoid-like units:
/// weights from U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), biases 0. Weights are drawn
/// row by row, layer by layer, so a seed fixes them exactly.
pub fn glorot_uniform(sizes: &[usize], rng: &mut SplitMix64) -> Vec<Layer> {
    sizes
        .windows(2)
        .map(|pair| {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let a = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
            let w = Array2::from_shape_simple_fn((fan_in, fan_out), || {
                (2.0 * rng.unit_f32() - 1.0) * a
            });
            Layer {
                w,
                b: Array1::zeros(fan_out),
            }
        })
        .collect()
}

/// Most pixels an image may have for training: its pixel indices are stored in 16 bits.
pub const MAX_PIXELS: usize = 1 << 16;

/// A split's images, normalized once and stored sparsely: for each image the indices and
/// values of its non-zero inputs, plus its label. MNIST images are ~80% zeros, so this is
/// both smaller than the dense f32 matrix and what the input layer wants to iterate.
///
/// Every step reads its images from anywhere in the split, so their size is time: an index
/// takes 2 bytes and, for the modes that only scale a pixel (all but z-score), a value is
/// its pixel byte, divided by the image's divisor where it is used (exactly as
/// [`NormMode::apply`] does): 3 bytes per non-zero input where a u32 index and an f32 value
/// took 8.
#[derive(Debug, Clone)]
pub struct SparseImages {
    pixels_per_image: usize,
    /// Images holding each pixel (non-zero), over the whole split: balances the input
    /// layer's gradient work between tasks.
    pixel_count: Vec<usize>,
    start: Vec<usize>,
    pixel: Vec<u16>,
    values: Values,
    labels: Vec<u8>,
}

/// How [`SparseImages`] keeps its non-zero values.
#[derive(Debug, Clone)]
enum Values {
    /// Each value's pixel byte, and each image's divisor: value = byte / divisor.
    Scaled { bytes: Vec<u8>, divisor: Vec<f32> },
    /// The values themselves (z-score, and images given as floats).
    Floats(Vec<f32>),
}

/// One image's non-zero inputs: pixel indices, increasing, and their values.
#[derive(Debug, Clone, Copy)]
pub enum Image<'a> {
    /// Value `e` is `bytes[e] / divisor`.
    Scaled {
        /// The pixel indices.
        pixels: &'a [u16],
        /// The pixel bytes.
        bytes: &'a [u8],
        /// The image's divisor.
        divisor: f32,
    },
    /// Value `e` is `values[e]`.
    Floats {
        /// The pixel indices.
        pixels: &'a [u16],
        /// The values.
        values: &'a [f32],
    },
}

/// The value a stored pixel byte stands for in an image of `divisor`: the division
/// [`NormMode::apply`] makes, so that the values are its own bit for bit.
#[inline(always)]
fn scaled(byte: u8, divisor: f32) -> f32 {
    f32::from(byte) / divisor
}

/// Runs `$body` with `$pixels` (the pixel indices) and `$values` (an iterator over the
/// values) bound for either kind of [`Image`]: the body is compiled once per kind, so the
/// kernels it calls stay monomorphic (a closure could not be generic over the iterator).
macro_rules! with_values {
    ($image:expr, |$pixels:ident, $values:ident| $body:expr) => {
        match $image {
            $crate::train::Image::Scaled {
                pixels: $pixels,
                bytes,
                divisor,
            } => {
                let $values = bytes
                    .iter()
                    .map(move |&b| $crate::train::scaled(b, divisor));
                $body
            }
            $crate::train::Image::Floats {
                pixels: $pixels,
                values,
            } => {
                let $values = values.iter().copied();
                $body
            }
        }
    };
}

impl<'a> Image<'a> {
    /// The non-zero pixels' indices, increasing.
    pub fn pixels(self) -> &'a [u16] {
        match self {
            Image::Scaled { pixels, .. } | Image::Floats { pixels, .. } => pixels,
        }
    }

    /// Entries `range` only.
    fn part(self, range: std::ops::Range<usize>) -> Self {
        match self {
            Image::Scaled {
                pixels,
                bytes,
                divisor,
            } => Image::Scaled {
                pixels: &pixels[range.clone()],
                bytes: &bytes[range],
                divisor,
            },
            Image::Floats { pixels, values } => Image::Floats {
                pixels: &pixels[range.clone()],
                values: &values[range],
            },
        }
    }

    /// Each non-zero input as (pixel index, value), for checks and tools (the kernels take
    /// the slices through [`with_values`]).
    pub fn entries(self) -> impl Iterator<Item = (usize, f32)> + 'a {
        let pixels = self.pixels();
        (0..pixels.len()).map(move |e| (usize::from(pixels[e]), self.value(e)))
    }

    /// The value of entry `e`.
    fn value(self, e: usize) -> f32 {
        match self {
            Image::Scaled { bytes, divisor, .. } => scaled(bytes[e], divisor),
            Image::Floats { values, .. } => values[e],
        }
    }
}

impl SparseImages {
    /// Normalizes every image of `data` with `norm` (exactly as [`NormMode::apply`]) and keeps
    /// the non-zero values.
    ///
    /// # Panics
    /// If the images have more than [`MAX_PIXELS`] pixels ([`train`] checks first).
    pub fn new(data: &Dataset, norm: NormMode) -> Self {
        let n = data.pixels_per_image();
        let mut scratch = vec![0f32; n];
        // Exact for the modes that keep zeros (they map only 0 to 0); z-score keeps all.
        let nonzeros = if norm.keeps_zeros() {
            data.images(0..data.len())
                .iter()
                .filter(|&&p| p != 0)
                .count()
        } else {
            data.len() * n
        };
        let mut out = Self::with_capacity(n, data.len(), nonzeros, norm.keeps_zeros());
        for i in 0..data.len() {
            out.push_pixels(data.image(i), norm, &mut scratch, data.label(i));
        }
        out
    }

    /// Builds from dense rows of `pixels_per_image` values (for tests and tools).
    ///
    /// # Panics
    /// If `rows.len()` is not `labels.len() * pixels_per_image`, or the images have more than
    /// [`MAX_PIXELS`] pixels.
    pub fn from_dense(rows: &[f32], pixels_per_image: usize, labels: &[u8]) -> Self {
        assert_eq!(rows.len(), labels.len() * pixels_per_image);
        let nonzeros = rows.iter().filter(|&&v| v != 0.0).count();
        let mut out = Self::with_capacity(pixels_per_image, labels.len(), nonzeros, false);
        for (row, &label) in rows.chunks_exact(pixels_per_image).zip(labels) {
            out.push(row, label);
        }
        out
    }

    /// Room for `images` images holding `nonzeros` values in all (a hint: more still fit),
    /// kept as bytes and divisors if `scaled`.
    fn with_capacity(
        pixels_per_image: usize,
        images: usize,
        nonzeros: usize,
        scaled: bool,
    ) -> Self {
        assert!(
            pixels_per_image <= MAX_PIXELS,
            "{pixels_per_image} pixels per image, at most {MAX_PIXELS} fit"
        );
        let mut start = Vec::with_capacity(images + 1);
        start.push(0);
        // Each step reads 100 images from anywhere in these arrays: with 4 KB pages nearly
        // every image would cost a TLB miss and a page walk.
        let pixel = Vec::with_capacity(nonzeros);
        advise_huge_pages(&pixel);
        let values = if scaled {
            let bytes = Vec::with_capacity(nonzeros);
            advise_huge_pages(&bytes);
            Values::Scaled {
                bytes,
                divisor: Vec::with_capacity(images),
            }
        } else {
            let floats = Vec::with_capacity(nonzeros);
            advise_huge_pages(&floats);
            Values::Floats(floats)
        };
        Self {
            pixels_per_image,
            pixel_count: vec![0; pixels_per_image],
            start,
            pixel,
            values,
            labels: Vec::with_capacity(images),
        }
    }

    /// Appends an image of pixel bytes normalized by `norm` (`scratch` holds a float image):
    /// as bytes and a divisor when both the split and `norm` allow, else as floats.
    fn push_pixels(&mut self, pixels: &[u8], norm: NormMode, scratch: &mut [f32], label: u8) {
        match (&mut self.values, norm.divisor(pixels)) {
            (Values::Scaled { bytes, divisor }, Some(d)) => {
                // b / d is never 0 for a byte b >= 1: d is at most the image's L1 norm, under
                // 2^24 even for MAX_PIXELS pixels of 255, so the quotient is a normal float.
                // The non-zero bytes are the non-zero values.
                for (p, &b) in pixels.iter().enumerate().filter(|&(_, &b)| b != 0) {
                    self.pixel_count[p] += 1;
                    self.pixel.push(p as u16);
                    bytes.push(b);
                }
                divisor.push(d);
                self.start.push(self.pixel.len());
                self.labels.push(label);
            }
            _ => {
                norm.apply(pixels, scratch);
                self.push(scratch, label);
            }
        }
    }

    /// Appends an image given as floats, turning the stored values into floats first if
    /// they are bytes (never the case for a split of one [`NormMode`]).
    fn push(&mut self, row: &[f32], label: u8) {
        if let Values::Scaled { bytes, divisor } = &self.values {
            let mut floats = Vec::with_capacity(bytes.len() + row.len());
            for (i, d) in divisor.iter().enumerate() {
                let r = self.start[i]..self.start[i + 1];
                floats.extend(bytes[r].iter().map(|&b| scaled(b, *d)));
            }
            self.values = Values::Floats(floats);
        }
        let Values::Floats(values) = &mut self.values else {
            unreachable!("turned into floats above")
        };
        for (p, &v) in row.iter().enumerate() {
            if v != 0.0 {
                self.pixel_count[p] += 1;
                self.pixel.push(p as u16);
                values.push(v);
            }
        }
        self.start.push(self.pixel.len());
        self.labels.push(label);
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Inputs per image (dense size).
    pub fn pixels_per_image(&self) -> usize {
        self.pixels_per_image
    }

    /// Non-zero values stored, over all images.
    pub fn nonzeros(&self) -> usize {
        self.pixel.len()
    }

    /// Fills `split` (parts + 1 bounds) with runs of pixels that hold about the same number
    /// of the split's non-zero values each.
    fn split_pixels(&self, split: &mut [usize]) {
        let parts = split.len() - 1;
        let total = self.nonzeros();
        let (mut p, mut seen) = (0, 0);
        split[0] = 0;
        for (q, bound) in split[..parts].iter_mut().enumerate().skip(1) {
            let target = q * total / parts;
            while p < self.pixels_per_image && seen < target {
                seen += self.pixel_count[p];
                p += 1;
            }
            *bound = p;
        }
        split[parts] = self.pixels_per_image;
    }

    /// The non-zero pixels and values of image `i`.
    #[inline(always)]
    pub fn image(&self, i: usize) -> Image<'_> {
        let r = self.start[i]..self.start[i + 1];
        let pixels = &self.pixel[r.clone()];
        match &self.values {
            Values::Scaled { bytes, divisor } => Image::Scaled {
                pixels,
                bytes: &bytes[r],
                divisor: divisor[i],
            },
            Values::Floats(values) => Image::Floats {
                pixels,
                values: &values[r],
            },
        }
    }

    /// Asks the CPU to start loading image `i` into the cache (a hint; no effect elsewhere).
    #[inline(always)]
    pub fn prefetch(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let (from, to) = (self.start[i], self.start[i + 1]);
            if from == to {
                return;
            }
            // One hint per 64-byte line, from the line of the first entry to the line of the
            // last: stepping by a line from the first entry would miss the last line whenever
            // the first does not start one.
            #[inline(always)]
            fn lines<T>(array: *const T, from: usize, to: usize) {
                let size = std::mem::size_of::<T>();
                let first = (array.addr() + from * size) & !63;
                for at in (first..array.addr() + to * size).step_by(64) {
                    // SAFETY: prefetching reads nothing and faults on no address, so a hint
                    // at the head of a line, before the array, is harmless.
                    unsafe { _mm_prefetch::<_MM_HINT_T0>(array.with_addr(at).cast()) };
                }
            }
            lines(self.pixel.as_ptr(), from, to);
            match &self.values {
                Values::Scaled { bytes, .. } => lines(bytes.as_ptr(), from, to),
                Values::Floats(values) => lines(values.as_ptr(), from, to),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// Asks the CPU to start loading where image `i` lies (a hint, so that a later
    /// [`SparseImages::prefetch`] of it does not wait for that first), and its label.
    #[inline(always)]
    pub fn prefetch_bounds(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: prefetching reads nothing; the addresses are within the arrays.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(self.start[..=i + 1].as_ptr().add(i).cast());
            _mm_prefetch::<_MM_HINT_T0>(self.labels[i..].as_ptr().cast());
            if let Values::Scaled { divisor, .. } = &self.values {
                _mm_prefetch::<_MM_HINT_T0>(divisor[i..].as_ptr().cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// The label of image `i`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// The largest label, if any.
    pub fn max_label(&self) -> Option<u8> {
        self.labels.iter().copied().max()
    }
}

/// Asks Linux to back `buf`'s allocation (capacity, not just length) with 2 MB pages where
/// it can, before anything is written there; transparent huge pages are often enabled for
/// such requests only (`madvise` mode). Elsewhere, or if the kernel says no, nothing changes.
fn advise_huge_pages<T>(buf: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = buf.capacity() * std::mem::size_of::<T>();
        let from = buf.as_ptr().addr().next_multiple_of(HUGE);
        let to = (buf.as_ptr().addr() + bytes) / HUGE * HUGE;
        if to > from {
            // SAFETY: the range lies within `buf`'s allocation, and MADV_HUGEPAGE changes how
            // its pages are backed, never their contents. A failure is harmless: ignored.
            unsafe {
                libc::madvise(
                    buf.as_ptr().with_addr(from).cast_mut().cast(),
                    to - from,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}

/// What one step saw.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepStats {
    /// Sum over the batch of each image's cross-entropy loss (before the update).
    pub loss_sum: f64,
    /// Images whose largest score was their label (before the update).
    pub correct: usize,
    /// Images in the batch.
    pub images: usize,
}

/// One layer's parameters, gradients and optimizer state, flat row-major with every row
/// padded to whole vectors (the padding holds zeros and stays zero).
#[derive(Debug, Clone)]
struct LayerState {
    inputs: usize,
    outputs: usize,
    /// Row stride of `w`, `gw`, `mw`, `vw` and of the layer's batch matrices: `outputs`
    /// padded to whole vectors.
    stride: usize,
    /// Weights, inputs x stride (x·W + b layout).
    w: Buf,
    b: Buf,
    /// Wᵀ (outputs x padded inputs), refreshed after each update, so that the backward
    /// product delta·Wᵀ streams whole rows. Empty for the input layer: no delta flows back
    /// into the pixels.
    wt: Buf,
    gw: Buf,
    gb: Buf,
    /// Momentum's velocity or Adam's first moment (empty for SGD).
    mw: Buf,
    mb: Buf,
    /// Adam's second moment (empty otherwise).
    vw: Buf,
    vb: Buf,
    /// Where the layer's activations and deltas (max_batch x stride each) start in the
    /// trainer's `batch` buffer.
    out_at: usize,
    delta_at: usize,
}

/// The optimizer's numbers for one update.
#[derive(Debug, Clone, Copy)]
struct Update {
    optimizer: Optimizer,
    lr: f32,
    /// Adam's bias corrections 1 / (1 - beta^t).
    c1: f32,
    c2: f32,
}

/// A network being trained, with every buffer a step needs allocated up front.
///
/// A step runs in two phases, each split into independent tasks (run on the trainer's team
/// when there is more than one thread): first the batch rows (forward, loss, every layer's
/// delta), then the weight rows (gradient, update, transpose). Every value is computed by
/// the same operations in the same order however the work is split, so the weights do not
/// depend on the number of threads either.
#[derive(Debug, Clone)]
pub struct Trainer {
    layers: Vec<LayerState>,
    optimizer: Optimizer,
    lr: f32,
    steps: u64,
    max_batch: usize,
    kernel: Simd,
    threads: usize,
    /// Every layer's activations and deltas for a batch, one matrix after the other, then
    /// each row's loss and whether its prediction was right (two floats per row).
    batch: Buf,
    stats_at: usize,
    /// The input layer's weight rows (pixels) split between the gradient tasks, so that each
    /// gets about as many non-zero inputs.
    pixel_split: Vec<usize>,
    /// For each batch row, where each bound of `pixel_split` falls in its image's list of
    /// non-zero pixels (`pixel_split.len()` positions per row): found by the row tasks, which
    /// have the image at hand, for the gradient tasks, which then read only their own part.
    cuts: Vec<usize>,
    /// The threads besides the caller's that run a step's tasks (none with one thread).
    team: Option<Team>,
}

impl Trainer {
    /// Prepares to train `net` with batches of at most `max_batch` images, splitting each step
    /// across as many threads as the current rayon pool has.
    pub fn new(net: &Network, optimizer: Optimizer, lr: f32, max_batch: usize) -> Self {
        let max_batch = max_batch.max(1);
        let mut at = 0;
        let layers: Vec<LayerState> = net
            .layers()
            .iter()
            .map(|layer| {
                let (inputs, outputs) = layer.w.dim();
                let stride = padded(outputs);
                let mut w = Buf::zeros(inputs * stride);
                for (row, src) in w.chunks_exact_mut(stride).zip(layer.w.rows()) {
                    for (d, &s) in row.iter_mut().zip(src) {
                        *d = s;
                    }
                }
                let mut b = Buf::zeros(stride);
                b[..outputs].copy_from_slice(&layer.b.to_vec());
                let state = |len, wanted| Buf::zeros(if wanted { len } else { 0 });
                let with_m = optimizer != Optimizer::Sgd;
                let with_v = optimizer == Optimizer::Adam;
                let out_at = at;
                at += 2 * max_batch * stride;
                LayerState {
                    inputs,
                    outputs,
                    stride,
                    wt: Buf::zeros(outputs * padded(inputs)),
                    gw: Buf::zeros(inputs * stride),
                    gb: Buf::zeros(stride),
                    mw: state(inputs * stride, with_m),
                    mb: state(stride, with_m),
                    vw: state(inputs * stride, with_v),
                    vb: state(stride, with_v),
                    w,
                    b,
                    out_at,
                    delta_at: out_at + max_batch * stride,
                }
            })
            .collect();
        let inputs = layers[0].inputs;
        let mut trainer = Self {
            layers,
            optimizer,
            lr,
            steps: 0,
            max_batch,
            kernel: Simd::current(),
            threads: 1,
            batch: Buf::zeros(at + 2 * max_batch),
            stats_at: at,
            pixel_split: vec![0, inputs],
            cuts: Vec::new(),
            team: None,
        };
        for layer in &mut trainer.layers[1..] {
            let in_stride = padded(layer.inputs);
            transpose(
                &layer.w,
                layer.stride,
                layer.outputs,
                in_stride,
                0,
                &mut layer.wt,
            );
        }
        trainer.set_threads(rayon::current_num_threads());
        trainer
    }

    /// Changes the learning rate for the following steps (a schedule's hook).
    pub fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    /// The code path in use.
    pub fn kernel(&self) -> Path {
        self.kernel.path()
    }

    /// Chooses the code path; returns false (and keeps the current one) if the CPU lacks it.
    pub fn set_kernel(&mut self, kernel: Path) -> bool {
        let simd = kernel.simd();
        if let Some(simd) = simd {
            self.kernel = simd;
        }
        simd.is_some()
    }

    /// Tasks each phase of a step is split into (the pool's threads, unless set).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Splits each phase of a step into `threads` tasks (at least 1), run by the calling
    /// thread and `threads - 1` team threads started here and kept until the trainer is
    /// dropped or the count changes; with 1, a step runs on the calling thread alone.
    /// Results do not depend on it.
    pub fn set_threads(&mut self, threads: usize) {
        let threads = threads.max(1);
        self.threads = threads;
        self.pixel_split = vec![0; threads + 1];
        self.cuts = vec![0; self.max_batch * (threads + 1)];
        if self.team.as_ref().map_or(0, Team::members) != threads - 1 {
            self.team = (threads > 1).then(|| Team::new(threads - 1));
        }
    }

    /// Inputs of the first layer.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    /// Outputs of the last layer.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

    /// The current weights as a [`Network`].
    ///
    /// # Errors
    /// A weight or bias is NaN or infinite.
    pub fn network(&self) -> Result<Network, WeightsFault> {
        let layers = self
            .layers
            .iter()
            .map(|l| Layer {
                w: Array2::from_shape_fn((l.inputs, l.outputs), |(i, j)| l.w[i * l.stride + j]),
                b: Array1::from(l.b[..l.outputs].to_vec()),
            })
            .collect();
        Network::new(layers)
    }

    /// One gradient step on images `batch` of `data`: forward, backward, update. Returns the
    /// loss and hits measured before the update.
    ///
    /// # Panics
    /// If `batch` is empty or longer than the trainer's batch size, if `data`'s images do not
    /// have the network's input size, or a label is not below its outputs (see [`train`],
    /// which checks all of these).
    pub fn step(&mut self, data: &SparseImages, batch: &[usize]) -> StepStats {
        self.steps += 1;
        let t = self.steps as f64;
        // Adam's bias corrections, in f64 so that they stay exact-ish for large t.
        let update = Update {
            optimizer: self.optimizer,
            lr: self.lr,
            c1: (1.0 / (1.0 - f64::from(ADAM_BETA1).powf(t))) as f32,
            c2: (1.0 / (1.0 - f64::from(ADAM_BETA2).powf(t))) as f32,
        };
        self.run(data, batch, Some(update))
    }

    /// Forward and backward pass only: fills the gradients, leaves the weights alone.
    #[cfg(test)]
    fn forward_backward(&mut self, data: &SparseImages, batch: &[usize]) -> StepStats {
        self.run(data, batch, None)
    }

    /// Each layer's weight and bias gradients, without the padding.
    #[cfg(test)]
    fn gradients(&self) -> Vec<(Vec<f32>, Vec<f32>)> {
        self.layers
            .iter()
            .map(|l| {
                let gw =
                    l.gw.chunks_exact(l.stride)
                        .flat_map(|row| &row[..l.outputs]);
                (gw.copied().collect(), l.gb[..l.outputs].to_vec())
            })
            .collect()
    }

    fn run(&mut self, data: &SparseImages, batch: &[usize], update: Option<Update>) -> StepStats {
        let m = batch.len();
        assert!(m > 0 && m <= self.max_batch);
        assert_eq!(data.pixels_per_image(), self.inputs());
        let row_tasks = self.threads.min(m);
        let kernel = self.kernel;
        data.split_pixels(&mut self.pixel_split);
        {
            let jobs = RowJobs {
                kernel,
                layers: &self.layers,
                data,
                images: batch,
                max_batch: self.max_batch,
                stats_at: self.stats_at,
                batch: Shared::new(&mut self.batch),
                split: &self.pixel_split,
                cuts: Shared::new(&mut self.cuts),
            };
            match &self.team {
                Some(team) if row_tasks > 1 => {
                    let mut list = Vec::with_capacity(row_tasks);
                    jobs.each(row_tasks, |job| list.push(job));
                    team.run(list, rows_task);
                }
                _ => jobs.each(row_tasks, rows_task),
            }
        }

        let stats_rows = &self.batch[self.stats_at..self.stats_at + 2 * m];
        let mut stats = StepStats {
            images: m,
            ..StepStats::default()
        };
        for row in stats_rows.chunks_exact(2) {
            stats.loss_sum += f64::from(row[0]);
            stats.correct += usize::from(row[1] != 0.0);
        }

        let jobs = GradJobs {
            kernel,
            batch: &self.batch,
            m,
            data,
            images: batch,
            split: &self.pixel_split,
            cuts: &self.cuts,
            update,
        };
        match &self.team {
            Some(team) => {
                let mut list = Vec::with_capacity(self.layers.len() * (self.threads + 1));
                jobs.each(&mut self.layers, |job| list.push(job));
                team.run(list, grad_task);
            }
            None => jobs.each(&mut self.layers, grad_task),
        }
        stats
    }
}

/// `wt[c * in_stride + j] = w[j * stride + c]` for the rows `j` of `w` (numbered from
/// `first`) and the first `outputs` columns.
fn transpose(
    w: &[f32],
    stride: usize,
    outputs: usize,
    in_stride: usize,
    first: usize,
    wt: &mut [f32],
) {
    for (j, row) in w.chunks_exact(stride).enumerate() {
        for (c, &v) in row[..outputs].iter().enumerate() {
            wt[c * in_stride + first + j] = v;
        }
    }
}

/// A buffer written by several tasks at once, each only in places no other task touches
/// (its own batch rows, or its own columns of a Wᵀ), while the step waits for all of them.
struct Shared<'a, T = f32> {
    ptr: *mut T,
    len: usize,
    buf: std::marker::PhantomData<&'a mut [T]>,
}

// Not derived: a derive would ask for `T: Copy`, and the pointer is copyable for any T.
impl<T> Clone for Shared<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Shared<'_, T> {}

// SAFETY: the tasks sharing a `Shared` write disjoint elements (see the type's doc) and
// nobody reads those elements until every task is done.
unsafe impl<T: Send> Send for Shared<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<'_, T> {}

impl<'a, T> Shared<'a, T> {
    fn new(buf: &'a mut [T]) -> Self {
        Self {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            buf: std::marker::PhantomData,
        }
    }

    /// `len` floats from `at`.
    ///
    /// # Safety
    /// No other live reference may overlap them.
    unsafe fn slice(self, at: usize, len: usize) -> &'a mut [T] {
        assert!(at + len <= self.len);
        // SAFETY: within the buffer; exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), len) }
    }
}

/// Splits off the first `len` floats of `rest` (or all of it, if shorter: the optimizer
/// states of SGD are empty).
fn take_front<'a>(rest: &mut &'a mut [f32], len: usize) -> &'a mut [f32] {
    let len = len.min(rest.len());
    let (front, back) = std::mem::take(rest).split_at_mut(len);
    *rest = back;
    front
}

/// What every row task of a step shares.
#[derive(Clone, Copy)]
struct RowJobs<'a> {
    kernel: Simd,
    layers: &'a [LayerState],
    data: &'a SparseImages,
    images: &'a [usize],
    max_batch: usize,
    stats_at: usize,
    batch: Shared<'a>,
    /// The input layer's pixel split, and where to write each row's cuts of it (see
    /// [`Trainer`]'s `cuts`).
    split: &'a [usize],
    cuts: Shared<'a, usize>,
}

impl<'a> RowJobs<'a> {
    /// Cuts the batch into `tasks` jobs (near-equal runs of rows) and hands each to `each`.
    fn each(self, tasks: usize, mut each: impl FnMut(RowsJob<'a>)) {
        let m = self.images.len();
        for q in 0..tasks {
            let (r0, r1) = (q * m / tasks, (q + 1) * m / tasks);
            each(RowsJob {
                jobs: self,
                first_row: r0,
                rows: r1 - r0,
                m,
            });
        }
    }
}

/// A row task of a step: batch rows `first_row..first_row + rows` of `m`.
struct RowsJob<'a> {
    jobs: RowJobs<'a>,
    first_row: usize,
    rows: usize,
    m: usize,
}

fn rows_task(job: RowsJob<'_>) {
    job.jobs.kernel.run(job);
}

impl Kernel for RowsJob<'_> {
    type Output = ();

    #[inline(always)]
    fn run<W: Vector, V: Vector>(self) {
        rows_task_impl::<W, V>(self);
    }
}

/// Rows `r0..r0 + n` of the batch matrix of `stride` floats per row starting at `at`.
///
/// # Safety
/// Only this task may use these rows until the step's phase ends.
unsafe fn task_rows<'a>(
    jobs: RowJobs<'a>,
    r0: usize,
    n: usize,
    at: usize,
    stride: usize,
) -> &'a mut [f32] {
    assert!(r0 + n <= jobs.max_batch);
    // SAFETY: rows `r0..r0 + n` of a max_batch-row matrix; the caller promises that no one
    // else uses them.
    unsafe { jobs.batch.slice(at + r0 * stride, n * stride) }
}

/// The forward pass through every layer (noting where the pixel split cuts each image),
/// softmax and loss, and every layer's delta.
#[inline(always)]
fn rows_task_impl<W: Vector, V: Vector>(job: RowsJob<'_>) {
    let RowJobs {
        kernel,
        layers,
        data,
        images,
        stats_at,
        split,
        cuts,
        ..
    } = job.jobs;
    let (r0, n, m) = (job.first_row, job.rows, job.m);
    let images = &images[r0..r0 + n];
    let last = layers.len() - 1;
    // This task's rows of one batch matrix: layer l's activations (`delta` false) or deltas.
    let rows_of = |l: usize, delta: bool| {
        let layer = &layers[l];
        let at = if delta { layer.delta_at } else { layer.out_at };
        // SAFETY: each task of a phase gets its own rows (`RowJobs::each`), every matrix of
        // the batch buffer is distinct, and no two slices of the same matrix are alive at
        // once below.
        unsafe { task_rows(job.jobs, r0, n, at, layer.stride) }
    };
    // Input layer: b plus each non-zero pixel's row of W times the pixel, summed in pixel
    // order in registers (the rows of W stay in L2 between images), then the sigmoid.
    let first = &layers[0];
    let inputs = first.inputs;
    assert!(first.w.len() >= inputs * first.stride && first.b.len() >= first.stride);
    let z = rows_of(0, false);
    let bounds = split.len();
    // SAFETY: this task's rows of the cuts, which no other task touches (as in `rows_of`).
    let cuts = unsafe { cuts.slice(r0 * bounds, n * bounds) };
    // The images are scattered over a split far larger than the caches: ask for where the
    // next ones lie well ahead, then for their pixels a few images ahead.
    const BOUNDS_AHEAD: usize = 8;
    const PIXELS_AHEAD: usize = 3;
    for &img in images.iter().take(BOUNDS_AHEAD) {
        data.prefetch_bounds(img);
    }
    for &img in images.iter().take(PIXELS_AHEAD) {
        data.prefetch(img);
    }
    let rows = z
        .chunks_exact_mut(first.stride)
        .zip(cuts.chunks_exact_mut(bounds))
        .zip(images);
    for (k, ((out, cut), &img)) in rows.enumerate() {
        if let Some(&ahead) = images.get(k + BOUNDS_AHEAD) {
            data.prefetch_bounds(ahead);
        }
        if let Some(&ahead) = images.get(k + PIXELS_AHEAD) {
            data.prefetch(ahead);
        }
        let image = data.image(img);
        cut_pixels(image.pixels(), split, cut);
        // SAFETY: the pixels are below `inputs` (`run` checked the images' size), so each
        // row of W read holds `stride` floats; `out` and b hold `stride` floats.
        with_values!(image, |pixels, values| unsafe {
            tiles::gather_rows::<W, V>(
                pixels,
                values,
                first.w.as_ptr(),
                first.stride,
                first.b.as_ptr(),
                first.stride / LANES,
                last > 0,
                out.as_mut_ptr(),
            )
        });
    }

    // Hidden and output layers: b + the previous activations times W.
    for l in 1..=last {
        let (prev, cur) = (&layers[l - 1], &layers[l]);
        assert!(cur.inputs <= prev.stride && cur.w.len() >= cur.inputs * cur.stride);
        let product = Product {
            rows: n,
            k: cur.inputs,
            vectors: cur.stride / LANES,
            a: rows_of(l - 1, false).as_ptr(),
            a_rs: prev.stride,
            a_cs: 1,
            b: cur.w.as_ptr(),
            b_rs: cur.stride,
            init: cur.b.as_ptr(),
            c: rows_of(l, false).as_mut_ptr(),
            c_rs: cur.stride,
            epilogue: if l < last {
                Epilogue::Sigmoid
            } else {
                Epilogue::Store
            },
            z: std::ptr::null(),
            z_rs: 0,
        };
        // SAFETY: A is the n rows of the previous activations (`inputs` <= their stride),
        // C the n rows of this layer's, B is W (`inputs` rows of `stride`), init is b; the
        // kernel is the one this task was compiled for (`rows_task`).
        unsafe { product.run_on(kernel) };
    }

    // Softmax + cross-entropy: loss = ln(sum e^(a - max)) - (a_label - max); the output
    // delta is (softmax - one_hot) / m.
    let out = &layers[last];
    let classes = out.outputs;
    let inv_m = 1.0 / m as f32;
    // SAFETY: as in `rows_of`.
    let stats = unsafe { task_rows(job.jobs, r0, n, stats_at, 2) };
    for (((scores, delta), stat), &img) in rows_of(last, false)
        .chunks_exact_mut(out.stride)
        .zip(rows_of(last, true).chunks_exact_mut(out.stride))
        .zip(stats.chunks_exact_mut(2))
        .zip(images)
    {
        let label = usize::from(data.label(img));
        assert!(label < classes, "label {label} is not below {classes}");
        let (best, max) = argmax_max(&scores[..classes]);
        let label_score = scores[label] - max;
        let max = V::splat(max);
        for chunk in scores.chunks_exact_mut(LANES) {
            V::load(chunk).sub(max).exp().store(chunk);
        }
        scores[classes..].fill(0.0);
        let sum: f32 = scores[..classes].iter().sum();
        stat[0] = sum.ln() - label_score;
        stat[1] = if best == label { 1.0 } else { 0.0 };
        let (inv_sum, inv_m) = (V::splat(1.0 / sum), V::splat(inv_m));
        for (d, s) in delta
            .chunks_exact_mut(LANES)
            .zip(scores.chunks_exact(LANES))
        {
            V::load(s).mul(inv_sum).mul(inv_m).store(d);
        }
        delta[label] -= 1.0 / m as f32;
    }

    // Backward: delta_prev = (delta Wᵀ) ⊙ z (1 - z), the sigmoid's derivative folded in.
    for l in (1..=last).rev() {
        let (prev, cur) = (&layers[l - 1], &layers[l]);
        assert!(cur.wt.len() >= cur.outputs * prev.stride);
        let product = Product {
            rows: n,
            k: cur.outputs,
            vectors: prev.stride / LANES,
            a: rows_of(l, true).as_ptr(),
            a_rs: cur.stride,
            a_cs: 1,
            b: cur.wt.as_ptr(),
            b_rs: prev.stride,
            init: std::ptr::null(),
            c: rows_of(l - 1, true).as_mut_ptr(),
            c_rs: prev.stride,
            epilogue: Epilogue::SigmoidGrad,
            z: rows_of(l - 1, false).as_ptr(),
            z_rs: prev.stride,
        };
        // SAFETY: A is this layer's n deltas, z the previous n activations and C the
        // previous n deltas (three distinct blocks); B is Wᵀ, `outputs` rows of the
        // previous stride (asserted); the kernel is this task's.
        unsafe { product.run_on(kernel) };
    }
}

/// What every gradient task of a step shares.
#[derive(Clone, Copy)]
struct GradJobs<'a> {
    kernel: Simd,
    batch: &'a [f32],
    m: usize,
    /// The step's images, for the input layer's gradient.
    data: &'a SparseImages,
    images: &'a [usize],
    /// Bounds of each task's pixels (input layer weight rows), and where they fall in each
    /// row's image (see [`Trainer`]'s `cuts`).
    split: &'a [usize],
    cuts: &'a [usize],
    update: Option<Update>,
}

impl<'a> GradJobs<'a> {
    /// Hands to `each` one job per task for each layer's run of weight rows (pixels split by
    /// [`SparseImages::split_pixels`], other layers evenly), task q's at positions q mod
    /// tasks (see [`Team::run`]), then one job per layer for its bias.
    fn each(self, layers: &'a mut [LayerState], mut each: impl FnMut(GradJob<'a>)) {
        let parts = self.split.len() - 1;
        let mut in_at = 0;
        let mut biases = Vec::with_capacity(layers.len());
        for (l, layer) in layers.iter_mut().enumerate() {
            let LayerState {
                inputs,
                outputs,
                stride,
                w,
                b,
                wt,
                gw,
                gb,
                mw,
                mb,
                vw,
                vb,
                out_at,
                delta_at,
            } = layer;
            let (inputs, outputs, stride, delta_at) = (*inputs, *outputs, *stride, *delta_at);
            let input = if l == 0 {
                None
            } else {
                Some((in_at, padded(inputs)))
            };
            in_at = *out_at;
            let wt = Shared::new(wt);
            let job = |part, first, w, g, mom, vel, bias| GradJob {
                jobs: self,
                input,
                delta_at,
                stride,
                outputs,
                part,
                first,
                w,
                g,
                mom,
                vel,
                wt,
                bias,
            };
            biases.push(job(
                0,
                0,
                &mut b[..],
                &mut gb[..],
                &mut mb[..],
                &mut vb[..],
                true,
            ));
            let (mut w, mut g) = (&mut w[..], &mut gw[..]);
            let (mut mom, mut vel) = (&mut mw[..], &mut vw[..]);
            for q in 0..parts {
                let (j0, j1) = if l == 0 {
                    (self.split[q], self.split[q + 1])
                } else {
                    (q * inputs / parts, (q + 1) * inputs / parts)
                };
                let len = (j1 - j0) * stride;
                each(job(
                    q,
                    j0,
                    take_front(&mut w, len),
                    take_front(&mut g, len),
                    take_front(&mut mom, len),
                    take_front(&mut vel, len),
                    false,
                ));
            }
        }
        biases.into_iter().for_each(each);
    }
}

/// A gradient task of a step: weight rows `first..` of one layer (as many as `g` holds), or
/// its bias; their update; and their columns of Wᵀ.
struct GradJob<'a> {
    jobs: GradJobs<'a>,
    /// Where the layer's input (the previous activations) starts in the batch buffer, and
    /// its row stride; None for the input layer (the pixels).
    input: Option<(usize, usize)>,
    delta_at: usize,
    stride: usize,
    outputs: usize,
    /// Which part of the split this job's rows are (q of `split`).
    part: usize,
    first: usize,
    w: &'a mut [f32],
    g: &'a mut [f32],
    mom: &'a mut [f32],
    vel: &'a mut [f32],
    /// The layer's Wᵀ, whose columns `first..` this job refreshes (other jobs, other columns).
    wt: Shared<'a>,
    bias: bool,
}

fn grad_task(job: GradJob<'_>) {
    job.jobs.kernel.run(job);
}

impl Kernel for GradJob<'_> {
    type Output = ();

    #[inline(always)]
    fn run<W: Vector, V: Vector>(self) {
        grad_task_impl::<W, V>(self);
    }
}

/// The constant input of a bias.
static ONE: f32 = 1.0;

#[inline(always)]
fn grad_task_impl<W: Vector, V: Vector>(job: GradJob<'_>) {
    let GradJob {
        jobs,
        input,
        delta_at,
        stride,
        outputs,
        part,
        first,
        w,
        g,
        mom,
        vel,
        wt,
        bias,
    } = job;
    let GradJobs {
        batch,
        m,
        data,
        images,
        split,
        cuts,
        update,
        ..
    } = jobs;
    let n = g.len() / stride;
    let vectors = stride / LANES;
    assert!(delta_at + m * stride <= batch.len() && w.len() == g.len());
    let delta = batch[delta_at..].as_ptr();
    if let Some((in_at, in_stride)) = input.filter(|_| !bias) {
        // dW[j, :] = sum over rows i of z[i, j] delta[i, :].
        assert!(in_at + (m - 1) * in_stride + first + n <= batch.len());
        let product = Product {
            rows: n,
            k: m,
            vectors,
            a: batch[in_at + first..].as_ptr(),
            a_rs: 1,
            a_cs: in_stride,
            b: delta,
            b_rs: stride,
            init: std::ptr::null(),
            c: g.as_mut_ptr(),
            c_rs: stride,
            epilogue: Epilogue::Store,
            z: std::ptr::null(),
            z_rs: 0,
        };
        // SAFETY: A reads columns first..first + n of the m input rows, B the m deltas
        // (asserted above), C is `g`, n rows of `stride`.
        unsafe { product.run::<W, V>() };
        if let Some(u) = update {
            apply(u, w, g, mom, vel);
        }
        // SAFETY: this job's columns of Wᵀ are its own rows of W (`GradJobs::each` gives
        // each job distinct rows).
        let wt_all = unsafe { wt.slice(0, wt.len) };
        assert!(first + n <= in_stride && outputs * in_stride <= wt_all.len());
        transpose(w, stride, outputs, in_stride, first, wt_all);
        return;
    }
    if bias || input.is_some() {
        // db = sum over rows i of delta[i, :].
        let product = Product {
            rows: 1,
            k: m,
            vectors,
            a: &raw const ONE,
            a_rs: 0,
            a_cs: 0,
            b: delta,
            b_rs: stride,
            init: std::ptr::null(),
            c: g.as_mut_ptr(),
            c_rs: stride,
            epilogue: Epilogue::Store,
            z: std::ptr::null(),
            z_rs: 0,
        };
        assert!(g.len() == stride);
        // SAFETY: B is the m deltas (asserted above), C is `g`, one row.
        unsafe { product.run::<W, V>() };
        if let Some(u) = update {
            apply(u, w, g, mom, vel);
        }
        return;
    }
    // dW[p, :] = sum over rows i with x[i, p] != 0 of x[i, p] delta[i, :]: each image adds
    // its delta row (held in registers) to the rows of its pixels in this job's range, so
    // every row sums its terms in batch order, whatever the split.
    g.fill(0.0);
    let (end, bounds) = (first + n, split.len());
    assert!(split[part] == first && split[part + 1] == end && cuts.len() >= m * bounds);
    for ((i, &img), cut) in images.iter().enumerate().zip(cuts.chunks_exact(bounds)) {
        let image = data.image(img);
        let (lo, hi) = (cut[part], cut[part + 1]);
        if lo == hi {
            continue;
        }
        let pixels = image.pixels();
        // The row tasks found the cuts; the pixels increase, so checking the ends of the
        // range checks all of it.
        assert!(
            lo < hi
                && hi <= pixels.len()
                && usize::from(pixels[lo]) >= first
                && usize::from(pixels[hi - 1]) < end
        );
        // SAFETY: the pixels lie in first..first + n, so their rows of `g` exist; delta row
        // i < m lies within the m rows asserted above.
        with_values!(image.part(lo..hi), |pixels, values| unsafe {
            tiles::scatter_rows::<W, V>(
                pixels,
                values,
                first,
                delta.add(i * stride),
                vectors,
                g.as_mut_ptr(),
                stride,
            )
        });
    }
    // An unseen pixel's gradient is 0: SGD leaves its weights exactly as they are.
    if let Some(u) = update {
        apply(u, w, g, mom, vel);
    }
}

/// `cut[q]` = how many of `pixels` lie below `split[q]`: where each task's part of an image
/// starts (the pixels increase). The outer bounds are not counted. Counting, branch-free
/// and vectorized, beats a binary search, whose ~8 unpredictable branches per bound cost
/// 15% of a gradient task when the tasks searched for themselves.
#[inline(always)]
fn cut_pixels(pixels: &[u16], split: &[usize], cut: &mut [usize]) {
    let last = split.len() - 1;
    for (c, &bound) in cut[1..last].iter_mut().zip(&split[1..last]) {
        // Inner bounds lie below the pixel count, which fits 16 bits (MAX_PIXELS).
        let bound = u16::try_from(bound).unwrap_or(u16::MAX);
        *c = pixels.iter().map(|&p| usize::from(p < bound)).sum();
    }
    cut[0] = 0;
    cut[last] = pixels.len();
}

/// Applies one optimizer step to `w` with gradient `g` and its states.
#[inline(always)]
fn apply(u: Update, w: &mut [f32], g: &[f32], mom: &mut [f32], vel: &mut [f32]) {
    match u.optimizer {
        Optimizer::Sgd => sgd(w, g, u.lr),
        Optimizer::Momentum => momentum(w, g, mom, u.lr),
        Optimizer::Adam => adam(w, g, mom, vel, u.lr, u.c1, u.c2),
    }
}

#[inline(always)]
fn sgd(w: &mut [f32], g: &[f32], lr: f32) {
    for (w, &g) in w.iter_mut().zip(g) {
        *w -= lr * g;
    }
}

#[inline(always)]
fn momentum(w: &mut [f32], g: &[f32], v: &mut [f32], lr: f32) {
    for ((w, &g), v) in w.iter_mut().zip(g).zip(v) {
        *v = MOMENTUM * *v - lr * g;
        *w += *v;
    }
}

/// Adam as in the paper's Algorithm 1: m and v moving averages, bias-corrected by `c1` and
/// `c2` (1 / (1 - beta^t)), step lr · m̂ / (sqrt(v̂) + epsilon).
#[inline(always)]
fn adam(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], lr: f32, c1: f32, c2: f32) {
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
        *m = ADAM_BETA1 * *m + (1.0 - ADAM_BETA1) * g;
        *v = ADAM_BETA2 * *v + (1.0 - ADAM_BETA2) * g * g;
        *w -= lr * (*m * c1) / ((*v * c2).sqrt() + ADAM_EPSILON);
    }
}

/// Index of the largest value (the first on ties) and the value.
#[inline(always)]
fn argmax_max(values: &[f32]) -> (usize, f32) {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    (best, values[best])
}

/// Progress reported to [`train`]'s callback.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A batch is done.
    Batch(BatchProgress),
    /// An epoch is done (including the test accuracy, when a test split was given).
    Epoch(EpochReport),
}

/// Where an epoch stands after a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchProgress {
    /// 1-based epoch.
    pub epoch: usize,
    /// Batches done in this epoch.
    pub batch: usize,
    /// Batches per epoch.
    pub batches: usize,
    /// Images done in this epoch.
    pub images: usize,
    /// Mean loss over this epoch's batches so far.
    pub loss: f64,
    /// Seconds since the epoch started.
    pub seconds: f64,
}

/// The numbers of one finished epoch.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's images, each measured just before its step.
    pub train_loss: f64,
    /// Accuracy over the epoch's images, each measured just before its step (a running
    /// figure, as Keras reports it; a fresh pass would cost as much as the epoch).
    pub train_accuracy: f64,
    /// Accuracy on the test split after the epoch, if one was given.
    pub test_accuracy: Option<f64>,
    /// Seconds of training in this epoch (shuffle and steps; the test pass excluded).
    pub seconds: f64,
}

/// The outcome of [`train`].
#[derive(Debug, Clone)]
pub struct Trained {
    /// The final weights.
    pub network: Network,
    /// One report per epoch.
    pub epochs: Vec<EpochReport>,
    /// Seconds spent normalizing the training split into its sparse form, once.
    pub prepare_seconds: f64,
    /// The code path that ran.
    pub kernel: Path,
    /// Threads each step was split across.
    pub threads: usize,
}

/// Trains a fresh network on `data` as `config` says, measuring `test` after each epoch.
///
/// `on_event` hears of every batch and epoch; returning `ControlFlow::Break` stops the run
/// between batches with [`TrainError::Stopped`]. With more than one thread in the rayon pool,
/// the epochs (and so `on_event`) run on a pool thread.
///
/// # Errors
/// An invalid configuration (see [`TrainConfig::validate`]), labels or images that do not fit
/// the network, a loss that turns NaN or infinite, or a stop requested by `on_event`.
pub fn train(
    data: &Dataset,
    test: Option<&Dataset>,
    config: &TrainConfig,
    on_event: impl FnMut(&Event) -> ControlFlow<()> + Send,
) -> Result<Trained, TrainError> {
    config.validate(data.len())?;
    if data.pixels_per_image() > MAX_PIXELS {
        return Err(TrainError::TooManyPixels {
            pixels: data.pixels_per_image(),
        });
    }
    let classes = crate::dataset::NUM_CLASSES;
    let sizes = config.sizes(data.pixels_per_image(), classes);
    check_memory(&sizes, config.batch_size)?;
    let mut rng = SplitMix64::new(config.seed);
    let net = Network::new(glorot_uniform(&sizes, &mut rng))?;
    // Same pixel count is not enough: 14x56 test images would be read as garbled digits.
    if let Some(t) = test
        && (t.rows(), t.cols()) != (data.rows(), data.cols())
    {
        return Err(TrainError::TestSize {
            test: (t.rows(), t.cols()),
            train: (data.rows(), data.cols()),
        });
    }

    let start = Instant::now();
    let sparse = SparseImages::new(data, config.norm);
    let prepare_seconds = start.elapsed().as_secs_f64();
    if let Some(label) = sparse.max_label().filter(|&l| usize::from(l) >= classes) {
        return Err(TrainError::BadLabel {
            label,
            outputs: classes,
        });
    }

    let mut trainer = Trainer::new(&net, config.optimizer, config.lr, config.batch_size);
    if trainer.threads() == 1 {
        return epochs(
            &mut trainer,
            &sparse,
            test,
            config,
            rng,
            prepare_seconds,
            on_event,
        );
    }
    // On a pool thread, the test pass after each epoch starts without waking the pool from
    // outside (the steps run on the trainer's own team).
    rayon::scope(|_| {
        epochs(
            &mut trainer,
            &sparse,
            test,
            config,
            rng,
            prepare_seconds,
            on_event,
        )
    })
}

/// Most floats of weights plus one batch's activations a run may need: 2 GB of them. The
/// trainer keeps a few copies of the weights (gradients, optimizer states, transposes) and
/// of the activations (deltas), so a run at the limit takes several GB; beyond it, a typo in
/// `--hidden` would end in an allocation failure rather than an error.
const MOST_FLOATS: u128 = 1 << 29;

/// Refuses layer sizes whose weights and batch activations exceed [`MOST_FLOATS`].
fn check_memory(sizes: &[usize], batch_size: usize) -> Result<(), TrainError> {
    let weights = sizes.windows(2).fold(0u128, |sum, w| {
        sum.saturating_add((w[0] as u128 + 1).saturating_mul(w[1] as u128))
    });
    let widths = sizes
        .iter()
        .fold(0u128, |sum, &s| sum.saturating_add(s as u128));
    let needed = weights.saturating_add((batch_size as u128).saturating_mul(widths));
    if needed > MOST_FLOATS {
        let sizes = sizes
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("-");
        return Err(TrainError::TooLarge {
            sizes,
            batch_size,
            needed,
            most: MOST_FLOATS,
        });
    }
    Ok(())
}

/// The epoch loop of [`train`].
fn epochs(
    trainer: &mut Trainer,
    sparse: &SparseImages,
    test: Option<&Dataset>,
    config: &TrainConfig,
    mut rng: SplitMix64,
    prepare_seconds: f64,
    mut on_event: impl FnMut(&Event) -> ControlFlow<()>,
) -> Result<Trained, TrainError> {
    let mut order: Vec<usize> = (0..sparse.len()).collect();
    let batches = sparse.len().div_ceil(config.batch_size);
    // Not reserved by `epochs`: a huge count (a run meant to be stopped) would ask for it all.
    let mut reports = Vec::new();
    for epoch in 1..=config.epochs {
        let start = Instant::now();
        rng.shuffle(&mut order);
        let (mut loss_sum, mut correct, mut images) = (0f64, 0usize, 0usize);
        for (b, batch) in order.chunks(config.batch_size).enumerate() {
            // Saturating: with an absurd epoch count the schedule is merely flat, not wrapped.
            let step = (epoch - 1).saturating_mul(batches).saturating_add(b);
            let steps = config.epochs.saturating_mul(batches);
            trainer.set_lr(config.schedule.rate(config.lr, step, steps));
            let s = trainer.step(sparse, batch);
            if !s.loss_sum.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    batch: b + 1,
                    loss: s.loss_sum / s.images as f64,
                });
            }
            loss_sum += s.loss_sum;
            correct += s.correct;
            images += s.images;
            let progress = BatchProgress {
                epoch,
                batch: b + 1,
                batches,
                images,
                loss: loss_sum / images as f64,
                seconds: start.elapsed().as_secs_f64(),
            };
            if on_event(&Event::Batch(progress)).is_break() {
                return Err(TrainError::Stopped {
                    epoch,
                    batch: b + 1,
                });
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let test_accuracy = match test {
            Some(t) => Some(test_accuracy(&trainer.network()?, t, config.norm)),
            None => None,
        };
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / images as f64,
            train_accuracy: correct as f64 / images as f64,
            test_accuracy,
            seconds,
        };
        reports.push(report);
        if on_event(&Event::Epoch(report)).is_break() {
            return Err(TrainError::Stopped {
                epoch,
                batch: batches,
            });
        }
    }
    Ok(Trained {
        network: trainer.network()?,
        epochs: reports,
        prepare_seconds,
        kernel: trainer.kernel(),
        threads: trainer.threads(),
    })
}

/// Accuracy of `net` on every image of `data`.
pub fn test_accuracy(net: &Network, data: &Dataset, norm: NormMode) -> f64 {
    evaluate(net, data, norm, EVAL_BATCH, OutputLayer::Identity, |_| true)
        .0
        .accuracy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Split;

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

    /// Every kernel this CPU can run, so each test covers both compiled versions.
    fn kernels() -> Vec<Path> {
        Path::ALL.into_iter().filter(|k| k.supported()).collect()
    }

    /// A small random network and a batch whose inputs are 40% zeros, like MNIST's.
    fn tiny(sizes: &[usize], images: usize, seed: u64) -> (Network, SparseImages) {
        let mut rng = SplitMix64::new(seed);
        let mut layers = glorot_uniform(sizes, &mut rng);
        for layer in &mut layers {
            // Non-zero biases, so that their gradients are exercised away from zero.
            layer.b.mapv_inplace(|_| rng.unit_f32() - 0.5);
        }
        let inputs = sizes[0];
        let classes = sizes[sizes.len() - 1];
        let x: Vec<f32> = (0..images * inputs)
            .map(|_| {
                let u = rng.unit_f32();
                if u < 0.4 { 0.0 } else { 2.0 * u - 0.8 }
            })
            .collect();
        let labels: Vec<u8> = (0..images).map(|_| rng.below(classes) as u8).collect();
        let net = Network::new(layers).unwrap();
        (net, SparseImages::from_dense(&x, inputs, &labels))
    }

    /// Mean cross-entropy computed the slow, obvious way in f64.
    fn reference_loss(layers: &[(Vec<f64>, Vec<f64>, usize, usize)], data: &SparseImages) -> f64 {
        let mut total = 0.0;
        for img in 0..data.len() {
            let mut a = vec![0.0; data.pixels_per_image()];
            for (p, v) in data.image(img).entries() {
                a[p] = f64::from(v);
            }
            for (li, (w, b, k, n)) in layers.iter().enumerate() {
                let mut z = b.clone();
                for (j, zj) in z.iter_mut().enumerate() {
                    for i in 0..*k {
                        *zj += a[i] * w[i * n + j];
                    }
                }
                if li + 1 < layers.len() {
                    z.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
                }
                a = z;
            }
            let max = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = a.iter().map(|v| (v - max).exp()).sum();
            total += sum.ln() - (a[usize::from(data.label(img))] - max);
        }
        total / data.len() as f64
    }

    #[test]
    fn backprop_matches_numerical_gradients_for_every_layer() {
        let sizes = [12, 7, 5, 4];
        let (net, data) = tiny(&sizes, 6, 7);
        let batch: Vec<usize> = (0..data.len()).collect();
        let as_f64 = |net: &Network| -> Vec<(Vec<f64>, Vec<f64>, usize, usize)> {
            net.layers()
                .iter()
                .map(|l| {
                    let (k, n) = l.w.dim();
                    let w = l.w.iter().map(|&v| f64::from(v)).collect();
                    let b = l.b.iter().map(|&v| f64::from(v)).collect();
                    (w, b, k, n)
                })
                .collect()
        };
        let base = as_f64(&net);
        for kernel in kernels() {
            let mut trainer = Trainer::new(&net, Optimizer::Sgd, 0.1, batch.len());
            assert!(trainer.set_kernel(kernel));
            let stats = trainer.forward_backward(&data, &batch);
            let loss = stats.loss_sum / stats.images as f64;
            assert!(
                (loss - reference_loss(&base, &data)).abs() < 1e-5,
                "{kernel:?}"
            );
            for (li, (gw, gb)) in trainer.gradients().iter().enumerate() {
                let numeric = |param: usize, bias: bool| {
                    let h = 1e-5;
                    let mut plus = base.clone();
                    let mut minus = base.clone();
                    if bias {
                        plus[li].1[param] += h;
                        minus[li].1[param] -= h;
                    } else {
                        plus[li].0[param] += h;
                        minus[li].0[param] -= h;
                    }
                    (reference_loss(&plus, &data) - reference_loss(&minus, &data)) / (2.0 * h)
                };
                for (bias, analytic) in [(false, gw), (true, gb)] {
                    let numeric: Vec<f64> = (0..analytic.len()).map(|i| numeric(i, bias)).collect();
                    let diff: f64 = analytic
                        .iter()
                        .zip(&numeric)
                        .map(|(&a, &n)| (f64::from(a) - n).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    let norm: f64 = numeric.iter().map(|n| n * n).sum::<f64>().sqrt();
                    let name = if bias { "b" } else { "W" };
                    assert!(norm > 1e-4, "{name}{}: gradient too small to check", li + 1);
                    let rel = diff / norm;
                    assert!(
                        rel < 1e-4,
                        "{kernel:?} {name}{}: relative error {rel}",
                        li + 1
                    );
                }
            }
        }
    }

    #[test]
    fn a_step_split_across_threads_matches_the_single_threaded_step() {
        // Odd sizes, and batches that split unevenly or into fewer rows than tasks, so that
        // every remainder path and task boundary runs.
        let (net, data) = tiny(&[30, 20, 17, 10], 13, 5);
        let all: Vec<usize> = (0..data.len()).collect();
        for kernel in kernels() {
            for optimizer in [Optimizer::Sgd, Optimizer::Momentum, Optimizer::Adam] {
                let run = |threads| {
                    let mut trainer = Trainer::new(&net, optimizer, 0.05, all.len());
                    assert!(trainer.set_kernel(kernel));
                    trainer.set_threads(threads);
                    trainer.forward_backward(&data, &all);
                    let gradients = trainer.gradients();
                    for _ in 0..3 {
                        trainer.step(&data, &all);
                        trainer.step(&data, &all[3..]);
                        trainer.step(&data, &all[..2]);
                    }
                    (gradients, trainer.network().unwrap())
                };
                let (one_g, one_net) = run(1);
                for threads in [2, 3, 5] {
                    let (g, net) = run(threads);
                    for ((w1, b1), (w, b)) in one_g.iter().zip(&g) {
                        for (x, y) in w1.iter().chain(b1).zip(w.iter().chain(b)) {
                            assert!(
                                (x - y).abs() <= 1e-7 * x.abs().max(1e-3),
                                "{kernel:?} {optimizer:?} {threads} threads: {x} vs {y}"
                            );
                        }
                    }
                    // Stronger than the tolerance: each value is summed in the same order
                    // however the work is split, so the weights agree bit for bit.
                    assert_eq!(net, one_net, "{kernel:?} {optimizer:?} {threads} threads");
                }
            }
        }
    }

    #[test]
    fn kernels_agree_and_the_fma_ones_exactly() {
        // 30 and 17 outputs: an odd number of 8-float columns, so AVX-512 runs its
        // leftover 8-float vector too.
        let (net, data) = tiny(&[30, 20, 17, 10], 9, 3);
        let batch: Vec<usize> = (0..data.len()).collect();
        let results: Vec<(Path, Network)> = kernels()
            .into_iter()
            .map(|kernel| {
                let mut trainer = Trainer::new(&net, Optimizer::Adam, 0.01, batch.len());
                assert!(trainer.set_kernel(kernel));
                for _ in 0..5 {
                    trainer.step(&data, &batch);
                }
                (kernel, trainer.network().unwrap())
            })
            .collect();
        let (first, want) = &results[0];
        for (kernel, got) in &results[1..] {
            if *first != Path::Portable && *kernel != Path::Portable {
                assert_eq!(got, want, "{kernel:?} vs {first:?}");
            }
            for (a, b) in want.layers().iter().zip(got.layers()) {
                for (x, y) in a.w.iter().zip(&b.w) {
                    assert!((x - y).abs() < 1e-5, "{kernel:?}: {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn optimizers_follow_their_formulas() {
        // One weight, gradient g fixed: check one update by hand.
        let (w0, g, lr) = (0.5f32, 0.2f32, 0.1f32);
        let mut w = [w0];
        sgd(&mut w, &[g], lr);
        assert_eq!(w[0], w0 - lr * g);
        let (mut w, mut v) = ([w0], [0.0]);
        momentum(&mut w, &[g], &mut v, lr);
        momentum(&mut w, &[g], &mut v, lr);
        assert!((w[0] - (w0 - lr * g - (MOMENTUM * lr * g + lr * g))).abs() < 1e-7);
        // Adam's first step moves every weight by lr (times sign g), whatever |g|.
        let (mut w, mut m, mut v) = ([w0, w0], [0.0; 2], [0.0; 2]);
        let c1 = 1.0 / (1.0 - ADAM_BETA1);
        let c2 = 1.0 / (1.0 - ADAM_BETA2);
        adam(&mut w, &[g, -30.0], &mut m, &mut v, lr, c1, c2);
        assert!((w[0] - (w0 - lr)).abs() < 1e-5, "{}", w[0]);
        assert!((w[1] - (w0 + lr)).abs() < 1e-5, "{}", w[1]);
    }

    #[test]
    fn glorot_weights_stay_within_their_bound() {
        let layers = glorot_uniform(&[784, 50, 10], &mut SplitMix64::new(1));
        let a = (6.0f32 / 834.0).sqrt();
        assert!(layers[0].w.iter().all(|v| v.abs() <= a));
        // Spread: a uniform draw's mean |v| is a/2.
        let mean = layers[0].w.iter().map(|v| v.abs()).sum::<f32>() / layers[0].w.len() as f32;
        assert!((mean - a / 2.0).abs() < 0.02 * a, "{mean}");
        assert!(layers.iter().all(|l| l.b.iter().all(|&b| b == 0.0)));
    }

    fn config(seed: u64) -> TrainConfig {
        TrainConfig {
            hidden: vec![50, 100],
            epochs: 3,
            batch_size: 20,
            lr: 0.003,
            optimizer: Optimizer::Adam,
            schedule: Schedule::Constant,
            norm: NormMode::Div255,
            seed,
        }
    }

    /// The first `n` images of the real training split (data/ is in the repository).
    fn real_slice(n: usize) -> Dataset {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        let data = Dataset::load(&dir, Split::Train).unwrap();
        let labels = data.labels()[..n].to_vec();
        let images = data.images(0..n).to_vec();
        Dataset::from_parts(images, labels, data.rows(), data.cols()).unwrap()
    }

    #[test]
    fn a_few_hundred_steps_learn_real_digits_and_repeat_exactly() {
        let all = real_slice(3000);
        let split = |r: std::ops::Range<usize>| {
            let d = Dataset::from_parts(
                all.images(r.clone()).to_vec(),
                all.labels()[r].to_vec(),
                28,
                28,
            );
            d.unwrap()
        };
        let (train_set, held_out) = (split(0..2000), split(2000..3000));
        // 3 epochs of 100 batches: 300 steps.
        let mut losses = Vec::new();
        let run = |seed, losses: &mut Vec<f64>| {
            train(&train_set, Some(&held_out), &config(seed), |e| {
                if let Event::Batch(b) = e
                    && b.epoch == 1
                    && b.batch <= 5
                {
                    losses.push(b.loss);
                }
                ControlFlow::Continue(())
            })
            .unwrap()
        };
        let first = run(42, &mut losses);
        let start_loss = losses[0];
        assert!((start_loss - 10f64.ln()).abs() < 0.3, "{start_loss}");
        let last = first.epochs[2];
        assert!(last.train_loss < 0.5 * start_loss, "{:?}", first.epochs);
        let acc = last.test_accuracy.unwrap();
        assert!(acc > 0.80, "held-out accuracy {acc} (chance is 0.1)");

        let again = run(42, &mut Vec::new());
        assert_eq!(again.network, first.network, "same seed, same weights");
        let other = run(43, &mut Vec::new());
        assert_ne!(other.network, first.network, "another seed, other weights");
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

    /// `count` images of `rows` x `cols`: a blank one, a white one, then random ones with a
    /// third of their pixels 0.
    fn varied_images(rows: usize, cols: usize, count: usize, seed: u64) -> Dataset {
        let n = rows * cols;
        let mut rng = SplitMix64::new(seed);
        let mut images = vec![0u8; n];
        images.extend(std::iter::repeat_n(255u8, n));
        for _ in 2..count {
            images.extend((0..n).map(|_| {
                if rng.below(3) == 0 {
                    0
                } else {
                    rng.below(256) as u8
                }
            }));
        }
        let labels = (0..count).map(|i| (i % 10) as u8).collect();
        Dataset::from_parts(images, labels, rows, cols).unwrap()
    }

    #[test]
    fn stored_images_hold_exactly_what_normalization_gives() {
        let data = varied_images(3, 5, 22, 9);
        let mut dense = vec![0f32; data.pixels_per_image()];
        for norm in NormMode::ALL {
            let sparse = SparseImages::new(&data, norm);
            // Bytes and divisors for every mode that only scales; floats for z-score.
            let bytes = matches!(sparse.values, Values::Scaled { .. });
            assert_eq!(bytes, norm.keeps_zeros(), "{norm:?}");
            for i in 0..data.len() {
                norm.apply(data.image(i), &mut dense);
                let expected: Vec<(usize, u32)> = (dense.iter().enumerate())
                    .filter(|&(_, &v)| v != 0.0)
                    .map(|(p, v)| (p, v.to_bits()))
                    .collect();
                let stored: Vec<(usize, u32)> = (sparse.image(i).entries())
                    .map(|(p, v)| (p, v.to_bits()))
                    .collect();
                assert_eq!(stored, expected, "{norm:?}, image {i}");
                assert_eq!(sparse.label(i), data.label(i));
            }
        }
    }

    #[test]
    fn a_float_image_after_byte_ones_turns_the_store_into_floats() {
        let mut sparse = SparseImages::with_capacity(4, 2, 0, true);
        let mut scratch = [0f32; 4];
        sparse.push_pixels(&[0, 51, 0, 255], NormMode::Div255, &mut scratch, 3);
        assert!(matches!(sparse.values, Values::Scaled { .. }));
        sparse.push(&[0.5, 0.0, -1.0, 0.0], 7);
        assert!(matches!(sparse.values, Values::Floats(_)));
        let entries = |i| sparse.image(i).entries().collect::<Vec<_>>();
        assert_eq!(entries(0), [(1, 51.0 / 255.0), (3, 1.0)]);
        assert_eq!(entries(1), [(0, 0.5), (2, -1.0)]);
        assert_eq!((sparse.label(0), sparse.label(1)), (3, 7));
        assert_eq!(sparse.pixel_count, [1, 1, 1, 1]);
    }

    #[test]
    fn steps_on_pixel_bytes_match_steps_on_their_floats_bit_for_bit() {
        let data = varied_images(4, 5, 12, 4);
        let inputs = data.pixels_per_image();
        let mut rng = SplitMix64::new(8);
        let net = Network::new(glorot_uniform(&[inputs, 9, 17, 10], &mut rng)).unwrap();
        let all: Vec<usize> = (0..data.len()).collect();
        for norm in [NormMode::Div255, NormMode::L2, NormMode::Raw] {
            let bytes = SparseImages::new(&data, norm);
            assert!(matches!(bytes.values, Values::Scaled { .. }));
            let mut dense = vec![0f32; data.len() * inputs];
            norm.apply_batch(data.images(0..data.len()), inputs, &mut dense);
            let floats = SparseImages::from_dense(&dense, inputs, data.labels());
            for kernel in kernels() {
                for threads in [1, 2] {
                    let run = |images: &SparseImages| {
                        let mut trainer = Trainer::new(&net, Optimizer::Momentum, 0.5, all.len());
                        assert!(trainer.set_kernel(kernel));
                        trainer.set_threads(threads);
                        for _ in 0..3 {
                            trainer.step(images, &all);
                            trainer.step(images, &all[5..]);
                        }
                        trainer.network().unwrap()
                    };
                    assert_eq!(run(&bytes), run(&floats), "{norm:?} {kernel:?} {threads}");
                }
            }
        }
    }

    #[test]
    fn test_images_of_another_shape_are_refused() {
        let data = varied_images(28, 28, 4, 1);
        let c = TrainConfig {
            batch_size: 2,
            ..config(0)
        };
        for (rows, cols) in [(1, 1), (14, 56), (28, 29)] {
            let test = varied_images(rows, cols, 3, 2);
            let err = train(&data, Some(&test), &c, |_| ControlFlow::Continue(())).unwrap_err();
            assert_eq!(
                err,
                TrainError::TestSize {
                    test: (rows, cols),
                    train: (28, 28)
                }
            );
            let text = err.to_string();
            assert!(text.contains(&format!("are {rows}x{cols}, the training split's 28x28")));
        }
    }

    #[test]
    fn images_too_large_to_index_are_refused() {
        let data = Dataset::from_parts(vec![0; 257 * 256], vec![0], 257, 256).unwrap();
        let mut c = config(0);
        c.batch_size = 1;
        let err = train(&data, None, &c, |_| ControlFlow::Continue(())).unwrap_err();
        assert_eq!(err, TrainError::TooManyPixels { pixels: 65792 });
        assert!(err.to_string().contains("at most 65536 pixels"), "{err}");
    }

    #[test]
    fn networks_too_large_to_hold_are_refused_before_allocating() {
        assert_eq!(check_memory(&[784, 50, 100, 10], 60_000), Ok(()));
        for (sizes, batch) in [
            (vec![784, 100_000, 100_000, 10], 100),
            (vec![784, usize::MAX, usize::MAX, 10], 100),
            (vec![784, 10_000, 10], 60_000),
        ] {
            let err = check_memory(&sizes, batch).unwrap_err();
            assert!(matches!(err, TrainError::TooLarge { .. }), "{err}");
        }
        let (data, test) = (real_slice(20), real_slice(20));
        let mut c = config(0);
        c.hidden = vec![100_000, 100_000];
        let err = train(&data, Some(&test), &c, |_| ControlFlow::Continue(())).unwrap_err();
        assert!(err.to_string().contains("784-100000-100000-10"), "{err}");
    }

    #[test]
    fn a_diverging_run_stops_with_an_error() {
        let data = real_slice(200);
        let mut c = config(0);
        c.optimizer = Optimizer::Sgd;
        c.norm = NormMode::Raw;
        // The first update sends weights to infinity; the next forward pass makes NaN.
        c.lr = f32::MAX;
        let err = train(&data, None, &c, |_| ControlFlow::Continue(())).unwrap_err();
        assert!(matches!(err, TrainError::Diverged { .. }), "{err}");
    }

    #[test]
    fn the_callback_can_stop_a_run_between_batches() {
        let data = real_slice(200);
        let err = train(&data, None, &config(0), |e| match e {
            Event::Batch(b) if b.batch == 3 => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .unwrap_err();
        assert_eq!(err, TrainError::Stopped { epoch: 1, batch: 3 });
    }

    #[test]
    fn an_endless_epoch_count_neither_reserves_memory_nor_overflows() {
        let data = real_slice(200);
        let config = TrainConfig {
            epochs: usize::MAX,
            ..config(0)
        };
        // One report per epoch is kept: reserving room for usize::MAX of them aborted the
        // process, and epochs x batches overflowed the schedule's step count.
        let err = train(&data, None, &config, |e| match e {
            Event::Epoch(r) if r.epoch == 2 => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .unwrap_err();
        assert!(
            matches!(err, TrainError::Stopped { epoch: 2, .. }),
            "{err:?}"
        );
    }
}
