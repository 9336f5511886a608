//! The one way a fraction is written as a percentage, and a count with its thousands
//! separated, in the explorer and every command.

/// `fraction` (0..=1) as a percentage with two decimals: `0.9769` → `97.69%`.
pub fn pct(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}

/// A count with thousands separated: `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimals_and_a_percent_sign() {
        assert_eq!(pct(0.9769), "97.69%");
        assert_eq!(pct(1.0), "100.00%");
        assert_eq!(pct(0.0), "0.00%");
        assert_eq!(pct(0.000_04), "0.00%");
    }
}
