//! The pass itself: [`Packed::forward`] splits a batch across the rayon pool, and each
//! thread takes its images through the network a block at a time, layer by layer, with
//! scratch buffers of its own; then softmax, a vector at a time.

use std::cell::RefCell;

use super::dense::{WIDE_GROUP, dense};
use super::packed::{Act, Aligned, Packed};
use super::simd::{Kernel, Vector};
use super::sparse::{Divided, MASK_BITS, Scaled, Values, pixel_masks, sparse, value_masks};
use crate::layer::OutputLayer;
use crate::normalize::NormMode;

/// Fewest images worth handing to another thread (below it, scheduling costs more than it saves).
const MIN_ROWS_PER_THREAD: usize = 16;
/// Images taken layer by layer together in one thread (a multiple of `WIDE_GROUP`).
const BLOCK: usize = 16;
/// Most images in one task: large batches are cut finer so that a thread slowed by other
/// work on the machine does not hold up the whole batch (rayon steals the rest).
const MAX_ROWS_PER_TASK: usize = 256;

/// Where a batch's input rows come from.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    /// Already normalized f32 rows.
    Values(&'a [f32]),
    /// Raw pixels, normalized per image inside the kernel (no batch-sized f32 copy).
    Pixels(&'a [u8], NormMode),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Values(v) => v.len(),
            Input::Pixels(p, _) => p.len(),
        }
    }
}

impl Packed {
    /// Runs every image of `input` through the network, writing `outputs()` values per image
    /// into `out`, splitting the images across the current rayon pool.
    pub fn forward(&self, input: Input<'_>, output: OutputLayer, out: &mut [f32]) {
        let (n_in, n_out) = (self.inputs(), self.outputs());
        let rows = input.len() / n_in;
        assert!(input.len() == rows * n_in && out.len() == rows * n_out);
        let threads = rayon::current_num_threads().max(1);
        let per_task = rows
            .div_ceil(threads)
            .clamp(MIN_ROWS_PER_THREAD, MAX_ROWS_PER_TASK);
        self.forward_split(input, output, out, per_task);
    }

    /// [`Packed::forward`] on the calling thread alone: for a caller that already shares its
    /// work between threads, where splitting it again only adds meetings.
    pub fn forward_here(&self, input: Input<'_>, output: OutputLayer, out: &mut [f32]) {
        let (n_in, n_out) = (self.inputs(), self.outputs());
        let rows = input.len() / n_in;
        assert!(input.len() == rows * n_in && out.len() == rows * n_out);
        self.forward_rows(input, output, out);
    }

    /// Halves the images (at a multiple of `WIDE_GROUP` near the middle of the tasks) and runs
    /// the halves with `rayon::join` until a part is at most `per_task` images. Equal parts
    /// (what `par_chunks_mut` made) gave batch 100 on two threads 50 + 50 images, each with a
    /// 2-image tail block that the kernels take one image at a time, latency-bound; 48 + 52
    /// leaves whole groups.
    fn forward_split(
        &self,
        input: Input<'_>,
        output: OutputLayer,
        out: &mut [f32],
        per_task: usize,
    ) {
        let (n_in, n_out) = (self.inputs(), self.outputs());
        let rows = out.len() / n_out;
        if rows <= per_task {
            self.forward_rows(input, output, out);
            return;
        }
        let tasks = rows.div_ceil(per_task);
        let half = rows * (tasks / 2) / tasks;
        let mid = ((half + WIDE_GROUP / 2) / WIDE_GROUP * WIDE_GROUP).clamp(1, rows - 1);
        let (out_a, out_b) = out.split_at_mut(mid * n_out);
        let (in_a, in_b) = match input {
            Input::Values(v) => {
                let (a, b) = v.split_at(mid * n_in);
                (Input::Values(a), Input::Values(b))
            }
            Input::Pixels(p, m) => {
                let (a, b) = p.split_at(mid * n_in);
                (Input::Pixels(a, m), Input::Pixels(b, m))
            }
        };
        rayon::join(
            || self.forward_split(in_a, output, out_a, per_task),
            || self.forward_split(in_b, output, out_b, per_task),
        );
    }

    /// One thread's share, with that thread's scratch buffers (kept between calls: at small
    /// batches, allocating and zeroing them cost as much as the arithmetic).
    fn forward_rows(&self, input: Input<'_>, output: OutputLayer, out: &mut [f32]) {
        thread_local! {
            static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
        }
        SCRATCH.with_borrow_mut(|scratch| {
            scratch.fit(self);
            self.simd.run(Rows {
                net: self,
                input,
                output,
                out,
                scratch,
            });
        });
    }
}

/// One thread's share of a pass, as a [`Kernel`]: [`rows`] with the path's widest vector.
struct Rows<'a, 'i> {
    net: &'a Packed,
    input: Input<'i>,
    output: OutputLayer,
    out: &'a mut [f32],
    scratch: &'a mut Scratch,
}

impl Kernel for Rows<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn run<W: Vector, V: Vector>(self) {
        rows::<W>(self.net, self.input, self.output, self.out, self.scratch);
    }
}

/// Per-thread buffers, reused for every image.
struct Scratch {
    /// One bit per input, set where the input is not zero: `inputs.div_ceil(MASK_BITS)` words
    /// per image of the block.
    masks: Vec<u64>,
    /// Normalized pixel values, shared by a block whose images have the same divisor (always
    /// so in the modes that scale by a constant).
    table: Table,
    /// A block of `BLOCK` dense normalized images, for the modes that do not keep zeros.
    x: Vec<f32>,
    /// Each layer's outputs for a block of `BLOCK` images, `stride` floats per image.
    acts: Vec<Aligned>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            masks: Vec::new(),
            table: Table {
                values: [0.0; 256],
                divisor: f32::NAN,
            },
            x: Vec::new(),
            acts: Vec::new(),
        }
    }
}

impl Scratch {
    /// Sizes the buffers for `net` (a no-op once they fit).
    fn fit(&mut self, net: &Packed) {
        let inputs = net.inputs();
        self.masks.resize(BLOCK * inputs.div_ceil(MASK_BITS), 0);
        self.x.resize(BLOCK * inputs, 0.0);
        self.acts.resize(net.layers.len(), Aligned::default());
        for (a, l) in self.acts.iter_mut().zip(&net.layers) {
            a.fit(BLOCK * l.stride);
        }
    }
}

/// `values[p]` = pixel value `p` divided by `divisor`, as [`NormMode::apply`] does.
struct Table {
    values: [f32; 256],
    /// NaN before the first build.
    divisor: f32,
}

impl Table {
    /// The values for `divisor`, rebuilt only when it changed.
    #[inline(always)]
    fn get(&mut self, divisor: f32) -> &[f32; 256] {
        if self.divisor.to_bits() != divisor.to_bits() {
            for (p, t) in self.values.iter_mut().enumerate() {
                *t = f32::from(p as u8) / divisor;
            }
            self.divisor = divisor;
        }
        &self.values
    }
}

#[inline(always)]
fn rows<V: Vector>(
    net: &Packed,
    input: Input<'_>,
    output: OutputLayer,
    out: &mut [f32],
    s: &mut Scratch,
) {
    let (n_in, n_out) = (net.inputs(), net.outputs());
    let last = net.layers.len() - 1;
    let act = |l: usize| if l == last { Act::None } else { Act::Sigmoid };
    let first = &net.layers[0];
    let dense_first = match input {
        Input::Pixels(_, mode) => !mode.keeps_zeros(),
        Input::Values(_) => false,
    };
    // Layer by layer over a block of images, so that each layer's weights are reused from
    // L1 across the block instead of being evicted by the next layer's after every image.
    for (block, out_block) in out.chunks_mut(BLOCK * n_out).enumerate() {
        let count = out_block.len() / n_out;
        let rows = block * BLOCK * n_in..(block * BLOCK + count) * n_in;
        // The next block's inputs, to be asked for while this block's first layer runs.
        let next = rows.end..(rows.end + BLOCK * n_in);
        if dense_first {
            if let Input::Pixels(p, mode) = input {
                for (src, dst) in p[rows].chunks_exact(n_in).zip(s.x.chunks_exact_mut(n_in)) {
                    mode.apply(src, dst);
                }
            }
            dense::<V>(first, &s.x, n_in, count, act(0), &mut s.acts[0]);
        } else {
            let words = n_in.div_ceil(MASK_BITS);
            let masks = &mut s.masks[..count * words];
            let dst = &mut s.acts[0];
            match input {
                Input::Values(v) => {
                    let x = &v[rows];
                    for (row, m) in x.chunks_exact(n_in).zip(masks.chunks_exact_mut(words)) {
                        value_masks(row, m);
                    }
                    let next = v.get(next.start..next.end.min(v.len()));
                    let src = Values {
                        x,
                        n_in,
                        next: next.unwrap_or_default(),
                    };
                    sparse::<V, _>(first, masks, &src, count, act(0), dst);
                }
                Input::Pixels(p, mode) => {
                    let next = p.get(next.start..next.end.min(p.len())).unwrap_or_default();
                    let pixels = &p[rows];
                    let mut divisors = [1.0; BLOCK];
                    for ((row, m), d) in pixels
                        .chunks_exact(n_in)
                        .zip(masks.chunks_exact_mut(words))
                        .zip(&mut divisors)
                    {
                        pixel_masks::<V>(row, m);
                        // `keeps_zeros` modes always have a divisor.
                        *d = mode.divisor(row).unwrap_or(1.0);
                    }
                    let divisors = &divisors[..count];
                    if divisors
                        .iter()
                        .all(|d| d.to_bits() == divisors[0].to_bits())
                    {
                        let src = Scaled {
                            pixels,
                            next,
                            n_in,
                            table: s.table.get(divisors[0]),
                        };
                        sparse::<V, _>(first, masks, &src, count, act(0), dst);
                    } else {
                        let src = Divided {
                            pixels,
                            next,
                            n_in,
                            divisors,
                        };
                        sparse::<V, _>(first, masks, &src, count, act(0), dst);
                    }
                }
            }
        }
        for (l, layer) in net.layers.iter().enumerate().skip(1) {
            let (done, rest) = s.acts.split_at_mut(l);
            let prev_stride = net.layers[l - 1].stride;
            dense::<V>(
                layer,
                &done[l - 1],
                prev_stride,
                count,
                act(l),
                &mut rest[0],
            );
        }
        let stride = net.layers[last].stride;
        for (j, dst) in out_block.chunks_exact_mut(n_out).enumerate() {
            let result = &mut s.acts[last][j * stride..(j + 1) * stride];
            if output == OutputLayer::Softmax {
                softmax_row::<V>(result, n_out);
            }
            dst.copy_from_slice(&result[..n_out]);
        }
    }
}

/// Softmax of `row[..n]` in place, `row` being whole vectors (the rest is left zero): the
/// maximum, the exponentials, their sum and the scaling a vector at a time. Done with
/// scalar maximum and sum, softmax took a tenth of an eval pass, mostly in the two chains
/// of dependent `maxss` and `addss`.
#[inline(always)]
fn softmax_row<V: Vector>(row: &mut [f32], n: usize) {
    let vectors = row.len() / V::LANES;
    assert!(vectors * V::LANES == row.len() && n <= row.len());
    let valid = |i: usize| n.saturating_sub(i * V::LANES).min(V::LANES);
    let mut max = V::splat(f32::NEG_INFINITY);
    for i in 0..vectors {
        let v = V::load(&row[i * V::LANES..]).keep_first(valid(i), f32::NEG_INFINITY);
        max = max.max(v);
    }
    let max = V::splat(max.reduce_max());
    let mut sum = V::splat(0.0);
    for i in 0..vectors {
        let o = &mut row[i * V::LANES..];
        let e = V::load(o).sub(max).exp().keep_first(valid(i), 0.0);
        sum = sum.add(e);
        e.store(o);
    }
    let inv = V::splat(1.0 / sum.reduce_add());
    for i in 0..vectors {
        let o = &mut row[i * V::LANES..];
        V::load(o).mul(inv).store(o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Path;
    use crate::kernels::simd::{LANES, math};
    use crate::layer::{Layer, forward_reference};
    use ndarray::{Array1, Array2};

    fn random_network(sizes: &[usize], seed: u64) -> Vec<Layer> {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        sizes
            .windows(2)
            .map(|w| Layer {
                w: Array2::from_shape_fn((w[0], w[1]), |_| next() * 0.3),
                b: Array1::from_shape_fn(w[1], |_| next() * 0.1),
            })
            .collect()
    }

    fn sparse_inputs(rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| {
                let h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
                if h < 60 { h as f32 / 64.0 } else { 0.0 }
            })
            .collect()
    }

    /// The paths this CPU runs (always the portable one), naming the others on stderr so
    /// that a path left untested shows in the test output.
    fn supported_paths() -> Vec<Path> {
        let (yes, no): (Vec<Path>, Vec<Path>) = Path::ALL.into_iter().partition(|p| p.supported());
        for p in no {
            eprintln!("this CPU lacks the {} path: not tested here", p.name());
        }
        assert!(yes.contains(&Path::Portable));
        yes
    }

    fn check(sizes: &[usize], rows: usize, path: Path) {
        let net = random_network(sizes, 42 + sizes.len() as u64);
        let x = sparse_inputs(rows, sizes[0]);
        let xa = Array2::from_shape_vec((rows, sizes[0]), x.clone()).unwrap();
        let packed = Packed::new(&net, path);
        assert_eq!(packed.path(), path);
        for output in [OutputLayer::Softmax, OutputLayer::Identity] {
            let want = forward_reference(&net, xa.view(), output);
            let mut got = vec![0.0; rows * sizes[sizes.len() - 1]];
            packed.forward(Input::Values(&x), output, &mut got);
            for (g, w) in got.iter().zip(want.iter()) {
                assert!(
                    (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                    "{g} vs {w} ({path:?})"
                );
            }
        }
    }

    #[test]
    fn portable_path_matches_the_reference_for_odd_shapes() {
        for sizes in [&[20, 3][..], &[33, 50, 100, 10], &[9, 70, 17, 1, 5]] {
            check(sizes, 37, Path::Portable);
        }
    }

    #[test]
    fn every_supported_path_matches_the_reference_for_odd_shapes() {
        // Widths around the 8- and 16-lane vectors: 1, 3, 5, 17, 33 and 70 leave a partial
        // last vector; 16 and 48 fill whole zmm but not whole ymm tiles.
        let shapes = [
            &[20, 3][..],
            &[784, 50, 100, 10],
            &[9, 70, 17, 1, 5],
            &[130, 16, 48, 33],
        ];
        for path in supported_paths() {
            for sizes in shapes {
                for rows in [1, 5, 101] {
                    check(sizes, rows, path);
                }
            }
        }
    }

    /// [`softmax_row`] with the path's widest vector.
    struct SoftmaxRow<'a>(&'a mut [f32], usize);

    impl Kernel for SoftmaxRow<'_> {
        type Output = ();

        #[inline(always)]
        fn run<W: Vector, V: Vector>(self) {
            softmax_row::<W>(self.0, self.1);
        }
    }

    #[test]
    fn vector_softmax_matches_the_scalar_one_and_ignores_the_padding() {
        for path in supported_paths() {
            let lanes = path.lanes();
            for n in [1usize, 3, 7, 8, 9, 10, 16, 17, 33] {
                for scale in [1.0f32, 300.0] {
                    let len = n.div_ceil(lanes) * lanes;
                    // Junk in the padding that would win the maximum if it were counted.
                    let mut row: Vec<f32> = (0..len)
                        .map(|i| {
                            if i < n {
                                (i as f32 * 0.37).sin() * scale
                            } else {
                                1e4
                            }
                        })
                        .collect();
                    let mut want = row[..n].to_vec();
                    math::softmax::<false>(&mut want);
                    let simd = path
                        .simd()
                        .expect("`supported_paths` lists only paths this CPU runs");
                    simd.run(SoftmaxRow(&mut row, n));
                    for (g, w) in row.iter().zip(&want) {
                        assert!((g - w).abs() <= 1e-6, "{path:?} n {n}: {g} vs {w}");
                    }
                    assert!(row[n..].iter().all(|&v| v == 0.0), "{path:?} n {n}");
                }
            }
        }
    }

    #[test]
    fn splitting_across_threads_changes_no_output() {
        let net = random_network(&[784, 50, 100, 10], 5);
        let pixels: Vec<u8> = (0..784 * 1000)
            .map(|i| {
                let h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
                if h < 50 { (h * 5) as u8 } else { 0 }
            })
            .collect();
        let run = |packed: &Packed, threads: usize, rows: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut out = vec![0.0; rows * 10];
            let input = Input::Pixels(&pixels[..rows * 784], NormMode::Div255);
            pool.install(|| packed.forward(input, OutputLayer::Softmax, &mut out));
            out
        };
        for path in supported_paths() {
            let packed = Packed::new(&net, path);
            // 100 on 2 threads: uneven halves; 1000 on 3: several levels of halving.
            for (threads, rows) in [(2, 100), (3, 37), (3, 1000), (4, 1000)] {
                let want = run(&packed, 1, rows);
                assert_eq!(
                    run(&packed, threads, rows),
                    want,
                    "{path:?} {threads} {rows}"
                );
            }
        }
    }

    #[test]
    fn the_detected_path_is_supported_and_names_round_trip() {
        assert!(Path::detect().supported());
        assert!(Path::current().supported());
        for p in Path::ALL {
            assert_eq!(Path::from_name(p.name()), Some(p));
            assert_eq!(p.lanes() % LANES, 0);
        }
        assert_eq!(Path::from_name("avx1024"), None);
    }

    #[test]
    fn pixel_input_matches_the_reference_in_every_mode() {
        // 130 inputs: two whole mask words and a partial third; 37 images: two whole blocks
        // and a tail that is not a whole group; image 3 is all zero.
        let (n_in, rows) = (130, 37);
        let net = random_network(&[n_in, 20, 10], 11);
        let mut pixels: Vec<u8> = (0..n_in * rows)
            .map(|i| {
                let h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
                if h < 70 { (h * 3 + 1) as u8 } else { 0 }
            })
            .collect();
        pixels[3 * n_in..4 * n_in].fill(0);
        for mode in NormMode::PER_IMAGE {
            let mut x = vec![0.0; pixels.len()];
            mode.apply_batch(&pixels, n_in, &mut x);
            let xa = Array2::from_shape_vec((rows, n_in), x).unwrap();
            let want = forward_reference(&net, xa.view(), OutputLayer::Softmax);
            for path in supported_paths() {
                let packed = Packed::new(&net, path);
                let mut got = vec![0.0; rows * 10];
                let input = Input::Pixels(&pixels, mode);
                packed.forward(input, OutputLayer::Softmax, &mut got);
                for (g, w) in got.chunks(10).zip(want.rows()) {
                    let w = w.to_vec();
                    for (a, b) in g.iter().zip(&w) {
                        assert!((a - b).abs() <= 1e-5, "{mode} {path:?}: {a} vs {b}");
                    }
                    let argmax = |v: &[f32]| {
                        (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
                    };
                    assert_eq!(argmax(g), argmax(&w), "{mode} {path:?}");
                }
            }
        }
    }

    #[test]
    fn pixel_input_equals_normalized_values_input() {
        let net = random_network(&[16, 12, 10], 7);
        let pixels: Vec<u8> = (0..16 * 40).map(|i| ((i * 53) % 256) as u8).collect();
        for path in supported_paths() {
            let packed = Packed::new(&net, path);
            for mode in NormMode::PER_IMAGE {
                let mut x = vec![0.0; pixels.len()];
                mode.apply_batch(&pixels, 16, &mut x);
                let (mut a, mut b) = (vec![0.0; 400], vec![0.0; 400]);
                packed.forward(Input::Values(&x), OutputLayer::Softmax, &mut a);
                let input = Input::Pixels(&pixels, mode);
                packed.forward(input, OutputLayer::Softmax, &mut b);
                if mode.keeps_zeros() {
                    assert_eq!(a, b, "{mode} {path:?}");
                } else {
                    // Z-score pixels go through the dense first layer, values through the
                    // sparse one, which sums in another order (two sets of accumulators).
                    for (x, y) in a.iter().zip(&b) {
                        assert!((x - y).abs() <= 1e-6, "{mode} {path:?}: {x} vs {y}");
                    }
                }
            }
        }
    }
}
