//! Accuracy, per-class accuracy and the confusion matrix over a split, computed in batches.
//!
//! [`Tally`] is the one result type and [`evaluate`] the one loop: the headless `eval`
//! command, the explorer's background worker and the tests all run it.

use std::ops::Range;

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::dataset::{Dataset, NUM_CLASSES};
use crate::layer::{OutputLayer, argmax};
use crate::network::Network;
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

/// Images per group of batches handed to the threads at once (at least 4 batches per
/// thread): see [`evaluate`].
const GROUP_IMAGES: usize = 4096;
/// Fewest images one thread takes from a group at a time (whole pieces).
const MIN_IMAGES_PER_TAKE: usize = 256;
/// Most images in one forward call: a larger batch goes through in pieces of this many
/// (a multiple of the kernels' blocks of 16), which the threads share as they share
/// smaller batches. Each image runs through the same operations alone, whatever else is
/// in its call, so the pieces' outputs are the batch's bit for bit; split by the forward
/// call itself instead (halves of halves down to 256 images), batch 1,000 and 10,000 took
/// 10% to 20% longer than batch 100 on two threads.
const MAX_PIECE: usize = 128;

/// One batch of a pass, as [`evaluate`] hands it on.
#[derive(Debug)]
pub struct BatchResult<'a> {
    /// Dataset indices of the batch's images.
    pub range: Range<usize>,
    /// The output layer's values (probabilities or raw scores), one row per image.
    pub outputs: ArrayView2<'a, f32>,
    /// The predicted class of each image of the batch.
    pub predictions: &'a [u8],
    /// Counts over every batch so far, this one included.
    pub tally: &'a Tally,
}

/// Predicts every image of `data` in batches of `batch_size`, returning the tally and one
/// predicted label per image in dataset order. `on_batch` sees each batch in order, with the
/// tally so far, and may return `false` to stop early (the result then covers only the
/// batches done). The one evaluation loop: `eval`, the explorer's worker and the tests all
/// run it.
///
/// Each forward call takes one batch, as in the book (a batch of more than [`MAX_PIECE`]
/// images, a few pieces of it); the threads share the pass by taking whole batches (or
/// pieces) from a group of them, so they meet once per group rather than once per batch,
/// each call runs on one thread, and all write into the group's one output buffer. Split
/// inside every batch, two threads at batch 100 waited for each other a hundred times a
/// pass, which cost a tenth of the pass on a quiet machine and doubled it when the host
/// took one of the two CPUs away for a while.
pub fn evaluate(
    net: &Network,
    data: &Dataset,
    norm: NormMode,
    batch_size: usize,
    output: OutputLayer,
    mut on_batch: impl FnMut(&BatchResult<'_>) -> bool,
) -> (Tally, Vec<u8>) {
    use rayon::prelude::*;
    let batch_size = batch_size.max(1);
    let classes = net.output_size();
    let ranges: Vec<_> = data.batches(batch_size).collect();
    let threads = rayon::current_num_threads();
    let per_group = (threads * 4).max(GROUP_IMAGES / batch_size);
    let piece = batch_size.min(MAX_PIECE);
    let per_take = (MIN_IMAGES_PER_TAKE / piece).max(1);
    let mut tally = Tally::default();
    let mut all = Vec::with_capacity(data.len());
    // One buffer of outputs and one of predictions for a whole group, reused group after
    // group: a pass at batch 1 made two allocations per image.
    let (mut outputs, mut predicted) = (Vec::new(), Vec::new());
    for group in ranges.chunks(per_group) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let images = first.start..last.end;
        outputs.clear();
        outputs.resize(images.len() * classes, 0.0);
        predicted.clear();
        predicted.resize(images.len(), 0);
        let mut parts = Vec::with_capacity(images.len().div_ceil(piece));
        let (mut out_rest, mut pred_rest) = (&mut outputs[..], &mut predicted[..]);
        for range in group {
            for start in range.clone().step_by(piece) {
                let part = start..(start + piece).min(range.end);
                let (out, o) = std::mem::take(&mut out_rest).split_at_mut(part.len() * classes);
                let (pred, p) = std::mem::take(&mut pred_rest).split_at_mut(part.len());
                (out_rest, pred_rest) = (o, p);
                parts.push((part, out, pred));
            }
        }
        parts
            .into_par_iter()
            .with_min_len(per_take)
            .for_each(|(part, out, pred)| {
                net.forward_pixels_into(data.images(part), norm, output, out);
                for (p, row) in pred.iter_mut().zip(out.chunks_exact(classes)) {
                    *p = argmax(ArrayView1::from(row)) as u8;
                }
            });
        for range in group {
            let at = range.start - images.start..range.end - images.start;
            let preds = &predicted[at.clone()];
            tally.push(&data.labels()[range.clone()], preds);
            all.extend_from_slice(preds);
            let rows = &outputs[at.start * classes..at.end * classes];
            let batch = BatchResult {
                range: range.clone(),
                outputs: ArrayView2::from_shape((range.len(), classes), rows)
                    .unwrap_or_else(|_| unreachable!("a batch's rows are range.len() x classes")),
                predictions: preds,
                tally: &tally,
            };
            if !on_batch(&batch) {
                return (tally, all);
            }
        }
    }
    (tally, all)
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

    /// 5,000 images of 2x2 pixels, labels 0..9, and a one-layer network (4 -> 10).
    fn fixture() -> (Dataset, Network) {
        let n = 5000;
        let images: Vec<u8> = (0..n * 4).map(|i| ((i * 37 + i / 7) % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let data = Dataset::from_parts(images, labels, 2, 2).unwrap();
        let w =
            ndarray::Array2::from_shape_fn((4, 10), |(r, c)| ((r * 7 + c * 3) % 5) as f32 - 2.0);
        let b = ndarray::Array1::from_shape_fn(10, |c| c as f32 * 0.1);
        (
            data,
            Network::new(vec![crate::layer::Layer { w, b }]).unwrap(),
        )
    }

    #[test]
    fn batches_shared_by_threads_give_the_one_thread_result_in_order() {
        let (data, net) = fixture();
        // A pass on a pool of `threads`, with the tally totals `on_batch` saw.
        let pass = |threads: usize, batch: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut seen = Vec::new();
            let (tally, preds) = pool.install(|| {
                evaluate(
                    &net,
                    &data,
                    NormMode::Div255,
                    batch,
                    OutputLayer::Softmax,
                    |b| {
                        seen.push(b.tally.total);
                        true
                    },
                )
            });
            (tally, preds, seen)
        };
        // Image by image, outside the kernels' batching altogether.
        let expected: Vec<u8> = (0..data.len())
            .map(|i| {
                let x = normalized_batch(&data, i..i + 1, NormMode::Div255);
                predictions(net.forward_reference(x.view(), OutputLayer::Softmax).view())[0]
            })
            .collect();
        for batch in [1, 7, 100, 4999, 10_000] {
            let one = pass(1, batch);
            let ends: Vec<u64> = data.batches(batch).map(|r| r.end as u64).collect();
            assert_eq!(one.2, ends, "one on_batch per batch, in order");
            for threads in [2, 3] {
                let (tally, preds, seen) = pass(threads, batch);
                assert_eq!(preds, expected, "{threads} threads, batch {batch}");
                assert_eq!((&tally, &preds, &seen), (&one.0, &one.1, &one.2));
            }
        }
    }

    #[test]
    fn a_batch_run_in_pieces_gives_the_outputs_of_one_forward_call() {
        let (data, net) = fixture();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        // 1,000 is several pieces and not a whole number of them; 7 is less than one.
        for batch in [1000, 7] {
            let mut seen = 0;
            pool.install(|| {
                evaluate(
                    &net,
                    &data,
                    NormMode::L2,
                    batch,
                    OutputLayer::Softmax,
                    |b| {
                        let whole = net.forward_pixels(
                            data.images(b.range.clone()),
                            NormMode::L2,
                            OutputLayer::Softmax,
                        );
                        assert_eq!(b.outputs, whole.view(), "batch {batch} at {:?}", b.range);
                        seen += b.range.len();
                        true
                    },
                )
            });
            assert_eq!(seen, data.len());
        }
    }

    #[test]
    fn a_pass_stops_after_the_batch_that_says_so() {
        let (data, net) = fixture();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let mut calls = 0;
        let (tally, preds) = pool.install(|| {
            evaluate(
                &net,
                &data,
                NormMode::Div255,
                100,
                OutputLayer::Softmax,
                |_| {
                    calls += 1;
                    calls < 3
                },
            )
        });
        assert_eq!((calls, tally.total, preds.len()), (3, 300, 300));
    }

    #[test]
    fn empty_tally_has_zero_accuracy() {
        assert_eq!(Tally::default().accuracy(), 0.0);
    }
}
