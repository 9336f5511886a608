//! Which pixels matter: an occlusion map. A small blank patch slides over the image in pixel
//! space; each occluded image is normalized again and run through the network, and the map
//! records how much the probability of one class drops (Zeiler and Fergus, 2014). The
//! explorer computes it on its worker, a row of patch positions at a time.

use crate::layer::OutputLayer;
use crate::network::Network;
use crate::normalize::NormMode;

/// Side of the blank patch, in pixels.
pub const PATCH: usize = 4;
/// Pixels between two patch positions.
pub const STRIDE: usize = 2;

/// How much hiding each patch of an image lowers the probability of `class`.
#[derive(Debug, Clone, PartialEq)]
pub struct OcclusionMap {
    /// The class whose probability is followed (the true label).
    pub class: usize,
    /// Its probability with nothing hidden.
    pub base: f32,
    /// Side of the patch, in pixels.
    pub patch: usize,
    /// Pixels between two patch positions.
    pub stride: usize,
    /// Pixel rows of the image.
    pub rows: usize,
    /// Pixel columns of the image.
    pub cols: usize,
    /// Patch positions down and across.
    pub grid: (usize, usize),
    /// For each position, row-major: `base − p`, the drop in probability when the patch
    /// hides those pixels (negative where hiding them makes the class more likely).
    pub drops: Vec<f32>,
}

impl OcclusionMap {
    /// The drop at each pixel: the mean over the patches that cover it (0 where none does).
    pub fn per_pixel(&self) -> Vec<f32> {
        let mut sum = vec![0.0f32; self.rows * self.cols];
        let mut count = vec![0u32; self.rows * self.cols];
        for (at, &drop) in self.drops.iter().enumerate() {
            let (top, left) = self.corner(at);
            for r in top..(top + self.patch).min(self.rows) {
                for c in left..(left + self.patch).min(self.cols) {
                    sum[r * self.cols + c] += drop;
                    count[r * self.cols + c] += 1;
                }
            }
        }
        sum.iter()
            .zip(&count)
            .map(|(&s, &n)| if n == 0 { 0.0 } else { s / n as f32 })
            .collect()
    }

    /// The position whose patch lowers the probability most: its top-left pixel (row,
    /// column) and the drop.
    pub fn largest(&self) -> Option<((usize, usize), f32)> {
        let (at, &drop) = self
            .drops
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))?;
        Some((self.corner(at), drop))
    }

    /// The top-left pixel of position `at`.
    fn corner(&self, at: usize) -> (usize, usize) {
        let across = self.grid.1.max(1);
        ((at / across) * self.stride, (at % across) * self.stride)
    }
}

/// Patch positions along a side of `len` pixels: one where the patch fits at least once.
pub fn positions(len: usize, patch: usize, stride: usize) -> usize {
    if len <= patch {
        1
    } else {
        (len - patch) / stride.max(1) + 1
    }
}

/// The occlusion map of one image (`pixels`, `rows x cols`) for `class` under `norm`, with a
/// `patch`-pixel square moved `stride` pixels at a time. `keep_going(done, total)` is asked
/// after each row of positions; returning `false` stops the work and gives `None`.
///
/// # Panics
/// If `pixels` is not `rows * cols` long or the network does not take that many inputs, as
/// the forward pass does.
#[allow(clippy::too_many_arguments)]
pub fn occlusion_map(
    net: &Network,
    pixels: &[u8],
    (rows, cols): (usize, usize),
    norm: NormMode,
    class: usize,
    patch: usize,
    stride: usize,
    mut keep_going: impl FnMut(usize, usize) -> bool,
) -> Option<OcclusionMap> {
    assert_eq!(
        pixels.len(),
        rows * cols,
        "an image of {rows}x{cols} pixels"
    );
    let patch = patch.max(1);
    let stride = stride.max(1);
    let base = net.forward_pixels(pixels, norm, OutputLayer::Softmax)[[0, class]];
    let (down, across) = (
        positions(rows, patch, stride),
        positions(cols, patch, stride),
    );
    let mut drops = Vec::with_capacity(down * across);
    let mut batch = Vec::with_capacity(across * pixels.len());
    for row in 0..down {
        batch.clear();
        let top = row * stride;
        for col in 0..across {
            let left = col * stride;
            let start = batch.len();
            batch.extend_from_slice(pixels);
            for r in top..(top + patch).min(rows) {
                let line = start + r * cols;
                batch[line + left..line + (left + patch).min(cols)].fill(0);
            }
        }
        let probs = net.forward_pixels(&batch, norm, OutputLayer::Softmax);
        drops.extend(probs.column(class).iter().map(|&p| base - p));
        if !keep_going(row + 1, down) {
            return None;
        }
    }
    Some(OcclusionMap {
        class,
        base,
        patch,
        stride,
        rows,
        cols,
        grid: (down, across),
        drops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Layer;
    use ndarray::{Array1, Array2};

    /// A 4x4-pixel, one-layer network whose class 1 score is the ink in the top-left 2x2
    /// corner, and class 0 a constant.
    fn corner_net() -> Network {
        let mut w = Array2::zeros((16, 2));
        for p in [0, 1, 4, 5] {
            w[[p, 1]] = 4.0;
        }
        Network::new(vec![Layer {
            w,
            b: Array1::from_vec(vec![2.0, 0.0]),
        }])
        .unwrap()
    }

    #[test]
    fn positions_cover_the_image() {
        assert_eq!(positions(28, 4, 2), 13);
        assert_eq!(positions(4, 4, 2), 1);
        assert_eq!(
            positions(3, 4, 2),
            1,
            "a patch larger than the image fits once"
        );
        assert_eq!(positions(5, 2, 1), 4);
    }

    #[test]
    fn hiding_the_pixels_the_class_needs_drops_its_probability_there_only() {
        let net = corner_net();
        let pixels = [255u8; 16];
        let map = occlusion_map(&net, &pixels, (4, 4), NormMode::Div255, 1, 2, 2, |_, _| {
            true
        })
        .unwrap();
        assert_eq!(map.grid, (2, 2));
        assert_eq!(map.drops.len(), 4);
        // Only the top-left patch hides the corner.
        assert!(map.drops[0] > 0.5, "{:?}", map.drops);
        for &d in &map.drops[1..] {
            assert!(d.abs() < 1e-6, "{:?}", map.drops);
        }
        assert_eq!(map.largest(), Some(((0, 0), map.drops[0])));
        let per_pixel = map.per_pixel();
        assert_eq!(per_pixel[0], map.drops[0]);
        assert!(per_pixel[15].abs() < 1e-6);
        // The drop is the probability lost: base minus what is left with the corner hidden.
        let mut hidden = pixels;
        for p in [0, 1, 4, 5] {
            hidden[p] = 0;
        }
        let left = net.forward_pixels(&hidden, NormMode::Div255, OutputLayer::Softmax)[[0, 1]];
        assert!((map.drops[0] - (map.base - left)).abs() < 1e-6);
    }

    #[test]
    fn overlapping_patches_average_at_each_pixel() {
        let map = OcclusionMap {
            class: 0,
            base: 1.0,
            patch: 2,
            stride: 1,
            rows: 3,
            cols: 1,
            grid: (2, 1),
            drops: vec![0.2, 0.4],
        };
        let p = map.per_pixel();
        assert_eq!(p.len(), 3);
        assert!(
            (p[0] - 0.2).abs() < 1e-6 && (p[1] - 0.3).abs() < 1e-6 && (p[2] - 0.4).abs() < 1e-6
        );
    }

    #[test]
    fn stopping_after_a_row_gives_nothing() {
        let mut rows_seen = Vec::new();
        let map = occlusion_map(
            &corner_net(),
            &[9u8; 16],
            (4, 4),
            NormMode::Div255,
            1,
            2,
            1,
            |done, total| {
                rows_seen.push((done, total));
                done < 2
            },
        );
        assert!(map.is_none());
        assert_eq!(rows_seen, [(1, 3), (2, 3)]);
    }
}
