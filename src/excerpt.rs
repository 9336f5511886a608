//! Quoting untrusted input in error messages, cut to a length a person can read.

/// Characters of quoted input an error message shows before cutting it off.
pub const MAX_CHARS: usize = 80;

/// `text` as it may appear in an error message: whole if it has at most [`MAX_CHARS`]
/// characters, else its first [`MAX_CHARS`] followed by "…" and how much was left out.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(MAX_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_whole_and_long_text_is_cut_at_a_character() {
        assert_eq!(excerpt("W1"), "W1");
        let long = "é".repeat(500_000);
        let cut = excerpt(&long);
        assert!(cut.starts_with(&"é".repeat(MAX_CHARS)), "{cut}");
        assert!(cut.ends_with("… (1000000 bytes in all)"), "{cut}");
        assert_eq!(excerpt(&"x".repeat(MAX_CHARS)), "x".repeat(MAX_CHARS));
    }
}
