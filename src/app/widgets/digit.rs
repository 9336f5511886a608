//! A digit as upper-half blocks in gray levels (two pixel rows per cell, top pixel as
//! foreground, bottom as background), or as shade characters without colors: [`Digit`] for
//! pixels, [`InputDigit`] for the network's input, whose values may be negative.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use crate::app::shared::Palette;
use crate::glyphs::{shade, signed_shade};

/// One image, `zoom` cells per pixel across and `zoom` half-cells per pixel down.
#[derive(Debug, Clone, Copy)]
pub struct Digit<'a> {
    /// The pixels, row-major.
    pub pixels: &'a [u8],
    /// Pixels per row.
    pub cols: usize,
    /// Cells per pixel across (and half-cells down).
    pub zoom: usize,
    /// How to paint.
    pub palette: Palette,
}

impl Widget for Digit<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let grid = Grid {
            len: self.pixels.len(),
            cols: self.cols,
            zoom: self.zoom,
        };
        paint_halves(
            area,
            buf,
            grid,
            self.palette,
            0u8,
            |i| self.pixels[i],
            // One character for both pixels: shade their average.
            |top, bottom| shade(((u16::from(top) + u16::from(bottom)) / 2) as u8),
            |v| gray(self.palette, v),
        );
    }
}

/// The shape of a grid of values drawn as half blocks.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    /// Values in all (whole rows of `cols`).
    pub len: usize,
    /// Values per row.
    pub cols: usize,
    /// Cells per value across (and half-cells down).
    pub zoom: usize,
}

/// Paints a grid of values into `area` two rows per cell: the upper half block with the top
/// value's color as foreground and the bottom one's as background, or without colors one
/// character for both (`plain(top, bottom)`). `value(i)` is the value at flat index `i`;
/// cells beyond the grid take `outside`. The one loop of every half-block widget.
#[allow(clippy::too_many_arguments)]
pub fn paint_halves<T: Copy>(
    area: Rect,
    buf: &mut Buffer,
    grid: Grid,
    palette: Palette,
    outside: T,
    value: impl Fn(usize) -> T,
    plain: impl Fn(T, T) -> char,
    color: impl Fn(T) -> Color,
) {
    let cols = grid.cols.max(1);
    let rows = grid.len / cols;
    let zoom = grid.zoom.max(1);
    // The value at half-row `h` (two per cell) and cell column `x`.
    let at = |h: usize, x: usize| -> T {
        let (r, c) = (h / zoom, x / zoom);
        if r < rows && c < cols {
            value(r * cols + c)
        } else {
            outside
        }
    };
    for y in 0..area.height {
        for x in 0..area.width {
            let (top, bottom) = (
                at(2 * usize::from(y), usize::from(x)),
                at(2 * usize::from(y) + 1, usize::from(x)),
            );
            let Some(cell) = buf.cell_mut((area.x + x, area.y + y)) else {
                continue;
            };
            match palette {
                Palette::Plain => {
                    cell.set_char(plain(top, bottom));
                }
                _ => {
                    cell.set_char('▀').set_fg(color(top)).set_bg(color(bottom));
                }
            }
        }
    }
}

/// The network's input for one image, or any grid of values of any sign and size (a unit's
/// weights). Positive values are drawn in gray as pixels are, relative to the largest one;
/// negative ones in blue (dots without colors), relative to the most negative one, so that a
/// negative background (z-score's -0.42) shows as clearly as the ink; zero is black. With
/// `symmetric`, both signs share the largest magnitude, so equal sizes look equal (weights).
#[derive(Debug, Clone, Copy)]
pub struct InputDigit<'a> {
    /// The values, row-major.
    pub values: &'a [f32],
    /// Values per row.
    pub cols: usize,
    /// Cells per value across (and half-cells down).
    pub zoom: usize,
    /// How to paint.
    pub palette: Palette,
    /// One scale for both signs (the largest magnitude) instead of one per sign.
    pub symmetric: bool,
}

impl InputDigit<'_> {
    /// The magnitudes that map to full blue and full white: the most negative value and the
    /// largest positive one (1 where there is none), or with `symmetric` the largest
    /// magnitude for both.
    pub fn scales(&self) -> (f32, f32) {
        let (neg, pos) = self
            .values
            .iter()
            .filter(|v| v.is_finite())
            .fold((0.0f32, 0.0f32), |(n, p), &v| (n.max(-v), p.max(v)));
        let (neg, pos) = if self.symmetric {
            (neg.max(pos), neg.max(pos))
        } else {
            (neg, pos)
        };
        let or_one = |m: f32| if m > 0.0 { m } else { 1.0 };
        (or_one(neg), or_one(pos))
    }
}

impl Widget for InputDigit<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (neg, pos) = self.scales();
        let grid = Grid {
            len: self.values.len(),
            cols: self.cols,
            zoom: self.zoom,
        };
        paint_halves(
            area,
            buf,
            grid,
            self.palette,
            0.0f32,
            // Each value relative to its sign's scale.
            |i| {
                let v = self.values[i];
                if v < 0.0 { v / neg } else { v / pos }
            },
            |top, bottom| signed_shade((top + bottom) / 2.0),
            |t| diverging(self.palette, t),
        );
    }
}

/// The color of `t` in -1..=1: gray for positive values, blue for negative ones.
pub fn diverging(palette: Palette, t: f32) -> Color {
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let level = (t.abs() * 255.0).round() as u8;
    if t >= 0.0 {
        return gray(palette, level);
    }
    match palette {
        Palette::TrueColor | Palette::Plain => Color::Rgb(0, level / 3, level),
        // The 256-color cube's pure blues: 16 (black), 17 .. 21 (0,0,95 .. 0,0,255).
        Palette::Gray256 => Color::Indexed(16 + ((u16::from(level) * 5 + 127) / 255) as u8),
    }
}

/// The terminal color closest to gray level `v` (0 black .. 255 white).
pub fn gray(palette: Palette, v: u8) -> Color {
    match palette {
        Palette::TrueColor | Palette::Plain => Color::Rgb(v, v, v),
        Palette::Gray256 => {
            // The 256-color palette has black (16), white (231) and a 24-step ramp 232..=255
            // running from gray 8 to gray 238 in steps of 10.
            match v {
                0..=3 => Color::Indexed(16),
                248..=255 => Color::Indexed(231),
                _ => Color::Indexed(232 + ((u16::from(v).saturating_sub(3)) / 10).min(23) as u8),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_pixel_rows_per_cell_and_zoom() {
        // 2x2 image: top row 255, 0; bottom row 0, 128.
        let pixels = [255, 0, 0, 128];
        let mut buf = Buffer::empty(Rect::new(0, 0, 4, 2));
        Digit {
            pixels: &pixels,
            cols: 2,
            zoom: 2,
            palette: Palette::TrueColor,
        }
        .render(buf.area, &mut buf);
        // Zoom 2: the first cell row holds pixel row 0 twice (top and bottom half).
        let c = &buf[(0, 0)];
        assert_eq!(
            (c.symbol(), c.fg, c.bg),
            ("▀", Color::Rgb(255, 255, 255), Color::Rgb(255, 255, 255))
        );
        let c = &buf[(3, 1)];
        assert_eq!(
            (c.fg, c.bg),
            (Color::Rgb(128, 128, 128), Color::Rgb(128, 128, 128))
        );
        let c = &buf[(2, 0)];
        assert_eq!(c.fg, Color::Rgb(0, 0, 0));
    }

    #[test]
    fn plain_rendering_uses_shades() {
        let pixels = [255, 0, 255, 0];
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        Digit {
            pixels: &pixels,
            cols: 2,
            zoom: 1,
            palette: Palette::Plain,
        }
        .render(buf.area, &mut buf);
        assert_eq!(buf[(0, 0)].symbol(), "█");
        assert_eq!(buf[(1, 0)].symbol(), " ");
    }

    #[test]
    fn the_input_is_drawn_relative_to_its_largest_magnitude_with_its_sign() {
        // One column, four rows: -2, 1, 0, 2 (scales 2 and 2).
        let values = [-2.0, 1.0, 0.0, 2.0];
        let digit = InputDigit {
            values: &values,
            cols: 1,
            zoom: 1,
            palette: Palette::TrueColor,
            symmetric: false,
        };
        assert_eq!(digit.scales(), (2.0, 2.0));
        let mut buf = Buffer::empty(Rect::new(0, 0, 1, 2));
        digit.render(buf.area, &mut buf);
        assert_eq!(buf[(0, 0)].fg, Color::Rgb(0, 85, 255), "-1: full blue");
        assert_eq!(buf[(0, 0)].bg, Color::Rgb(128, 128, 128), "0.5: mid gray");
        assert_eq!(buf[(0, 1)].fg, Color::Rgb(0, 0, 0));
        assert_eq!(buf[(0, 1)].bg, Color::Rgb(255, 255, 255));
        let mut plain = Buffer::empty(Rect::new(0, 0, 1, 2));
        InputDigit {
            palette: Palette::Plain,
            ..digit
        }
        .render(plain.area, &mut plain);
        // Averages of the two rows: -0.25 and 0.5.
        assert_eq!(plain[(0, 0)].symbol(), "·");
        assert_eq!(plain[(0, 1)].symbol(), "▒");
        let zeros = [0.0; 4];
        assert_eq!(
            InputDigit {
                values: &zeros,
                ..digit
            }
            .scales(),
            (1.0, 1.0)
        );
        // A small negative background is as visible as the ink, whatever the ink's size.
        let zscore_like = [-0.42, -0.42, 2.8, 2.8];
        let mut buf = Buffer::empty(Rect::new(0, 0, 1, 2));
        InputDigit {
            values: &zscore_like,
            ..digit
        }
        .render(buf.area, &mut buf);
        assert_eq!(buf[(0, 0)].fg, Color::Rgb(0, 85, 255));
        assert_eq!(buf[(0, 1)].fg, Color::Rgb(255, 255, 255));
        // Symmetric: the small negative background is drawn small beside the ink.
        let weights = InputDigit {
            values: &zscore_like,
            symmetric: true,
            ..digit
        };
        assert_eq!(weights.scales(), (2.8, 2.8));
        let mut buf = Buffer::empty(Rect::new(0, 0, 1, 2));
        weights.render(buf.area, &mut buf);
        assert_eq!(
            buf[(0, 0)].fg,
            Color::Rgb(0, 12, 38),
            "-0.42 of 2.8: a dark blue"
        );
    }

    #[test]
    fn gray_ramp_is_monotonic() {
        let idx = |v| match gray(Palette::Gray256, v) {
            Color::Indexed(i) => i,
            c => panic!("{c:?}"),
        };
        assert_eq!(idx(0), 16);
        assert_eq!(idx(255), 231);
        let ramp: Vec<u8> = (4..248).map(idx).collect();
        assert!(ramp.windows(2).all(|w| w[0] <= w[1]));
        assert!(ramp.iter().all(|&i| (232..=255).contains(&i)));
    }
}
