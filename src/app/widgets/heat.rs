//! Shading a table cell by its size: a background from dark to bright in green (good: the
//! matrix's diagonal) or red (bad: its errors), or without colors a shade character
//! ` ░▒▓█` in front of the number.

use ratatui::style::{Color, Style};

use crate::app::shared::Palette;
use crate::glyphs::SHADES;

/// Which way a cell's number is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// More is better (green).
    Good,
    /// More is worse (red).
    Bad,
}

/// Steps of shading, a nonzero level taking at least the first.
const STEPS: usize = SHADES.len() - 1;

/// The step of `level` (0..=1): 0 only for nothing at all, else 1 to [`STEPS`], so that a
/// cell of one image never looks empty.
pub fn step(level: f64) -> usize {
    if level.is_nan() || level <= 0.0 {
        return 0;
    }
    ((level.min(1.0) * STEPS as f64).ceil() as usize).clamp(1, STEPS)
}

/// The shade character of `level` (blank for nothing), for [`Palette::Plain`].
pub fn glyph(level: f64) -> char {
    SHADES[step(level)]
}

/// The style of a cell at `level`: its background by tone and step, and a foreground that
/// reads on it; the default style under [`Palette::Plain`] or for nothing at all.
pub fn style(palette: Palette, level: f64, tone: Tone) -> Style {
    let step = step(level);
    if step == 0 || palette == Palette::Plain {
        return Style::default();
    }
    let bg = match (palette, tone) {
        // The 256-color cube's greens (28, 34, 40, 46) and reds (88, 124, 160, 196).
        (Palette::Gray256, Tone::Good) => Color::Indexed(22 + 6 * step as u8),
        (Palette::Gray256, Tone::Bad) => Color::Indexed(52 + 36 * step as u8),
        (_, tone) => {
            let v = (40 + step * 215 / STEPS) as u8;
            match tone {
                Tone::Good => Color::Rgb(0, v, v / 4),
                Tone::Bad => Color::Rgb(v, v / 8, v / 8),
            }
        }
    };
    let fg = if step > STEPS / 2 {
        Color::Black
    } else {
        Color::White
    };
    Style::default().bg(bg).fg(fg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_nonzero_level_is_shaded_and_full_is_the_darkest_glyph() {
        assert_eq!(glyph(0.0), ' ');
        assert_eq!(glyph(f64::NAN), ' ');
        assert_eq!(glyph(0.001), '░');
        assert_eq!(glyph(0.5), '▒');
        assert_eq!(glyph(1.0), '█');
        assert_eq!(glyph(7.0), '█');
        assert_eq!(style(Palette::Plain, 1.0, Tone::Bad), Style::default());
    }

    #[test]
    fn colors_grow_with_the_level_in_each_tone() {
        let bg = |level, tone| style(Palette::Gray256, level, tone).bg;
        assert_eq!(bg(0.0, Tone::Good), None);
        assert_eq!(bg(0.1, Tone::Good), Some(Color::Indexed(28)));
        assert_eq!(bg(1.0, Tone::Good), Some(Color::Indexed(46)));
        assert_eq!(bg(1.0, Tone::Bad), Some(Color::Indexed(196)));
        let red = |level| match style(Palette::TrueColor, level, Tone::Bad).bg {
            Some(Color::Rgb(r, _, _)) => r,
            other => panic!("{other:?}"),
        };
        assert!(red(0.2) < red(0.6) && red(0.6) < red(1.0));
    }
}
