//! A network being trained ([`Trainer`]): every buffer a step needs, allocated once, and the
//! step itself, two phases of tasks run on the trainer's team of threads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ndarray::{Array1, Array2};

use super::by_pixel::ByPixel;
use super::config::Optimizer;
use super::grads::GradJobs;
use super::input::InputJobs;
use super::optim::Update;
use super::rows::RowJobs;
use super::state::{LayerState, Shared, transpose};
use super::store::SparseImages;
use super::team::Team;
use super::tiles::{Buf, padded};
use crate::kernels::Path;
use crate::kernels::simd::Simd;
use crate::layer::Layer;
use crate::network::{Network, WeightsFault};

/// Fewest runs the input layer's weight rows are cut into (a whole number per task): the
/// forward pass takes a batch's images through one run at a time and the gradient jobs are
/// one run each, so that the rows being read or written (half of `W1`, 88 KB) stay near the
/// core rather than all of `W1`, and the images' chains of multiply-adds, independent of
/// one another, overlap. Every sum still runs in the same order (a chain continues from
/// where the last run left it), so the weights are the same bit for bit. More runs than
/// that cost more in handing rows on than they save in cache (see benches/README.md).
const MIN_PIXEL_PARTS: usize = 2;

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
    /// The input layer's weight rows (pixels) in runs of about as many non-zero inputs each,
    /// at least [`MIN_PIXEL_PARTS`], a whole number per task: the gradient jobs, and the
    /// order in which the forward pass sweeps each batch.
    pixel_split: Vec<usize>,
    /// For each batch row, where each bound of `pixel_split` falls in its image's list of
    /// non-zero pixels (`pixel_split.len()` positions per row): found by the row tasks, which
    /// have the image at hand, for the gradient tasks, which then read only their own part.
    cuts: Vec<usize>,
    /// The threads besides the caller's that run a step's tasks (none with one thread).
    team: Option<Team>,
    /// How the input layer's tasks hand each batch row on (see [`InputJobs`]).
    handoff: Handoff,
    /// The step's entries by pixel, for the input layer's gradient (None when too big for
    /// the batch size: the gradient then adds each image in place).
    by_pixel: Option<ByPixel>,
}

/// Per batch row, how many runs of pixels the input layer has been through, and whether a
/// task gave up: what [`InputJobs`] waits on.
#[derive(Debug, Default)]
struct Handoff {
    rows: Vec<AtomicUsize>,
    abandoned: AtomicBool,
}

impl Clone for Handoff {
    /// A fresh one as long (it holds nothing between steps).
    fn clone(&self) -> Self {
        Self {
            rows: (0..self.rows.len()).map(|_| AtomicUsize::new(0)).collect(),
            abandoned: AtomicBool::new(false),
        }
    }
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
            handoff: Handoff {
                rows: (0..max_batch).map(|_| AtomicUsize::new(0)).collect(),
                abandoned: AtomicBool::new(false),
            },
            by_pixel: ByPixel::new(inputs, max_batch),
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
        let parts = threads * MIN_PIXEL_PARTS.div_ceil(threads);
        self.pixel_split = vec![0; parts + 1];
        self.cuts = vec![0; self.max_batch * (parts + 1)];
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
    /// have the network's input size, or a label is not below its outputs (see [`train`](super::train),
    /// which checks all of these).
    pub fn step(&mut self, data: &SparseImages, batch: &[usize]) -> StepStats {
        self.steps += 1;
        let update = Update::new(self.optimizer, self.lr, self.steps);
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
        let team = self.team.as_ref().filter(|_| self.threads > 1);
        // The input layer notes its entries by pixel in its own phase on several threads; on
        // one, in the only row task.
        let notes_in_rows = team.is_none() && row_tasks == 1;
        let noted = team.is_some() || notes_in_rows;
        if let Some(team) = team {
            for row in &self.handoff.rows[..m] {
                row.store(0, Ordering::Relaxed);
            }
            InputJobs {
                kernel,
                layers: &self.layers,
                data,
                images: batch,
                batch: Shared::new(&mut self.batch),
                split: &self.pixel_split,
                cuts: Shared::new(&mut self.cuts),
                notes: self.by_pixel.as_mut().map(ByPixel::notes),
                progress: &self.handoff.rows,
                abandoned: &self.handoff.abandoned,
            }
            .run(team);
        }
        {
            let jobs = RowJobs {
                input_layer: team.is_none(),
                kernel,
                layers: &self.layers,
                data,
                images: batch,
                max_batch: self.max_batch,
                stats_at: self.stats_at,
                batch: Shared::new(&mut self.batch),
                split: &self.pixel_split,
                cuts: Shared::new(&mut self.cuts),
                notes: self
                    .by_pixel
                    .as_mut()
                    .filter(|_| notes_in_rows)
                    .map(ByPixel::notes),
            };
            jobs.run(row_tasks, self.team.as_ref());
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
            tasks: self.threads,
            batch: &self.batch,
            m,
            data,
            images: batch,
            split: &self.pixel_split,
            cuts: &self.cuts,
            by_pixel: self.by_pixel.as_ref().filter(|_| noted),
            update,
        };
        jobs.run(&mut self.layers, self.team.as_ref());
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormMode;
    use crate::rng::SplitMix64;
    use crate::train::fixtures::varied_images;
    use crate::train::init::glorot_uniform;

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
    fn summing_entries_by_pixel_matches_adding_each_image_in_place_bit_for_bit() {
        // 150 hidden units: more columns than one block of registers, so the gather notes
        // with its first block only and the sums run block by block.
        for sizes in [[30, 20, 17, 10], [30, 150, 17, 10]] {
            let (net, data) = tiny(&sizes, 13, 11);
            let all: Vec<usize> = (0..data.len()).collect();
            for kernel in kernels() {
                for threads in [1, 2, 3] {
                    let run = |by_pixel: bool| {
                        let mut trainer = Trainer::new(&net, Optimizer::Momentum, 0.05, all.len());
                        assert!(trainer.set_kernel(kernel));
                        trainer.set_threads(threads);
                        if !by_pixel {
                            trainer.by_pixel = None;
                        }
                        trainer.forward_backward(&data, &all);
                        // Bits, so that even the signs of zeros must agree.
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        let gradients: Vec<_> = trainer
                            .gradients()
                            .iter()
                            .map(|(w, b)| (bits(w), bits(b)))
                            .collect();
                        for _ in 0..3 {
                            trainer.step(&data, &all);
                            trainer.step(&data, &all[4..]);
                        }
                        let weights: Vec<_> = trainer
                            .network()
                            .unwrap()
                            .layers()
                            .iter()
                            .map(|l| {
                                (
                                    bits(&l.w.iter().copied().collect::<Vec<_>>()),
                                    bits(&l.b.to_vec()),
                                )
                            })
                            .collect();
                        (gradients, weights)
                    };
                    let (table, in_place) = (run(true), run(false));
                    assert_eq!(table, in_place, "{sizes:?} {kernel:?} {threads} threads");
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
    fn steps_on_pixel_bytes_match_steps_on_their_floats_bit_for_bit() {
        let data = varied_images(4, 5, 12, 4);
        let inputs = data.pixels_per_image();
        let mut rng = SplitMix64::new(8);
        let net = Network::new(glorot_uniform(&[inputs, 9, 17, 10], &mut rng)).unwrap();
        let all: Vec<usize> = (0..data.len()).collect();
        for norm in [NormMode::Div255, NormMode::L2, NormMode::Raw] {
            let bytes = SparseImages::new(&data, norm);
            assert!(bytes.holds_bytes());
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
}
