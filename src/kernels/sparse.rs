//! The first layer of the pass: only the non-zero inputs of each image, found by a bit mask
//! per 64 inputs and read from normalized values or straight from pixel bytes, 64 inputs at
//! a time for a whole block of images so that slice of `W` stays in L1.

use super::packed::{Act, MAX_TILE, PackedLayer};
use super::simd::Vector;

/// Bits per word of the non-zero input masks.
pub(super) const MASK_BITS: usize = 64;

/// Sets `masks` to one bit per pixel, where the pixel is not zero.
#[inline(always)]
pub(super) fn pixel_masks<V: Vector>(pixels: &[u8], masks: &mut [u64]) {
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
pub(super) fn value_masks(x: &[f32], masks: &mut [u64]) {
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
pub(super) trait Source {
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
pub(super) struct Values<'a> {
    pub(super) x: &'a [f32],
    pub(super) n_in: usize,
    pub(super) next: &'a [f32],
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
pub(super) struct Scaled<'a> {
    pub(super) pixels: &'a [u8],
    pub(super) next: &'a [u8],
    pub(super) n_in: usize,
    pub(super) table: &'a [f32; 256],
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
pub(super) struct Divided<'a> {
    pub(super) pixels: &'a [u8],
    pub(super) next: &'a [u8],
    pub(super) n_in: usize,
    pub(super) divisors: &'a [f32],
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

/// `out = act(x·W + b)` for the `count` images of a block, row `j` of `out` at
/// `j * layer.stride`, visiting only the inputs whose bit is set in the image's masks.
#[inline(always)]
pub(super) fn sparse<V: Vector, S: Source>(
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
