//! The training step's inner loops: small matrix products whose output tile stays in
//! registers while the shared dimension streams past, and the sparse sums of the input
//! layer. Generic over [`Vector`], so the same code is compiled for AVX2+FMA (inlined into
//! `#[target_feature]` functions) and for the portable baseline.
//!
//! Each output element is its own chain of multiply-adds over the shared dimension in
//! increasing order, whatever the tile shape: the way the rows are cut into tiles (and so
//! into threads) never changes a result.

use crate::kernels::LANES;
use crate::kernels::vector::Vector;

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
    /// Runs the product, tile by tile: columns in blocks of up to 4 vectors, rows in groups
    /// sized so that a tile uses at most 12 accumulator registers.
    ///
    /// # Safety
    /// Every pointer must cover the ranges described on the type, C must not overlap A, B,
    /// `init` or z, and the CPU must support `V`.
    #[inline(always)]
    pub(super) unsafe fn run<V: Vector>(&self) {
        let mut v0 = 0;
        while v0 < self.vectors {
            let nv = (self.vectors - v0).min(4);
            // SAFETY: forwarded from the caller; the block lies within `vectors`.
            unsafe {
                match nv {
                    1 => self.block::<V, 8, 1>(v0),
                    2 => self.block::<V, 6, 2>(v0),
                    3 => self.block::<V, 4, 3>(v0),
                    _ => self.block::<V, 3, 4>(v0),
                }
            }
            v0 += nv;
        }
    }

    /// Column block `v0..v0 + NV` (vectors), `R` rows at a time, then the leftover rows one
    /// by one.
    #[inline(always)]
    unsafe fn block<V: Vector, const R: usize, const NV: usize>(&self, v0: usize) {
        let mut r = 0;
        // SAFETY: forwarded from `run`.
        unsafe {
            while r + R <= self.rows {
                self.tile::<V, R, NV>(r, v0 * LANES);
                r += R;
            }
            while r < self.rows {
                self.tile::<V, 1, NV>(r, v0 * LANES);
                r += 1;
            }
        }
    }

    #[inline(always)]
    unsafe fn tile<V: Vector, const R: usize, const NV: usize>(&self, row: usize, col: usize) {
        // SAFETY: every offset stays within the ranges `run`'s caller vouches for.
        unsafe {
            let zero = V::splat(0.0);
            let mut acc = [[zero; NV]; R];
            if !self.init.is_null() {
                for v in 0..NV {
                    let bias = V::load_ptr(self.init.add(col + v * LANES));
                    for acc_r in acc.iter_mut() {
                        acc_r[v] = bias;
                    }
                }
            }
            let a = self.a.add(row * self.a_rs);
            let b = self.b.add(col);
            for t in 0..self.k {
                let bt = b.add(t * self.b_rs);
                let mut bv = [zero; NV];
                for (v, x) in bv.iter_mut().enumerate() {
                    *x = V::load_ptr(bt.add(v * LANES));
                }
                let at = a.add(t * self.a_cs);
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let x = V::splat(*at.add(r * self.a_rs));
                    for v in 0..NV {
                        acc_r[v] = x.mul_add(bv[v], acc_r[v]);
                    }
                }
            }
            let one = V::splat(1.0);
            for (r, acc_r) in acc.iter().enumerate() {
                let c = self.c.add((row + r) * self.c_rs + col);
                for (v, &x) in acc_r.iter().enumerate() {
                    let y = match self.epilogue {
                        Epilogue::Store => x,
                        Epilogue::Sigmoid => x.sigmoid(),
                        Epilogue::SigmoidGrad => {
                            let z =
                                V::load_ptr(self.z.add((row + r) * self.z_rs + col + v * LANES));
                            x.mul(z.mul(one.sub(z)))
                        }
                    };
                    y.store_ptr(c.add(v * LANES));
                }
            }
        }
    }
}

/// `acc += sum over entries e of val[e] * B[idx[e]]`, for `NV` vectors of B's rows starting
/// at `b` (row stride `b_rs`), entries in order.
///
/// # Safety
/// Every `idx[e] * b_rs + NV * LANES` floats from `b` must be readable, and the CPU must
/// support `V`.
#[inline(always)]
pub(super) unsafe fn sparse_acc<V: Vector, const NV: usize>(
    acc: &mut [V; NV],
    idx: &[u32],
    val: &[f32],
    b: *const f32,
    b_rs: usize,
) {
    for (&i, &x) in idx.iter().zip(val) {
        let x = V::splat(x);
        // SAFETY: the caller vouches for row `i`.
        let row = unsafe { b.add(i as usize * b_rs) };
        for (v, a) in acc.iter_mut().enumerate() {
            // SAFETY: within the row's NV vectors.
            *a = x.mul_add(unsafe { V::load_ptr(row.add(v * LANES)) }, *a);
        }
    }
}

/// `out = init + sum over entries e of val[e] * B[idx[e]]` over `vectors` vectors, entries in
/// order, then the logistic function if `sigmoid`: one image's input layer.
///
/// # Safety
/// Every `idx[e] * b_rs + vectors * LANES` floats from `b` must be readable, `init` and `out`
/// must hold `vectors * LANES` floats, and the CPU must support `V`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gather_rows<V: Vector>(
    idx: &[u32],
    val: &[f32],
    b: *const f32,
    b_rs: usize,
    init: *const f32,
    vectors: usize,
    sigmoid: bool,
    out: *mut f32,
) {
    let mut v0 = 0;
    while v0 < vectors {
        let nv = (vectors - v0).min(8);
        let col = v0 * LANES;
        // SAFETY: forwarded from the caller; the block lies within `vectors`.
        unsafe {
            let (b, init, out) = (b.add(col), init.add(col), out.add(col));
            match nv {
                1 => gather_block::<V, 1>(idx, val, b, b_rs, init, sigmoid, out),
                2 => gather_block::<V, 2>(idx, val, b, b_rs, init, sigmoid, out),
                3 => gather_block::<V, 3>(idx, val, b, b_rs, init, sigmoid, out),
                4 => gather_block::<V, 4>(idx, val, b, b_rs, init, sigmoid, out),
                5 => gather_block::<V, 5>(idx, val, b, b_rs, init, sigmoid, out),
                6 => gather_block::<V, 6>(idx, val, b, b_rs, init, sigmoid, out),
                7 => gather_block::<V, 7>(idx, val, b, b_rs, init, sigmoid, out),
                _ => gather_block::<V, 8>(idx, val, b, b_rs, init, sigmoid, out),
            }
        }
        v0 += nv;
    }
}

#[inline(always)]
unsafe fn gather_block<V: Vector, const NV: usize>(
    idx: &[u32],
    val: &[f32],
    b: *const f32,
    b_rs: usize,
    init: *const f32,
    sigmoid: bool,
    out: *mut f32,
) {
    // SAFETY: forwarded from `gather_rows`.
    unsafe {
        let mut acc = [V::splat(0.0); NV];
        for (v, a) in acc.iter_mut().enumerate() {
            *a = V::load_ptr(init.add(v * LANES));
        }
        sparse_acc::<V, NV>(&mut acc, idx, val, b, b_rs);
        for (v, &a) in acc.iter().enumerate() {
            let y = if sigmoid { a.sigmoid() } else { a };
            y.store_ptr(out.add(v * LANES));
        }
    }
}

/// `out[row - r0] += val[e] * w` for every entry e (with `row = rows[e]`), over `vectors`
/// vectors: one image's contribution to the input layer's weight gradient, at the rows of
/// its pixels. `w` (the image's delta) is held in registers (up to 8 vectors at a time)
/// while the output rows stream past.
///
/// # Safety
/// `w` must hold `vectors * LANES` floats, `out` rows `rows[e] - r0` of `out_rs` floats
/// (`vectors * LANES` of them written) for every entry, and the CPU must support `V`.
#[inline(always)]
pub(super) unsafe fn scatter_rows<V: Vector>(
    rows: &[u32],
    vals: &[f32],
    r0: usize,
    w: *const f32,
    vectors: usize,
    out: *mut f32,
    out_rs: usize,
) {
    let mut v0 = 0;
    while v0 < vectors {
        let nv = (vectors - v0).min(8);
        let col = v0 * LANES;
        // SAFETY: forwarded from the caller; the block lies within `vectors`.
        unsafe {
            let (w, out) = (w.add(col), out.add(col));
            match nv {
                1 => scatter_block::<V, 1>(rows, vals, r0, w, out, out_rs),
                2 => scatter_block::<V, 2>(rows, vals, r0, w, out, out_rs),
                3 => scatter_block::<V, 3>(rows, vals, r0, w, out, out_rs),
                4 => scatter_block::<V, 4>(rows, vals, r0, w, out, out_rs),
                5 => scatter_block::<V, 5>(rows, vals, r0, w, out, out_rs),
                6 => scatter_block::<V, 6>(rows, vals, r0, w, out, out_rs),
                7 => scatter_block::<V, 7>(rows, vals, r0, w, out, out_rs),
                _ => scatter_block::<V, 8>(rows, vals, r0, w, out, out_rs),
            }
        }
        v0 += nv;
    }
}

#[inline(always)]
unsafe fn scatter_block<V: Vector, const NV: usize>(
    rows: &[u32],
    vals: &[f32],
    r0: usize,
    w: *const f32,
    out: *mut f32,
    out_rs: usize,
) {
    // SAFETY: forwarded from `scatter_rows`.
    unsafe {
        let mut wv = [V::splat(0.0); NV];
        for (v, x) in wv.iter_mut().enumerate() {
            *x = V::load_ptr(w.add(v * LANES));
        }
        for (&i, &x) in rows.iter().zip(vals) {
            let x = V::splat(x);
            let o = out.add((i as usize - r0) * out_rs);
            for (v, &wv) in wv.iter().enumerate() {
                let o = o.add(v * LANES);
                x.mul_add(wv, V::load_ptr(o)).store_ptr(o);
            }
        }
    }
}
