//! One SIMD vector of floats, three ways: [`Portable`] (8 floats in a plain array, for any
//! CPU), [`Avx`] (an AVX2 `__m256`, only built into code compiled with `avx2,fma` enabled)
//! and [`Avx512`] (a 16-float `__m512`, only built into code compiled with `avx512f` and
//! `avx512bw`). The kernels are written once, generic over [`Vector`], so the accumulators
//! of a tile are named registers rather than an array the optimizer may leave on the stack.

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

#[cfg(target_arch = "x86_64")]
pub use avx::Avx;
#[cfg(target_arch = "x86_64")]
pub use avx512::Avx512;

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    use super::{LANES, Vector};

    /// An AVX2 register of 8 floats. Its methods are only inlined into functions compiled
    /// with `#[target_feature(enable = "avx2,fma")]`, which run only after detection.
    #[derive(Clone, Copy)]
    pub struct Avx(__m256);

    impl Vector for Avx {
        const LANES: usize = LANES;
        const REGISTERS: usize = 16;

        #[inline(always)]
        fn load(src: &[f32]) -> Self {
            let src = &src[..LANES];
            // SAFETY: `src` holds LANES floats; the load is unaligned.
            Avx(unsafe { _mm256_loadu_ps(src.as_ptr()) })
        }

        #[inline(always)]
        unsafe fn load_ptr(src: *const f32) -> Self {
            // SAFETY: the caller vouches for LANES floats at `src`.
            Avx(unsafe { _mm256_loadu_ps(src) })
        }

        #[inline(always)]
        fn splat(v: f32) -> Self {
            // SAFETY: AVX is enabled in every caller (see the type's doc).
            Avx(unsafe { _mm256_set1_ps(v) })
        }

        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            // SAFETY: FMA is enabled in every caller.
            Avx(unsafe { _mm256_fmadd_ps(self.0, a.0, b.0) })
        }

        #[inline(always)]
        fn mul(self, a: Self) -> Self {
            // SAFETY: AVX is enabled in every caller.
            Avx(unsafe { _mm256_mul_ps(self.0, a.0) })
        }

        #[inline(always)]
        fn sub(self, a: Self) -> Self {
            // SAFETY: AVX is enabled in every caller.
            Avx(unsafe { _mm256_sub_ps(self.0, a.0) })
        }

        #[inline(always)]
        fn add(self, a: Self) -> Self {
            // SAFETY: AVX is enabled in every caller.
            Avx(unsafe { _mm256_add_ps(self.0, a.0) })
        }

        #[inline(always)]
        fn store(self, dst: &mut [f32]) {
            let dst = &mut dst[..LANES];
            // SAFETY: `dst` has room for LANES floats; the store is unaligned.
            unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), self.0) }
        }

        #[inline(always)]
        unsafe fn store_ptr(self, dst: *mut f32) {
            // SAFETY: the caller vouches for LANES writable floats at `dst`.
            unsafe { _mm256_storeu_ps(dst, self.0) }
        }

        #[inline(always)]
        fn sigmoid(self) -> Self {
            // SAFETY: AVX2 and FMA are enabled in every caller.
            unsafe {
                let one = _mm256_set1_ps(1.0);
                let e = exp(_mm256_sub_ps(_mm256_setzero_ps(), self.0));
                let s = _mm256_div_ps(one, _mm256_add_ps(one, e));
                let floor = _mm256_set1_ps(super::math::SIGMOID_FLOOR);
                let below = _mm256_cmp_ps::<_CMP_LT_OQ>(self.0, floor);
                Avx(_mm256_andnot_ps(below, s))
            }
        }

        #[inline(always)]
        fn exp(self) -> Self {
            // SAFETY: AVX2 and FMA are enabled in every caller.
            Avx(unsafe { exp(self.0) })
        }

        #[inline(always)]
        fn max(self, a: Self) -> Self {
            // SAFETY: AVX is enabled in every caller.
            Avx(unsafe { _mm256_max_ps(self.0, a.0) })
        }

        #[inline(always)]
        fn reduce_max(self) -> f32 {
            // SAFETY: AVX is enabled in every caller.
            unsafe {
                let m = _mm_max_ps(
                    _mm256_castps256_ps128(self.0),
                    _mm256_extractf128_ps::<1>(self.0),
                );
                let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
                _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)))
            }
        }

        #[inline(always)]
        fn reduce_add(self) -> f32 {
            // SAFETY: AVX is enabled in every caller.
            unsafe {
                let s = _mm_add_ps(
                    _mm256_castps256_ps128(self.0),
                    _mm256_extractf128_ps::<1>(self.0),
                );
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
            }
        }

        #[inline(always)]
        fn keep_first(self, n: usize, fill: f32) -> Self {
            // SAFETY: AVX is enabled in every caller.
            unsafe {
                let lane = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
                let keep = _mm256_cmp_ps::<_CMP_LT_OQ>(lane, _mm256_set1_ps(n as f32));
                Avx(_mm256_blendv_ps(_mm256_set1_ps(fill), self.0, keep))
            }
        }

        #[inline(always)]
        fn nonzero_bytes(bytes: &[u8; 64]) -> u64 {
            // SAFETY: 64 bytes, two loads of 32; AVX2 is enabled in every caller.
            let zero = unsafe {
                let lo = Self::zero_bytes(bytes.as_ptr());
                let hi = Self::zero_bytes(bytes.as_ptr().add(32));
                u64::from(lo) | u64::from(hi) << 32
            };
            !zero
        }
    }

    impl Avx {
        /// Bit `k` set where `bytes[k]` is zero, for 32 bytes.
        #[inline(always)]
        unsafe fn zero_bytes(bytes: *const u8) -> u32 {
            // SAFETY: the caller vouches for 32 readable bytes and has AVX2.
            unsafe {
                let v = _mm256_loadu_si256(bytes.cast());
                _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256())) as u32
            }
        }
    }

    /// The same `exp` as `math::exp`, eight lanes at once.
    #[inline(always)]
    unsafe fn exp(x: __m256) -> __m256 {
        const ROUND: f32 = 12_582_912.0;
        // SAFETY: the caller has AVX2 and FMA.
        unsafe {
            let s = _mm256_set1_ps;
            let x = _mm256_min_ps(_mm256_max_ps(x, s(-87.3)), s(88.0));
            let shifted = _mm256_fmadd_ps(x, s(std::f32::consts::LOG2_E), s(ROUND));
            let n = _mm256_sub_ps(shifted, s(ROUND));
            let r = _mm256_fmadd_ps(n, s(-0.693_359_4), x);
            let r = _mm256_fmadd_ps(n, s(2.121_944_4e-4), r);
            let mut p = s(1.987_569_1e-4);
            p = _mm256_fmadd_ps(p, r, s(1.398_199_9e-3));
            p = _mm256_fmadd_ps(p, r, s(8.333_452e-3));
            p = _mm256_fmadd_ps(p, r, s(4.166_579_6e-2));
            p = _mm256_fmadd_ps(p, r, s(1.666_666_5e-1));
            p = _mm256_fmadd_ps(p, r, s(0.5));
            let y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), s(1.0));
            let n_bits =
                _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_castps_si256(s(ROUND)));
            let scale = _mm256_slli_epi32::<23>(_mm256_add_epi32(n_bits, _mm256_set1_epi32(127)));
            _mm256_mul_ps(y, _mm256_castsi256_ps(scale))
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::Vector;

    /// Floats in one AVX-512 register.
    const LANES: usize = 16;

    /// An AVX-512 register of 16 floats. Its methods are only inlined into functions compiled
    /// with `#[target_feature(enable = "avx512f,avx512bw,avx2,fma")]`, which run only after
    /// detection.
    #[derive(Clone, Copy)]
    pub struct Avx512(__m512);

    impl Vector for Avx512 {
        const LANES: usize = LANES;
        const REGISTERS: usize = 32;

        #[inline(always)]
        fn load(src: &[f32]) -> Self {
            let src = &src[..LANES];
            // SAFETY: `src` holds LANES floats; the load is unaligned.
            Avx512(unsafe { _mm512_loadu_ps(src.as_ptr()) })
        }

        #[inline(always)]
        unsafe fn load_ptr(src: *const f32) -> Self {
            // SAFETY: the caller vouches for LANES floats at `src`.
            Avx512(unsafe { _mm512_loadu_ps(src) })
        }

        #[inline(always)]
        fn splat(v: f32) -> Self {
            // SAFETY: AVX-512F is enabled in every caller (see the type's doc).
            Avx512(unsafe { _mm512_set1_ps(v) })
        }

        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            // SAFETY: AVX-512F is enabled in every caller.
            Avx512(unsafe { _mm512_fmadd_ps(self.0, a.0, b.0) })
        }

        #[inline(always)]
        fn mul(self, a: Self) -> Self {
            // SAFETY: AVX-512F is enabled in every caller.
            Avx512(unsafe { _mm512_mul_ps(self.0, a.0) })
        }

        #[inline(always)]
        fn sub(self, a: Self) -> Self {
            // SAFETY: AVX-512F is enabled in every caller.
            Avx512(unsafe { _mm512_sub_ps(self.0, a.0) })
        }

        #[inline(always)]
        fn add(self, a: Self) -> Self {
            // SAFETY: AVX-512F is enabled in every caller.
            Avx512(unsafe { _mm512_add_ps(self.0, a.0) })
        }

        #[inline(always)]
        fn store(self, dst: &mut [f32]) {
            let dst = &mut dst[..LANES];
            // SAFETY: `dst` has room for LANES floats; the store is unaligned.
            unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), self.0) }
        }

        #[inline(always)]
        unsafe fn store_ptr(self, dst: *mut f32) {
            // SAFETY: the caller vouches for LANES writable floats at `dst`.
            unsafe { _mm512_storeu_ps(dst, self.0) }
        }

        #[inline(always)]
        fn sigmoid(self) -> Self {
            // SAFETY: AVX-512F is enabled in every caller.
            // 1 / d as a 14-bit estimate refined by one Newton step (error about 2^-24,
            // within a rounding of the division): a zmm division takes 10 cycles or more
            // of the divider, the estimate and the step 4 cheap instructions.
            unsafe {
                let one = _mm512_set1_ps(1.0);
                let e = exp(_mm512_sub_ps(_mm512_setzero_ps(), self.0));
                let d = _mm512_add_ps(one, e);
                let r = _mm512_rcp14_ps(d);
                let s = _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, one), r);
                Avx512(floored(self.0, s))
            }
        }

        #[inline(always)]
        fn exp(self) -> Self {
            // SAFETY: AVX-512F is enabled in every caller.
            Avx512(unsafe { exp(self.0) })
        }

        #[inline(always)]
        fn max(self, a: Self) -> Self {
            // SAFETY: AVX-512F is enabled in every caller.
            Avx512(unsafe { _mm512_max_ps(self.0, a.0) })
        }

        #[inline(always)]
        fn reduce_max(self) -> f32 {
            // SAFETY: AVX-512F is enabled in every caller.
            unsafe { _mm512_reduce_max_ps(self.0) }
        }

        #[inline(always)]
        fn reduce_add(self) -> f32 {
            // SAFETY: AVX-512F is enabled in every caller.
            unsafe { _mm512_reduce_add_ps(self.0) }
        }

        #[inline(always)]
        fn keep_first(self, n: usize, fill: f32) -> Self {
            let keep = if n >= LANES {
                u16::MAX
            } else {
                (1u16 << n) - 1
            };
            // SAFETY: AVX-512F is enabled in every caller.
            Avx512(unsafe { _mm512_mask_blend_ps(keep, _mm512_set1_ps(fill), self.0) })
        }

        #[inline(always)]
        fn sigmoid_exact(self) -> Self {
            // SAFETY: AVX-512F is enabled in every caller.
            unsafe {
                let one = _mm512_set1_ps(1.0);
                let e = exp(_mm512_sub_ps(_mm512_setzero_ps(), self.0));
                Avx512(floored(self.0, _mm512_div_ps(one, _mm512_add_ps(one, e))))
            }
        }

        #[inline(always)]
        fn nonzero_bytes(bytes: &[u8; 64]) -> u64 {
            // SAFETY: 64 readable bytes, one unaligned load; AVX-512BW is enabled in every
            // caller.
            unsafe {
                let v = _mm512_loadu_si512(bytes.as_ptr().cast());
                _mm512_cmpneq_epi8_mask(v, _mm512_setzero_si512())
            }
        }
    }

    /// `s` (the sigmoid of `x`), 0 where `x` is below [`math::SIGMOID_FLOOR`].
    #[inline(always)]
    unsafe fn floored(x: __m512, s: __m512) -> __m512 {
        // SAFETY: the caller has AVX-512F.
        unsafe {
            let floor = _mm512_set1_ps(super::math::SIGMOID_FLOOR);
            let below = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, floor);
            _mm512_mask_blend_ps(below, s, _mm512_setzero_ps())
        }
    }

    /// The same `exp` as `math::exp`, sixteen lanes at once.
    #[inline(always)]
    unsafe fn exp(x: __m512) -> __m512 {
        const ROUND: f32 = 12_582_912.0;
        // SAFETY: the caller has AVX-512F.
        unsafe {
            let s = _mm512_set1_ps;
            let x = _mm512_min_ps(_mm512_max_ps(x, s(-87.3)), s(88.0));
            let shifted = _mm512_fmadd_ps(x, s(std::f32::consts::LOG2_E), s(ROUND));
            let n = _mm512_sub_ps(shifted, s(ROUND));
            let r = _mm512_fmadd_ps(n, s(-0.693_359_4), x);
            let r = _mm512_fmadd_ps(n, s(2.121_944_4e-4), r);
            let mut p = s(1.987_569_1e-4);
            p = _mm512_fmadd_ps(p, r, s(1.398_199_9e-3));
            p = _mm512_fmadd_ps(p, r, s(8.333_452e-3));
            p = _mm512_fmadd_ps(p, r, s(4.166_579_6e-2));
            p = _mm512_fmadd_ps(p, r, s(1.666_666_5e-1));
            p = _mm512_fmadd_ps(p, r, s(0.5));
            let y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), s(1.0));
            let n_bits =
                _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_castps_si512(s(ROUND)));
            let scale = _mm512_slli_epi32::<23>(_mm512_add_epi32(n_bits, _mm512_set1_epi32(127)));
            _mm512_mul_ps(y, _mm512_castsi512_ps(scale))
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::kernels::Path;

    /// `Avx512::sigmoid` over `xs`, 16 at a time.
    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
    fn avx512_sigmoid(xs: &mut [f32]) {
        for chunk in xs.chunks_exact_mut(16) {
            Avx512::load(chunk).sigmoid().store(chunk);
        }
    }

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

    #[target_feature(enable = "avx2,fma")]
    fn avx_sigmoids(xs: &[f32]) -> [Vec<f32>; 2] {
        both_sigmoids::<Avx>(xs)
    }

    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
    fn avx512_sigmoids(xs: &[f32]) -> [Vec<f32>; 2] {
        both_sigmoids::<Avx512>(xs)
    }

    #[test]
    fn no_sigmoid_returns_a_subnormal() {
        let mut xs: Vec<f32> = (0..16 * 500).map(|i| (i as f32 - 4000.0) * 0.05).collect();
        xs.extend([f32::MAX, -1e30, f32::MIN, -60.5, -59.5, 1e30, 0.0, -0.0]);
        xs.extend([-87.5, -88.0, -89.0, -100.0, -200.0, -1000.0, -3.0, 3.0]);
        let mut outputs = vec![both_sigmoids::<Portable>(&xs)];
        // SAFETY (both): the CPU has the features (checked first).
        if Path::Avx2Fma.supported() {
            outputs.push(unsafe { avx_sigmoids(&xs) });
        }
        if Path::Avx512.supported() {
            outputs.push(unsafe { avx512_sigmoids(&xs) });
        }
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

    #[test]
    fn avx512_sigmoid_is_accurate_and_saturates() {
        if !Path::Avx512.supported() {
            eprintln!("this CPU lacks AVX-512: its sigmoid is not tested here");
            return;
        }
        let mut xs: Vec<f32> = (0..16 * 1300)
            .map(|i| (i as f32 - 10_400.0) * 0.01)
            .collect();
        xs.extend([1e30, -1e30, 88.0, -88.0, 100.0, -100.0, 0.0, -0.0].repeat(2));
        let want: Vec<f64> = xs
            .iter()
            .map(|&x| 1.0 / (1.0 + (-f64::from(x)).exp()))
            .collect();
        // SAFETY: the CPU has the features (checked above).
        unsafe { avx512_sigmoid(&mut xs) };
        for (got, want) in xs.iter().zip(want) {
            assert!((f64::from(*got) - want).abs() <= 3e-7, "{got} vs {want}");
            assert!((0.0..=1.0).contains(got));
        }
    }
}
