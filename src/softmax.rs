//! The softmax laid open, in f32 as the book computes it: the scores `a`, `a − max(a)`, the
//! exponentials of that, their sum and `y`; beside it the naive `exp(a) / Σ exp(a)`, which
//! overflows to inf (and then NaN) as soon as a score passes about 88.7, the largest `x`
//! whose `exp(x)` a float32 holds. The explorer's network view and the `softmax` command
//! both show these steps.

/// Every intermediate value of the naive and the stable softmax of one row of scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Steps {
    /// The scores `a` (logits).
    pub logits: Vec<f32>,
    /// `a − max(a)`: every value at most 0, so no exponential exceeds 1.
    pub shifted: Vec<f32>,
    /// `exp(a − max(a))`.
    pub exps: Vec<f32>,
    /// `Σ exp(a − max(a))`, at least 1 (the maximum's term is exactly 1).
    pub sum: f32,
    /// The stable softmax `exp(a − max(a)) / Σ exp(a − max(a))`.
    pub stable: Vec<f32>,
    /// `exp(a)` straight, as the naive softmax takes it.
    pub naive_exps: Vec<f32>,
    /// `Σ exp(a)`.
    pub naive_sum: f32,
    /// The naive softmax `exp(a) / Σ exp(a)`: inf/inf = NaN once an exponential overflows.
    pub naive: Vec<f32>,
}

impl Steps {
    /// Both softmaxes of `logits`, step by step, in f32.
    pub fn of(logits: &[f32]) -> Self {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let shifted: Vec<f32> = logits.iter().map(|&a| a - max).collect();
        let exps: Vec<f32> = shifted.iter().map(|&s| s.exp()).collect();
        let sum: f32 = exps.iter().sum();
        let stable = exps.iter().map(|&e| e / sum).collect();
        let naive_exps: Vec<f32> = logits.iter().map(|&a| a.exp()).collect();
        let naive_sum: f32 = naive_exps.iter().sum();
        let naive = naive_exps.iter().map(|&e| e / naive_sum).collect();
        Self {
            logits: logits.to_vec(),
            shifted,
            exps,
            sum,
            stable,
            naive_exps,
            naive_sum,
            naive,
        }
    }

    /// Whether some `exp(a)` of the naive softmax overflowed to infinity.
    pub fn overflowed(&self) -> bool {
        self.naive_exps.iter().any(|e| e.is_infinite())
    }

    /// Whether every `exp(a)` underflowed to 0 (all scores below about −103), so that the
    /// naive softmax divides 0 by 0.
    pub fn underflowed(&self) -> bool {
        !self.logits.is_empty() && self.naive_sum == 0.0
    }

    /// Whether the naive softmax failed: some value of it is not a finite number.
    pub fn naive_failed(&self) -> bool {
        self.naive.iter().any(|v| !v.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_books_example_breaks_the_naive_softmax_only() {
        let s = Steps::of(&[1010.0, 1000.0, 990.0]);
        assert!(s.overflowed() && s.naive_failed() && !s.underflowed());
        assert!(
            s.naive.iter().all(|v| v.is_nan()),
            "inf / inf: {:?}",
            s.naive
        );
        assert_eq!(s.shifted, [0.0, -10.0, -20.0]);
        assert_eq!(s.exps[0], 1.0);
        let want = [0.999_954_6, 4.539_787e-5, 2.061_06e-9];
        for (got, want) in s.stable.iter().zip(want) {
            assert!((got / want - 1.0).abs() < 1e-5, "{got} vs {want}");
        }
        assert!((s.stable.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn small_scores_give_the_same_softmax_both_ways() {
        let s = Steps::of(&[0.3, 2.9, 4.0]);
        assert!(!s.overflowed() && !s.naive_failed());
        for (n, st) in s.naive.iter().zip(&s.stable) {
            assert!((n - st).abs() < 1e-6);
        }
        assert!(s.sum >= 1.0);
    }

    #[test]
    fn very_negative_scores_underflow_the_naive_softmax() {
        let s = Steps::of(&[-1000.0, -1001.0]);
        assert!(s.underflowed() && s.naive_failed() && !s.overflowed());
        assert!((s.stable[0] - 0.731_058_6).abs() < 1e-6);
    }

    #[test]
    fn no_scores_no_steps() {
        let s = Steps::of(&[]);
        assert!(s.stable.is_empty() && !s.naive_failed() && !s.underflowed());
    }
}
