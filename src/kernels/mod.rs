//! The fast forward pass: weights packed once into 8-float-aligned rows, one fused sweep per
//! layer (product + bias + activation, no temporaries), zero input pixels skipped in the
//! first layer, images split across threads, and AVX2+FMA code chosen at run time.
//!
//! The same generic body ([`image`]) is compiled twice: inside a `#[target_feature(enable =
//! "avx2,fma")]` function, where LLVM turns its 8-lane loops into ymm FMAs, and as a plain
//! function for every other CPU. Nothing depends on `-C target-cpu`.

mod math;
pub(crate) mod vector;

use vector::{Portable, Vector};

use rayon::prelude::*;

use crate::network::{Layer, OutputLayer};
use crate::normalize::NormMode;

/// Floats per SIMD vector (one AVX register); rows are padded to a multiple of it.
pub(crate) const LANES: usize = 8;
/// Most vectors kept as accumulators at once; 8 of AVX2's 16 ymm registers.
const MAX_TILE: usize = 8;
/// Inputs grouped into chunks of this many for zero skipping: a chunk is skipped when all
/// its inputs are 0. MNIST test images have 151 non-zero pixels on average and 223 pixels
/// in non-zero chunks of 4 (311 for chunks of 8): a little wasted work buys a gather with
/// no per-pixel branches or scattered stores.
const CHUNK: usize = 4;
/// Fewest images worth handing to another thread (below it, scheduling costs more than it saves).
const MIN_ROWS_PER_THREAD: usize = 16;
/// Images taken layer by layer together in one thread.
const BLOCK: usize = 16;
/// Most images in one task: large batches are cut finer so that a thread slowed by other
/// work on the machine does not hold up the whole batch (rayon steals the rest).
const MAX_ROWS_PER_TASK: usize = 256;

/// One layer with `W` rows padded to `stride` floats (zeros in the padding).
#[derive(Debug, Clone, PartialEq)]
struct PackedLayer {
    inputs: usize,
    outputs: usize,
    stride: usize,
    w: Vec<f32>,
    b: Vec<f32>,
}

/// A network's weights laid out for the kernels.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    layers: Vec<PackedLayer>,
    widest: usize,
}

/// Which code path runs on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// AVX2 + FMA (x86-64 CPUs since about 2013).
    Avx2Fma,
    /// Plain Rust, vectorized only as far as the target's baseline allows.
    Portable,
}

impl Path {
    /// The best path this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Path::Avx2Fma;
        }
        Path::Portable
    }

    /// The path detected once for this process.
    pub fn current() -> Self {
        static PATH: std::sync::OnceLock<Path> = std::sync::OnceLock::new();
        *PATH.get_or_init(Path::detect)
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Path::Avx2Fma => "avx2+fma",
            Path::Portable => "portable",
        }
    }
}

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
    /// Packs `layers` (already validated: non-empty, shapes chained).
    pub fn new(layers: &[Layer]) -> Self {
        let layers: Vec<PackedLayer> = layers
            .iter()
            .map(|layer| {
                let (inputs, outputs) = layer.w.dim();
                let stride = outputs.div_ceil(LANES) * LANES;
                // Zero rows up to a whole chunk, so a partial last chunk reads zeros.
                let mut w = vec![0.0; inputs.div_ceil(CHUNK) * CHUNK * stride];
                for (row, src) in w.chunks_exact_mut(stride).zip(layer.w.rows()) {
                    for (d, s) in row.iter_mut().zip(src) {
                        *d = *s;
                    }
                }
                let mut b = vec![0.0; stride];
                b[..outputs].copy_from_slice(&layer.b.to_vec());
                PackedLayer {
                    inputs,
                    outputs,
                    stride,
                    w,
                    b,
                }
            })
            .collect();
        let widest = layers
            .iter()
            .map(|l| l.stride.max(l.inputs.div_ceil(CHUNK) * CHUNK))
            .max()
            .unwrap_or(0);
        Self { layers, widest }
    }

    fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

    /// Runs every image of `input` through the network, writing `outputs()` values per image
    /// into `out`, splitting the images across the current rayon pool.
    pub fn forward(&self, input: Input<'_>, output: OutputLayer, out: &mut [f32], path: Path) {
        let (n_in, n_out) = (self.inputs(), self.outputs());
        let rows = input.len() / n_in;
        assert!(input.len() == rows * n_in && out.len() == rows * n_out);
        let threads = rayon::current_num_threads().max(1);
        let per_thread = rows
            .div_ceil(threads)
            .clamp(MIN_ROWS_PER_THREAD, MAX_ROWS_PER_TASK);
        if per_thread >= rows {
            self.forward_rows(input, output, out, path);
            return;
        }
        out.par_chunks_mut(per_thread * n_out)
            .enumerate()
            .for_each(|(i, chunk)| {
                let start = i * per_thread * n_in;
                let end = start + chunk.len() / n_out * n_in;
                let part = match input {
                    Input::Values(v) => Input::Values(&v[start..end]),
                    Input::Pixels(p, m) => Input::Pixels(&p[start..end], m),
                };
                self.forward_rows(part, output, chunk, path);
            });
    }

    /// One thread's share: scratch allocated once, then image after image.
    fn forward_rows(&self, input: Input<'_>, output: OutputLayer, out: &mut [f32], path: Path) {
        let mut scratch = Scratch {
            x: vec![0.0; self.inputs()],
            idx: vec![0; self.inputs().div_ceil(CHUNK)],
            vals: vec![0.0; self.inputs().div_ceil(CHUNK) * CHUNK],
            acts: self
                .layers
                .iter()
                .map(|l| vec![0.0; BLOCK * l.stride])
                .collect(),
        };
        match path {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Path::Avx2Fma` is only ever produced by `detect()` after checking both
            // features on this CPU.
            Path::Avx2Fma => unsafe { rows_avx2(self, input, output, out, &mut scratch) },
            _ => rows::<Portable>(self, input, output, out, &mut scratch),
        }
    }
}

/// Per-thread buffers, reused for every image.
struct Scratch {
    /// A dense normalized image (z-score, where zero pixels do not stay zero).
    x: Vec<f32>,
    /// Indices of the chunks holding a non-zero input.
    idx: Vec<u32>,
    /// Their normalized values, `CHUNK` per chunk.
    vals: Vec<f32>,
    /// Each layer's outputs for a block of `BLOCK` images, `stride` floats per image.
    acts: Vec<Vec<f32>>,
}

/// The first layer's input for one image.
#[derive(Clone, Copy)]
enum First<'a> {
    /// Only the chunks with a non-zero input: chunk indices and `CHUNK` values each.
    Sparse(&'a [u32], &'a [f32]),
    /// Every input.
    Dense(&'a [f32]),
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn rows_avx2(
    net: &Packed,
    input: Input<'_>,
    output: OutputLayer,
    out: &mut [f32],
    scratch: &mut Scratch,
) {
    rows::<vector::Avx>(net, input, output, out, scratch);
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
    let Scratch { x, idx, vals, acts } = s;
    // Layer by layer over a block of images, so that each layer's weights are reused from
    // L1 across the block instead of being evicted by the next layer's after every image.
    for (block, out_block) in out.chunks_mut(BLOCK * n_out).enumerate() {
        let count = out_block.len() / n_out;
        let first = &net.layers[0];
        for j in 0..count {
            let i = block * BLOCK + j;
            let row = i * n_in..(i + 1) * n_in;
            let input = match input {
                Input::Values(v) => {
                    let n = gather_values(&v[row], idx, vals);
                    First::Sparse(&idx[..n], &vals[..n * CHUNK])
                }
                Input::Pixels(p, mode) => match mode.divisor(&p[row.clone()]) {
                    Some(divisor) => {
                        let n = gather_pixels(&p[row], divisor, idx, vals);
                        First::Sparse(&idx[..n], &vals[..n * CHUNK])
                    }
                    None => {
                        mode.apply(&p[row], x);
                        First::Dense(x)
                    }
                },
            };
            let dst = &mut acts[0][j * first.stride..(j + 1) * first.stride];
            affine::<V>(first, input, act(0), dst);
        }
        for (l, layer) in net.layers.iter().enumerate().skip(1) {
            let (done, rest) = acts.split_at_mut(l);
            let (prev, cur) = (&done[l - 1], &mut rest[0]);
            let prev_stride = net.layers[l - 1].stride;
            for j in 0..count {
                let input = First::Dense(&prev[j * prev_stride..][..layer.inputs]);
                let dst = &mut cur[j * layer.stride..(j + 1) * layer.stride];
                affine::<V>(layer, input, act(l), dst);
            }
        }
        let stride = net.layers[last].stride;
        for (j, dst) in out_block.chunks_exact_mut(n_out).enumerate() {
            let result = &mut acts[last][j * stride..j * stride + n_out];
            if output == OutputLayer::Softmax {
                if V::FMA {
                    math::softmax::<true>(result);
                } else {
                    math::softmax::<false>(result);
                }
            }
            dst.copy_from_slice(result);
        }
    }
}

/// Collects the chunks of `x` that hold a non-zero value; returns how many.
#[inline(always)]
fn gather_values(x: &[f32], idx: &mut [u32], vals: &mut [f32]) -> usize {
    let mut n = 0;
    for (c, chunk) in x.chunks(CHUNK).enumerate() {
        if chunk.iter().all(|&v| v == 0.0) {
            continue;
        }
        let dst = &mut vals[n * CHUNK..(n + 1) * CHUNK];
        dst.fill(0.0);
        dst[..chunk.len()].copy_from_slice(chunk);
        idx[n] = c as u32;
        n += 1;
    }
    n
}

/// Collects the chunks of `pixels` that hold a non-zero pixel, divided by `divisor` as
/// [`NormMode::apply`] divides them; returns how many.
#[inline(always)]
fn gather_pixels(pixels: &[u8], divisor: f32, idx: &mut [u32], vals: &mut [f32]) -> usize {
    let mut n = 0;
    let whole = pixels.chunks_exact(CHUNK);
    let tail = whole.remainder();
    for (c, chunk) in whole.enumerate() {
        let bytes: [u8; CHUNK] = [chunk[0], chunk[1], chunk[2], chunk[3]];
        if u32::from_ne_bytes(bytes) == 0 {
            continue;
        }
        let dst = &mut vals[n * CHUNK..(n + 1) * CHUNK];
        for k in 0..CHUNK {
            dst[k] = f32::from(bytes[k]) / divisor;
        }
        idx[n] = c as u32;
        n += 1;
    }
    if tail.iter().any(|&p| p != 0) {
        let dst = &mut vals[n * CHUNK..(n + 1) * CHUNK];
        dst.fill(0.0);
        for (d, &p) in dst.iter_mut().zip(tail) {
            *d = f32::from(p) / divisor;
        }
        idx[n] = (pixels.len() / CHUNK) as u32;
        n += 1;
    }
    n
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    None,
    Sigmoid,
}

/// `out[..stride] = act(x·W + b)` in tiles of up to `MAX_TILE` vectors held in registers
/// across the whole sweep over the inputs (only the non-zero ones, when sparse).
#[inline(always)]
fn affine<V: Vector>(layer: &PackedLayer, x: First<'_>, act: Act, out: &mut [f32]) {
    let vectors = layer.stride / LANES;
    let mut v0 = 0;
    while v0 < vectors {
        let t = (vectors - v0).min(MAX_TILE);
        match t {
            1 => tile::<1, V>(layer, x, act, out, v0),
            2 => tile::<2, V>(layer, x, act, out, v0),
            3 => tile::<3, V>(layer, x, act, out, v0),
            4 => tile::<4, V>(layer, x, act, out, v0),
            5 => tile::<5, V>(layer, x, act, out, v0),
            6 => tile::<6, V>(layer, x, act, out, v0),
            7 => tile::<7, V>(layer, x, act, out, v0),
            _ => tile::<MAX_TILE, V>(layer, x, act, out, v0),
        }
        v0 += t;
    }
}

#[inline(always)]
fn tile<const T: usize, V: Vector>(
    layer: &PackedLayer,
    x: First<'_>,
    act: Act,
    out: &mut [f32],
    v0: usize,
) {
    let col = v0 * LANES;
    let stride = layer.stride;
    let width = T * LANES;
    assert!(col + width <= stride);
    let bias = &layer.b[col..col + width];
    let mut acc: [V; T] = std::array::from_fn(|k| V::load(&bias[k * LANES..]));
    // Plain loops, no closures: a closure is a function of its own that may not inherit
    // the caller's `target_feature`.
    // Raw pointers in the two hot loops: slice indexing there cost about as many
    // instructions (bounds checks, iterator bookkeeping) as the FMAs themselves.
    let w = layer.w.as_ptr();
    match x {
        First::Sparse(indices, values) => {
            // The gather emits increasing chunk indices, so checking the last one bounds all.
            let fits = indices
                .last()
                .is_none_or(|&c| (c as usize + 1) * CHUNK * stride <= layer.w.len());
            assert!(fits && values.len() >= indices.len() * CHUNK);
            debug_assert!(indices.windows(2).all(|p| p[0] < p[1]));
            for (j, &c) in indices.iter().enumerate() {
                // SAFETY: chunk `c` lies within W (checked above, indices increase) and
                // `col + width <= stride`; `values` holds CHUNK floats per index.
                unsafe {
                    let base = w.add(c as usize * CHUNK * stride + col);
                    let xs = values.as_ptr().add(j * CHUNK);
                    for k in 0..CHUNK {
                        accumulate::<T, V>(&mut acc, *xs.add(k), base.add(k * stride));
                    }
                }
            }
        }
        First::Dense(values) => {
            let n = values.len().min(layer.inputs);
            for (p, &xv) in values[..n].iter().enumerate() {
                // SAFETY: row p < inputs of W, and `col + width <= stride`.
                unsafe { accumulate::<T, V>(&mut acc, xv, w.add(p * stride + col)) };
            }
        }
    }
    let out = &mut out[col..col + width];
    for (k, a) in acc.into_iter().enumerate() {
        let a = if act == Act::Sigmoid { a.sigmoid() } else { a };
        a.store(&mut out[k * LANES..]);
    }
}

/// `acc += xv * row[..T * LANES]`, vector by vector.
///
/// # Safety
/// `row` must point to `T * LANES` readable floats.
#[inline(always)]
unsafe fn accumulate<const T: usize, V: Vector>(acc: &mut [V; T], xv: f32, row: *const f32) {
    let x = V::splat(xv);
    for (k, a) in acc.iter_mut().enumerate() {
        // SAFETY: within the T * LANES floats the caller vouches for.
        *a = x.mul_add(unsafe { V::load_ptr(row.add(k * LANES)) }, *a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Network;
    use ndarray::{Array1, Array2};

    fn random_network(sizes: &[usize], seed: u64) -> Network {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let layers = sizes
            .windows(2)
            .map(|w| Layer {
                w: Array2::from_shape_fn((w[0], w[1]), |_| next() * 0.3),
                b: Array1::from_shape_fn(w[1], |_| next() * 0.1),
            })
            .collect();
        Network::new(layers).unwrap()
    }

    fn sparse_inputs(rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| {
                let h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
                if h < 60 { h as f32 / 64.0 } else { 0.0 }
            })
            .collect()
    }

    fn check(sizes: &[usize], rows: usize, path: Path) {
        let net = random_network(sizes, 42 + sizes.len() as u64);
        let x = sparse_inputs(rows, sizes[0]);
        let xa = Array2::from_shape_vec((rows, sizes[0]), x.clone()).unwrap();
        let packed = Packed::new(net.layers());
        for output in [OutputLayer::Softmax, OutputLayer::Identity] {
            let want = net.forward_reference(xa.view(), output);
            let mut got = vec![0.0; rows * net.output_size()];
            packed.forward(Input::Values(&x), output, &mut got, path);
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
    fn detected_path_matches_the_reference_for_odd_shapes() {
        for sizes in [&[20, 3][..], &[784, 50, 100, 10], &[9, 70, 17, 1, 5]] {
            check(sizes, 101, Path::detect());
        }
    }

    #[test]
    fn pixel_input_equals_normalized_values_input() {
        let net = random_network(&[16, 12, 10], 7);
        let packed = Packed::new(net.layers());
        let pixels: Vec<u8> = (0..16 * 40).map(|i| ((i * 53) % 256) as u8).collect();
        for mode in NormMode::ALL {
            let mut x = vec![0.0; pixels.len()];
            mode.apply_batch(&pixels, 16, &mut x);
            let (mut a, mut b) = (vec![0.0; 400], vec![0.0; 400]);
            packed.forward(
                Input::Values(&x),
                OutputLayer::Softmax,
                &mut a,
                Path::detect(),
            );
            packed.forward(
                Input::Pixels(&pixels, mode),
                OutputLayer::Softmax,
                &mut b,
                Path::detect(),
            );
            assert_eq!(a, b, "{mode}");
        }
    }
}
