//! The first phase of a step, split over the batch rows: each task takes its images through
//! every layer (the input layer over their non-zero pixels), computes softmax, loss and the
//! output delta, and carries the deltas back through the layers. On several threads the
//! input layer goes first, in a phase of its own split over runs of pixels instead
//! ([`InputJobs`](super::input::InputJobs)).

use super::by_pixel::Notes;
use super::input::input_sums;
use super::state::{LayerState, Shared};
use super::store::SparseImages;
use super::team::Team;
use super::tiles::{Epilogue, Product, Skip};
use crate::kernels::simd::{Kernel, LANES, Simd, Vector};

/// What every row task of a step shares.
#[derive(Clone, Copy)]
pub(super) struct RowJobs<'a> {
    pub(super) kernel: Simd,
    pub(super) layers: &'a [LayerState],
    pub(super) data: &'a SparseImages,
    pub(super) images: &'a [usize],
    pub(super) max_batch: usize,
    pub(super) stats_at: usize,
    pub(super) batch: Shared<'a>,
    /// The input layer's pixel split, and where to write each row's cuts of it (see
    /// [`Trainer`](super::Trainer)'s `cuts`).
    pub(super) split: &'a [usize],
    pub(super) cuts: Shared<'a, usize>,
    /// Where the input layer notes each entry for the gradient, if anywhere.
    pub(super) notes: Option<Notes<'a>>,
    /// Whether the row tasks compute the input layer (false: the input phase,
    /// [`InputJobs`](super::input::InputJobs), did).
    pub(super) input_layer: bool,
}

impl<'a> RowJobs<'a> {
    /// Runs the phase as `tasks` jobs: on `team` when there is one and more than one job,
    /// else on this thread.
    pub(super) fn run(self, tasks: usize, team: Option<&Team>) {
        match team {
            Some(team) if tasks > 1 => {
                let mut list = Vec::with_capacity(tasks);
                self.each(tasks, |job| list.push(job));
                team.run(list, rows_task);
            }
            _ => self.each(tasks, rows_task),
        }
    }

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
        notes,
        input_layer,
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
    if input_layer {
        // Input layer: b plus each non-zero pixel's row of W times the pixel, summed in pixel
        // order, then the sigmoid. The batch goes through one run of pixels (`split`) at a time,
        // each image's sums carried over in its row of `z` from one run to the next: that run's
        // rows of W stay near the core, and the images' sums, independent chains, overlap.
        let first = &layers[0];
        let inputs = first.inputs;
        // Notes of one task only: two would note the same pixels at once.
        assert!(notes.is_none() || n == m);
        if let Some(notes) = notes {
            // SAFETY: this is the only task noting (asserted above).
            unsafe { notes.clear(0..inputs) };
        }
        assert!(first.w.len() >= inputs * first.stride && first.b.len() >= first.stride);
        let z = rows_of(0, false);
        let bounds = split.len();
        // SAFETY: this task's rows of the cuts, which no other task touches (as in `rows_of`).
        let cuts = unsafe { cuts.slice(r0 * bounds, n * bounds) };
        // Finding where the runs cut each image reads it all, so the runs after find it in
        // cache.
        for (k, (cut, &img)) in cuts.chunks_exact_mut(bounds).zip(images).enumerate() {
            data.prefetch_ahead(images, k);
            cut_pixels(data.image(img).pixels(), split, cut);
        }
        let runs = bounds - 1;
        for run in 0..runs {
            let rows = z
                .chunks_exact_mut(first.stride)
                .zip(cuts.chunks_exact(bounds))
                .zip(images);
            for (k, ((out, cut), &img)) in rows.enumerate() {
                let image = data.image(img).part(cut[run]..cut[run + 1]);
                // The first run starts from b, the others from the sums so far.
                let init = if run == 0 {
                    first.b.as_ptr()
                } else {
                    out.as_ptr()
                };
                let sigmoid = last > 0 && run + 1 == runs;
                // SAFETY: the pixels are below `inputs` (`run` checked the images' size);
                // `init` is b or `out` itself; this is the step's only task noting entries
                // (the input layer runs here on one thread only), each pixel once per row.
                unsafe {
                    match notes {
                        Some(notes) => input_sums::<W, V>(
                            first,
                            image,
                            init,
                            sigmoid,
                            out,
                            &mut notes.row(r0 + k),
                        ),
                        None => input_sums::<W, V>(first, image, init, sigmoid, out, &mut Skip),
                    }
                }
            }
        }
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

/// `cut[q]` = how many of `pixels` lie below `split[q]`: where each task's part of an image
/// starts (the pixels increase). The outer bounds are not counted. Counting, branch-free
/// and vectorized, beats a binary search, whose ~8 unpredictable branches per bound cost
/// 15% of a gradient task when the tasks searched for themselves.
#[inline(always)]
pub(super) fn cut_pixels(pixels: &[u16], split: &[usize], cut: &mut [usize]) {
    let last = split.len() - 1;
    for (c, &bound) in cut[1..last].iter_mut().zip(&split[1..last]) {
        // Inner bounds lie below the pixel count, which fits 16 bits (MAX_PIXELS).
        let bound = u16::try_from(bound).unwrap_or(u16::MAX);
        *c = pixels.iter().map(|&p| usize::from(p < bound)).sum();
    }
    cut[0] = 0;
    cut[last] = pixels.len();
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
