//! [`Avx512`], the [`Vector`] of an AVX-512 `__m512` (16 floats), for the AVX-512 path.

use std::arch::x86_64::*;

use super::vector::Vector;

/// Floats in one AVX-512 register.
const LANES: usize = 16;

/// An AVX-512 register of 16 floats. Only the dispatch names this type, in functions
/// compiled with AVX-512 F and BW, AVX2 and FMA that run after detection (see the `simd`
/// module): its methods' `unsafe` blocks rely on it.
#[derive(Clone, Copy)]
pub(super) struct Avx512(__m512);

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

/// `s` (the sigmoid of `x`), 0 where `x` is below [`SIGMOID_FLOOR`](super::math::SIGMOID_FLOOR).
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
        let n_bits = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_castps_si512(s(ROUND)));
        let scale = _mm512_slli_epi32::<23>(_mm512_add_epi32(n_bits, _mm512_set1_epi32(127)));
        _mm512_mul_ps(y, _mm512_castsi512_ps(scale))
    }
}

#[cfg(test)]
mod tests {
    use crate::kernels::simd::{Kernel, Path, Vector};

    /// The sigmoid of the path's widest vector over `xs`, a vector at a time.
    struct Sigmoid<'a>(&'a mut [f32]);

    impl Kernel for Sigmoid<'_> {
        type Output = ();

        #[inline(always)]
        fn run<W: Vector, V: Vector>(self) {
            for chunk in self.0.chunks_exact_mut(W::LANES) {
                W::load(chunk).sigmoid().store(chunk);
            }
        }
    }

    #[test]
    fn avx512_sigmoid_is_accurate_and_saturates() {
        let Some(simd) = Path::Avx512.simd() else {
            eprintln!("this CPU lacks AVX-512: its sigmoid is not tested here");
            return;
        };
        let mut xs: Vec<f32> = (0..16 * 1300)
            .map(|i| (i as f32 - 10_400.0) * 0.01)
            .collect();
        xs.extend([1e30, -1e30, 88.0, -88.0, 100.0, -100.0, 0.0, -0.0].repeat(2));
        let want: Vec<f64> = xs
            .iter()
            .map(|&x| 1.0 / (1.0 + (-f64::from(x)).exp()))
            .collect();
        // On this path the widest vector is `Avx512`.
        simd.run(Sigmoid(&mut xs));
        for (got, want) in xs.iter().zip(want) {
            assert!((f64::from(*got) - want).abs() <= 3e-7, "{got} vs {want}");
            assert!((0.0..=1.0).contains(got));
        }
    }
}
