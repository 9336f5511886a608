//! The training step's inner loops: small matrix products whose output tile stays in
//! registers while the shared dimension streams past, and the sparse sums of the input
//! layer. Generic over two [`Vector`]s, a wide `W` and an 8-float `V` for a leftover
//! column block, so the same code is compiled for AVX-512 (16-float `W`), AVX2+FMA (both
//! 8-float; inlined into `#[target_feature]` functions) and the portable baseline.
//!
//! Each output element is its own chain of multiply-adds over the shared dimension in
//! increasing order, whatever the tile shape: the way the rows are cut into tiles (and so
//! into threads, or vectors of 8 or 16 floats) never changes a result.

use crate::kernels::simd::{Kernel, LANES, Simd, Vector};
use crate::kernels::sparse::in_register;

use super::by_pixel::ByPixel;

/// Eight floats aligned to 32 bytes: the unit of [`Buf`].
#[derive(Clone, Copy, Default, Debug)]
#[repr(C, align(32))]
pub(super) struct Block([f32; LANES]);

// SAFETY: a 32-byte struct of eight f32 and no padding; every bit pattern is valid.
unsafe impl bytemuck::Zeroable for Block {}
// SAFETY: as above; `Copy` and `'static`.
unsafe impl bytemuck::Pod for Block {}

/// A float buffer aligned to 32 bytes, so that an 8-float vector at a multiple-of-8 index
/// never straddles two cache lines.
#[derive(Clone, Debug, Default)]
pub(super) struct Buf(Vec<Block>);

impl Buf {
    /// `len` zeros (rounded up to whole vectors).
    pub(super) fn zeros(len: usize) -> Self {
        Self(vec![Block::default(); len.div_ceil(LANES)])
    }
}

impl std::ops::Deref for Buf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        bytemuck::cast_slice(&self.0)
    }
}

impl std::ops::DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [f32] {
        bytemuck::cast_slice_mut(&mut self.0)
    }
}

/// `n` rounded up to whole vectors: the row stride of every matrix here.
pub(super) fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// Asks the CPU to start loading the `len` floats at `p` (a hint; it reads nothing): for
/// rows another core just wrote, which otherwise cost a transfer between the cores at the
/// head of the chain of multiply-adds that needs them.
#[inline(always)]
pub(super) fn prefetch_floats(p: *const f32, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let first = p.addr() & !63;
        for at in (first..p.addr() + len * 4).step_by(64) {
            // SAFETY: prefetching reads nothing and faults on no address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.with_addr(at).cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len);
}

/// What happens to a product's tile before it is stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Epilogue {
    /// Stored as is.
    Store,
    /// The logistic function.
    Sigmoid,
    /// Times z (1 - z), z read from the `z` operand (the sigmoid's derivative).
    SigmoidGrad,
}

/// How a run of `units` columns of [`LANES`] floats is covered: `W` vectors, then one
/// [`LANES`]-float `V` vector if `W` holds twice as many floats and `units` is odd.
#[inline(always)]
fn widths<W: Vector, V: Vector>(units: usize) -> (usize, usize) {
    debug_assert!(V::LANES == LANES && W::LANES % LANES == 0);
    let per = W::LANES / LANES;
    (units / per, units % per)
}

/// Cuts `units` columns (see [`widths`]) into blocks of at most `most` `W` vectors, the `V`
/// vector (if any) going with the last block: `(first float, W vectors, V vectors)` of each.
/// An iterator rather than a function taking a closure: a closure would not inherit the
/// caller's `#[target_feature]`s, and its vector intrinsics would become calls.
#[derive(Clone, Copy)]
struct Blocks {
    lanes: usize,
    wide: usize,
    tail: usize,
    most: usize,
    at: usize,
}

impl Blocks {
    #[inline(always)]
    fn new<W: Vector, V: Vector>(units: usize, most: usize) -> Self {
        let (wide, tail) = widths::<W, V>(units);
        Blocks {
            lanes: W::LANES,
            wide,
            tail,
            most,
            at: 0,
        }
    }
}

impl Iterator for Blocks {
    type Item = (usize, usize, usize);

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let nw = (self.wide - self.at).min(self.most);
        let nt = if self.at + nw == self.wide && nw < self.most {
            std::mem::take(&mut self.tail)
        } else {
            0
        };
        if nw + nt == 0 {
            return None;
        }
        let col = self.at * self.lanes;
        self.at += nw;
        Some((col, nw, nt))
    }
}

/// Calls `$f::<W, V, NW, NT>(args)` for the block shape `(nw, nt)`: up to 8 `W` vectors and
/// 1 `V` vector.
macro_rules! by_shape {
    ($nw:expr, $nt:expr, $f:ident::<$W:ty, $V:ty $(, $N:ty)?>($($arg:expr),* $(,)?)) => {
        match ($nw, $nt) {
            (0, _) => $f::<$W, $V, $($N,)? 0, 1>($($arg),*),
            (1, 0) => $f::<$W, $V, $($N,)? 1, 0>($($arg),*),
            (1, _) => $f::<$W, $V, $($N,)? 1, 1>($($arg),*),
            (2, 0) => $f::<$W, $V, $($N,)? 2, 0>($($arg),*),
            (2, _) => $f::<$W, $V, $($N,)? 2, 1>($($arg),*),
            (3, 0) => $f::<$W, $V, $($N,)? 3, 0>($($arg),*),
            (3, _) => $f::<$W, $V, $($N,)? 3, 1>($($arg),*),
            (4, 0) => $f::<$W, $V, $($N,)? 4, 0>($($arg),*),
            (4, _) => $f::<$W, $V, $($N,)? 4, 1>($($arg),*),
            (5, 0) => $f::<$W, $V, $($N,)? 5, 0>($($arg),*),
            (5, _) => $f::<$W, $V, $($N,)? 5, 1>($($arg),*),
            (6, 0) => $f::<$W, $V, $($N,)? 6, 0>($($arg),*),
            (6, _) => $f::<$W, $V, $($N,)? 6, 1>($($arg),*),
            (7, 0) => $f::<$W, $V, $($N,)? 7, 0>($($arg),*),
            (7, _) => $f::<$W, $V, $($N,)? 7, 1>($($arg),*),
            (_, 0) => $f::<$W, $V, $($N,)? 8, 0>($($arg),*),
            _ => $f::<$W, $V, $($N,)? 8, 1>($($arg),*),
        }
    };
}

/// `C = epilogue(init + A·B)` over `rows` x `vectors * LANES`, where `A(r, t)` is at
/// `a + r * a_rs + t * a_cs` (t < k), row t of B at `b + t * b_rs`, row r of C at
/// `c + r * c_rs`, and `init` (if not null) is one row added to every row.
#[derive(Clone, Copy)]
pub(super) struct Product {
    pub rows: usize,
    pub k: usize,
    pub vectors: usize,
    pub a: *const f32,
    pub a_rs: usize,
    pub a_cs: usize,
    pub b: *const f32,
    pub b_rs: usize,
    pub init: *const f32,
    pub c: *mut f32,
    pub c_rs: usize,
    pub epilogue: Epilogue,
    /// Row r of z (for [`Epilogue::SigmoidGrad`]) at `z + r * z_rs`.
    pub z: *const f32,
    pub z_rs: usize,
}

impl Product {
    /// [`Product::run`] on `simd`'s code path, compiled as a function of its own. Inlined
    /// into a row task's long body, the tiles' loops stored every accumulator to the stack
    /// after each multiply-add (the register allocator split them around the epilogues): 24
    /// stores beside 24 multiply-adds, so such a loop ran at the rate of the one store port
    /// rather than of the two FMA units.
    ///
    /// # Safety
    /// As for [`Product::run`] (the path's vectors are ones the CPU supports).
    pub(super) unsafe fn run_on(&self, simd: Simd) {
        simd.run_apart(Vouched(self));
    }

    /// Runs the product, tile by tile: columns in blocks of up to 4 vectors, rows in groups
    /// sized so that a tile's accumulators take at most 12 of 16 registers (24 of AVX-512's
    /// 32).
    ///
    /// # Safety
    /// Every pointer must cover the ranges described on the type, C must not overlap A, B,
    /// `init` or z, and the CPU must support `W` and `V`.
    #[inline(always)]
    pub(super) unsafe fn run<W: Vector, V: Vector>(&self) {
        let wide = W::LANES > LANES;
        for (col, nw, nt) in Blocks::new::<W, V>(self.vectors, 4) {
            // SAFETY: forwarded from the caller; the block lies within `vectors`.
            unsafe {
                match (wide, nw, nt) {
                    (false, 1, _) => self.block::<W, V, 8, 1, 0>(col),
                    (false, 2, _) => self.block::<W, V, 6, 2, 0>(col),
                    (false, 3, _) => self.block::<W, V, 4, 3, 0>(col),
                    (false, _, _) => self.block::<W, V, 3, 4, 0>(col),
                    (true, 0, _) => self.block::<W, V, 12, 0, 1>(col),
                    (true, 1, 0) => self.block::<W, V, 12, 1, 0>(col),
                    (true, 1, _) => self.block::<W, V, 12, 1, 1>(col),
                    (true, 2, 0) => self.block::<W, V, 12, 2, 0>(col),
                    (true, 2, _) => self.block::<W, V, 8, 2, 1>(col),
                    (true, 3, 0) => self.block::<W, V, 8, 3, 0>(col),
                    (true, 3, _) => self.block::<W, V, 6, 3, 1>(col),
                    (true, _, _) => self.block::<W, V, 6, 4, 0>(col),
                }
            }
        }
    }

    /// Columns `col..` (`NW` wide and `NT` narrow vectors), `R` rows at a time, then the
    /// leftover rows one by one.
    #[inline(always)]
    unsafe fn block<W: Vector, V: Vector, const R: usize, const NW: usize, const NT: usize>(
        &self,
        col: usize,
    ) {
        let mut r = 0;
        // SAFETY: forwarded from `run`.
        unsafe {
            while r + R <= self.rows {
                self.tile::<W, V, R, NW, NT>(r, col);
                r += R;
            }
            while r < self.rows {
                self.tile::<W, V, 1, NW, NT>(r, col);
                r += 1;
            }
        }
    }

    #[inline(always)]
    unsafe fn tile<W: Vector, V: Vector, const R: usize, const NW: usize, const NT: usize>(
        &self,
        row: usize,
        col: usize,
    ) {
        // The narrow vectors' columns start after the wide ones'.
        let tail = col + NW * W::LANES;
        // SAFETY: every offset stays within the ranges `run`'s caller vouches for.
        unsafe {
            let mut acc = [[W::splat(0.0); NW]; R];
            let mut acc_t = [[V::splat(0.0); NT]; R];
            if !self.init.is_null() {
                for v in 0..NW {
                    let bias = W::load_ptr(self.init.add(col + v * W::LANES));
                    for acc_r in acc.iter_mut() {
                        acc_r[v] = bias;
                    }
                }
                for v in 0..NT {
                    let bias = V::load_ptr(self.init.add(tail + v * V::LANES));
                    for acc_r in acc_t.iter_mut() {
                        acc_r[v] = bias;
                    }
                }
            }
            let a = self.a.add(row * self.a_rs);
            for t in 0..self.k {
                let bt = self.b.add(t * self.b_rs);
                let mut bw = [W::splat(0.0); NW];
                for (v, x) in bw.iter_mut().enumerate() {
                    *x = W::load_ptr(bt.add(col + v * W::LANES));
                }
                let mut bn = [V::splat(0.0); NT];
                for (v, x) in bn.iter_mut().enumerate() {
                    *x = V::load_ptr(bt.add(tail + v * V::LANES));
                }
                let at = a.add(t * self.a_cs);
                for r in 0..R {
                    let s = *at.add(r * self.a_rs);
                    let x = W::splat(s);
                    for v in 0..NW {
                        acc[r][v] = x.mul_add(bw[v], acc[r][v]);
                    }
                    let x = V::splat(s);
                    for v in 0..NT {
                        acc_t[r][v] = x.mul_add(bn[v], acc_t[r][v]);
                    }
                }
            }
            for r in 0..R {
                let (c, z) = (
                    self.c.add((row + r) * self.c_rs),
                    self.z.wrapping_add((row + r) * self.z_rs),
                );
                for (v, &x) in acc[r].iter().enumerate() {
                    let at = col + v * W::LANES;
                    self.finish(x, z.wrapping_add(at)).store_ptr(c.add(at));
                }
                for (v, &x) in acc_t[r].iter().enumerate() {
                    let at = tail + v * V::LANES;
                    self.finish(x, z.wrapping_add(at)).store_ptr(c.add(at));
                }
            }
        }
    }

    /// The epilogue of one accumulator, whose z (if the epilogue reads it) is at `z`.
    #[inline(always)]
    unsafe fn finish<U: Vector>(&self, x: U, z: *const f32) -> U {
        match self.epilogue {
            Epilogue::Store => x,
            Epilogue::Sigmoid => x.sigmoid_exact(),
            Epilogue::SigmoidGrad => {
                // SAFETY: with this epilogue z covers C's shape (`run`'s caller).
                let z = unsafe { U::load_ptr(z) };
                x.mul(z.mul(U::splat(1.0).sub(z)))
            }
        }
    }
}

/// A [`Product`] whose pointers the caller of [`Product::run_on`] vouched for, as a
/// [`Kernel`]; only `run_on` makes one.
struct Vouched<'a>(&'a Product);

impl Kernel for Vouched<'_> {
    type Output = ();

    #[inline(always)]
    fn run<W: Vector, V: Vector>(self) {
        // SAFETY: the pointers are vouched for (`run_on`'s caller), and the dispatch hands
        // out only vector types this CPU supports.
        unsafe { self.0.run::<W, V>() }
    }
}

/// What the input layer's gather does with each entry besides summing it.
pub(super) trait Note {
    /// Entry `value` at `pixel` was summed.
    ///
    /// # Safety
    /// `pixel` is below the layer's inputs.
    unsafe fn note(&mut self, pixel: u16, value: f32);
}

/// Nothing.
pub(super) struct Skip;

impl Note for Skip {
    #[inline(always)]
    unsafe fn note(&mut self, _: u16, _: f32) {}
}

/// `acc, acc_t += x · row`: `NW` wide vectors, then `NT` narrow ones, of `row`.
///
/// # Safety
/// `row` must point at `NW * W::LANES + NT * V::LANES` readable floats, and the CPU must
/// support `W` and `V`.
#[inline(always)]
unsafe fn add_row<W: Vector, V: Vector, const NW: usize, const NT: usize>(
    acc: &mut [W; NW],
    acc_t: &mut [V; NT],
    x: f32,
    row: *const f32,
) {
    let tail = NW * W::LANES;
    // SAFETY: forwarded from the caller.
    unsafe {
        let xw = W::splat(x);
        for (v, a) in acc.iter_mut().enumerate() {
            *a = xw.mul_add(W::load_ptr(row.add(v * W::LANES)), *a);
        }
        let xv = V::splat(x);
        for (v, a) in acc_t.iter_mut().enumerate() {
            *a = xv.mul_add(V::load_ptr(row.add(tail + v * V::LANES)), *a);
        }
    }
}

/// `out = init + sum over entries e of val[e] * B[idx[e]]` over `vectors` columns of
/// [`LANES`] floats, entries in order, then the logistic function if `sigmoid`: one image's
/// input layer.
///
/// # Safety
/// Every `idx[e] * b_rs + vectors * LANES` floats from `b` must be readable, `init` and `out`
/// must hold `vectors * LANES` floats, and the CPU must support `W` and `V`. `note` hears of
/// every entry, in order.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gather_rows<W: Vector, V: Vector>(
    idx: &[u16],
    val: impl Iterator<Item = f32> + Clone,
    b: *const f32,
    b_rs: usize,
    init: *const f32,
    vectors: usize,
    sigmoid: bool,
    out: *mut f32,
    note: &mut impl Note,
) {
    for (col, nw, nt) in Blocks::new::<W, V>(vectors, 8) {
        // SAFETY: forwarded from the caller; the block lies within `vectors`.
        unsafe {
            let (b, init, out) = (b.add(col), init.add(col), out.add(col));
            // Every entry is noted once, with the first block.
            if col == 0 {
                by_shape!(
                    nw,
                    nt,
                    gather_block::<W, V, _>(
                        idx,
                        val.clone(),
                        b,
                        b_rs,
                        init,
                        sigmoid,
                        out,
                        &mut *note
                    )
                );
            } else {
                by_shape!(
                    nw,
                    nt,
                    gather_block::<W, V, Skip>(
                        idx,
                        val.clone(),
                        b,
                        b_rs,
                        init,
                        sigmoid,
                        out,
                        &mut Skip
                    )
                );
            }
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn gather_block<W: Vector, V: Vector, N: Note, const NW: usize, const NT: usize>(
    idx: &[u16],
    val: impl Iterator<Item = f32>,
    b: *const f32,
    b_rs: usize,
    init: *const f32,
    sigmoid: bool,
    out: *mut f32,
    note: &mut N,
) {
    let tail = NW * W::LANES;
    // SAFETY: forwarded from `gather_rows`.
    unsafe {
        let mut acc = [W::splat(0.0); NW];
        for (v, a) in acc.iter_mut().enumerate() {
            *a = W::load_ptr(init.add(v * W::LANES));
        }
        let mut acc_t = [V::splat(0.0); NT];
        for (v, a) in acc_t.iter_mut().enumerate() {
            *a = V::load_ptr(init.add(tail + v * V::LANES));
        }
        for (&i, s) in idx.iter().zip(val) {
            // SAFETY: `i` indexes a row of B, the layer's weights: below its inputs.
            note.note(i, s);
            let row = in_register(b.add(usize::from(i) * b_rs));
            add_row(&mut acc, &mut acc_t, s, row);
        }
        for (v, &a) in acc.iter().enumerate() {
            let y = if sigmoid { a.sigmoid_exact() } else { a };
            y.store_ptr(out.add(v * W::LANES));
        }
        for (v, &a) in acc_t.iter().enumerate() {
            let y = if sigmoid { a.sigmoid_exact() } else { a };
            y.store_ptr(out.add(tail + v * V::LANES));
        }
    }
}

/// `out[row - r0] += val[e] * w` for every entry e (with `row = rows[e]`), over `vectors`
/// columns of [`LANES`] floats: one image's contribution to the input layer's weight
/// gradient, at the rows of its pixels. `w` (the image's delta) is held in registers (up to
/// 8 vectors at a time) while the output rows stream past.
///
/// # Safety
/// `w` must hold `vectors * LANES` floats, `out` rows `rows[e] - r0` of `out_rs` floats
/// (`vectors * LANES` of them written) for every entry, and the CPU must support `W` and
/// `V`.
#[inline(always)]
pub(super) unsafe fn scatter_rows<W: Vector, V: Vector>(
    rows: &[u16],
    vals: impl Iterator<Item = f32> + Clone,
    r0: usize,
    w: *const f32,
    vectors: usize,
    out: *mut f32,
    out_rs: usize,
) {
    for (col, nw, nt) in Blocks::new::<W, V>(vectors, 8) {
        // SAFETY: forwarded from the caller; the block lies within `vectors`.
        unsafe {
            let (w, out) = (w.add(col), out.add(col));
            by_shape!(
                nw,
                nt,
                scatter_block::<W, V>(rows, vals.clone(), r0, w, out, out_rs)
            );
        }
    }
}

#[inline(always)]
unsafe fn scatter_block<W: Vector, V: Vector, const NW: usize, const NT: usize>(
    rows: &[u16],
    vals: impl Iterator<Item = f32>,
    r0: usize,
    w: *const f32,
    out: *mut f32,
    out_rs: usize,
) {
    let tail = NW * W::LANES;
    // SAFETY: forwarded from `scatter_rows`.
    unsafe {
        let mut ww = [W::splat(0.0); NW];
        for (v, x) in ww.iter_mut().enumerate() {
            *x = W::load_ptr(w.add(v * W::LANES));
        }
        let mut wt = [V::splat(0.0); NT];
        for (v, x) in wt.iter_mut().enumerate() {
            *x = V::load_ptr(w.add(tail + v * V::LANES));
        }
        for (&i, s) in rows.iter().zip(vals) {
            let o = in_register(out.add((usize::from(i) - r0) * out_rs)).cast_mut();
            let x = W::splat(s);
            for (v, &wv) in ww.iter().enumerate() {
                let o = o.add(v * W::LANES);
                x.mul_add(wv, W::load_ptr(o)).store_ptr(o);
            }
            let x = V::splat(s);
            for (v, &wv) in wt.iter().enumerate() {
                let o = o.add(tail + v * V::LANES);
                x.mul_add(wv, V::load_ptr(o)).store_ptr(o);
            }
        }
    }
}

/// `out[p - first] = sum over the entries e of pixel p of e.value * delta[e.row]`, entries in
/// the order noted, for every pixel p in `pixels`, over `vectors` columns of [`LANES`] floats:
/// the input layer's weight gradient, each row summed in registers and stored once.
///
/// # Safety
/// `delta` must hold every noted row (`delta_rs` floats each, `vectors * LANES` read), `out`
/// the rows of `pixels` (from `first`, `out_rs` floats each, `vectors * LANES` written), and
/// the CPU must support `W` and `V`.
#[inline(always)]
pub(super) unsafe fn sum_rows<W: Vector, V: Vector>(
    table: &ByPixel,
    pixels: std::ops::Range<usize>,
    delta: *const f32,
    delta_rs: usize,
    vectors: usize,
    out: *mut f32,
    out_rs: usize,
) {
    for (col, nw, nt) in Blocks::new::<W, V>(vectors, 8) {
        // SAFETY: forwarded from the caller; the block lies within `vectors`.
        unsafe {
            let (delta, out) = (delta.add(col), out.add(col));
            by_shape!(
                nw,
                nt,
                sum_block::<W, V>(table, pixels.clone(), delta, delta_rs, out, out_rs)
            );
        }
    }
}

#[inline(always)]
unsafe fn sum_block<W: Vector, V: Vector, const NW: usize, const NT: usize>(
    table: &ByPixel,
    pixels: std::ops::Range<usize>,
    delta: *const f32,
    delta_rs: usize,
    out: *mut f32,
    out_rs: usize,
) {
    let tail = NW * W::LANES;
    let first = pixels.start;
    // SAFETY: forwarded from `sum_rows`.
    unsafe {
        for p in pixels {
            // From +0, as the rows added to in place start from zeros: the same sums, bit for bit.
            let mut acc = [W::splat(0.0); NW];
            let mut acc_t = [V::splat(0.0); NT];
            for e in table.pixel(p) {
                let d = in_register(delta.add(e.row as usize * delta_rs));
                add_row(&mut acc, &mut acc_t, e.value, d);
            }
            let o = out.add((p - first) * out_rs);
            for (v, &a) in acc.iter().enumerate() {
                a.store_ptr(o.add(v * W::LANES));
            }
            for (v, &a) in acc_t.iter().enumerate() {
                a.store_ptr(o.add(tail + v * V::LANES));
            }
        }
    }
}
