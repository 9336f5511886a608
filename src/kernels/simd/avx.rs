//! [`Avx`], the [`Vector`] of an AVX2 `__m256` (8 floats), for the AVX2+FMA path.

use std::arch::x86_64::*;

use super::LANES;
use super::vector::Vector;

/// An AVX2 register of 8 floats. Only the dispatch names this type, in functions compiled
/// with AVX2 and FMA that run after detection (see the `simd` module): its methods' `unsafe`
/// blocks rely on it.
#[derive(Clone, Copy)]
pub(super) struct Avx(__m256);

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
        let n_bits = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_castps_si256(s(ROUND)));
        let scale = _mm256_slli_epi32::<23>(_mm256_add_epi32(n_bits, _mm256_set1_epi32(127)));
        _mm256_mul_ps(y, _mm256_castsi256_ps(scale))
    }
}
