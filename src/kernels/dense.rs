//! The dense layers of the pass: `act(x·W + b)` in register tiles, several images sharing
//! each weight load.

use super::packed::{Act, MAX_TILE, PackedLayer};
use super::simd::Vector;

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
pub(super) const WIDE_GROUP: usize = 8;

/// `out = act(x·W + b)` for `count` images: row `j` of `x` starts at `j * x_stride` and row
/// `j` of `out` at `j * layer.stride`. Groups of `GROUP` images share each weight load.
#[inline(always)]
pub(super) fn dense<V: Vector>(
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
