//! Accuracy, per-class accuracy and the confusion matrix over a split, computed in batches.
//!
//! [`Tally`] is the one result type: the headless `eval` command and the explorer's
//! background worker both fill it batch by batch with [`Tally::push`].

use ndarray::{Array2, ArrayView2};

use crate::dataset::{Dataset, NUM_CLASSES};
use crate::network::{Network, OutputLayer, argmax};
use crate::normalize::NormMode;

/// Running counts of an evaluation: how many images, how many right, and who was taken for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Images counted so far.
    pub total: u64,
    /// Of those, predicted right.
    pub correct: u64,
    /// `confusion[true][predicted]` counts.
    pub confusion: [[u64; NUM_CLASSES]; NUM_CLASSES],
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            total: 0,
            correct: 0,
            confusion: [[0; NUM_CLASSES]; NUM_CLASSES],
        }
    }
}

impl Tally {
    /// Adds one batch: `labels[i]` is the truth for `predictions[i]`.
    pub fn push(&mut self, labels: &[u8], predictions: &[u8]) {
        debug_assert_eq!(labels.len(), predictions.len());
        for (&t, &p) in labels.iter().zip(predictions) {
            self.total += 1;
            self.correct += u64::from(t == p);
            self.confusion[usize::from(t)][usize::from(p)] += 1;
        }
    }

    /// Adds another tally's counts to this one.
    pub fn merge(&mut self, other: &Tally) {
        self.total += other.total;
        self.correct += other.correct;
        for (row, other_row) in self.confusion.iter_mut().zip(&other.confusion) {
            for (c, o) in row.iter_mut().zip(other_row) {
                *c += o;
            }
        }
    }

    /// Fraction right, 0 when nothing was counted.
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }

    /// Images of each true class counted so far.
    pub fn class_totals(&self) -> [u64; NUM_CLASSES] {
        std::array::from_fn(|c| self.confusion[c].iter().sum())
    }

    /// Accuracy per true class, `None` for a class not seen yet.
    pub fn per_class_accuracy(&self) -> [Option<f64>; NUM_CLASSES] {
        let totals = self.class_totals();
        std::array::from_fn(|c| {
            (totals[c] > 0).then(|| self.confusion[c][c] as f64 / totals[c] as f64)
        })
    }
}

/// Normalizes images `range` of `data` into a (batch x pixels) f32 matrix.
pub fn normalized_batch(
    data: &Dataset,
    range: std::ops::Range<usize>,
    norm: NormMode,
) -> Array2<f32> {
    let n = data.pixels_per_image();
    let mut batch = Array2::<f32>::zeros((range.len(), n));
    if let Some(out) = batch.as_slice_mut() {
        norm.apply_batch(data.images(range), n, out);
    }
    batch
}

/// The predicted class of each row of network output.
pub fn predictions(outputs: ArrayView2<f32>) -> Vec<u8> {
    outputs
        .rows()
        .into_iter()
        .map(|r| argmax(r) as u8)
        .collect()
}

/// Predicts every image of `data` in batches of `batch_size`, returning the tally and one
/// predicted label per image in dataset order. `on_batch` sees the tally after each batch
/// and may return `false` to stop early (the result then covers only the batches done).
pub fn evaluate(
    net: &Network,
    data: &Dataset,
    norm: NormMode,
    batch_size: usize,
    output: OutputLayer,
    mut on_batch: impl FnMut(&Tally) -> bool + Send,
) -> (Tally, Vec<u8>) {
    // The loop runs on a thread of the rayon pool. From outside the pool, each batch's split
    // across threads would hand every part to the pool and put this thread to sleep until
    // they are done: two cross-thread wake-ups per batch, which at batch 100 cost about as
    // much as the arithmetic. From a pool thread, one part runs right here.
    rayon::scope(|_| {
        let mut tally = Tally::default();
        let mut all = Vec::with_capacity(data.len());
        for range in data.batches(batch_size) {
            let outputs = net.forward_pixels(data.images(range.clone()), norm, output);
            let preds = predictions(outputs.view());
            tally.push(&data.labels()[range], &preds);
            all.extend_from_slice(&preds);
            if !on_batch(&tally) {
                break;
            }
        }
        (tally, all)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_and_merges() {
        let mut a = Tally::default();
        a.push(&[1, 1, 2], &[1, 2, 2]);
        assert_eq!((a.total, a.correct), (3, 2));
        assert_eq!(a.confusion[1][2], 1);
        let mut b = Tally::default();
        b.push(&[0], &[0]);
        a.merge(&b);
        assert_eq!((a.total, a.correct), (4, 3));
        let per = a.per_class_accuracy();
        assert_eq!(per[1], Some(0.5));
        assert_eq!(per[0], Some(1.0));
        assert_eq!(per[9], None);
        assert_eq!(a.accuracy(), 0.75);
    }

    #[test]
    fn empty_tally_has_zero_accuracy() {
        assert_eq!(Tally::default().accuracy(), 0.0);
    }
}
