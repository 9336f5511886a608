//! `softmax`: the book's overflow example as a command. For the scores given, the naive
//! softmax, the stable one and their sums, in float32, as the explorer's network view shows
//! them for a digit's scores.

use std::fmt::Write as _;

use color_eyre::eyre::{Result, WrapErr};
use mnist_explorer::softmax::Steps;

use crate::cli::SoftmaxArgs;

/// `softmax --json`: float32 numbers, `null` where a value is inf or NaN.
#[derive(serde::Serialize)]
struct SoftmaxJson<'a> {
    scores: &'a [f32],
    naive: Vec<Option<f32>>,
    stable: Vec<Option<f32>>,
    /// The sum of the naive softmax's values.
    naive_sum: Option<f32>,
    /// The sum of the stable softmax's values.
    stable_sum: f32,
    /// Whether some exp(a) overflowed to infinity.
    overflowed: bool,
}

/// Runs `softmax` and prints both softmaxes.
pub fn run(args: &SoftmaxArgs) -> Result<()> {
    let steps = Steps::of(&args.scores);
    let text = if args.json {
        let finite = |v: &[f32]| -> Vec<Option<f32>> {
            v.iter().map(|x| x.is_finite().then_some(*x)).collect()
        };
        let naive_sum: f32 = steps.naive.iter().sum();
        let object = SoftmaxJson {
            scores: &steps.logits,
            naive: finite(&steps.naive),
            stable: finite(&steps.stable),
            naive_sum: naive_sum.is_finite().then_some(naive_sum),
            stable_sum: steps.stable.iter().sum(),
            overflowed: steps.overflowed(),
        };
        format!("{}\n", serde_json::to_string(&object)?)
    } else {
        report(&steps)
    };
    super::stdio::print(&text).wrap_err("writing to standard output")
}

/// The readable form: each step of both softmaxes, one row per score, then their sums and
/// what went wrong, if anything.
fn report(steps: &Steps) -> String {
    let mut s = String::new();
    let n = steps.logits.len();
    let _ = writeln!(s, "float32, {n} score{} a\n", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        s,
        "{:>12} {:>12} {:>12} | {:>12} {:>12}",
        "a", "exp(a)", "naive y", "a - max(a)", "stable y"
    );
    for i in 0..steps.logits.len() {
        let _ = writeln!(
            s,
            "{:>12} {:>12} {:>12} | {:>12} {:>12}",
            number(steps.logits[i]),
            number(steps.naive_exps[i]),
            number(steps.naive[i]),
            number(steps.shifted[i]),
            number(steps.stable[i])
        );
    }
    let naive_total: f32 = steps.naive.iter().sum();
    let stable_total: f32 = steps.stable.iter().sum();
    let _ = writeln!(
        s,
        "\nnaive   exp(a) / sum exp(a)                 sum exp(a) = {:<10}  sum y = {}",
        number(steps.naive_sum),
        number(naive_total)
    );
    let _ = writeln!(
        s,
        "stable  exp(a - max) / sum exp(a - max)     sum exp    = {:<10}  sum y = {}",
        number(steps.sum),
        number(stable_total)
    );
    let verdict = if steps.overflowed() {
        "the naive softmax fails: exp(a) overflowed to inf for a score above about 88.7, and \
         inf / inf is NaN. The stable one subtracts max(a) first, so no exp exceeds 1."
            .to_string()
    } else if steps.underflowed() {
        "the naive softmax fails: every exp(a) underflowed to 0 (all scores below about -103), \
         and 0 / 0 is NaN. The stable one subtracts max(a) first, so the largest exp is 1."
            .to_string()
    } else {
        "both agree: no exp(a) overflowed (every score is below about 88.7).".to_string()
    };
    let _ = writeln!(s, "\n{verdict}");
    s
}

/// A float32 as a person reads it: up to five decimals, or three significant digits with a
/// two-digit exponent (as numpy prints) when that would round it away; inf and NaN by name.
fn number(v: f32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e6).contains(&a) {
        let fixed = format!("{v:.5}");
        let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
        return if trimmed == "-0" {
            "0".into()
        } else {
            trimmed.into()
        };
    }
    let sci = format!("{v:.2e}");
    match sci.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => sci,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_the_book_prints_them() {
        assert_eq!(number(0.999_954_6), "0.99995");
        assert_eq!(number(4.539_787e-5), "4.54e-05");
        assert_eq!(number(2.061_06e-9), "2.06e-09");
        assert_eq!(number(1010.0), "1010");
        assert_eq!(number(-10.0), "-10");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(f32::INFINITY), "inf");
        assert_eq!(number(f32::NAN), "NaN");
        assert_eq!(number(3.0e20), "3.00e+20");
    }

    #[test]
    fn the_header_counts_the_scores_in_words() {
        assert!(report(&Steps::of(&[5.0])).starts_with("float32, 1 score a\n"));
        assert!(report(&Steps::of(&[1.0, 2.0])).starts_with("float32, 2 scores a\n"));
    }
}
