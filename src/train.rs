//! Training the book's network: Glorot initialization, backpropagation over shuffled
//! mini-batches (sigmoid hidden layers, softmax + cross-entropy), the SGD, momentum and Adam
//! optimizers, and the epoch loop that reports progress through a callback. No terminal code.
//!
//! Speed is designed in (issue 5): a [`Trainer`] allocates every buffer once, so a step
//! allocates nothing; bias, product and sigmoid are fused per output row; the sigmoid
//! derivative is folded into the backward product; the input layer works on the non-zero
//! pixels only (about 151 of MNIST's 784), both forward and in its weight gradient; and the
//! same loops are compiled twice, once for AVX2+FMA (chosen at run time) and once portable.
//!
//! Determinism: every sum runs in a fixed order, so one seed gives the same weights bit for
//! bit on one machine. The AVX2+FMA and portable kernels round differently (fused
//! multiply-add), so they agree only to float precision.

use std::ops::ControlFlow;
use std::time::Instant;

use ndarray::{Array1, Array2};

use crate::dataset::Dataset;
use crate::eval::evaluate;
use crate::network::{Layer, Network, OutputLayer, WeightsFault};
use crate::normalize::NormMode;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
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
    pub fn name(self) -> &'static str {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
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
    pub fn name(self) -> &'static str {
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
    /// Images whose pixel count differs from the network's inputs.
    #[error("images of {pixels} pixels do not fit a network of {inputs} inputs")]
    BadImageSize {
        /// Pixels per image.
        pixels: usize,
        /// Inputs of the network.
        inputs: usize,
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
    /// The weights are invalid (cannot happen with validated sizes; kept instead of a panic).
    #[error(transparent)]
    Weights(#[from] WeightsFault),
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

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded generator, plenty for shuffling and
/// initialization, and fully specified here so a seed means the same thing in every build.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (Lemire's multiply-shift; the bias is below n / 2^64).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A float in [0, 1) with 24 random bits.
    pub fn unit_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
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

/// A split's images, normalized once and stored sparsely: for each image the indices and
/// values of its non-zero inputs, plus its label. MNIST images are ~80% zeros, so this is
/// both smaller than the dense f32 matrix and what the input layer wants to iterate.
#[derive(Debug, Clone)]
pub struct SparseImages {
    pixels_per_image: usize,
    start: Vec<usize>,
    pixel: Vec<u32>,
    value: Vec<f32>,
    labels: Vec<u8>,
}

impl SparseImages {
    /// Normalizes every image of `data` with `norm` (exactly as [`NormMode::apply`]) and keeps
    /// the non-zero values.
    pub fn new(data: &Dataset, norm: NormMode) -> Self {
        let n = data.pixels_per_image();
        let mut scratch = vec![0f32; n];
        let mut out = Self::with_capacity(n, data.len());
        for i in 0..data.len() {
            norm.apply(data.image(i), &mut scratch);
            out.push(&scratch, data.label(i));
        }
        out
    }

    /// Builds from dense rows of `pixels_per_image` values (for tests and tools).
    ///
    /// # Panics
    /// If `rows.len()` is not `labels.len() * pixels_per_image`.
    pub fn from_dense(rows: &[f32], pixels_per_image: usize, labels: &[u8]) -> Self {
        assert_eq!(rows.len(), labels.len() * pixels_per_image);
        let mut out = Self::with_capacity(pixels_per_image, labels.len());
        for (row, &label) in rows.chunks_exact(pixels_per_image).zip(labels) {
            out.push(row, label);
        }
        out
    }

    fn with_capacity(pixels_per_image: usize, images: usize) -> Self {
        let mut start = Vec::with_capacity(images + 1);
        start.push(0);
        Self {
            pixels_per_image,
            start,
            pixel: Vec::new(),
            value: Vec::new(),
            labels: Vec::with_capacity(images),
        }
    }

    fn push(&mut self, row: &[f32], label: u8) {
        for (p, &v) in row.iter().enumerate() {
            if v != 0.0 {
                self.pixel.push(p as u32);
                self.value.push(v);
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
        self.value.len()
    }

    /// The non-zero pixel indices and values of image `i`.
    pub fn image(&self, i: usize) -> (&[u32], &[f32]) {
        let r = self.start[i]..self.start[i + 1];
        (&self.pixel[r.clone()], &self.value[r])
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

/// Which compiled version of the training loops runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    /// Plain Rust, vectorized for the baseline target (SSE2 on x86-64).
    Portable,
    /// The same loops compiled with AVX2 and fused multiply-add (x86-64, checked at run time).
    Avx2Fma,
}

impl Kernel {
    /// The fastest kernel this CPU supports.
    pub fn detect() -> Self {
        if Self::Avx2Fma.is_supported() {
            Self::Avx2Fma
        } else {
            Self::Portable
        }
    }

    /// True when this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Avx2Fma => false,
        }
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2Fma => "avx2+fma",
        }
    }
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

/// One layer's parameters, gradients, optimizer state and batch buffers, all flat row-major.
#[derive(Debug, Clone)]
struct LayerState {
    inputs: usize,
    outputs: usize,
    /// Weights, inputs x outputs (x·W + b layout).
    w: Vec<f32>,
    b: Vec<f32>,
    /// W transposed (outputs x inputs), refreshed after each update, so that the backward
    /// product delta·Wᵀ runs along contiguous rows.
    wt: Vec<f32>,
    gw: Vec<f32>,
    gb: Vec<f32>,
    /// Momentum's velocity or Adam's first moment.
    mw: Vec<f32>,
    mb: Vec<f32>,
    /// Adam's second moment.
    vw: Vec<f32>,
    vb: Vec<f32>,
    /// batch x outputs: the layer's activations (hidden: sigmoid outputs; last: softmax).
    out: Vec<f32>,
    /// batch x outputs: d loss / d pre-activation.
    delta: Vec<f32>,
}

/// A network being trained, with every buffer a step needs allocated up front.
#[derive(Debug, Clone)]
pub struct Trainer {
    layers: Vec<LayerState>,
    optimizer: Optimizer,
    lr: f32,
    steps: u64,
    max_batch: usize,
    kernel: Kernel,
    /// The current batch's input by pixel (compressed sparse columns): for pixel p, the
    /// batch rows and values at `col_start[p]..col_start[p + 1]`, rows in increasing order.
    col_start: Vec<usize>,
    col_fill: Vec<usize>,
    col_row: Vec<u32>,
    col_val: Vec<f32>,
}

impl Trainer {
    /// Prepares to train `net` with batches of at most `max_batch` images.
    pub fn new(net: &Network, optimizer: Optimizer, lr: f32, max_batch: usize) -> Self {
        let max_batch = max_batch.max(1);
        let layers: Vec<LayerState> = net
            .layers()
            .iter()
            .map(|layer| {
                let (inputs, outputs) = layer.w.dim();
                let len = inputs * outputs;
                // w, wt and delta are read by `axpy_rows`, which needs PAD floats of slack.
                let mut w: Vec<f32> = layer.w.iter().copied().collect();
                w.resize(len + PAD, 0.0);
                let mut wt = vec![0.0; len + PAD];
                transpose(&w, inputs, outputs, &mut wt);
                let state = |len| match optimizer {
                    Optimizer::Sgd => Vec::new(),
                    _ => vec![0.0; len],
                };
                LayerState {
                    inputs,
                    outputs,
                    b: layer.b.to_vec(),
                    wt,
                    gw: vec![0.0; len],
                    gb: vec![0.0; outputs],
                    mw: state(len),
                    mb: state(outputs),
                    vw: if optimizer == Optimizer::Adam {
                        vec![0.0; len]
                    } else {
                        Vec::new()
                    },
                    vb: if optimizer == Optimizer::Adam {
                        vec![0.0; outputs]
                    } else {
                        Vec::new()
                    },
                    out: vec![0.0; max_batch * outputs],
                    delta: vec![0.0; max_batch * outputs + PAD],
                    w,
                }
            })
            .collect();
        let inputs = layers[0].inputs;
        Self {
            layers,
            optimizer,
            lr,
            steps: 0,
            max_batch,
            kernel: Kernel::detect(),
            col_start: vec![0; inputs + 1],
            col_fill: vec![0; inputs],
            col_row: vec![0; max_batch * inputs],
            col_val: vec![0.0; max_batch * inputs],
        }
    }

    /// Changes the learning rate for the following steps (a schedule's hook).
    pub fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    /// The kernel in use.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Chooses the kernel; returns false (and keeps the current one) if the CPU lacks it.
    pub fn set_kernel(&mut self, kernel: Kernel) -> bool {
        let ok = kernel.is_supported();
        if ok {
            self.kernel = kernel;
        }
        ok
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
            .enumerate()
            .map(|(i, l)| {
                let w = Array2::from_shape_vec((l.inputs, l.outputs), l.w[..l.gw.len()].to_vec())
                    .map_err(|e| WeightsFault::BadShape {
                    name: format!("W{}", i + 1),
                    expected: format!("({}, {})", l.inputs, l.outputs),
                    found: e.to_string(),
                })?;
                Ok(Layer {
                    w,
                    b: Array1::from(l.b.clone()),
                })
            })
            .collect::<Result<Vec<_>, WeightsFault>>()?;
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
        let stats = self.forward_backward(data, batch);
        self.update();
        stats
    }

    /// Forward and backward pass only: fills the gradients, leaves the weights alone.
    fn forward_backward(&mut self, data: &SparseImages, batch: &[usize]) -> StepStats {
        assert!(!batch.is_empty() && batch.len() <= self.max_batch);
        assert_eq!(data.pixels_per_image(), self.inputs());
        #[cfg(target_arch = "x86_64")]
        if self.kernel == Kernel::Avx2Fma {
            // SAFETY: `kernel` is only Avx2Fma when the CPU reported AVX2 and FMA
            // (`Kernel::detect` / `set_kernel` check `is_supported`).
            return unsafe { self.forward_backward_avx2(data, batch) };
        }
        self.forward_backward_impl::<false>(data, batch)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn forward_backward_avx2(&mut self, data: &SparseImages, batch: &[usize]) -> StepStats {
        self.forward_backward_impl::<true>(data, batch)
    }

    /// The step's arithmetic, inlined into each kernel's entry point so that the loops are
    /// compiled for that kernel's instruction set. `FMA` selects fused multiply-adds.
    #[inline(always)]
    fn forward_backward_impl<const FMA: bool>(
        &mut self,
        data: &SparseImages,
        batch: &[usize],
    ) -> StepStats {
        let m = batch.len();
        let last = self.layers.len() - 1;

        // Input layer: a = b + sum over non-zero pixels p of x_p W[p, :], sigmoid fused.
        {
            let l0 = &mut self.layers[0];
            let n = l0.outputs;
            for (row, &img) in l0.out.chunks_exact_mut(n).zip(batch) {
                let (pixels, values) = data.image(img);
                row.copy_from_slice(&l0.b);
                let rows = pixels.iter().zip(values).map(|(&p, &v)| (p as usize, v));
                axpy_rows::<FMA, _>(row, &l0.w, n, rows);
                if last > 0 {
                    sigmoid_in_place(row);
                }
            }
        }
        // Dense layers: a = b + z W, row by row, sigmoid fused on hidden layers.
        for l in 1..=last {
            let (before, rest) = self.layers.split_at_mut(l);
            let (prev, cur) = (&before[l - 1], &mut rest[0]);
            let (k, n) = (cur.inputs, cur.outputs);
            for (row, z) in cur
                .out
                .chunks_exact_mut(n)
                .zip(prev.out.chunks_exact(k))
                .take(m)
            {
                row.copy_from_slice(&cur.b);
                axpy_rows::<FMA, _>(row, &cur.w, n, z.iter().copied().enumerate());
                if l < last {
                    sigmoid_in_place(row);
                }
            }
        }

        // Softmax + cross-entropy: loss = ln(sum e^(a - max)) - (a_label - max); the output
        // delta is (softmax - one_hot) / m.
        let mut stats = StepStats {
            images: m,
            ..StepStats::default()
        };
        {
            let out = &mut self.layers[last];
            let n = out.outputs;
            let inv_m = 1.0 / m as f32;
            for ((scores, delta), &img) in out
                .out
                .chunks_exact_mut(n)
                .zip(out.delta.chunks_exact_mut(n))
                .zip(batch)
            {
                let label = usize::from(data.label(img));
                let (best, max) = argmax_max(scores);
                stats.correct += usize::from(best == label);
                let label_score = scores[label] - max;
                let mut sum = 0.0f32;
                for s in scores.iter_mut() {
                    *s = exp_fast(*s - max);
                    sum += *s;
                }
                stats.loss_sum += f64::from(sum.ln() - label_score);
                let inv_sum = 1.0 / sum;
                for (d, s) in delta.iter_mut().zip(scores.iter_mut()) {
                    *s *= inv_sum;
                    *d = *s * inv_m;
                }
                delta[label] -= inv_m;
            }
        }

        // Backward, last layer first.
        for l in (0..=last).rev() {
            let (before, rest) = self.layers.split_at_mut(l);
            let cur = &mut rest[0];
            let n = cur.outputs;
            // The whole buffer, slack included, since axpy_rows reads it as `w`.
            let delta = &cur.delta[..];
            cur.gb.fill(0.0);
            for d in delta[..m * n].chunks_exact(n) {
                for (g, &v) in cur.gb.iter_mut().zip(d) {
                    *g += v;
                }
            }
            if l == 0 {
                // dW[p, :] = sum over rows i with x[i, p] != 0 of x[i, p] delta[i, :]:
                // sort the batch's non-zeros by pixel (counting sort), then one pass per pixel.
                let inputs = cur.inputs;
                self.col_start.fill(0);
                for &img in batch {
                    for &p in data.image(img).0 {
                        self.col_start[p as usize + 1] += 1;
                    }
                }
                for p in 0..inputs {
                    self.col_start[p + 1] += self.col_start[p];
                }
                self.col_fill.copy_from_slice(&self.col_start[..inputs]);
                for (i, &img) in batch.iter().enumerate() {
                    let (pixels, values) = data.image(img);
                    for (&p, &v) in pixels.iter().zip(values) {
                        let at = self.col_fill[p as usize];
                        self.col_row[at] = i as u32;
                        self.col_val[at] = v;
                        self.col_fill[p as usize] = at + 1;
                    }
                }
                for (p, grad) in cur.gw.chunks_exact_mut(n).enumerate() {
                    grad.fill(0.0);
                    let r = self.col_start[p]..self.col_start[p + 1];
                    let rows = self.col_row[r.clone()]
                        .iter()
                        .zip(&self.col_val[r])
                        .map(|(&i, &v)| (i as usize, v));
                    axpy_rows::<FMA, _>(grad, delta, n, rows);
                }
            } else {
                let prev = &mut before[l - 1];
                let k = cur.inputs;
                let z = &prev.out[..m * k];
                // dW[j, :] = sum_i z[i, j] delta[i, :].
                for (j, grad) in cur.gw.chunks_exact_mut(n).enumerate() {
                    grad.fill(0.0);
                    let rows = (0..m).map(|i| (i, z[i * k + j]));
                    axpy_rows::<FMA, _>(grad, delta, n, rows);
                }
                // delta_prev = (delta Wᵀ) ⊙ z (1 - z), the sigmoid's derivative folded in.
                for ((dp, zr), d) in prev
                    .delta
                    .chunks_exact_mut(k)
                    .zip(z.chunks_exact(k))
                    .zip(delta[..m * n].chunks_exact(n))
                {
                    dp.fill(0.0);
                    axpy_rows::<FMA, _>(dp, &cur.wt, k, d.iter().copied().enumerate());
                    for (v, &zv) in dp.iter_mut().zip(zr) {
                        *v *= zv * (1.0 - zv);
                    }
                }
            }
        }
        stats
    }

    /// Applies the gradients with the optimizer, then refreshes the transposed weights.
    fn update(&mut self) {
        self.steps += 1;
        let lr = self.lr;
        // Adam's bias corrections 1 / (1 - beta^t), computed in f64 so they stay exact-ish
        // for large t.
        let t = self.steps as f64;
        let c1 = (1.0 / (1.0 - f64::from(ADAM_BETA1).powf(t))) as f32;
        let c2 = (1.0 / (1.0 - f64::from(ADAM_BETA2).powf(t))) as f32;
        for layer in &mut self.layers {
            let LayerState {
                w,
                b,
                gw,
                gb,
                mw,
                mb,
                vw,
                vb,
                ..
            } = layer;
            match self.optimizer {
                Optimizer::Sgd => {
                    sgd(w, gw, lr);
                    sgd(b, gb, lr);
                }
                Optimizer::Momentum => {
                    momentum(w, gw, mw, lr);
                    momentum(b, gb, mb, lr);
                }
                Optimizer::Adam => {
                    adam(w, gw, mw, vw, lr, c1, c2);
                    adam(b, gb, mb, vb, lr, c1, c2);
                }
            }
        }
        // The input layer's Wᵀ is never read: no delta flows back into the pixels.
        for layer in self.layers.iter_mut().skip(1) {
            transpose(&layer.w, layer.inputs, layer.outputs, &mut layer.wt);
        }
    }
}

fn sgd(w: &mut [f32], g: &[f32], lr: f32) {
    for (w, &g) in w.iter_mut().zip(g) {
        *w -= lr * g;
    }
}

fn momentum(w: &mut [f32], g: &[f32], v: &mut [f32], lr: f32) {
    for ((w, &g), v) in w.iter_mut().zip(g).zip(v) {
        *v = MOMENTUM * *v - lr * g;
        *w += *v;
    }
}

/// Adam as in the paper's Algorithm 1: m and v moving averages, bias-corrected by `c1` and
/// `c2` (1 / (1 - beta^t)), step lr · m̂ / (sqrt(v̂) + epsilon).
fn adam(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], lr: f32, c1: f32, c2: f32) {
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
        *m = ADAM_BETA1 * *m + (1.0 - ADAM_BETA1) * g;
        *v = ADAM_BETA2 * *v + (1.0 - ADAM_BETA2) * g * g;
        *w -= lr * (*m * c1) / ((*v * c2).sqrt() + ADAM_EPSILON);
    }
}

/// `dst` (cols x rows) = `src` (rows x cols) transposed.
fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    for (r, row) in src.chunks_exact(cols).take(rows).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            dst[c * rows + r] = v;
        }
    }
}

/// `a * b + c`, fused (one rounding) when `FMA`.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Floats of slack after every matrix that [`axpy_rows`] reads as `w`: its last column block
/// may run up to 7 columns past a row's end (into the next row, or this slack), and those
/// lanes are computed but never stored.
const PAD: usize = 8;

/// `out[j] += sum over (r, c) in rows of c * w[r * n + j]` for every `j < n = out.len()`;
/// `w` needs [`PAD`] floats of slack after its last row.
///
/// The columns go in blocks of up to 64 (eight AVX registers) that stay in registers while
/// all rows stream past, so each output is loaded and stored once per block, and the eight
/// independent accumulators hide the multiply-add latency. The last block is rounded up to a
/// multiple of 8 rather than finished one column at a time. Each output becomes
/// `out + (its terms summed in rows order)` whatever the blocking, so blocking never changes
/// a result.
#[inline(always)]
fn axpy_rows<const FMA: bool, I>(out: &mut [f32], w: &[f32], n: usize, rows: I)
where
    I: Iterator<Item = (usize, f32)> + Clone,
{
    debug_assert_eq!(out.len(), n);
    let mut j = 0;
    while n - j > 64 {
        axpy_block::<FMA, 64, I>(out, w, n, j, rows.clone());
        j += 64;
    }
    match n - j {
        0 => {}
        1..=8 => axpy_block::<FMA, 8, I>(out, w, n, j, rows),
        9..=16 => axpy_block::<FMA, 16, I>(out, w, n, j, rows),
        17..=24 => axpy_block::<FMA, 24, I>(out, w, n, j, rows),
        25..=32 => axpy_block::<FMA, 32, I>(out, w, n, j, rows),
        33..=40 => axpy_block::<FMA, 40, I>(out, w, n, j, rows),
        41..=48 => axpy_block::<FMA, 48, I>(out, w, n, j, rows),
        49..=56 => axpy_block::<FMA, 56, I>(out, w, n, j, rows),
        _ => axpy_block::<FMA, 64, I>(out, w, n, j, rows),
    }
}

/// Columns `j..j + B` of [`axpy_rows`]; only the first `n - j` of them are real.
#[inline(always)]
fn axpy_block<const FMA: bool, const B: usize, I>(
    out: &mut [f32],
    w: &[f32],
    n: usize,
    j: usize,
    rows: I,
) where
    I: Iterator<Item = (usize, f32)>,
{
    let valid = (n - j).min(B);
    // Accumulate from zero and add to `out` once at the end: loading `out` lane by lane
    // would keep the compiler from holding `acc` in vector registers.
    let mut acc = [0f32; B];
    for (r, c) in rows {
        let wr = &w[r * n + j..][..B];
        for (a, &x) in acc.iter_mut().zip(wr) {
            *a = madd::<FMA>(c, x, *a);
        }
    }
    for (o, &a) in out[j..j + valid].iter_mut().zip(&acc) {
        *o += a;
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

/// The logistic function over a slice, with [`exp_fast`] so that the loop vectorizes.
#[inline(always)]
fn sigmoid_in_place(values: &mut [f32]) {
    for v in values {
        *v = 1.0 / (1.0 + exp_fast(-*v));
    }
}

/// e^x for f32 without a library call, so loops over it vectorize: x = n ln2 + r with
/// |r| <= ln2 / 2, e^r from Cephes' `expf` polynomial (relative error ~1e-7), times 2^n built
/// in the exponent bits. Inputs are clamped to [-87, 88] (results stay normal and finite);
/// NaN stays NaN.
#[inline(always)]
pub fn exp_fast(x: f32) -> f32 {
    // Adding 1.5 * 2^23 rounds to an integer kept in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let n_int = t.to_bits() as i32 - ROUND.to_bits() as i32;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n_int + 127) << 23) as u32)
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
    /// The kernel that ran.
    pub kernel: Kernel,
}

/// Trains a fresh network on `data` as `config` says, measuring `test` after each epoch.
///
/// `on_event` hears of every batch and epoch; returning `ControlFlow::Break` stops the run
/// between batches with [`TrainError::Stopped`].
///
/// # Errors
/// An invalid configuration (see [`TrainConfig::validate`]), labels or images that do not fit
/// the network, a loss that turns NaN or infinite, or a stop requested by `on_event`.
pub fn train(
    data: &Dataset,
    test: Option<&Dataset>,
    config: &TrainConfig,
    mut on_event: impl FnMut(&Event) -> ControlFlow<()>,
) -> Result<Trained, TrainError> {
    config.validate(data.len())?;
    let classes = crate::dataset::NUM_CLASSES;
    let sizes = config.sizes(data.pixels_per_image(), classes);
    let mut rng = SplitMix64::new(config.seed);
    let net = Network::new(glorot_uniform(&sizes, &mut rng))?;
    if let Some(t) = test
        && t.pixels_per_image() != data.pixels_per_image()
    {
        return Err(TrainError::BadImageSize {
            pixels: t.pixels_per_image(),
            inputs: data.pixels_per_image(),
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
    let mut order: Vec<usize> = (0..data.len()).collect();
    let batches = data.len().div_ceil(config.batch_size);
    let mut reports = Vec::with_capacity(config.epochs);
    for epoch in 1..=config.epochs {
        let start = Instant::now();
        rng.shuffle(&mut order);
        let (mut loss_sum, mut correct, mut images) = (0f64, 0usize, 0usize);
        for (b, batch) in order.chunks(config.batch_size).enumerate() {
            let step = (epoch - 1) * batches + b;
            trainer.set_lr(
                config
                    .schedule
                    .rate(config.lr, step, config.epochs * batches),
            );
            let s = trainer.step(&sparse, batch);
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
    fn kernels() -> Vec<Kernel> {
        [Kernel::Portable, Kernel::Avx2Fma]
            .into_iter()
            .filter(|k| k.is_supported())
            .collect()
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
            let (pixels, values) = data.image(img);
            for (&p, &v) in pixels.iter().zip(values) {
                a[p as usize] = f64::from(v);
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
            for (li, layer) in trainer.layers.iter().enumerate() {
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
                for (bias, analytic) in [(false, &layer.gw), (true, &layer.gb)] {
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
    fn fast_exp_is_close_to_std_exp() {
        let mut worst = 0f32;
        let mut x = -80.0f32;
        while x < 80.0 {
            let rel = (exp_fast(x) - x.exp()).abs() / x.exp();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert!(exp_fast(-1000.0) >= 0.0 && exp_fast(1000.0).is_finite());
        assert!(exp_fast(f32::NAN).is_nan());
    }

    #[test]
    fn kernels_agree_to_float_precision() {
        let (net, data) = tiny(&[30, 20, 17, 10], 9, 3);
        let batch: Vec<usize> = (0..data.len()).collect();
        let results: Vec<Network> = kernels()
            .into_iter()
            .map(|kernel| {
                let mut trainer = Trainer::new(&net, Optimizer::Adam, 0.01, batch.len());
                assert!(trainer.set_kernel(kernel));
                for _ in 0..5 {
                    trainer.step(&data, &batch);
                }
                trainer.network().unwrap()
            })
            .collect();
        for other in &results[1..] {
            for (a, b) in results[0].layers().iter().zip(other.layers()) {
                for (x, y) in a.w.iter().zip(&b.w) {
                    assert!((x - y).abs() < 1e-5, "{x} vs {y}");
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
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<usize> = (0..100).collect();
        let mut b = a.clone();
        SplitMix64::new(9).shuffle(&mut a);
        SplitMix64::new(9).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..100).collect::<Vec<_>>());
        a.sort_unstable();
        assert_eq!(a, (0..100).collect::<Vec<_>>());
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
}
