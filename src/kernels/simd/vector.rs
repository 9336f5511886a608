//! The [`Vector`] trait, the operations a kernel's tile needs on one SIMD vector of floats,
//! and [`Portable`], its plain-Rust version for any CPU (8 floats in an array, vectorized as
//! far as the target's baseline allows). The kernels are written once, generic over
//! [`Vector`], so the accumulators of a tile are named registers rather than an array the
//! optimizer may leave on the stack.

use super::{LANES, math};

/// The operations a tile needs.
pub trait Vector: Copy {
    /// Floats per vector (below, `LANES` means this one).
    const LANES: usize;
    /// Vector registers the tiles can hold their accumulators in.
    const REGISTERS: usize;
    /// Loads `src[..LANES]`.
    fn load(src: &[f32]) -> Self;
    /// Loads `LANES` floats from `src`.
    ///
    /// # Safety
    /// `src` must point to `LANES` readable floats.
    unsafe fn load_ptr(src: *const f32) -> Self;
    /// Every lane set to `v`.
    fn splat(v: f32) -> Self;
    /// `self * a + b`.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `self * a`, lane by lane.
    fn mul(self, a: Self) -> Self;
    /// `self - a`, lane by lane.
    fn sub(self, a: Self) -> Self;
    /// `self + a`, lane by lane.
    fn add(self, a: Self) -> Self;
    /// Stores into `dst[..LANES]`.
    fn store(self, dst: &mut [f32]);
    /// Stores `LANES` floats at `dst`.
    ///
    /// # Safety
    /// `dst` must point to `LANES` writable floats.
    unsafe fn store_ptr(self, dst: *mut f32);
    /// The logistic function, lane by lane.
    fn sigmoid(self) -> Self;
    /// e^x, lane by lane (the same approximation as the sigmoid's).
    fn exp(self) -> Self;
    /// The larger of `self` and `a`, lane by lane (for finite values).
    fn max(self, a: Self) -> Self;
    /// The largest lane.
    fn reduce_max(self) -> f32;
    /// The sum of the lanes (in a tree order of the vector's own).
    fn reduce_add(self) -> f32;
    /// Lanes `0..n` as they are, the rest set to `fill` (`n` at most `LANES`).
    fn keep_first(self, n: usize, fill: f32) -> Self;
    /// The logistic function as 1 / (1 + e^-x) with a true division: on every path with
    /// FMA, the same bits lane for lane whatever the vector width (the trainer relies on
    /// it, so that its weights do not depend on the CPU having AVX-512).
    #[inline(always)]
    fn sigmoid_exact(self) -> Self {
        self.sigmoid()
    }
    /// Bit `k` set where `bytes[k]` is not zero.
    #[inline(always)]
    fn nonzero_bytes(bytes: &[u8; 64]) -> u64 {
        let mut bits = 0;
        for (k, &b) in bytes.iter().enumerate() {
            bits |= u64::from(b != 0) << k;
        }
        bits
    }
}

/// Plain arrays; LLVM vectorizes what the target's baseline allows.
#[derive(Clone, Copy)]
pub struct Portable([f32; LANES]);

impl Vector for Portable {
    const LANES: usize = LANES;
    // Two SSE registers per vector on baseline x86-64: 8 vectors' worth.
    const REGISTERS: usize = 8;

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let mut v = [0.0; LANES];
        v.copy_from_slice(&src[..LANES]);
        Portable(v)
    }

    #[inline(always)]
    unsafe fn load_ptr(src: *const f32) -> Self {
        // SAFETY: the caller vouches for LANES floats at `src`.
        Portable(unsafe { src.cast::<[f32; LANES]>().read_unaligned() })
    }

    #[inline(always)]
    fn splat(v: f32) -> Self {
        Portable([v; LANES])
    }

    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Portable(std::array::from_fn(|l| self.0[l] * a.0[l] + b.0[l]))
    }

    #[inline(always)]
    fn mul(self, a: Self) -> Self {
        Portable(std::array::from_fn(|l| self.0[l] * a.0[l]))
    }

    #[inline(always)]
    fn sub(self, a: Self) -> Self {
        Portable(std::array::from_fn(|l| self.0[l] - a.0[l]))
    }

    #[inline(always)]
    fn add(self, a: Self) -> Self {
        Portable(std::array::from_fn(|l| self.0[l] + a.0[l]))
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        dst[..LANES].copy_from_slice(&self.0);
    }

    #[inline(always)]
    unsafe fn store_ptr(self, dst: *mut f32) {
        // SAFETY: the caller vouches for LANES writable floats at `dst`.
        unsafe { dst.cast::<[f32; LANES]>().write_unaligned(self.0) }
    }

    #[inline(always)]
    fn sigmoid(mut self) -> Self {
        math::sigmoid_lanes::<false>(&mut self.0);
        self
    }

    #[inline(always)]
    fn exp(self) -> Self {
        Portable(self.0.map(math::exp::<false>))
    }

    #[inline(always)]
    fn max(self, a: Self) -> Self {
        Portable(std::array::from_fn(|l| self.0[l].max(a.0[l])))
    }

    #[inline(always)]
    fn reduce_max(self) -> f32 {
        self.0.into_iter().fold(f32::NEG_INFINITY, f32::max)
    }

    #[inline(always)]
    fn reduce_add(self) -> f32 {
        let [a, b, c, d, e, f, g, h] = self.0;
        ((a + e) + (c + g)) + ((b + f) + (d + h))
    }

    #[inline(always)]
    fn keep_first(self, n: usize, fill: f32) -> Self {
        Portable(std::array::from_fn(
            |l| if l < n { self.0[l] } else { fill },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::simd::{Kernel, Path};

    /// Both sigmoids of `V` over `xs` (a whole number of vectors).
    #[inline(always)]
    fn both_sigmoids<V: Vector>(xs: &[f32]) -> [Vec<f32>; 2] {
        let run = |exact: bool| {
            let mut out = xs.to_vec();
            for chunk in out.chunks_exact_mut(V::LANES) {
                let v = V::load(chunk);
                if exact {
                    v.sigmoid_exact()
                } else {
                    v.sigmoid()
                }
                .store(chunk);
            }
            out
        };
        [run(false), run(true)]
    }

    /// Both sigmoids of both of a path's vector types.
    struct Sigmoids<'a>(&'a [f32]);

    impl Kernel for Sigmoids<'_> {
        type Output = [[Vec<f32>; 2]; 2];

        #[inline(always)]
        fn run<W: Vector, V: Vector>(self) -> Self::Output {
            [both_sigmoids::<W>(self.0), both_sigmoids::<V>(self.0)]
        }
    }

    #[test]
    fn no_sigmoid_returns_a_subnormal() {
        let mut xs: Vec<f32> = (0..16 * 500).map(|i| (i as f32 - 4000.0) * 0.05).collect();
        xs.extend([f32::MAX, -1e30, f32::MIN, -60.5, -59.5, 1e30, 0.0, -0.0]);
        xs.extend([-87.5, -88.0, -89.0, -100.0, -200.0, -1000.0, -3.0, 3.0]);
        // Every vector type of every path this CPU runs (the portable one always).
        let outputs: Vec<[Vec<f32>; 2]> = Path::ALL
            .into_iter()
            .filter_map(Path::simd)
            .flat_map(|simd| simd.run(Sigmoids(&xs)))
            .collect();
        for out in outputs.iter().flatten() {
            for (&x, &y) in xs.iter().zip(out) {
                if x < math::SIGMOID_FLOOR {
                    assert_eq!(y.to_bits(), 0, "sigmoid({x}) = {y}, not +0");
                } else {
                    assert!((f32::MIN_POSITIVE..=1.0).contains(&y), "sigmoid({x}) = {y}");
                }
            }
        }
    }
}
