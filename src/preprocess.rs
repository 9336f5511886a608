//! MNIST's preprocessing of a digit, for digits that did not come from MNIST (a drawing, an
//! image file): from a gray canvas of any size, ink bright, to the 28x28 image the network
//! was trained on. [`prepare`] is the one function; the explorer's drawing view and
//! `classify` both call it.
//!
//! The MNIST description (LeCun, Cortes, Burges, "The MNIST database of handwritten digits")
//! states the recipe: the digits "were size normalized to fit in a 20x20 pixel box while
//! preserving their aspect ratio", with gray levels from "the anti-aliasing technique used by
//! the normalization algorithm", then "centered in a 28x28 image by computing the center of
//! mass of the pixels, and translating the image so as to position this point at the center
//! of the 28x28 field". Here: the bounding box of the ink, scaled by area averaging so that
//! its longer side is 20 pixels, then moved by whole pixels so that its center of mass lands
//! on pixel (14, 14).

use thiserror::Error;

/// Side of the field the network reads: 28 pixels (the MNIST description).
pub const FIELD: usize = 28;
/// Side of the box the ink is scaled into: 20 pixels (the MNIST description).
pub const BOX: usize = 20;
/// Where the center of mass goes, in pixel indices, on both axes. "The center of the 28x28
/// field" could be read as 13.5 or 14; MNIST's own images say 14: over the 60,000 training
/// images the mean center of mass is at row 14.00 and column 14.01, with a standard deviation
/// of 0.29 on each axis, the spread of a whole-pixel translation (rounding leaves up to half
/// a pixel either way: a uniform spread of one pixel has a deviation of 0.289).
pub const CENTER: f64 = 14.0;
/// Least level that counts as ink for the bounding box: what would round to 1 of 255.
/// Fainter values (the far edge of a soft brush) would widen the box without being seen.
pub const INK_FLOOR: f32 = 0.5 / 255.0;

/// A canvas level of ink: a byte (0 to 255) or a fraction (0 to 1), bright on dark.
pub trait Ink: Copy {
    /// The level as a fraction in 0..=1 (anything else, NaN included, clamped or 0).
    fn level(self) -> f32;
}

impl Ink for u8 {
    fn level(self) -> f32 {
        f32::from(self) / 255.0
    }
}

impl Ink for f32 {
    fn level(self) -> f32 {
        if self.is_finite() {
            self.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Why a canvas cannot be prepared.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrepareError {
    /// No pixel is ink: there is no digit to scale or center.
    #[error("nothing drawn: no pixel has ink")]
    Empty,
    /// The values do not fill the canvas they are said to be.
    #[error("{len} values do not make a {width}x{height} canvas")]
    Shape {
        /// Values given.
        len: usize,
        /// Canvas width given.
        width: usize,
        /// Canvas height given.
        height: usize,
    },
}

/// Where the ink was on the canvas: its bounding box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InkBox {
    /// Left column.
    pub x: usize,
    /// Top row.
    pub y: usize,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

/// A canvas prepared as MNIST's digits were, and how it was done.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The 28x28 image, row-major, 0 background to 255 full ink.
    pub pixels: Vec<u8>,
    /// The ink's bounding box on the canvas.
    pub ink: InkBox,
    /// Output pixels per canvas pixel: 20 over the box's longer side.
    pub scale: f64,
    /// Where the scaled box's top-left corner went in the field (column, row), chosen to put
    /// the center of mass on [`CENTER`]; negative or past 8 when the mass sits off-center.
    pub offset: (i64, i64),
}

/// Prepares a `width` x `height` canvas (row-major, ink bright) the way MNIST's digits were:
/// the ink's bounding box scaled by area averaging so its longer side is [`BOX`] pixels,
/// placed in a [`FIELD`] x [`FIELD`] image with its center of mass at [`CENTER`]. What the
/// move pushes past the field's edge is cut off.
///
/// # Errors
/// [`PrepareError::Empty`] when no value reaches [`INK_FLOOR`]; [`PrepareError::Shape`] when
/// `values` is not `width * height` long.
pub fn prepare<T: Ink>(
    values: &[T],
    width: usize,
    height: usize,
) -> Result<Prepared, PrepareError> {
    if width.checked_mul(height) != Some(values.len()) {
        return Err(PrepareError::Shape {
            len: values.len(),
            width,
            height,
        });
    }
    let ink = ink_box(values, width).ok_or(PrepareError::Empty)?;
    let scale = BOX as f64 / ink.width.max(ink.height) as f64;
    let (out_w, out_h) = (scaled_len(ink.width, scale), scaled_len(ink.height, scale));
    let across = axis_weights(ink.width, out_w, scale);
    let down = axis_weights(ink.height, out_h, scale);
    // Area averaging, one axis at a time: each output pixel is the mean of the canvas over
    // its footprint, so strokes thinner than a pixel become gray rather than vanish.
    let mut rows = vec![0f64; ink.height * out_w];
    for r in 0..ink.height {
        let line = &values[(ink.y + r) * width + ink.x..][..ink.width];
        for (c, weights) in across.iter().enumerate() {
            rows[r * out_w + c] = weights
                .iter()
                .map(|&(k, w)| w * f64::from(line[k].level()))
                .sum();
        }
    }
    let mut scaled = vec![0f64; out_h * out_w];
    for (r, weights) in down.iter().enumerate() {
        for &(k, w) in weights {
            for c in 0..out_w {
                scaled[r * out_w + c] += w * rows[k * out_w + c];
            }
        }
    }
    let (mass, sum_r, sum_c) =
        scaled
            .iter()
            .enumerate()
            .fold((0.0, 0.0, 0.0), |(m, sr, sc), (i, &v)| {
                (
                    m + v,
                    sr + v * (i / out_w) as f64,
                    sc + v * (i % out_w) as f64,
                )
            });
    if mass <= 0.0 {
        return Err(PrepareError::Empty);
    }
    let offset = (
        (CENTER - sum_c / mass).round() as i64,
        (CENTER - sum_r / mass).round() as i64,
    );
    let mut pixels = vec![0u8; FIELD * FIELD];
    for (i, &v) in scaled.iter().enumerate() {
        let (r, c) = ((i / out_w) as i64 + offset.1, (i % out_w) as i64 + offset.0);
        if (0..FIELD as i64).contains(&r) && (0..FIELD as i64).contains(&c) {
            pixels[r as usize * FIELD + c as usize] = (v * 255.0).round().clamp(0.0, 255.0) as u8;
        }
    }
    Ok(Prepared {
        pixels,
        ink,
        scale,
        offset,
    })
}

/// The bounding box of the values at or above [`INK_FLOOR`], if any.
fn ink_box<T: Ink>(values: &[T], width: usize) -> Option<InkBox> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (i, v) in values.iter().enumerate() {
        if v.level() >= INK_FLOOR {
            let (y, x) = (i / width, i % width);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    (x0 != usize::MAX).then(|| InkBox {
        x: x0,
        y: y0,
        width: x1 - x0 + 1,
        height: y1 - y0 + 1,
    })
}

/// Output pixels that `len` canvas pixels cover at `scale`: the last one may be covered in
/// part (it then gets the ink of that part, averaged over the whole pixel).
fn scaled_len(len: usize, scale: f64) -> usize {
    // The tolerance keeps 20.000000001 from becoming 21 pixels.
    ((len as f64 * scale - 1e-9).ceil() as usize).clamp(1, BOX)
}

/// For each of `out` output pixels along an axis, the canvas pixels (0..`len`) under its
/// footprint and the share of the output pixel each one covers.
fn axis_weights(len: usize, out: usize, scale: f64) -> Vec<Vec<(usize, f64)>> {
    (0..out)
        .map(|j| {
            let (from, to) = (j as f64 / scale, ((j + 1) as f64 / scale).min(len as f64));
            let first = from.floor() as usize;
            (first..len)
                .take_while(|&k| (k as f64) < to)
                .map(|k| {
                    let overlap = (to.min(k as f64 + 1.0) - from.max(k as f64)).max(0.0);
                    (k, overlap * scale)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The center of mass of a 28x28 image, (row, column).
    fn center_of_mass(pixels: &[u8]) -> (f64, f64) {
        let (m, r, c) = pixels
            .iter()
            .enumerate()
            .fold((0.0, 0.0, 0.0), |(m, r, c), (i, &v)| {
                let v = f64::from(v);
                (
                    m + v,
                    r + v * (i / FIELD) as f64,
                    c + v * (i % FIELD) as f64,
                )
            });
        (r / m, c / m)
    }

    /// A stroke `thick` pixels wide: a vertical bar of `len` rows at column `x`, from row `y`,
    /// on a `w` x `h` canvas.
    fn bar(w: usize, h: usize, x: usize, y: usize, len: usize, thick: usize) -> Vec<f32> {
        let mut canvas = vec![0f32; w * h];
        for r in y..y + len {
            for c in x..x + thick {
                canvas[r * w + c] = 1.0;
            }
        }
        canvas
    }

    #[test]
    fn an_empty_canvas_is_nothing_drawn() {
        assert_eq!(prepare(&[0f32; 784], 28, 28), Err(PrepareError::Empty));
        assert_eq!(prepare::<u8>(&[], 0, 0), Err(PrepareError::Empty));
        // Below the floor, NaN and negative values are no ink either.
        let faint = [0.001f32, f32::NAN, -3.0, f32::NEG_INFINITY];
        assert_eq!(prepare(&faint, 2, 2), Err(PrepareError::Empty));
        assert!(matches!(
            prepare(&[1u8; 5], 2, 2),
            Err(PrepareError::Shape { len: 5, .. })
        ));
        assert!(matches!(
            prepare(&[1u8; 5], usize::MAX, 2),
            Err(PrepareError::Shape { .. })
        ));
    }

    #[test]
    fn a_small_digit_in_a_corner_comes_back_centered_and_20_pixels_tall() {
        // A 2x8 bar in the top-left corner of a 100x100 canvas.
        let canvas = bar(100, 100, 3, 2, 8, 2);
        let p = prepare(&canvas, 100, 100).unwrap();
        assert_eq!(
            p.ink,
            InkBox {
                x: 3,
                y: 2,
                width: 2,
                height: 8
            }
        );
        assert_eq!(p.scale, 2.5);
        let rows: Vec<usize> = (0..FIELD)
            .filter(|r| p.pixels[r * FIELD..][..FIELD].iter().any(|&v| v > 0))
            .collect();
        assert_eq!(rows.len(), BOX, "20 rows of ink");
        assert_eq!(rows.last().unwrap() - rows[0] + 1, BOX, "in one run");
        let (r, c) = center_of_mass(&p.pixels);
        assert!(
            (r - CENTER).abs() <= 0.5 && (c - CENTER).abs() <= 0.5,
            "{r} {c}"
        );
        // Area averaging keeps the ink: 16 canvas pixels at scale 2.5 are 100 output pixels.
        let ink: f64 = p.pixels.iter().map(|&v| f64::from(v) / 255.0).sum();
        assert!((ink - 100.0).abs() < 0.5, "{ink}");
    }

    #[test]
    fn a_wide_stroke_keeps_its_aspect_ratio() {
        // 40 wide, 10 tall: scaled by 0.5 to 20 x 5.
        let mut canvas = vec![0u8; 60 * 30];
        for r in 10..20 {
            for c in 5..45 {
                canvas[r * 60 + c] = 255;
            }
        }
        let p = prepare(&canvas, 60, 30).unwrap();
        let lit = p.pixels.iter().filter(|&&v| v == 255).count();
        assert_eq!(lit, 20 * 5);
        assert_eq!(p.pixels.iter().filter(|&&v| v > 0).count(), 20 * 5);
    }

    #[test]
    fn scaling_down_averages_the_area_under_each_pixel() {
        // A one-pixel line on a 40-tall bar: halved, each output pixel holds half ink.
        let canvas = bar(50, 50, 10, 5, 40, 1);
        let p = prepare(&canvas, 50, 50).unwrap();
        let levels: Vec<u8> = p.pixels.iter().copied().filter(|&v| v > 0).collect();
        assert_eq!(levels.len(), BOX);
        assert!(levels.iter().all(|&v| v == 128), "{levels:?}");
    }

    #[test]
    fn a_partly_covered_last_pixel_gets_its_share() {
        // A 3-pixel-wide, 7-tall block: scale 20/7; across, 3 * 20/7 = 8.57 pixels: 8 full
        // and one 57% covered.
        let canvas = bar(10, 10, 2, 1, 7, 3);
        let p = prepare(&canvas, 10, 10).unwrap();
        let row = p.pixels[14 * FIELD..][..FIELD].to_vec();
        let lit: Vec<u8> = row.into_iter().filter(|&v| v > 0).collect();
        assert_eq!(lit.len(), 9, "{lit:?}");
        assert_eq!(lit.iter().filter(|&&v| v == 255).count(), 8);
        let part = lit.iter().copied().find(|&v| v < 255).unwrap();
        assert!((145..=147).contains(&part), "0.571 of 255 is 146: {part}");
    }

    #[test]
    fn bytes_and_fractions_are_the_same_canvas() {
        let bytes: Vec<u8> = (0..30 * 30)
            .map(|i| {
                if (i / 30) % 7 < 3 && i % 30 > 4 {
                    200
                } else {
                    0
                }
            })
            .collect();
        let fractions: Vec<f32> = bytes.iter().map(|&v| f32::from(v) / 255.0).collect();
        assert_eq!(prepare(&bytes, 30, 30), prepare(&fractions, 30, 30));
    }

    #[test]
    fn mass_far_off_center_is_cut_at_the_field_edge_not_a_panic() {
        // A long bar with a heavy blob at one end: the center of mass sits near the blob,
        // so the bar's far end leaves the field.
        let mut canvas = bar(40, 40, 20, 0, 40, 1);
        for r in 30..40 {
            for c in 10..30 {
                canvas[r * 40 + c] = 1.0;
            }
        }
        let p = prepare(&canvas, 40, 40).unwrap();
        assert!(p.offset.1 < 0, "moved up: {:?}", p.offset);
        assert_eq!(p.pixels.len(), FIELD * FIELD);
    }
}
