//! The digit with a map laid over it (which pixels matter): each pixel's gray, tinted red
//! where the map is positive and blue where it is negative; without colors, marks replace the
//! ink where the map is strong ([`STRONG`], [`SOME`], [`AGAINST`]).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use crate::app::shared::Palette;
use crate::app::widgets::digit::{Grid, gray, paint_halves};
use crate::glyphs::shade;

/// The plain mark of a strongly positive value (half the largest or more).
pub const STRONG: char = '#';
/// The plain mark of a positive value from a fifth of the largest.
pub const SOME: char = '+';
/// The plain mark of a negative value beyond a fifth of the largest.
pub const AGAINST: char = '-';

/// How much of its gray a pixel keeps under the map, so that the tint stands out.
const INK: f32 = 0.6;

/// One image of `pixels` with `heat` (one value per pixel, -1..=1) over it.
#[derive(Debug, Clone, Copy)]
pub struct HeatDigit<'a> {
    /// The pixels, row-major.
    pub pixels: &'a [u8],
    /// The map, one value per pixel, relative to its largest magnitude (-1..=1).
    pub heat: &'a [f32],
    /// Pixels per row.
    pub cols: usize,
    /// Cells per pixel across (and half-cells down).
    pub zoom: usize,
    /// How to paint.
    pub palette: Palette,
}

impl Widget for HeatDigit<'_> {
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
            (0u8, 0.0f32),
            |i| {
                let t = self.heat.get(i).copied().unwrap_or(0.0);
                let t = if t.is_finite() {
                    t.clamp(-1.0, 1.0)
                } else {
                    0.0
                };
                (self.pixels[i], t)
            },
            |top, bottom| {
                let ink = ((u16::from(top.0) + u16::from(bottom.0)) / 2) as u8;
                plain((top.1 + bottom.1) / 2.0, ink)
            },
            |(pixel, t)| tint(self.palette, pixel, t),
        );
    }
}

/// The character for heat `t` over ink `ink` without colors.
pub fn plain(t: f32, ink: u8) -> char {
    if t >= 0.5 {
        STRONG
    } else if t >= 0.2 {
        SOME
    } else if t <= -0.2 {
        AGAINST
    } else {
        shade(ink)
    }
}

/// The color of a pixel of gray `pixel` under heat `t` (-1..=1).
pub fn tint(palette: Palette, pixel: u8, t: f32) -> Color {
    match palette {
        Palette::Gray256 => {
            // The 256-color cube has no blend of gray and red: a pixel with notable heat
            // takes the heat's color (pure reds 52..196, pure blues 17..21), others their gray.
            let level = (t.abs() * 5.0).round() as u8;
            if t.abs() < 0.15 || level == 0 {
                gray(palette, (f32::from(pixel) * INK) as u8)
            } else if t > 0.0 {
                Color::Indexed(16 + 36 * level)
            } else {
                Color::Indexed(16 + level)
            }
        }
        _ => {
            let g = f32::from(pixel) * INK;
            let a = t.abs();
            let (towards, away) = (g + a * (255.0 - g), g * (1.0 - a));
            let (r, gb) = (towards.round() as u8, away.round() as u8);
            if t >= 0.0 {
                Color::Rgb(r, gb, gb)
            } else {
                Color::Rgb(gb, gb, r)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_tints_red_up_and_blue_down_and_leaves_zero_gray() {
        assert_eq!(tint(Palette::TrueColor, 0, 1.0), Color::Rgb(255, 0, 0));
        assert_eq!(tint(Palette::TrueColor, 0, -1.0), Color::Rgb(0, 0, 255));
        assert_eq!(
            tint(Palette::TrueColor, 255, 0.0),
            Color::Rgb(153, 153, 153)
        );
        assert_eq!(tint(Palette::Gray256, 0, 1.0), Color::Indexed(196));
        assert_eq!(tint(Palette::Gray256, 0, -1.0), Color::Indexed(21));
        assert_eq!(tint(Palette::Gray256, 0, 0.1), Color::Indexed(16));
    }

    #[test]
    fn without_colors_marks_replace_the_ink_where_the_map_is_strong() {
        assert_eq!(plain(0.9, 0), STRONG);
        assert_eq!(plain(0.3, 255), SOME);
        assert_eq!(plain(-0.5, 255), AGAINST);
        assert_eq!(plain(0.1, 255), '█');
        assert_eq!(plain(0.0, 0), ' ');
        let pixels = [255u8, 0, 255, 0];
        let heat = [1.0f32, 0.0, 1.0, -1.0];
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        HeatDigit {
            pixels: &pixels,
            heat: &heat,
            cols: 2,
            zoom: 1,
            palette: Palette::Plain,
        }
        .render(buf.area, &mut buf);
        assert_eq!(buf[(0, 0)].symbol(), "#");
        assert_eq!(buf[(1, 0)].symbol(), "-", "-0.5 on average");
    }
}
