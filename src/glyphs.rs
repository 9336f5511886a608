//! Characters that draw gray levels in plain text, where colors are off (`NO_COLOR`, a pipe):
//! shared by the explorer and `show`, so both shade a digit alike.

/// Shades from background to full ink.
pub const SHADES: [char; 5] = [' ', '░', '▒', '▓', '█'];

/// The mark of a clearly negative value: a dot, light enough that a field of them (the
/// background under z-score) still lets the digit stand out, and never taken for ink.
pub const NEGATIVE: char = '·';

/// The shade of `t` in -1..=1: blocks for positive values by their size, [`NEGATIVE`] for
/// negative ones beyond an eighth of the scale (the sign is the lesson, not the size).
pub fn signed_shade(t: f32) -> char {
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    if t < -0.125 {
        NEGATIVE
    } else {
        shade((t.max(0.0) * 255.0).round() as u8)
    }
}

/// The shade of gray level `level` (0 background .. 255 full ink).
pub fn shade(level: u8) -> char {
    SHADES[(usize::from(level) * SHADES.len() / 256).min(SHADES.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_shades_tell_the_sign_apart() {
        assert_eq!(signed_shade(1.0), '█');
        assert_eq!(signed_shade(-1.0), '·');
        assert_eq!(signed_shade(-0.42), '·');
        assert_eq!(signed_shade(-0.1), ' ', "a hair below zero is no mark");
        assert_eq!(signed_shade(0.0), ' ');
        assert_eq!(signed_shade(f32::NAN), ' ');
        assert_eq!(signed_shade(-7.0), '·', "clamped");
    }

    #[test]
    fn shades_run_from_blank_to_full_in_equal_steps() {
        assert_eq!(shade(0), ' ');
        assert_eq!(
            (shade(51), shade(52)),
            (' ', '░'),
            "five equal bands of 51.2 levels"
        );
        assert_eq!(shade(255), '█');
        let steps: Vec<char> = (0..=255u8).map(shade).collect();
        for pair in steps.windows(2) {
            let at = |c| SHADES.iter().position(|&s| s == c).unwrap();
            assert!(at(pair[0]) <= at(pair[1]));
        }
    }
}
