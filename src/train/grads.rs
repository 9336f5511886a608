//! The second phase of a step, split over the weight rows: each task sums its rows'
//! gradients over the batch (the input layer's from the images' non-zero pixels), applies the
//! update, and refreshes its columns of `Wᵀ`.

use super::by_pixel::ByPixel;
use super::optim::{Update, apply};
use super::state::{LayerState, Shared, transpose};
use super::store::{SparseImages, with_values};
use super::team::Team;
use super::tiles::{self, Epilogue, Product, padded};
use crate::kernels::simd::{Kernel, LANES, Simd, Vector};

/// Splits off the first `len` floats of `rest` (or all of it, if shorter: the optimizer
/// states of SGD are empty).
fn take_front<'a>(rest: &mut &'a mut [f32], len: usize) -> &'a mut [f32] {
    let len = len.min(rest.len());
    let (front, back) = std::mem::take(rest).split_at_mut(len);
    *rest = back;
    front
}

/// What every gradient task of a step shares.
#[derive(Clone, Copy)]
pub(super) struct GradJobs<'a> {
    pub(super) kernel: Simd,
    /// Tasks the rows of each layer but the input layer are split into.
    pub(super) tasks: usize,
    pub(super) batch: &'a [f32],
    pub(super) m: usize,
    /// The step's images, for the input layer's gradient.
    pub(super) data: &'a SparseImages,
    pub(super) images: &'a [usize],
    /// Bounds of each task's pixels (input layer weight rows), and where they fall in each
    /// row's image (see [`Trainer`](super::Trainer)'s `cuts`).
    pub(super) split: &'a [usize],
    pub(super) cuts: &'a [usize],
    /// The step's entries by pixel, if the input layer noted them; else each image's delta
    /// is added to its pixels' rows in place.
    pub(super) by_pixel: Option<&'a ByPixel>,
    pub(super) update: Option<Update>,
}

impl<'a> GradJobs<'a> {
    /// Runs the phase over `layers`: on `team` when there is one, else on this thread.
    pub(super) fn run(self, layers: &'a mut [LayerState], team: Option<&Team>) {
        match team {
            Some(team) => {
                let mut list = Vec::with_capacity(layers.len() * self.split.len());
                self.each(layers, |job| list.push(job));
                team.run(list, grad_task);
            }
            None => self.each(layers, grad_task),
        }
    }

    /// Hands to `each` one job per run of weight rows: the input layer's runs of pixels (split
    /// by [`SparseImages::split_pixels`], a whole number of them per task), the other layers'
    /// rows evenly, one run per task; task q's at positions q mod tasks (see [`Team::run`]),
    /// then one job per layer for its bias.
    fn each(self, layers: &'a mut [LayerState], mut each: impl FnMut(GradJob<'a>)) {
        let pixel_parts = self.split.len() - 1;
        assert!(pixel_parts.is_multiple_of(self.tasks));
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
            let parts = if l == 0 { pixel_parts } else { self.tasks };
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
        by_pixel,
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
    // dW[p, :] = sum over rows i with x[i, p] != 0 of x[i, p] delta[i, :].
    let end = first + n;
    if let Some(table) = by_pixel {
        assert!(split[part] == first && split[part + 1] == end);
        // Half the deltas were computed by the other core: ask for them all at once.
        tiles::prefetch_floats(delta, m * stride);
        // SAFETY: the table notes batch rows below m, whose deltas lie within the m rows
        // asserted above; `g` holds the rows first..end; the kernel is this task's.
        unsafe {
            tiles::sum_rows::<W, V>(
                table,
                first..end,
                delta,
                stride,
                vectors,
                g.as_mut_ptr(),
                stride,
            )
        };
        if let Some(u) = update {
            apply(u, w, g, mom, vel);
        }
        return;
    }
    // Without the table (batches too big to keep one), each image adds its delta row (held in
    // registers) to the rows of its pixels in this job's range, so every row sums its terms
    // in batch order, whatever the split: the same sums as the table's.
    g.fill(0.0);
    let bounds = split.len();
    assert!(split[part] == first && split[part + 1] == end && cuts.len() >= m * bounds);
    // Half the deltas were computed by the other core: ask for them a few images ahead.
    const DELTAS_AHEAD: usize = 2;
    for i in 0..DELTAS_AHEAD.min(m) {
        tiles::prefetch_floats(delta.wrapping_add(i * stride), stride);
    }
    for ((i, &img), cut) in images.iter().enumerate().zip(cuts.chunks_exact(bounds)) {
        if i + DELTAS_AHEAD < m {
            tiles::prefetch_floats(delta.wrapping_add((i + DELTAS_AHEAD) * stride), stride);
        }
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
