//! A digit at half resolution, small enough for a grid of them: each 2x2 block of pixels
//! averaged into one, then drawn as [`Digit`] draws (half blocks in gray, shades without
//! colors), so a 28x28 image takes 14x7 cells.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::app::shared::Palette;
use crate::app::widgets::digit::Digit;

/// One image at half resolution.
#[derive(Debug, Clone, Copy)]
pub struct Thumbnail<'a> {
    /// The pixels, row-major.
    pub pixels: &'a [u8],
    /// Pixels per row.
    pub cols: usize,
    /// How to paint.
    pub palette: Palette,
}

/// The cells (width, height) a thumbnail of `rows x cols` pixels takes: half the pixels
/// across, a quarter down (two half-resolution rows per cell).
pub fn size(rows: usize, cols: usize) -> (usize, usize) {
    (cols.div_ceil(2), rows.div_ceil(4))
}

/// The image at half resolution: each output pixel the mean of a 2x2 block (of the pixels
/// there are, at an odd edge).
pub fn halved(pixels: &[u8], cols: usize) -> Vec<u8> {
    let cols = cols.max(1);
    let rows = pixels.len() / cols;
    let (half_rows, half_cols) = (rows.div_ceil(2), cols.div_ceil(2));
    let mut out = Vec::with_capacity(half_rows * half_cols);
    for r in 0..half_rows {
        for c in 0..half_cols {
            let (mut sum, mut n) = (0u32, 0u32);
            for y in 2 * r..(2 * r + 2).min(rows) {
                for x in 2 * c..(2 * c + 2).min(cols) {
                    sum += u32::from(pixels[y * cols + x]);
                    n += 1;
                }
            }
            out.push((sum / n.max(1)) as u8);
        }
    }
    out
}

impl Widget for Thumbnail<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let small = halved(self.pixels, self.cols);
        Digit {
            pixels: &small,
            cols: self.cols.max(1).div_ceil(2),
            zoom: 1,
            palette: self.palette,
        }
        .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    #[test]
    fn two_by_two_blocks_become_one_pixel() {
        // 3x3: the odd row and column average what there is.
        let pixels = [0, 100, 50, 200, 100, 50, 8, 8, 255];
        assert_eq!(halved(&pixels, 3), [100, 50, 8, 255]);
        assert_eq!(size(28, 28), (14, 7));
        assert_eq!(size(3, 3), (2, 1));
    }

    #[test]
    fn a_thumbnail_is_a_quarter_of_the_digit_s_cells() {
        // 4x4: top half white, bottom half gray 100.
        let pixels: Vec<u8> = (0..16).map(|i| if i < 8 { 255 } else { 100 }).collect();
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        Thumbnail {
            pixels: &pixels,
            cols: 4,
            palette: Palette::TrueColor,
        }
        .render(buf.area, &mut buf);
        for x in 0..2 {
            let c = &buf[(x, 0)];
            assert_eq!(
                (c.symbol(), c.fg, c.bg),
                ("▀", Color::Rgb(255, 255, 255), Color::Rgb(100, 100, 100))
            );
        }
    }
}
