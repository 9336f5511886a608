//! Characters that draw gray levels in plain text, where colors are off (`NO_COLOR`, a pipe):
//! shared by the explorer and `show`, so both shade a digit alike.

/// Shades from background to full ink.
pub const SHADES: [char; 5] = [' ', '░', '▒', '▓', '█'];

/// The shade of gray level `level` (0 background .. 255 full ink).
pub fn shade(level: u8) -> char {
    SHADES[(usize::from(level) * SHADES.len() / 256).min(SHADES.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

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
