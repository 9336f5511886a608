//! The error-analysis parts of `eval`'s report: the confusion matrix as an aligned table with
//! totals, the images with the highest loss (`--worst N`), and a second network's accuracy
//! and where the two disagree (`--compare FILE`), as text and as JSON values.

use std::fmt::Write as _;
use std::path::Path;

use mnist_explorer::analysis::{Order, Verdict, disagreements, rank};
use mnist_explorer::dataset::NUM_CLASSES;
use mnist_explorer::eval::Tally;
use mnist_explorer::normalize::NormMode;
use mnist_explorer::percent::pct;
use serde_json::{Value, json};

/// The confusion matrix, rows the true label and columns the prediction, each row and column
/// totalled; every column as wide as the grand total needs.
pub fn confusion_table(tally: &Tally) -> String {
    let totals = tally.class_totals();
    let predicted: [u64; NUM_CLASSES] =
        std::array::from_fn(|p| tally.confusion.iter().map(|row| row[p]).sum());
    let w = tally.total.to_string().len().max("total".len()) + 1;
    let label = "true\\pred";
    let lw = label.len();
    let mut s = String::new();
    let _ = write!(s, "  {label:>lw$}");
    for p in 0..NUM_CLASSES {
        let _ = write!(s, "{p:>w$}");
    }
    let _ = writeln!(s, " |{:>w$}", "total");
    let rule = "-".repeat(2 + lw + w * NUM_CLASSES);
    let _ = writeln!(s, "{rule}-+{}", "-".repeat(w));
    for (t, row) in tally.confusion.iter().enumerate() {
        let _ = write!(s, "  {t:>lw$}");
        for count in row {
            let _ = write!(s, "{count:>w$}");
        }
        let _ = writeln!(s, " |{:>w$}", totals[t]);
    }
    let _ = writeln!(s, "{rule}-+{}", "-".repeat(w));
    let _ = write!(s, "  {:>lw$}", "total");
    for count in predicted {
        let _ = write!(s, "{count:>w$}");
    }
    let _ = writeln!(s, " |{:>w$}", tally.total);
    s
}

/// One of the images with the highest loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Worst {
    /// Dataset index.
    pub index: usize,
    /// True label.
    pub label: u8,
    /// Predicted label.
    pub predicted: u8,
    /// What the pass said about it.
    pub verdict: Verdict,
}

/// The `n` images with the highest loss, highest first, ties by index.
pub fn worst(n: usize, verdicts: &[Verdict], predictions: &[u8], labels: &[u8]) -> Vec<Worst> {
    rank(Order::Loss, verdicts, predictions, labels)
        .into_iter()
        .take(n)
        .map(|i| {
            let i = i as usize;
            Worst {
                index: i,
                label: labels[i],
                predicted: predictions[i],
                verdict: verdicts[i],
            }
        })
        .collect()
}

/// `--worst` as text: a heading and one aligned line per image.
pub fn worst_text(worst: &[Worst]) -> String {
    let mut s = format!(
        "the {} images with the highest loss (-ln p of the true class):\n",
        worst.len()
    );
    let _ = writeln!(
        s,
        "  {:>6}  {:>4}  {:>9}  {:>10}  {:>9}",
        "index", "true", "predicted", "confidence", "loss"
    );
    for w in worst {
        let _ = writeln!(
            s,
            "  {:>6}  {:>4}  {:>9}  {:>10}  {:>9.5}",
            w.index,
            w.label,
            w.predicted,
            pct(f64::from(w.verdict.confidence)),
            w.verdict.loss
        );
    }
    s
}

/// `--worst` as JSON: an array of `{index, true, predicted, confidence, loss}` (a loss that is
/// infinite, p = 0 in f32, is `null`: JSON has no infinity).
pub fn worst_json(worst: &[Worst]) -> Value {
    worst
        .iter()
        .map(|w| {
            json!({
                "index": w.index,
                "true": w.label,
                "predicted": w.predicted,
                "confidence": w.verdict.confidence,
                "loss": w.verdict.loss,
            })
        })
        .collect()
}

/// The second network's result beside the first's.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Its counts.
    pub tally: Tally,
    /// Where its predictions differ from the first network's.
    pub disagree: Vec<usize>,
    /// Of those, how many the first network gets right.
    pub first_right: usize,
    /// Of those, how many the second network gets right.
    pub second_right: usize,
    /// The mode the second network's file records it was trained with, if any.
    pub trained_on: Option<NormMode>,
}

impl Comparison {
    /// Compares `second`'s predictions (counted in `tally`) with `first`'s on `labels`.
    pub fn new(tally: Tally, first: &[u8], second: &[u8], labels: &[u8]) -> Self {
        let disagree = disagreements(first, second);
        let right = |preds: &[u8]| disagree.iter().filter(|&&i| preds[i] == labels[i]).count();
        Self {
            first_right: right(first),
            second_right: right(second),
            tally,
            disagree,
            trained_on: None,
        }
    }

    /// As text: both accuracies and how the disagreements split.
    pub fn text(&self, first: &Tally, weights: &Path) -> String {
        let n = self.disagree.len();
        let neither = n - self.first_right - self.second_right;
        format!(
            "compared with {}: accuracy {} ({} / {} correct) against {} here\n\
             the two disagree on {n} image{}: this network right on {}, the other on {}, \
             neither on {neither}\n",
            weights.display(),
            pct(self.tally.accuracy()),
            self.tally.correct,
            self.tally.total,
            pct(first.accuracy()),
            if n == 1 { "" } else { "s" },
            self.first_right,
            self.second_right,
        )
    }

    /// As JSON: the second network's file, accuracy and counts, and the indices where the two
    /// disagree.
    pub fn json(&self, weights: &Path) -> Value {
        json!({
            "weights": weights.display().to_string(),
            "accuracy": self.tally.accuracy(),
            "correct": self.tally.correct,
            "total": self.tally.total,
            "disagreements": self.disagree.len(),
            "disagree": self.disagree,
            "this_right": self.first_right,
            "other_right": self.second_right,
            "trained_on": self.trained_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confusion_table_is_aligned_and_totalled() {
        let mut tally = Tally::default();
        tally.push(&[1, 1, 2, 9], &[1, 7, 2, 9]);
        for _ in 0..12345 {
            tally.push(&[0], &[0]);
        }
        let table = confusion_table(&tally);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 1 + 1 + 10 + 1 + 1);
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width), "{table}");
        let cells = |line: &str| -> Vec<String> {
            line.split_whitespace()
                .filter(|w| *w != "|")
                .map(String::from)
                .collect()
        };
        assert_eq!(
            cells(lines[3])[1..],
            ["0", "1", "0", "0", "0", "0", "0", "1", "0", "0", "2"]
        );
        assert_eq!(cells(lines[2])[1], "12345");
        let last = cells(lines[13]);
        assert_eq!(last[0], "total");
        assert_eq!(last[1], "12345");
        assert_eq!(last[8], "1", "one image predicted 7");
        assert_eq!(last[11], "12349");
    }

    #[test]
    fn worst_lists_the_highest_losses_in_order() {
        let v = |loss| Verdict {
            confidence: 0.5,
            loss,
            margin: 0.1,
        };
        let verdicts = [v(0.1), v(3.0), v(f32::INFINITY), v(3.0)];
        let w = worst(3, &verdicts, &[0, 1, 2, 3], &[0, 2, 1, 3]);
        let indices: Vec<usize> = w.iter().map(|w| w.index).collect();
        assert_eq!(indices, [2, 1, 3]);
        assert_eq!((w[1].label, w[1].predicted), (2, 1));
        let json = worst_json(&w);
        assert_eq!(json[0]["loss"], Value::Null, "JSON has no infinity");
        assert_eq!(json[1]["true"], 2);
        let text = worst_text(&w);
        assert!(text.lines().nth(3).is_some_and(|l| l.contains("3.00000")));
    }

    #[test]
    fn a_comparison_splits_the_disagreements() {
        let labels = [0, 1, 2, 3, 4];
        let first = [0, 1, 9, 9, 4];
        let second = [0, 7, 2, 8, 4];
        let mut tally = Tally::default();
        tally.push(&labels, &second);
        let c = Comparison::new(tally, &first, &second, &labels);
        assert_eq!(c.disagree, [1, 2, 3]);
        assert_eq!((c.first_right, c.second_right), (1, 1));
        let json = c.json(Path::new("b.npz"));
        assert_eq!(json["disagreements"], 3);
        assert_eq!(json["disagree"], json!([1, 2, 3]));
    }
}
