//! Error analysis over a split: what one forward pass says about each image beyond its class
//! (confidence, loss, margin: [`Verdict`]), the split ranked by them ([`Rankings`], ties by
//! index), and the images where two networks disagree. `eval --worst/--compare` and the
//! explorer's worker both compute them from [`crate::eval::evaluate`]'s batches.

use ndarray::{ArrayView1, ArrayView2};

use crate::layer::{OutputLayer, argmax};

/// What the output layer says about one image, beyond the predicted class; every figure is
/// taken from the softmax of the image's scores, in f32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Probability of the predicted class.
    pub confidence: f32,
    /// Cross-entropy of the true class: −ln p(true). Infinite when p(true) is 0 in f32.
    pub loss: f32,
    /// Probability of the predicted class minus that of the runner-up.
    pub margin: f32,
}

/// The verdict of each row of `outputs` (one forward pass: probabilities under
/// [`OutputLayer::Softmax`], raw scores under [`OutputLayer::Identity`], whose softmax is
/// taken here, as the kernels take it), `labels[i]` being row `i`'s true class.
///
/// # Panics
/// If `labels` and `outputs` differ in length, or a label is not a column of `outputs`.
pub fn verdicts(outputs: ArrayView2<f32>, labels: &[u8], output: OutputLayer) -> Vec<Verdict> {
    assert_eq!(
        outputs.nrows(),
        labels.len(),
        "one label per row of outputs"
    );
    let mut probs = Vec::with_capacity(outputs.ncols());
    outputs
        .rows()
        .into_iter()
        .zip(labels)
        .map(|(row, &label)| {
            probs.clear();
            match output {
                OutputLayer::Softmax => probs.extend(row.iter().copied()),
                OutputLayer::Identity => softmax_into(row, &mut probs),
            }
            verdict(&probs, usize::from(label))
        })
        .collect()
}

/// The verdict of one image from its probabilities. The predicted class is the argmax of the
/// probabilities, first of ties, as everywhere else.
fn verdict(probs: &[f32], label: usize) -> Verdict {
    let predicted = argmax(ArrayView1::from(probs));
    let top = probs[predicted];
    let second = probs
        .iter()
        .enumerate()
        .filter(|&(c, _)| c != predicted)
        .map(|(_, &p)| p)
        .fold(f32::NEG_INFINITY, f32::max);
    Verdict {
        confidence: top,
        loss: -probs[label].ln(),
        // A single class has no runner-up: the whole probability is its margin.
        margin: if second.is_finite() {
            top - second
        } else {
            top
        },
    }
}

/// The softmax of `scores` into `out`, as [`crate::layer::softmax_rows`] computes it: the
/// maximum subtracted first, so that large scores cannot overflow.
fn softmax_into(scores: ArrayView1<f32>, out: &mut Vec<f32>) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    out.extend(scores.iter().map(|&s| (s - max).exp()));
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|p| *p /= sum);
}

/// An order of the images of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// Dataset order.
    #[default]
    Index,
    /// Wrong predictions first, the most confident of them first; then right ones, the most
    /// confident first.
    Confidence,
    /// Highest loss (−ln p of the true class) first.
    Loss,
    /// Smallest margin between the two most probable classes first: the closest calls.
    Margin,
}

impl Order {
    /// Every order, in the cycle `s` walks.
    pub const ALL: [Order; 4] = [Order::Index, Order::Confidence, Order::Loss, Order::Margin];

    /// Its name, as the explorer and the docs write it.
    pub const fn name(self) -> &'static str {
        match self {
            Order::Index => "index",
            Order::Confidence => "confidence",
            Order::Loss => "loss",
            Order::Margin => "margin",
        }
    }

    /// The next order of the cycle.
    pub fn next(self) -> Self {
        let at = Self::ALL.iter().position(|&o| o == self).unwrap_or(0);
        Self::ALL[(at + 1) % Self::ALL.len()]
    }

    /// Where in [`Rankings`] the order's list is kept (`None` for dataset order).
    fn slot(self) -> Option<usize> {
        match self {
            Order::Index => None,
            Order::Confidence => Some(0),
            Order::Loss => Some(1),
            Order::Margin => Some(2),
        }
    }
}

/// The images of a split ranked by each [`Order`] but dataset order, computed once from a
/// finished pass; ties break by index.
#[derive(Debug, Clone, PartialEq)]
pub struct Rankings {
    /// For each order, the dataset indices in ranked order.
    lists: [Vec<u32>; 3],
    /// For each order, the rank of each dataset index (the inverse of `lists`).
    ranks: [Vec<u32>; 3],
}

impl Rankings {
    /// Ranks `verdicts[i]` (image `i`, predicted `predictions[i]`, truly `labels[i]`) by every
    /// order.
    ///
    /// # Panics
    /// If the three slices differ in length, or hold more than `u32::MAX` images.
    pub fn new(verdicts: &[Verdict], predictions: &[u8], labels: &[u8]) -> Self {
        let lists = [Order::Confidence, Order::Loss, Order::Margin]
            .map(|order| rank(order, verdicts, predictions, labels));
        let ranks = std::array::from_fn(|k| {
            let mut inverse = vec![0u32; lists[k].len()];
            for (rank, &index) in lists[k].iter().enumerate() {
                inverse[index as usize] = rank as u32;
            }
            inverse
        });
        Self { lists, ranks }
    }

    /// The dataset indices in `order`, or `None` for dataset order (which needs no list).
    pub fn list(&self, order: Order) -> Option<&[u32]> {
        order.slot().map(|k| self.lists[k].as_slice())
    }

    /// The place of image `index` in `order` (its index itself in dataset order).
    pub fn rank(&self, order: Order, index: usize) -> usize {
        match order.slot() {
            Some(k) => self.ranks[k].get(index).map_or(index, |&r| r as usize),
            None => index,
        }
    }
}

/// The dataset indices of the images in `order` (see [`Order`]), ties by index. NaN figures
/// (only a broken network makes them) come last.
///
/// # Panics
/// If the three slices differ in length, or hold more than `u32::MAX` images.
pub fn rank(order: Order, verdicts: &[Verdict], predictions: &[u8], labels: &[u8]) -> Vec<u32> {
    assert!(verdicts.len() == predictions.len() && predictions.len() == labels.len());
    let n = u32::try_from(verdicts.len()).expect("at most u32::MAX images");
    let mut indices: Vec<u32> = (0..n).collect();
    // Largest first, NaN last.
    let high = |v: f32| if v.is_nan() { f32::NEG_INFINITY } else { v };
    // Smallest first, NaN last.
    let low = |v: f32| if v.is_nan() { f32::INFINITY } else { v };
    let at = |i: u32| &verdicts[i as usize];
    match order {
        Order::Index => {}
        Order::Confidence => {
            let right = |i: u32| predictions[i as usize] == labels[i as usize];
            indices.sort_unstable_by(|&a, &b| {
                (right(a).cmp(&right(b)))
                    .then(high(at(b).confidence).total_cmp(&high(at(a).confidence)))
                    .then(a.cmp(&b))
            });
        }
        Order::Loss => indices.sort_unstable_by(|&a, &b| {
            high(at(b).loss)
                .total_cmp(&high(at(a).loss))
                .then(a.cmp(&b))
        }),
        Order::Margin => indices.sort_unstable_by(|&a, &b| {
            low(at(a).margin)
                .total_cmp(&low(at(b).margin))
                .then(a.cmp(&b))
        }),
    }
    indices
}

/// The indices where two networks' predictions differ (over the images both predicted).
pub fn disagreements(ours: &[u8], theirs: &[u8]) -> Vec<usize> {
    ours.iter()
        .zip(theirs)
        .enumerate()
        .filter_map(|(i, (a, b))| (a != b).then_some(i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Softmax, confidence, loss and margin of one row of scores in f64, straight from the
    /// definitions: the yardstick for the f32 figures.
    fn f64_verdict(scores: &[f32], label: usize) -> (f64, f64, f64) {
        let max = scores
            .iter()
            .map(|&s| f64::from(s))
            .fold(f64::MIN, f64::max);
        let exps: Vec<f64> = scores.iter().map(|&s| (f64::from(s) - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        let mut probs: Vec<f64> = exps.iter().map(|e| e / sum).collect();
        let loss = -probs[label].ln();
        probs.sort_by(|a, b| b.total_cmp(a));
        (probs[0], loss, probs[0] - probs[1])
    }

    #[test]
    fn verdicts_match_a_float64_computation_under_both_output_layers() {
        let scores = array![
            [1.0f32, 2.0, 3.0, -1.0],
            [10.0, -5.0, 0.5, 9.9],
            [0.0, 0.0, 0.0, 0.0],
            [30.0, -30.0, 2.0, 1.0],
        ];
        let labels = [2u8, 3, 1, 1];
        let mut probs = scores.clone();
        crate::layer::softmax_rows(&mut probs);
        let from_scores = verdicts(scores.view(), &labels, OutputLayer::Identity);
        let from_probs = verdicts(probs.view(), &labels, OutputLayer::Softmax);
        for (i, row) in scores.rows().into_iter().enumerate() {
            let row: Vec<f32> = row.to_vec();
            let (confidence, loss, margin) = f64_verdict(&row, usize::from(labels[i]));
            for v in [from_scores[i], from_probs[i]] {
                assert!((f64::from(v.confidence) - confidence).abs() < 1e-6, "{i}");
                // The loss of an image the network is sure is something else is large; its
                // error relative to its size is what f32 keeps.
                assert!(
                    (f64::from(v.loss) - loss).abs() < 1e-5 * loss.max(1.0),
                    "{i}"
                );
                assert!((f64::from(v.margin) - margin).abs() < 1e-6, "{i}");
            }
        }
        assert_eq!(from_scores[2].margin, 0.0, "a four-way tie has no margin");
        assert!((from_scores[2].loss - 4f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn a_true_class_of_probability_zero_has_an_infinite_loss() {
        let probs = array![[1.0f32, 0.0]];
        let v = verdicts(probs.view(), &[1], OutputLayer::Softmax);
        assert_eq!(v[0].loss, f32::INFINITY);
        assert_eq!((v[0].confidence, v[0].margin), (1.0, 1.0));
    }

    fn v(confidence: f32, loss: f32, margin: f32) -> Verdict {
        Verdict {
            confidence,
            loss,
            margin,
        }
    }

    #[test]
    fn rankings_put_the_worst_first_and_break_ties_by_index() {
        // Images 1 and 3 are wrong; 0 and 2 tie on every figure, as do 1 and 4.
        let verdicts = [
            v(0.9, 0.1, 0.8),
            v(0.7, 2.0, 0.5),
            v(0.9, 0.1, 0.8),
            v(0.99, 5.0, 0.98),
            v(0.7, 2.0, 0.5),
            v(f32::NAN, f32::NAN, f32::NAN),
        ];
        let predictions = [0, 9, 2, 9, 5, 5];
        let labels = [0, 1, 2, 3, 5, 5];
        let r = Rankings::new(&verdicts, &predictions, &labels);
        // Wrong first (3 more confident than 1), then right ones by confidence, ties by index.
        assert_eq!(r.list(Order::Confidence), Some(&[3, 1, 0, 2, 4, 5][..]));
        assert_eq!(r.list(Order::Loss), Some(&[3, 1, 4, 0, 2, 5][..]));
        assert_eq!(r.list(Order::Margin), Some(&[1, 4, 0, 2, 3, 5][..]));
        assert_eq!(r.list(Order::Index), None);
        for order in Order::ALL {
            for index in 0..6 {
                let rank = r.rank(order, index);
                let at = r.list(order).map_or(index, |l| l[rank] as usize);
                assert_eq!(at, index, "{order:?}: rank is the inverse of the list");
            }
        }
    }

    #[test]
    fn equal_losses_keep_dataset_order() {
        // 1,000 images with 10 distinct losses scattered: within each loss, indices ascend.
        let n = 1000;
        let verdicts: Vec<Verdict> = (0..n)
            .map(|i| v(0.5, ((i * 7919) % 10) as f32, 0.1))
            .collect();
        let zeros = vec![0u8; n];
        let list = rank(Order::Loss, &verdicts, &zeros, &zeros);
        for pair in list.windows(2) {
            let (a, b) = (&verdicts[pair[0] as usize], &verdicts[pair[1] as usize]);
            assert!(a.loss > b.loss || (a.loss == b.loss && pair[0] < pair[1]));
        }
    }

    #[test]
    fn disagreements_are_the_differing_indices() {
        assert_eq!(disagreements(&[1, 2, 3, 4], &[1, 0, 3, 5]), [1, 3]);
        assert!(disagreements(&[], &[]).is_empty());
    }

    #[test]
    fn orders_cycle() {
        let mut o = Order::Index;
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(o);
            o = o.next();
        }
        assert_eq!(seen, Order::ALL);
        assert_eq!(o, Order::Index);
    }
}
