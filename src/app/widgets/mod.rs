//! Drawing pieces any view may use: styles that respect the palette, bars in eighths of a
//! cell, short numbers, the digit itself ([`digit::Digit`]), shaded table cells ([`heat`]),
//! the digit under a map ([`heat_digit::HeatDigit`]) and grids of small digits
//! ([`thumbnail`]), and word wrapping for text that must fit a panel.

pub mod digit;
pub mod heat;
pub mod heat_digit;
pub mod thumbnail;

use ratatui::style::{Color, Modifier, Style};

use crate::app::shared::Palette;

/// Longest bar of a class (output, per-class accuracy): on a wide terminal, longer bars put
/// a class's digit and its number so far apart that the eye loses the row.
pub const MAX_BAR_WIDTH: usize = 60;

/// A foreground color, or no color at all under [`Palette::Plain`].
pub fn fg(palette: Palette, color: Color) -> Style {
    match palette {
        Palette::Plain => Style::default(),
        _ => Style::default().fg(color),
    }
}

/// Bold, which is not a color and stays under `NO_COLOR`.
pub fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// Dimmed text for labels and hints.
pub fn dim(palette: Palette) -> Style {
    fg(palette, Color::DarkGray)
}

/// A horizontal bar of `width` cells filled to `fraction` (0..=1), in eighths of a cell.
pub fn bar(fraction: f64, width: usize) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (fraction * width as f64 * 8.0).round() as usize;
    let (full, part) = (eighths / 8, eighths % 8);
    let mut s = "█".repeat(full.min(width));
    if full < width {
        s.push(EIGHTHS[part]);
        s.extend(std::iter::repeat_n(' ', width - full - 1));
    }
    s
}

/// A number in at most about eight characters: fixed point sized to its magnitude.
pub fn num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 1e4 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

pub use crate::percent::thousands;

/// A percentage with two decimals, for accuracies.
pub fn pct(fraction: f64) -> String {
    crate::percent::pct(fraction)
}

/// Greedy wrap of `tokens` (joined by spaces) into lines of at most `width` characters; a
/// token longer than a line is cut into pieces.
pub fn wrap(tokens: &[String], width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for token in tokens {
        let (len, used) = (token.chars().count(), line.chars().count());
        if used > 0 && used + 1 + len <= width {
            line.push(' ');
            line.push_str(token);
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
        }
        let chars: Vec<char> = token.chars().collect();
        let mut pieces = chars.chunks(width).map(|c| c.iter().collect::<String>());
        let last = pieces.next_back().unwrap_or_default();
        lines.extend(pieces);
        line = last;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` wrapped at its spaces into lines of at most `width` characters.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    wrap(&words, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_tokens_whole_and_cuts_only_the_too_long() {
        let t: Vec<String> = ["ab", "cd", "efghij"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(wrap(&t, 5), ["ab cd", "efghi", "j"]);
        assert_eq!(wrap(&t, 20), ["ab cd efghij"]);
        assert!(wrap(&[], 5).is_empty());
        assert_eq!(wrap_words(" one  two three ", 8), ["one two", "three"]);
    }

    #[test]
    fn bars_have_the_requested_width() {
        for f in [0.0, 0.01, 0.5, 0.999, 1.0, f64::NAN, 2.0] {
            assert_eq!(bar(f, 10).chars().count(), 10, "{f}");
        }
        assert_eq!(bar(1.0, 3), "███");
        assert_eq!(bar(0.5, 2), "█ ");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn numbers_stay_short() {
        assert_eq!(num(199920.0), "199920");
        assert_eq!(num(255.0), "255.0");
        assert_eq!(num(0.1307), "0.1307");
        assert_eq!(num(-0.4242), "-0.4242");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.000_12), "1.20e-4");
    }
}
