//! PCA and ZCA whitening: fitted once on a training split of x/255 (its mean, covariance and
//! the covariance's eigendecomposition), then applied to any image of the same size.
//!
//! The fit a run uses lives here for the whole process (the "active" fit): the whitened
//! [`NormMode`](crate::normalize::NormMode)s read it, so a mode stays a plain tag everywhere
//! else. Whoever loads data calls [`prepare`] (or [`activate`] with a fit made elsewhere,
//! e.g. on the explorer's worker) before feeding a network whitened images.

use std::hash::{DefaultHasher, Hasher};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use ndarray::{ArrayView1, Axis};

use crate::dataset::Dataset;

/// Variance at or below which a principal direction is dropped rather than scaled to 1.
///
/// On MNIST's x/255 training split 72 of the 784 directions have no variance at all (pixels
/// no digit ever inks) and hundreds more hold little but noise; dividing those by the square
/// root of their variance would blow the noise up to the size of the strokes. With 1e-2 the
/// fit keeps the 251 directions that carry 98% of the variance (measured on the shipped split).
pub const EPSILON: f64 = 1e-2;

/// Largest image a fit accepts, in pixels (the covariance is pixels² f64 values: 128 MiB here).
pub const MAX_PIXELS: usize = 4096;

/// Images in one step of the covariance's accumulation (one progress report each).
const STEP: usize = 5_000;

/// Which whitening: the two share one fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Coordinates along the principal directions, each scaled to variance 1; the dropped
    /// directions' coordinates are 0 (the last ones of the vector).
    Pca,
    /// PCA whitening rotated back into pixel space: the whitened image still looks like the
    /// digit (mostly its edges), each retained direction at variance 1.
    Zca,
}

/// Where a fit is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Accumulating the covariance: `done` of `total` images.
    Covariance {
        /// Images accumulated so far.
        done: usize,
        /// Images in the split.
        total: usize,
    },
    /// Decomposing the covariance (one step, no finer progress).
    Eigen,
}

/// Why a split cannot be fitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    /// Fewer than two images have no covariance.
    #[error("whitening needs at least 2 training images, the split has {0}")]
    TooFewImages(usize),
    /// The images are too large for the covariance to fit in memory.
    #[error("whitening fits images of at most {MAX_PIXELS} pixels, these have {0}")]
    TooManyPixels(usize),
    /// The eigendecomposition did not converge.
    #[error("the covariance's eigendecomposition did not converge")]
    NoConvergence,
    /// The caller asked to stop.
    #[error("the whitening fit was cancelled")]
    Cancelled,
}

/// A whitening fitted on one training split.
#[derive(Debug, PartialEq)]
pub struct Whitening {
    mean: Vec<f32>,
    /// Retained directions × pixels: row k is the k-th principal direction / sqrt(variance).
    pca: ndarray::Array2<f32>,
    /// Pixels × pixels: the directions rotated back, `Uᵣ diag(1/sqrt λ) Uᵣᵀ`.
    zca: ndarray::Array2<f32>,
    variances: Vec<f64>,
    images: usize,
    fingerprint: u64,
    fit_time: Duration,
}

impl Whitening {
    /// Fits on every image of `train` (as x/255), telling `on_stage` where it is; `on_stage`
    /// returning false cancels the fit.
    pub fn fit(train: &Dataset, mut on_stage: impl FnMut(Stage) -> bool) -> Result<Self, FitError> {
        let start = Instant::now();
        let (n, count) = (train.pixels_per_image(), train.len());
        if count < 2 {
            return Err(FitError::TooFewImages(count));
        }
        if n > MAX_PIXELS {
            return Err(FitError::TooManyPixels(n));
        }
        let mut sum = vec![0u64; n];
        for row in train.images(0..count).chunks_exact(n) {
            for (s, &p) in sum.iter_mut().zip(row) {
                *s += u64::from(p);
            }
        }
        let mean: Vec<f64> = sum
            .iter()
            .map(|&s| s as f64 / 255.0 / count as f64)
            .collect();
        let mut cov = Mat::<f64>::zeros(n, n);
        let mut done = 0;
        while done < count {
            if !on_stage(Stage::Covariance { done, total: count }) {
                return Err(FitError::Cancelled);
            }
            let rows = STEP.min(count - done);
            let pixels = train.images(done..done + rows);
            let centered = Mat::<f64>::from_fn(rows, n, |i, j| {
                f64::from(pixels[i * n + j]) / 255.0 - mean[j]
            });
            matmul(
                cov.as_mut(),
                Accum::Add,
                centered.transpose(),
                centered.as_ref(),
                1.0 / count as f64,
                Par::rayon(0),
            );
            done += rows;
        }
        if !on_stage(Stage::Eigen) {
            return Err(FitError::Cancelled);
        }
        let eigen = cov
            .self_adjoint_eigen(Side::Lower)
            .map_err(|_| FitError::NoConvergence)?;
        let (u, s) = (eigen.U(), eigen.S().column_vector());
        // faer sorts ascending; the largest variance comes first here.
        let order: Vec<usize> = (0..n).rev().collect();
        let variances: Vec<f64> = order.iter().map(|&k| s[k]).collect();
        let retained = variances.iter().take_while(|&&v| v > EPSILON).count();
        let pca = ndarray::Array2::from_shape_fn((retained, n), |(k, i)| {
            (u[(i, order[k])] / variances[k].sqrt()) as f32
        });
        let scaled =
            Mat::<f64>::from_fn(n, retained, |i, k| u[(i, order[k])] / variances[k].sqrt());
        let kept = Mat::<f64>::from_fn(n, retained, |i, k| u[(i, order[k])]);
        let mut zca = Mat::<f64>::zeros(n, n);
        matmul(
            zca.as_mut(),
            Accum::Replace,
            scaled.as_ref(),
            kept.transpose(),
            1.0,
            Par::rayon(0),
        );
        let zca = ndarray::Array2::from_shape_fn((n, n), |(i, j)| zca[(i, j)] as f32);
        Ok(Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            pca,
            zca,
            variances,
            images: count,
            fingerprint: fingerprint(train),
            fit_time: start.elapsed(),
        })
    }

    /// Pixels per image the fit expects.
    pub fn pixels(&self) -> usize {
        self.mean.len()
    }

    /// Directions kept (variance above [`EPSILON`]).
    pub fn retained(&self) -> usize {
        self.pca.nrows()
    }

    /// The variance of every principal direction, largest first.
    pub fn variances(&self) -> &[f64] {
        &self.variances
    }

    /// Images the fit was made on.
    pub fn images(&self) -> usize {
        self.images
    }

    /// How long the fit took (mean, covariance and eigendecomposition).
    pub fn fit_time(&self) -> Duration {
        self.fit_time
    }

    /// Whether this fit was made on exactly these images.
    pub fn fitted_on(&self, train: &Dataset) -> bool {
        self.images == train.len()
            && self.pixels() == train.pixels_per_image()
            && self.fingerprint == fingerprint(train)
    }

    /// Whitens the images in `pixels` (whole images of [`Whitening::pixels`] bytes) into
    /// `out` (as many floats).
    ///
    /// # Panics
    /// If the lengths are not whole images of this fit's size.
    pub fn apply(&self, kind: Kind, pixels: &[u8], out: &mut [f32]) {
        let n = self.pixels();
        assert!(
            pixels.len() == out.len() && pixels.len().is_multiple_of(n),
            "whiten: {} pixels into {} values are not whole images of {n}",
            pixels.len(),
            out.len()
        );
        let rows = pixels.len() / n;
        let centered: Vec<f32> = pixels
            .iter()
            .zip(self.mean.iter().cycle())
            .map(|(&p, &m)| f32::from(p) / 255.0 - m)
            .collect();
        let x = MatRef::from_row_major_slice(&centered[..], rows, n);
        let (matrix, k) = match kind {
            Kind::Pca => (&self.pca, self.retained()),
            Kind::Zca => (&self.zca, n),
        };
        let matrix = MatRef::from_row_major_slice(matrix.as_slice().unwrap_or_default(), k, n);
        // The dropped directions' coordinates (PCA's last ones) stay 0.
        out.fill(0.0);
        // Each image's values are a column of outᵀ (k × images, column stride n).
        matmul(
            MatMut::from_column_major_slice_with_stride_mut(out, k, rows, n),
            Accum::Replace,
            matrix,
            x.transpose(),
            1.0,
            Par::rayon(0),
        );
    }

    /// One line on the fit: images, time, directions kept.
    pub fn summary(&self) -> String {
        format!(
            "fitted on {} training images in {:.2} s; keeps {} of {} directions (variance > {EPSILON})",
            crate::percent::thousands(self.images as u64),
            self.fit_time.as_secs_f64(),
            self.retained(),
            self.pixels()
        )
    }

    /// The mean image (x/255) of the training split.
    pub fn mean(&self) -> ArrayView1<'_, f32> {
        ArrayView1::from(&self.mean[..])
    }

    /// The `k`-th retained principal direction (a unit vector over the pixels), if kept.
    pub fn direction(&self, k: usize) -> Option<Vec<f32>> {
        let scale = self.variances.get(k)?.sqrt() as f32;
        (k < self.retained()).then(|| {
            self.pca
                .index_axis(Axis(0), k)
                .iter()
                .map(|&v| v * scale)
                .collect()
        })
    }
}

/// The fit the whitened modes read in this process.
static ACTIVE: RwLock<Option<Arc<Whitening>>> = RwLock::new(None);

/// The active fit, if one was made or activated.
pub fn active() -> Option<Arc<Whitening>> {
    ACTIVE
        .read()
        .map(|a| a.clone())
        .unwrap_or_else(|e| e.into_inner().clone())
}

/// Makes `fit` the one the whitened modes use from now on.
pub fn activate(fit: Arc<Whitening>) {
    match ACTIVE.write() {
        Ok(mut a) => *a = Some(fit),
        Err(e) => *e.into_inner() = Some(fit),
    }
}

/// The active fit if it was made on `train`, else a new fit of `train`, made active.
pub fn prepare(train: &Dataset) -> Result<Arc<Whitening>, FitError> {
    if let Some(fit) = active().filter(|fit| fit.fitted_on(train)) {
        return Ok(fit);
    }
    let fit = Arc::new(Whitening::fit(train, |_| true)?);
    activate(fit.clone());
    Ok(fit)
}

/// A hash of a split's images, to tell whether a fit belongs to it.
fn fingerprint(data: &Dataset) -> u64 {
    let mut h = DefaultHasher::new();
    h.write_usize(data.pixels_per_image());
    h.write(data.images(0..data.len()));
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(images: usize, side: usize, seed: u64) -> Dataset {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let pixels: Vec<u8> = (0..images * side * side)
            .map(|_| (rng.next_u64() % 256) as u8)
            .collect();
        Dataset::from_parts(pixels, vec![0; images], side, side).expect("valid split")
    }

    #[test]
    fn apply_matches_the_plain_product() {
        let train = split(300, 8, 1);
        let fit = Whitening::fit(&train, |_| true).expect("fits");
        let n = fit.pixels();
        let images = train.images(0..37);
        for (kind, matrix) in [(Kind::Pca, &fit.pca), (Kind::Zca, &fit.zca)] {
            let mut out = vec![0f32; images.len()];
            fit.apply(kind, images, &mut out);
            for (row, got) in images.chunks_exact(n).zip(out.chunks_exact(n)) {
                for (j, &g) in got.iter().enumerate() {
                    let want: f32 = if j < matrix.nrows() {
                        (0..n)
                            .map(|i| matrix[(j, i)] * (f32::from(row[i]) / 255.0 - fit.mean[i]))
                            .sum()
                    } else {
                        0.0
                    };
                    assert!((g - want).abs() < 1e-4, "{kind:?} {j}: {g} vs {want}");
                }
            }
        }
    }
}
