//! Input normalization modes, applied per batch from u8 pixels to f32, and the L1/L2/max
//! norms of a vector before and after a mode is applied.

use std::fmt;

use crate::whiten;

/// Mean of all MNIST training pixels scaled to 0..1 (x/255), over 47,040,000 pixels.
/// Computed in f64 from `data/train-images-idx3-ubyte.gz`; a unit test recomputes it.
pub const ZSCORE_MEAN: f64 = 0.130_660_476_273_842_9;
/// Standard deviation (population) of the same pixels, computed the same way.
pub const ZSCORE_STD: f64 = 0.308_107_803_856_462_64;

/// How raw pixels (0..255) become network input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NormMode {
    /// Pixels as they are, 0..255.
    Raw,
    /// x / 255, the book's `normalize=True`.
    #[default]
    Div255,
    /// x / sum|x| (the vector's L1 norm becomes 1).
    L1,
    /// x / sqrt(sum x^2) (the vector's L2 norm becomes 1).
    L2,
    /// x / max|x| (scikit-learn's per-sample max norm).
    Max,
    /// (x/255 - mean) / std with the MNIST training-set pixel mean 0.1307 and std 0.3081.
    Zscore,
    /// PCA whitening of x/255, fitted on the training split ([`crate::whiten`]).
    Pca,
    /// ZCA whitening of x/255, fitted on the training split ([`crate::whiten`]).
    Zca,
}

/// The L1, L2 and max norms of one vector.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Norms {
    /// Sum of absolute values.
    pub l1: f64,
    /// Square root of the sum of squares.
    pub l2: f64,
    /// Largest absolute value.
    pub max: f64,
}

impl Norms {
    /// Norms of raw pixels, summed exactly in integers.
    pub fn of_pixels(pixels: &[u8]) -> Self {
        let (mut l1, mut sq, mut max) = (0u64, 0u64, 0u8);
        for &p in pixels {
            l1 += u64::from(p);
            sq += u64::from(p) * u64::from(p);
            max = max.max(p);
        }
        Self {
            l1: l1 as f64,
            l2: (sq as f64).sqrt(),
            max: f64::from(max),
        }
    }

    /// Norms of a float vector, accumulated in f64.
    pub fn of_values(x: &[f32]) -> Self {
        let (mut l1, mut sq, mut max) = (0f64, 0f64, 0f64);
        for &v in x {
            let a = f64::from(v).abs();
            l1 += a;
            sq += a * a;
            max = max.max(a);
        }
        Self {
            l1,
            l2: sq.sqrt(),
            max,
        }
    }
}

impl NormMode {
    /// Every mode, in the order the UI cycles through them.
    pub const ALL: [NormMode; 8] = [
        NormMode::Raw,
        NormMode::Div255,
        NormMode::L1,
        NormMode::L2,
        NormMode::Max,
        NormMode::Zscore,
        NormMode::Pca,
        NormMode::Zca,
    ];

    /// The modes that need nothing but the image itself (no fit on a training split).
    pub const PER_IMAGE: [NormMode; 6] = [
        NormMode::Raw,
        NormMode::Div255,
        NormMode::L1,
        NormMode::L2,
        NormMode::Max,
        NormMode::Zscore,
    ];

    /// The name used on the command line and in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            NormMode::Raw => "raw",
            NormMode::Div255 => "div255",
            NormMode::L1 => "l1",
            NormMode::L2 => "l2",
            NormMode::Max => "max",
            NormMode::Zscore => "zscore",
            NormMode::Pca => "pca",
            NormMode::Zca => "zca",
        }
    }

    /// The mode of a name as [`NormMode::name`] gives it, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.name() == name)
    }

    /// The formula, for display.
    pub fn formula(self) -> &'static str {
        match self {
            NormMode::Raw => "x, unchanged: 0..255",
            NormMode::Div255 => "x / 255",
            NormMode::L1 => "x / sum|x|",
            NormMode::L2 => "x / sqrt(sum x^2)",
            NormMode::Max => "x / max|x|",
            NormMode::Zscore => "(x/255 - 0.1307) / 0.3081",
            NormMode::Pca => "U^T(x/255 - mean) / sqrt(var)",
            NormMode::Zca => "U (U^T(x/255 - mean) / sqrt(var))",
        }
    }

    /// The next mode, wrapping around.
    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|&m| m == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// The previous mode, wrapping around.
    pub fn prev(self) -> Self {
        let i = Self::ALL.iter().position(|&m| m == self).unwrap_or(0);
        Self::ALL[(i + Self::ALL.len() - 1) % Self::ALL.len()]
    }

    /// Writes the normalized form of one image's `pixels` into `out` (same length).
    ///
    /// Arithmetic follows numpy on float32 input (`x / s` with `s` a float32), so that
    /// predictions match the book's code exactly. An all-zero image stays all zero.
    ///
    /// The whitened modes use the active fit ([`whiten::active`]); the caller makes one
    /// active first (`whiten::prepare`). Without one they write zeros.
    pub fn apply(self, pixels: &[u8], out: &mut [f32]) {
        debug_assert_eq!(pixels.len(), out.len());
        if let Some(kind) = self.whitening() {
            match whiten::active().filter(|fit| fit.pixels() == pixels.len()) {
                Some(fit) => fit.apply(kind, pixels, out),
                None => {
                    debug_assert!(false, "{self} applied with no whitening fit active");
                    out.fill(0.0);
                }
            }
            return;
        }
        match self.divisor(pixels) {
            Some(divisor) => {
                for (o, &p) in out.iter_mut().zip(pixels) {
                    *o = f32::from(p) / divisor;
                }
            }
            None => {
                let (mean, std) = (ZSCORE_MEAN as f32, ZSCORE_STD as f32);
                for (o, &p) in out.iter_mut().zip(pixels) {
                    *o = (f32::from(p) / 255.0 - mean) / std;
                }
            }
        }
    }

    /// Whether a zero pixel stays zero (every mode but z-score and the whitenings), so zeros
    /// can be skipped.
    pub fn keeps_zeros(self) -> bool {
        self.divisor(&[]).is_some()
    }

    /// The whitening this mode is, if it is one (it then needs a fit: [`crate::whiten`]).
    pub fn whitening(self) -> Option<whiten::Kind> {
        match self {
            NormMode::Pca => Some(whiten::Kind::Pca),
            NormMode::Zca => Some(whiten::Kind::Zca),
            _ => None,
        }
    }

    /// For the modes that only scale an image (`x / d`), the divisor `d` of these `pixels`;
    /// `None` for z-score, which also shifts. A zero divisor (an all-zero image) becomes 1 so
    /// that the image stays all zero instead of turning NaN.
    pub fn divisor(self, pixels: &[u8]) -> Option<f32> {
        let d = match self {
            NormMode::Raw => 1.0,
            NormMode::Div255 => 255.0,
            NormMode::L1 => Norms::of_pixels(pixels).l1 as f32,
            NormMode::L2 => Norms::of_pixels(pixels).l2 as f32,
            NormMode::Max => Norms::of_pixels(pixels).max as f32,
            NormMode::Zscore | NormMode::Pca | NormMode::Zca => return None,
        };
        Some(if d == 0.0 { 1.0 } else { d })
    }

    /// Normalizes consecutive images of `pixels_per_image` pixels into `out`.
    pub fn apply_batch(self, pixels: &[u8], pixels_per_image: usize, out: &mut [f32]) {
        debug_assert_eq!(pixels.len(), out.len());
        if let Some(kind) = self.whitening()
            && let Some(fit) = whiten::active().filter(|fit| fit.pixels() == pixels_per_image)
        {
            // One matrix product for the whole batch instead of one per image.
            return fit.apply(kind, pixels, out);
        }
        for (src, dst) in pixels
            .chunks_exact(pixels_per_image)
            .zip(out.chunks_exact_mut(pixels_per_image))
        {
            self.apply(src, dst);
        }
    }

    /// Norms of `pixels` raw and after this mode.
    pub fn norms(self, pixels: &[u8]) -> (Norms, Norms) {
        let mut out = vec![0.0; pixels.len()];
        self.apply(pixels, &mut out);
        (Norms::of_pixels(pixels), Norms::of_values(&out))
    }
}

impl fmt::Display for NormMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIXELS: [u8; 4] = [0, 3, 4, 255];

    fn after(mode: NormMode) -> Norms {
        mode.norms(&PIXELS).1
    }

    #[test]
    fn keeps_zeros_exactly_when_a_divisor_scales() {
        for mode in NormMode::ALL {
            assert_eq!(
                mode.keeps_zeros(),
                mode.divisor(&[0, 7, 255]).is_some(),
                "{mode}"
            );
        }
    }

    #[test]
    fn every_mode_is_found_by_its_name_and_no_other_name_is() {
        for mode in NormMode::ALL {
            assert_eq!(NormMode::from_name(mode.name()), Some(mode));
        }
        assert_eq!(NormMode::from_name("Div255"), None);
        assert_eq!(NormMode::from_name(""), None);
    }

    #[test]
    fn raw_norms_are_exact() {
        let n = Norms::of_pixels(&PIXELS);
        assert_eq!(n.l1, 262.0);
        assert!((n.l2 - (9.0f64 + 16.0 + 65025.0).sqrt()).abs() < 1e-12);
        assert_eq!(n.max, 255.0);
    }

    #[test]
    fn each_mode_scales_its_own_norm_to_one() {
        assert!((after(NormMode::L1).l1 - 1.0).abs() < 1e-6);
        assert!((after(NormMode::L2).l2 - 1.0).abs() < 1e-6);
        assert!((after(NormMode::Max).max - 1.0).abs() < 1e-6);
        assert!((after(NormMode::Div255).max - 1.0).abs() < 1e-6);
        assert_eq!(after(NormMode::Raw).l1, 262.0);
    }

    #[test]
    fn zscore_maps_mean_to_zero() {
        let mut out = [0.0f32; 1];
        NormMode::Zscore.apply(&[0], &mut out);
        assert!((out[0] - (-ZSCORE_MEAN / ZSCORE_STD) as f32).abs() < 1e-6);
    }

    #[test]
    fn all_zero_image_stays_zero_without_nan() {
        let zeros = [0u8; 16];
        for mode in NormMode::ALL {
            let mut out = [1.0f32; 16];
            mode.apply(&zeros, &mut out);
            assert!(out.iter().all(|v| v.is_finite()), "{mode}");
            if mode != NormMode::Zscore {
                assert!(out.iter().all(|&v| v == 0.0), "{mode}");
            }
        }
    }

    #[test]
    fn next_and_prev_cycle_through_all_modes() {
        let mut m = NormMode::Raw;
        for _ in 0..NormMode::ALL.len() {
            assert_eq!(m.next().prev(), m);
            m = m.next();
        }
        assert_eq!(m, NormMode::Raw);
    }
}
