//! The drawing itself: a 28x28 sheet of ink levels (0 to 1) and the soft brush that paints
//! and erases on it, by dabs and by lines of dabs, so that strokes come out with the gray
//! edges MNIST's digits have.

use crate::preprocess::FIELD;

/// Brush radii, in pixels, that `+` and `-` step through: from a fine pen to a marker.
pub const BRUSHES: [f32; 5] = [0.7, 1.0, 1.4, 1.8, 2.3];
/// The brush at start: a stroke about three pixels wide, as MNIST's strokes are in their
/// 20-pixel box once a digit drawn nearly as tall as the canvas is scaled down.
pub const DEFAULT_BRUSH: usize = 2;
/// Width of the brush's soft edge, in pixels: ink fades from full to none over it.
const SOFT_EDGE: f32 = 1.5;
/// Most distance between two dabs of a line, in pixels: close enough that a line shows no
/// beads.
const DAB_SPACING: f32 = 0.25;

/// A sheet of `FIELD` x `FIELD` ink levels, row-major, 0 (paper) to 1 (full ink).
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    levels: Vec<f32>,
}

impl Default for Canvas {
    fn default() -> Self {
        Self {
            levels: vec![0.0; FIELD * FIELD],
        }
    }
}

impl Canvas {
    /// The ink levels, row-major.
    pub fn levels(&self) -> &[f32] {
        &self.levels
    }

    /// The levels as bytes, 0 to 255, for drawing and for the network's raw input.
    pub fn bytes(&self) -> Vec<u8> {
        self.levels
            .iter()
            .map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect()
    }

    /// Whether nothing is drawn.
    pub fn is_blank(&self) -> bool {
        self.levels.iter().all(|&v| v <= 0.0)
    }

    /// One dab of a brush of `radius` centered at `(x, y)` (in pixels; pixel `(c, r)` has
    /// its center at `(c + 0.5, r + 0.5)`): ink is added (`erase` false) or taken away.
    pub fn dab(&mut self, (x, y): (f32, f32), radius: f32, erase: bool) {
        let reach = radius + SOFT_EDGE;
        let span = |center: f32| {
            let from = (center - reach).floor().max(0.0) as usize;
            let to = ((center + reach).ceil().max(0.0) as usize).min(FIELD);
            from..to
        };
        for r in span(y) {
            for c in span(x) {
                let d = ((c as f32 + 0.5 - x).powi(2) + (r as f32 + 0.5 - y).powi(2)).sqrt();
                // Full inside the radius less half the edge, none beyond it plus half.
                let cover = ((radius + SOFT_EDGE / 2.0 - d) / SOFT_EDGE).clamp(0.0, 1.0);
                let level = &mut self.levels[r * FIELD + c];
                *level = if erase {
                    level.min(1.0 - cover)
                } else {
                    level.max(cover)
                };
            }
        }
    }

    /// A stroke from `from` to `to`: dabs no more than [`DAB_SPACING`] apart, both ends
    /// included.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), radius: f32, erase: bool) {
        let (dx, dy) = (to.0 - from.0, to.1 - from.1);
        let steps = ((dx.hypot(dy) / DAB_SPACING).ceil() as usize).max(1);
        for k in 0..=steps {
            let t = k as f32 / steps as f32;
            self.dab((from.0 + dx * t, from.1 + dy * t), radius, erase);
        }
    }

    /// Rubs everything out.
    pub fn clear(&mut self) {
        self.levels.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dab_is_full_in_the_middle_and_soft_at_the_edge() {
        let mut canvas = Canvas::default();
        canvas.dab((14.5, 14.5), BRUSHES[DEFAULT_BRUSH], false);
        let at = |c: usize, r: usize| canvas.levels()[r * FIELD + c];
        assert_eq!(at(14, 14), 1.0);
        let edge = at(16, 14);
        assert!(edge > 0.0 && edge < 1.0, "gray edge: {edge}");
        assert!(at(14, 14) > at(15, 14) && at(15, 14) > at(16, 14));
        assert_eq!(at(18, 14), 0.0);
        assert_eq!(at(0, 0), 0.0);
    }

    #[test]
    fn a_line_is_even_and_erasing_takes_ink_away() {
        let mut canvas = Canvas::default();
        canvas.line((5.5, 4.5), (5.5, 22.5), 1.0, false);
        let column: Vec<f32> = (4..=22).map(|r| canvas.levels()[r * FIELD + 5]).collect();
        assert!(column.iter().all(|&v| v == 1.0), "{column:?}");
        let beside: Vec<f32> = (6..=20).map(|r| canvas.levels()[r * FIELD + 6]).collect();
        assert!(
            beside.windows(2).all(|w| (w[0] - w[1]).abs() < 1e-6),
            "no beads"
        );
        canvas.dab((5.5, 10.5), 2.3, true);
        assert_eq!(canvas.levels()[10 * FIELD + 5], 0.0);
        assert!(!canvas.is_blank());
        canvas.clear();
        assert!(canvas.is_blank());
    }

    #[test]
    fn dabs_past_the_edge_paint_what_is_on_the_sheet() {
        let mut canvas = Canvas::default();
        canvas.dab((-1.0, 0.2), 2.3, false);
        canvas.dab((40.0, 40.0), 2.3, false);
        canvas.line((-5.0, 27.9), (30.0, 27.9), 0.7, false);
        assert_eq!(canvas.levels()[0], 1.0);
        assert_eq!(canvas.bytes().len(), FIELD * FIELD);
        // The line runs off both sides: the whole bottom row is inked.
        assert!((0..FIELD).all(|c| canvas.bytes()[27 * FIELD + c] > 0));
    }
}
