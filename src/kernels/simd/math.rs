//! Lane-wise math written so that LLVM vectorizes it: a branch-free `exp`, the sigmoid on
//! one 8-float vector, and (for the tests) a row softmax. `FMA` picks fused multiply-add (only where the CPU
//! has it: without it `mul_add` becomes a slow libm call).

use super::LANES;

/// `a * b + c`, fused when `FMA`.
#[inline(always)]
pub fn fma<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// e^x for finite x, relative error below 2e-7 (Cephes `expf`: range reduction by ln 2,
/// degree-5 polynomial, exponent built from integer bits). Inputs are clamped to
/// [-87.3, 88.0] so the result stays a normal float; no branches, so it vectorizes.
#[inline(always)]
pub fn exp<const FMA: bool>(x: f32) -> f32 {
    // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.0);
    let shifted = fma::<FMA>(x, std::f32::consts::LOG2_E, ROUND);
    let n = shifted - ROUND;
    // ln 2 split in two so that n * LN2_HI is exact.
    let r = fma::<FMA>(n, -0.693_359_4, x);
    let r = fma::<FMA>(n, 2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4;
    p = fma::<FMA>(p, r, 1.398_199_9e-3);
    p = fma::<FMA>(p, r, 8.333_452e-3);
    p = fma::<FMA>(p, r, 4.166_579_6e-2);
    p = fma::<FMA>(p, r, 1.666_666_5e-1);
    p = fma::<FMA>(p, r, 0.5);
    let y = fma::<FMA>(p, r * r, r) + 1.0;
    // The low mantissa bits of `shifted` hold n itself (two's complement): taking them
    // avoids a float-to-int conversion, which Rust makes saturating and slow to vectorize.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f32::from_bits(n_bits.wrapping_add(127) << 23);
    y * scale
}

/// Below this input the sigmoid is taken as exactly 0 (every vector path does the same).
/// Its true value there is under 1e-26 (e^-60); computed, it would reach the subnormal
/// floats (below 1.2e-38), directly or in the products that follow (a derivative times a
/// delta, an activation times a delta), and each operation on a subnormal costs a microcode
/// assist of about a hundred cycles on Intel cores: with `--norm raw` (pixels up to 255),
/// where many hidden units saturate, a training epoch took 3.3 s instead of 0.23 s.
/// Flushing in the CPU's control register instead would be undefined behaviour in Rust.
pub const SIGMOID_FLOOR: f32 = -60.0;

/// The logistic function on one vector of lanes, in place.
#[inline(always)]
pub fn sigmoid_lanes<const FMA: bool>(a: &mut [f32; LANES]) {
    for v in a.iter_mut() {
        let s = 1.0 / (1.0 + exp::<FMA>(-*v));
        *v = if *v < SIGMOID_FLOOR { 0.0 } else { s };
    }
}

/// Softmax in place, the row maximum subtracted first (the overflow guard).
#[cfg(test)]
pub fn softmax<const FMA: bool>(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = exp::<FMA>(*v - max);
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_over_the_useful_range() {
        let mut x = -87.0f32;
        while x < 88.0 {
            for got in [exp::<false>(x), exp::<true>(x)] {
                let want = f64::from(x).exp();
                let rel = ((f64::from(got) - want) / want).abs();
                assert!(rel < 3e-7, "exp({x}) = {got}, want {want}, rel {rel}");
            }
            x += 0.037;
        }
    }

    #[test]
    fn exp_saturates_instead_of_overflowing() {
        assert!(exp::<false>(1000.0).is_finite());
        assert!(exp::<false>(-1000.0) >= 0.0);
        let mut big = [1e30f32, -1e30, 0.0, 5.0, -5.0, 88.0, -88.0, 1.0];
        sigmoid_lanes::<false>(&mut big);
        assert!(big.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(big[2], 0.5);
    }

    #[test]
    fn softmax_handles_large_scores() {
        let mut row = [1010.0f32, 1000.0, 990.0];
        softmax::<false>(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((row[0] - 0.999_954_6).abs() < 1e-6);
    }
}
