//! The fast forward pass: weights packed once into cache-line-aligned rows of whole SIMD
//! vectors, one fused sweep per layer (product + bias + activation, no temporaries), images
//! split across threads, and AVX-512 or AVX2+FMA code chosen at run time.
//!
//! Images go through layer by layer in blocks of [`BLOCK`]. The first layer visits only
//! non-zero inputs (found by a bitmask per image), 64 inputs at a time for the whole block so
//! that slice of W stays in L1; later layers take [`GROUP`] images per tile so that each
//! weight load serves several FMAs.
//!
//! The same generic body ([`rows`]) is compiled three times: with 16-lane vectors inside a
//! `#[target_feature(enable = "avx512f,avx512bw,avx2,fma,bmi1")]` function (zmm FMAs),
//! with 8-lane vectors inside an `avx2,fma,bmi1` one (ymm FMAs), and as a plain function for every
//! other CPU. Nothing depends on `-C target-cpu`. The rows of W are padded to the chosen
//! path's vector width, so a [`Packed`] is built for one path.

mod math;
pub(crate) mod vector;

use std::cell::RefCell;

use vector::{Portable, Vector};

use crate::layer::{Layer, OutputLayer};
use crate::normalize::NormMode;

/// Floats per AVX2 or portable vector (the training kernels' width).
pub(crate) const LANES: usize = 8;
/// Most vectors kept as accumulators at once for one image; 8 of AVX2's 16 ymm registers.
const MAX_TILE: usize = 8;
/// Images that share each weight load in the dense layers. One image alone leaves the
/// narrow layers latency-bound (the 10-wide output layer has only 2 accumulators, so each
/// FMA waits for the previous one) and loads every weight once per FMA.
const GROUP: usize = 4;
/// Most vectors per image in a group tile: `GROUP * 2` = 8 accumulators, 2 weight vectors
/// and a broadcast. (3 would fill all 16 ymm registers in theory, but LLVM then spills and
/// shuffles registers inside the loop.)
const GROUP_TILE: usize = 2;
/// Images per group where there are 32 vector registers (AVX-512): `WIDE_GROUP * 2` = 16
/// accumulators. The output layer is a single zmm wide, and 4 images gave it only 4
/// independent FMA chains, half of what keeps both FMA units busy.
const WIDE_GROUP: usize = 8;
/// Bits per word of the non-zero input masks.
const MASK_BITS: usize = 64;
/// Fewest images worth handing to another thread (below it, scheduling costs more than it saves).
const MIN_ROWS_PER_THREAD: usize = 16;
/// Images taken layer by layer together in one thread (a multiple of `WIDE_GROUP`).
const BLOCK: usize = 16;
/// Most images in one task: large batches are cut finer so that a thread slowed by other
/// work on the machine does not hold up the whole batch (rayon steals the rest).
const MAX_ROWS_PER_TASK: usize = 256;

/// One cache line of floats, the unit of [`Aligned`] storage.
#[repr(C, align(64))]
#[derive(Debug, Clone, Copy, PartialEq)]
struct Line([f32; 16]);

// SAFETY: 16 f32 fill the 64 bytes exactly (no padding), and any bits are a valid f32.
unsafe impl bytemuck::Zeroable for Line {}
// SAFETY: as above; `Line` is `Copy`, `repr(C)` and holds no pointers.
unsafe impl bytemuck::Pod for Line {}

/// Floats starting on a cache-line boundary. With rows a multiple of 8 floats, no 8-float
/// load then straddles two lines: from a plain `Vec<f32>` (16-byte aligned) half of them
/// did, and each such split load costs two.
#[derive(Debug, Clone, PartialEq, Default)]
struct Aligned {
    lines: Vec<Line>,
    len: usize,
}

impl Aligned {
    fn zeros(len: usize) -> Self {
        Self {
            lines: vec![Line([0.0; 16]); len.div_ceil(16)],
            len,
        }
    }

    /// Makes this `len` floats long (zeroed if it was not already that long).
    fn fit(&mut self, len: usize) {
        if self.len != len {
            *self = Self::zeros(len);
        }
    }
}

impl std::ops::Deref for Aligned {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        &bytemuck::cast_slice(&self.lines)[..self.len]
    }
}

impl std::ops::DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut bytemuck::cast_slice_mut(&mut self.lines)[..self.len]
    }
}

/// One layer with `W` rows padded to `stride` floats (zeros in the padding).
#[derive(Debug, Clone, PartialEq)]
struct PackedLayer {
    inputs: usize,
    outputs: usize,
    stride: usize,
    w: Aligned,
    b: Aligned,
}

/// A network's weights laid out for the kernels of one [`Path`].
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    layers: Vec<PackedLayer>,
    path: Path,
}

/// Which code path runs on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// AVX-512 F and BW, with AVX2 and FMA (Intel Skylake-SP and later servers, Ice Lake,
    /// AMD Zen 4): 16-float vectors.
    Avx512,
    /// AVX2 + FMA (x86-64 CPUs since about 2013).
    Avx2Fma,
    /// Plain Rust, vectorized only as far as the target's baseline allows.
    Portable,
}

/// Environment variable that picks a slower path than the detected one by its
/// [`Path::name`] (to compare paths, or to avoid AVX-512 where it lowers the clock).
pub const PATH_VAR: &str = "MNIST_EXPLORER_KERNEL";

impl Path {
    /// Every path, fastest first.
    pub const ALL: [Path; 3] = [Path::Avx512, Path::Avx2Fma, Path::Portable];

    /// Whether this CPU can run the path.
    pub fn supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && Path::Avx2Fma.supported()
            }
            // BMI1 (in every AVX2 CPU so far, but checked) clears the lowest mask bit in one
            // instruction, once per non-zero pixel.
            #[cfg(target_arch = "x86_64")]
            Path::Avx2Fma => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
                    && is_x86_feature_detected!("bmi1")
            }
            Path::Portable => true,
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The best path this CPU supports.
    pub fn detect() -> Self {
        Path::ALL
            .into_iter()
            .find(|p| p.supported())
            .unwrap_or(Path::Portable)
    }

    /// The path for this process, chosen once: the detected one, or the one named by
    /// [`PATH_VAR`] if this CPU supports it (an unknown or unsupported name is ignored, so a
    /// setting meant for another machine cannot make this one fail).
    pub fn current() -> Self {
        static PATH: std::sync::OnceLock<Path> = std::sync::OnceLock::new();
        *PATH.get_or_init(|| {
            std::env::var(PATH_VAR)
                .ok()
                .and_then(|name| Path::from_name(&name))
                .filter(|p| p.supported())
                .unwrap_or_else(Path::detect)
        })
    }

    /// The path whose [`Path::name`] is `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Path::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Path::Avx512 => "avx512f+bw",
            Path::Avx2Fma => "avx2+fma",
            Path::Portable => "portable",
        }
    }

    /// Floats per vector; rows of W are padded to a multiple of it.
    pub fn lanes(self) -> usize {
        match self {
            Path::Avx512 => 16,
            Path::Avx2Fma | Path::Portable => LANES,
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
    /// Packs `layers` (already validated: non-empty, shapes chained) for `path`.
    ///
    /// # Panics
    /// If this CPU does not support `path` (its code would not run here).
    pub fn new(layers: &[Layer], path: Path) -> Self {
        assert!(
            path.supported(),
            "this CPU lacks the {} kernels",
            path.name()
        );
        let lanes = path.lanes();
        let layers: Vec<PackedLayer> = layers
            .iter()
            .map(|layer| {
                let (inputs, outputs) = layer.w.dim();
                let stride = outputs.div_ceil(lanes) * lanes;
                let mut w = Aligned::zeros(inputs * stride);
                for (row, src) in w.chunks_exact_mut(stride).zip(layer.w.rows()) {
                    for (d, s) in row.iter_mut().zip(src) {
                        *d = *s;
                    }
                }
                let mut b = Aligned::zeros(stride);
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
        Self { layers, path }
    }

    /// The path these weights were packed for, the one [`Packed::forward`] runs.
    pub fn path(&self) -> Path {
        self.path
    }

    fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

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
            match self.path {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `new` asserted that this CPU supports the path.
                Path::Avx512 => unsafe { rows_avx512(self, input, output, out, scratch) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                Path::Avx2Fma => unsafe { rows_avx2(self, input, output, out, scratch) },
                _ => rows::<Portable>(self, input, output, out, scratch),
            }
        });
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx2,fma,bmi1")]
fn rows_avx512(
    net: &Packed,
    input: Input<'_>,
    output: OutputLayer,
    out: &mut [f32],
    scratch: &mut Scratch,
) {
    rows::<vector::Avx512>(net, input, output, out, scratch);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1")]
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

/// Sets `masks` to one bit per pixel, where the pixel is not zero.
#[inline(always)]
fn pixel_masks<V: Vector>(pixels: &[u8], masks: &mut [u64]) {
    for (m, chunk) in masks.iter_mut().zip(pixels.chunks(MASK_BITS)) {
        *m = match chunk.try_into() {
            Ok(whole) => V::nonzero_bytes(whole),
            Err(_) => {
                let mut padded = [0u8; MASK_BITS];
                padded[..chunk.len()].copy_from_slice(chunk);
                V::nonzero_bytes(&padded)
            }
        };
    }
}

/// Sets `masks` to one bit per value, where the value is not zero.
#[inline(always)]
fn value_masks(x: &[f32], masks: &mut [u64]) {
    for (m, chunk) in masks.iter_mut().zip(x.chunks(MASK_BITS)) {
        let mut bits = 0;
        for (k, &v) in chunk.iter().enumerate() {
            bits |= u64::from(v != 0.0) << k;
        }
        *m = bits;
    }
}

/// The input values of a block of images, read only where their masks have a bit.
/// Reads go through a [`Source::Row`] cursor set once per mask word, so the hot loop adds
/// only the bit's offset to a pointer (indexing from the block's start cost two more
/// instructions per pixel).
trait Source {
    /// Where one image's inputs from some input on are read.
    type Row: Copy;
    /// Image `j`'s inputs from input `first` on.
    ///
    /// # Safety
    /// `j` is an image of the block and `first` one of its inputs.
    unsafe fn row(&self, j: usize, first: usize) -> Self::Row;
    /// Input `first + k` of that image.
    ///
    /// # Safety
    /// `first + k` is one of the image's inputs.
    unsafe fn get(row: Self::Row, k: usize) -> f32;
    /// Whether the block holds `count` images of `inputs` inputs.
    fn holds(&self, count: usize, inputs: usize) -> bool;
    /// The inputs of the block after this one (or nothing), as bytes.
    fn next(&self) -> &[u8];
    /// Asks the CPU to start loading the cache line of byte `at` of [`Source::next`], if
    /// there is one: the first layer spreads these hints over its sweep, so that the next
    /// block is in cache when its masks are computed.
    #[inline(always)]
    fn prefetch_next(&self, at: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(b) = self.next().get(at) {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            // SAFETY: prefetching reads nothing and cannot fault.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(b).cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = at;
    }
}

/// Normalized values, `n_in` per image.
struct Values<'a> {
    x: &'a [f32],
    n_in: usize,
    next: &'a [f32],
}

impl Source for Values<'_> {
    type Row = *const f32;

    #[inline(always)]
    unsafe fn row(&self, j: usize, first: usize) -> *const f32 {
        // SAFETY: the caller keeps `j` and `first` in bounds (`holds`).
        unsafe { self.x.as_ptr().add(j * self.n_in + first) }
    }

    #[inline(always)]
    unsafe fn get(row: *const f32, k: usize) -> f32 {
        // SAFETY: the caller keeps `first + k` in bounds.
        unsafe { *row.add(k) }
    }

    fn holds(&self, count: usize, inputs: usize) -> bool {
        self.n_in == inputs && self.x.len() >= count * inputs
    }

    fn next(&self) -> &[u8] {
        bytemuck::cast_slice(self.next)
    }
}

/// Raw pixels and the table of their normalized values, shared by the whole block.
struct Scaled<'a> {
    pixels: &'a [u8],
    next: &'a [u8],
    n_in: usize,
    table: &'a [f32; 256],
}

impl Source for Scaled<'_> {
    type Row = (*const u8, &'static [f32; 256]);

    #[inline(always)]
    unsafe fn row(&self, j: usize, first: usize) -> Self::Row {
        // SAFETY: the caller keeps `j` and `first` in bounds (`holds`). The table outlives
        // every row (rows live within one `sparse_tile` call, which borrows `self`); the
        // 'static only spares `Row` a lifetime parameter.
        unsafe {
            let table: &'static [f32; 256] = &*std::ptr::from_ref(self.table);
            (self.pixels.as_ptr().add(j * self.n_in + first), table)
        }
    }

    #[inline(always)]
    unsafe fn get((pixels, table): Self::Row, k: usize) -> f32 {
        // SAFETY: the caller keeps `first + k` in bounds; a u8 indexes the table.
        table[usize::from(unsafe { *pixels.add(k) })]
    }

    fn holds(&self, count: usize, inputs: usize) -> bool {
        self.n_in == inputs && self.pixels.len() >= count * inputs
    }

    fn next(&self) -> &[u8] {
        self.next
    }
}

/// Raw pixels, each image with its own divisor (the L1, L2 and max modes).
struct Divided<'a> {
    pixels: &'a [u8],
    next: &'a [u8],
    n_in: usize,
    divisors: &'a [f32],
}

impl Source for Divided<'_> {
    type Row = (*const u8, f32);

    #[inline(always)]
    unsafe fn row(&self, j: usize, first: usize) -> Self::Row {
        // SAFETY: the caller keeps `j` and `first` in bounds (`holds`).
        unsafe {
            (
                self.pixels.as_ptr().add(j * self.n_in + first),
                *self.divisors.get_unchecked(j),
            )
        }
    }

    #[inline(always)]
    unsafe fn get((pixels, divisor): Self::Row, k: usize) -> f32 {
        // SAFETY: the caller keeps `first + k` in bounds.
        f32::from(unsafe { *pixels.add(k) }) / divisor
    }

    fn holds(&self, count: usize, inputs: usize) -> bool {
        self.n_in == inputs && self.pixels.len() >= count * inputs && self.divisors.len() >= count
    }

    fn next(&self) -> &[u8] {
        self.next
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    None,
    Sigmoid,
}

/// `out = act(x·W + b)` for the `count` images of a block, row `j` of `out` at
/// `j * layer.stride`, visiting only the inputs whose bit is set in the image's masks.
#[inline(always)]
fn sparse<V: Vector, S: Source>(
    layer: &PackedLayer,
    masks: &[u64],
    x: &S,
    count: usize,
    act: Act,
    out: &mut [f32],
) {
    let vectors = layer.stride / V::LANES;
    let mut v0 = 0;
    while v0 < vectors {
        let t = (vectors - v0).min(MAX_TILE);
        match t {
            1 => sparse_tile::<1, V, S>(layer, masks, x, count, act, out, v0),
            2 => sparse_tile::<2, V, S>(layer, masks, x, count, act, out, v0),
            3 => sparse_tile::<3, V, S>(layer, masks, x, count, act, out, v0),
            4 => sparse_tile::<4, V, S>(layer, masks, x, count, act, out, v0),
            5 => sparse_tile::<5, V, S>(layer, masks, x, count, act, out, v0),
            6 => sparse_tile::<6, V, S>(layer, masks, x, count, act, out, v0),
            7 => sparse_tile::<7, V, S>(layer, masks, x, count, act, out, v0),
            _ => sparse_tile::<MAX_TILE, V, S>(layer, masks, x, count, act, out, v0),
        }
        v0 += t;
    }
}

/// One tile of `T` vectors of [`sparse`], swept word-major: for each 64-input slice of W,
/// every image of the block in turn. That slice (14 KB for the book's 784x50 layer) then
/// stays in L1 across the block, where image after image over the whole of W (175 KB, in
/// L2) made the first layer bound by L2 bandwidth. The partial sums live in `out` between
/// slices, in registers within one.
#[inline(always)]
fn sparse_tile<const T: usize, V: Vector, S: Source>(
    layer: &PackedLayer,
    masks: &[u64],
    x: &S,
    count: usize,
    act: Act,
    out: &mut [f32],
    v0: usize,
) {
    let col = v0 * V::LANES;
    let (stride, inputs) = (layer.stride, layer.inputs);
    let words = inputs.div_ceil(MASK_BITS);
    assert!(col + T * V::LANES <= stride && x.holds(count, inputs));
    assert!(masks.len() >= count * words && out.len() >= count * stride);
    assert!(layer.w.len() >= inputs * stride);
    for j in 0..count {
        for k in 0..T {
            V::load(&layer.b[col + k * V::LANES..])
                .store(&mut out[j * stride + col + k * V::LANES..]);
        }
    }
    // Plain loops, no closures: a closure is a function of its own that may not inherit
    // the caller's `target_feature`. Raw pointers in the hot loop: slice indexing there
    // cost about as many instructions (bounds checks) as the FMAs themselves.
    let w = layer.w.as_ptr();
    for word in 0..words {
        let first = word * MASK_BITS;
        // SAFETY: row `first` < inputs, so this stays inside W.
        let w_word = unsafe { w.add(first * stride + col) };
        for j in 0..count {
            x.prefetch_next((word * count + j) * 64);
            let mut bits = masks[j * words + word];
            if bits == 0 {
                continue;
            }
            let o = &mut out[j * stride + col..j * stride + col + T * V::LANES];
            let mut acc = [V::splat(0.0); T];
            for (k, a) in acc.iter_mut().enumerate() {
                *a = V::load(&o[k * V::LANES..]);
            }
            // Two sets of accumulators, pixels taken in turn: with one set, each pixel's
            // FMAs wait for the previous pixel's (4 cycles), however few they are.
            let mut acc2 = [V::splat(0.0); T];
            // SAFETY: j < count and first < inputs (`x.holds` checked above).
            let row = unsafe { x.row(j, first) };
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                // SAFETY: the masks only have bits for inputs (`value_masks` and
                // `pixel_masks` leave the padding bits clear), so first + bit < inputs = rows
                // of W, `col + T * V::LANES <= stride`, and j < count (`x.holds` checked
                // above).
                unsafe {
                    let xv = S::get(row, bit);
                    accumulate::<T, V>(&mut acc, xv, in_register(w_word.add(bit * stride)));
                }
                if bits == 0 {
                    break;
                }
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                // SAFETY: as above.
                unsafe {
                    let xv = S::get(row, bit);
                    accumulate::<T, V>(&mut acc2, xv, in_register(w_word.add(bit * stride)));
                }
            }
            for (k, (a, a2)) in acc.into_iter().zip(acc2).enumerate() {
                a.add(a2).store(&mut o[k * V::LANES..]);
            }
        }
    }
    if act == Act::Sigmoid {
        for j in 0..count {
            for k in 0..T {
                let o = &mut out[j * stride + col + k * V::LANES..];
                V::load(o).sigmoid().store(o);
            }
        }
    }
}

/// `out = act(x·W + b)` for `count` images: row `j` of `x` starts at `j * x_stride` and row
/// `j` of `out` at `j * layer.stride`. Groups of `GROUP` images share each weight load.
#[inline(always)]
fn dense<V: Vector>(
    layer: &PackedLayer,
    x: &[f32],
    x_stride: usize,
    count: usize,
    act: Act,
    out: &mut [f32],
) {
    let vectors = layer.stride / V::LANES;
    let stride = layer.stride;
    let mut j = 0;
    if V::REGISTERS >= 32 {
        j = dense_groups::<WIDE_GROUP, V>(layer, x, x_stride, count, act, out, j);
    }
    j = dense_groups::<GROUP, V>(layer, x, x_stride, count, act, out, j);
    while j < count {
        let (x, out) = (&x[j * x_stride..], &mut out[j * stride..]);
        let mut v0 = 0;
        while v0 < vectors {
            let t = (vectors - v0).min(MAX_TILE);
            match t {
                1 => dense_tile::<1, 1, V>(layer, x, x_stride, act, out, v0),
                2 => dense_tile::<1, 2, V>(layer, x, x_stride, act, out, v0),
                3 => dense_tile::<1, 3, V>(layer, x, x_stride, act, out, v0),
                4 => dense_tile::<1, 4, V>(layer, x, x_stride, act, out, v0),
                5 => dense_tile::<1, 5, V>(layer, x, x_stride, act, out, v0),
                6 => dense_tile::<1, 6, V>(layer, x, x_stride, act, out, v0),
                7 => dense_tile::<1, 7, V>(layer, x, x_stride, act, out, v0),
                _ => dense_tile::<1, MAX_TILE, V>(layer, x, x_stride, act, out, v0),
            }
            v0 += t;
        }
        j += 1;
    }
}

/// [`dense`] for images `j..` of the block, `G` at a time while `G` remain; returns the
/// first image left.
#[inline(always)]
fn dense_groups<const G: usize, V: Vector>(
    layer: &PackedLayer,
    x: &[f32],
    x_stride: usize,
    count: usize,
    act: Act,
    out: &mut [f32],
    mut j: usize,
) -> usize {
    let vectors = layer.stride / V::LANES;
    let stride = layer.stride;
    while j + G <= count {
        let (x, out) = (&x[j * x_stride..], &mut out[j * stride..]);
        let mut v0 = 0;
        while v0 < vectors {
            let t = (vectors - v0).min(GROUP_TILE);
            match t {
                1 => dense_tile::<G, 1, V>(layer, x, x_stride, act, out, v0),
                _ => dense_tile::<G, GROUP_TILE, V>(layer, x, x_stride, act, out, v0),
            }
            v0 += t;
        }
        j += G;
    }
    j
}

/// `R` images times `T` vectors of output, all `R * T` accumulators held in registers across
/// the sweep over the inputs; each weight vector is loaded once for the `R` images.
#[inline(always)]
fn dense_tile<const R: usize, const T: usize, V: Vector>(
    layer: &PackedLayer,
    x: &[f32],
    x_stride: usize,
    act: Act,
    out: &mut [f32],
    v0: usize,
) {
    let col = v0 * V::LANES;
    let (stride, inputs) = (layer.stride, layer.inputs);
    assert!(col + T * V::LANES <= stride && x_stride >= inputs);
    assert!(x.len() >= (R - 1) * x_stride + inputs && out.len() >= R * stride);
    assert!(layer.w.len() >= inputs * stride);
    let mut bias = [V::splat(0.0); T];
    for (k, b) in bias.iter_mut().enumerate() {
        *b = V::load(&layer.b[col + k * V::LANES..]);
    }
    let mut acc = [bias; R];
    let (w, xp) = (layer.w.as_ptr(), x.as_ptr());
    for p in 0..inputs {
        // SAFETY: p < inputs = rows of W, `col + T * V::LANES <= stride`, and image r's input p
        // lies at r * x_stride + p < x.len() (all checked above).
        unsafe {
            let row = w.add(p * stride + col);
            let mut ws = [V::splat(0.0); T];
            for (k, wv) in ws.iter_mut().enumerate() {
                *wv = V::load_ptr(row.add(k * V::LANES));
            }
            for (r, a) in acc.iter_mut().enumerate() {
                let xv = V::splat(*xp.add(r * x_stride + p));
                for (k, a) in a.iter_mut().enumerate() {
                    *a = xv.mul_add(ws[k], *a);
                }
            }
        }
    }
    for (r, a) in acc.into_iter().enumerate() {
        let start = r * stride + col;
        finish::<T, V>(a, act, &mut out[start..start + T * V::LANES]);
    }
}

/// Applies `act` to the accumulators and stores them in `out`.
#[inline(always)]
fn finish<const T: usize, V: Vector>(acc: [V; T], act: Act, out: &mut [f32]) {
    for (k, a) in acc.into_iter().enumerate() {
        let a = if act == Act::Sigmoid { a.sigmoid() } else { a };
        a.store(&mut out[k * V::LANES..]);
    }
}

/// `p`, hidden from the optimizer so that it is computed into a register of its own. The
/// loads and stores through it then address base + displacement, where LLVM would fold the
/// row index into base + index addressing, which on Intel cores since Haswell splits an FMA
/// with a memory operand into two micro-ops and keeps a store off the port that only
/// computes store addresses: the sparse layers' inner loops (here and in the trainer) are made of little else.
#[inline(always)]
pub(crate) fn in_register(mut p: *const f32) -> *const f32 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: an empty template: `p` goes through a register unchanged.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) p, options(pure, readonly, nostack, preserves_flags));
    }
    p
}

/// `acc += xv * row[..T * V::LANES]`, vector by vector.
///
/// # Safety
/// `row` must point to `T * V::LANES` readable floats.
#[inline(always)]
unsafe fn accumulate<const T: usize, V: Vector>(acc: &mut [V; T], xv: f32, row: *const f32) {
    let x = V::splat(xv);
    for (k, a) in acc.iter_mut().enumerate() {
        // SAFETY: within the T * V::LANES floats the caller vouches for.
        *a = x.mul_add(unsafe { V::load_ptr(row.add(k * V::LANES)) }, *a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::forward_reference;
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

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
    fn softmax_avx512(row: &mut [f32], n: usize) {
        softmax_row::<vector::Avx512>(row, n);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn softmax_avx2(row: &mut [f32], n: usize) {
        softmax_row::<vector::Avx>(row, n);
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
                    match path {
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: `supported_paths` lists only paths this CPU runs.
                        Path::Avx512 => unsafe { softmax_avx512(&mut row, n) },
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: as above.
                        Path::Avx2Fma => unsafe { softmax_avx2(&mut row, n) },
                        _ => softmax_row::<Portable>(&mut row, n),
                    }
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
        for mode in NormMode::ALL {
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
            for mode in NormMode::ALL {
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
