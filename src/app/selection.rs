//! Which images the explorer walks through, and in what order: a [`Filter`] (all,
//! misclassified, a true label, a cell of the confusion matrix, where two networks disagree)
//! over an [`Order`] (dataset order, or a ranking of the finished pass), kept as one list,
//! the [`Selection`], that the browse view's moves and the gallery share.
//!
//! The list is rebuilt only when what it depends on changes (order, filter, the evaluation
//! shown, a pass finishing); while a pass runs, each batch only extends it.

use std::sync::Arc;

use crate::analysis::{Order, Rankings};
use crate::app::evaluations::{EvalStatus, Evaluation};

/// Which images to walk through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Every image.
    #[default]
    All,
    /// The images the network gets wrong.
    Wrong,
    /// The images of one true label.
    Label(u8),
    /// The images of one true label given one prediction: a cell of the confusion matrix.
    Cell {
        /// True label (the matrix row).
        truth: u8,
        /// Prediction (the matrix column).
        predicted: u8,
    },
    /// The images where the second network predicts another class than the first.
    Disagree,
}

impl Filter {
    /// A short name, for headers: `all`, `wrong`, `true 4`, `4→9`, `disagree`.
    pub fn name(self) -> String {
        match self {
            Filter::All => "all".into(),
            Filter::Wrong => "wrong".into(),
            Filter::Label(k) => format!("true {k}"),
            Filter::Cell { truth, predicted } => format!("{truth}→{predicted}"),
            Filter::Disagree => "disagree".into(),
        }
    }

    /// What the filter keeps, in words, for notices: "no {describe}".
    pub fn describe(self) -> String {
        match self {
            Filter::All => "image".into(),
            Filter::Wrong => "misclassified image".into(),
            Filter::Label(k) => format!("image labelled {k}"),
            Filter::Cell { truth, predicted } => {
                format!("image labelled {truth} and predicted {predicted}")
            }
            Filter::Disagree => "image the two networks disagree on".into(),
        }
    }

    /// The filter after this one in the cycle `f` walks: all, misclassified, the current
    /// image's true label, its cell (true label and prediction), the disagreements (with a
    /// second network), all again.
    pub fn next(self, label: u8, predicted: u8, two_networks: bool) -> Filter {
        let after_cell = if two_networks {
            Filter::Disagree
        } else {
            Filter::All
        };
        match self {
            Filter::All => Filter::Wrong,
            Filter::Wrong => Filter::Label(label),
            Filter::Label(_) => Filter::Cell {
                truth: label,
                predicted,
            },
            Filter::Cell { .. } => after_cell,
            Filter::Disagree => Filter::All,
        }
    }

    /// Whether image `i` passes, given what is known of it; an image whose needed
    /// predictions have not arrived yet does not.
    fn keeps(self, i: usize, of: &Sources<'_>) -> bool {
        let label = of.labels[i];
        let main = of.main.predictions[i];
        match self {
            Filter::All => true,
            Filter::Wrong => main.is_some_and(|p| p != label),
            Filter::Label(k) => label == k,
            Filter::Cell { truth, predicted } => label == truth && main == Some(predicted),
            Filter::Disagree => match (main, of.other.and_then(|o| o.predictions[i])) {
                (Some(a), Some(b)) => a != b,
                _ => false,
            },
        }
    }

    /// How many images from the first are decided: every image for filters on the label
    /// alone, else as far as the evaluations it needs have come (batches arrive in order).
    fn decided(self, of: &Sources<'_>) -> usize {
        let done = |e: &Evaluation| e.tally.total as usize;
        let n = of.labels.len();
        match self {
            Filter::All | Filter::Label(_) => n,
            Filter::Wrong | Filter::Cell { .. } => done(of.main).min(n),
            Filter::Disagree => of.other.map_or(0, |o| done(of.main).min(done(o)).min(n)),
        }
    }

    /// Whether the filter reads the second network's predictions.
    fn needs_other(self) -> bool {
        self == Filter::Disagree
    }
}

/// What a selection is made from: the labels and the evaluations shown.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// True labels of the split.
    pub labels: &'a [u8],
    /// The first network's evaluation for the current settings.
    pub main: &'a Evaluation,
    /// The second network's, if there is one.
    pub other: Option<&'a Evaluation>,
}

/// What a list was built from: when any of it changes, the list is built again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Stamp {
    order: Order,
    filter: Filter,
    /// Generation and whether finished, of each evaluation.
    main: (u64, bool),
    other: Option<(u64, bool)>,
}

impl Stamp {
    fn of(order: Order, filter: Filter, of: &Sources<'_>) -> Self {
        let state = |e: &Evaluation| (e.generation, e.status == EvalStatus::Finished);
        Self {
            order,
            filter,
            main: state(of.main),
            other: of.other.map(state),
        }
    }
}

/// The images to walk through, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Dataset indices, in the order walked.
    indices: Vec<u32>,
    /// The ranking the list follows; `None` for dataset order (the order asked for, or the
    /// order used until the pass that ranks the images has finished).
    ranked: Option<Arc<Rankings>>,
    /// The order asked for.
    order: Order,
    /// Images `0..scanned` have been considered (dataset order only; a ranked list is whole).
    scanned: usize,
    stamp: Stamp,
}

impl Selection {
    /// The list for `order` and `filter` over `of`.
    pub fn new(order: Order, filter: Filter, of: &Sources<'_>) -> Self {
        let ranking = ranking(order, filter, of).map(|(r, list)| (Arc::clone(r), list));
        let mut selection = Self {
            indices: Vec::new(),
            ranked: None,
            order,
            scanned: 0,
            stamp: Stamp::of(order, filter, of),
        };
        match ranking {
            Some((rankings, list)) => {
                selection.indices = list
                    .iter()
                    .copied()
                    .filter(|&i| filter.keeps(i as usize, of))
                    .collect();
                selection.scanned = of.labels.len();
                selection.ranked = Some(rankings);
            }
            None => selection.extend(filter, of),
        }
        selection
    }

    /// Brings the list up to date with `of`: rebuilt if the order, the filter or an
    /// evaluation changed, else extended with the images decided since.
    pub fn refresh(&mut self, order: Order, filter: Filter, of: &Sources<'_>) {
        if Stamp::of(order, filter, of) != self.stamp {
            *self = Self::new(order, filter, of);
        } else if self.ranked.is_none() {
            self.extend(filter, of);
        }
    }

    fn extend(&mut self, filter: Filter, of: &Sources<'_>) {
        let decided = filter.decided(of);
        for i in self.scanned..decided {
            if filter.keeps(i, of) {
                self.indices.push(i as u32);
            }
        }
        self.scanned = self.scanned.max(decided);
    }

    /// How many images are in the list.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether no image is in it.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// The dataset index at `position`.
    pub fn at(&self, position: usize) -> usize {
        self.indices[position] as usize
    }

    /// The dataset indices from `position` on, in order.
    pub fn from(&self, position: usize) -> impl Iterator<Item = usize> + '_ {
        self.indices.iter().skip(position).map(|&i| i as usize)
    }

    /// Where image `index` is in the list (`Ok`), or where it would go (`Err`): its place in
    /// the order followed.
    pub fn locate(&self, index: usize) -> Result<usize, usize> {
        match &self.ranked {
            Some(r) => {
                let rank = r.rank(self.order, index);
                self.indices
                    .binary_search_by_key(&rank, |&i| r.rank(self.order, i as usize))
            }
            None => self.indices.binary_search(&(index as u32)),
        }
    }

    /// Whether the list follows the order asked for (dataset order needs no ranking; the
    /// others wait for the pass to finish).
    pub fn is_ordered(&self) -> bool {
        self.order == Order::Index || self.ranked.is_some()
    }
}

/// The ranking in `order` of the finished pass, if there is one and everything `filter`
/// needs has finished too.
fn ranking<'a>(
    order: Order,
    filter: Filter,
    of: &Sources<'a>,
) -> Option<(&'a Arc<Rankings>, &'a [u32])> {
    let finished = |e: &Evaluation| e.status == EvalStatus::Finished;
    let others_done = !filter.needs_other() || of.other.is_some_and(finished);
    let rankings = of.main.rankings.as_ref()?;
    if !(finished(of.main) && others_done) {
        return None;
    }
    rankings.list(order).map(|list| (rankings, list))
}

/// The first `n` images `filter` keeps, in `order` once the pass has ranked them (dataset
/// order before): a scan that stops at `n`, for a preview of a list not walked.
pub fn first(order: Order, filter: Filter, of: &Sources<'_>, n: usize) -> Vec<usize> {
    match ranking(order, filter, of) {
        Some((_, list)) => list
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| filter.keeps(i, of))
            .take(n)
            .collect(),
        None => (0..filter.decided(of))
            .filter(|&i| filter.keeps(i, of))
            .take(n)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Verdict;
    use crate::app::evaluations::EvalKey;
    use crate::eval::Tally;
    use crate::layer::OutputLayer;
    use crate::normalize::NormMode;

    /// An evaluation of `preds.len()` images where the first `done` are predicted.
    fn evaluation(generation: u64, preds: &[u8], labels: &[u8], done: usize) -> Evaluation {
        let key = EvalKey {
            norm: NormMode::Div255,
            batch_size: 1,
            output: OutputLayer::Softmax,
        };
        let mut tally = Tally::default();
        tally.push(&labels[..done], &preds[..done]);
        let verdicts: Vec<Verdict> = (0..preds.len())
            .map(|i| Verdict {
                confidence: 0.5,
                loss: (i % 3) as f32,
                margin: 0.1,
            })
            .collect();
        let finished = done == preds.len();
        Evaluation {
            key,
            generation,
            tally,
            predictions: (0..preds.len())
                .map(|i| (i < done).then_some(preds[i]))
                .collect(),
            verdicts: (0..preds.len())
                .map(|i| (i < done).then_some(verdicts[i]))
                .collect(),
            rankings: finished.then(|| Arc::new(Rankings::new(&verdicts, preds, labels))),
            batches: done,
            elapsed: std::time::Duration::ZERO,
            status: if finished {
                EvalStatus::Finished
            } else {
                EvalStatus::Running
            },
            seen_seq: 0,
        }
    }

    const LABELS: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
    const PREDS: [u8; 8] = [0, 7, 2, 9, 4, 5, 9, 7];

    fn list(s: &Selection) -> Vec<usize> {
        s.from(0).collect()
    }

    #[test]
    fn filters_keep_what_they_say() {
        let main = evaluation(1, &PREDS, &LABELS, 8);
        let other = evaluation(2, &[0, 1, 2, 9, 4, 5, 6, 7], &LABELS, 8);
        let of = Sources {
            labels: &LABELS,
            main: &main,
            other: Some(&other),
        };
        let at = |filter| list(&Selection::new(Order::Index, filter, &of));
        assert_eq!(at(Filter::All), (0..8).collect::<Vec<_>>());
        assert_eq!(at(Filter::Wrong), [1, 3, 6]);
        assert_eq!(at(Filter::Label(3)), [3]);
        assert_eq!(
            at(Filter::Cell {
                truth: 6,
                predicted: 9
            }),
            [6]
        );
        assert_eq!(at(Filter::Disagree), [1, 6]);
    }

    #[test]
    fn a_running_pass_extends_the_list_and_a_finished_one_ranks_it() {
        let partial = evaluation(1, &PREDS, &LABELS, 4);
        let of = |main| Sources {
            labels: &LABELS,
            main,
            other: None,
        };
        let mut s = Selection::new(Order::Loss, Filter::Wrong, &of(&partial));
        assert_eq!(
            list(&s),
            [1, 3],
            "dataset order until the pass has finished"
        );
        assert!(!s.is_ordered());
        // Same generation, more batches: only extended.
        let more = evaluation(1, &PREDS, &LABELS, 7);
        s.refresh(Order::Loss, Filter::Wrong, &of(&more));
        assert_eq!(list(&s), [1, 3, 6]);
        // Finished: ranked by loss (image i's is i % 3), highest first, ties by index.
        let done = evaluation(1, &PREDS, &LABELS, 8);
        s.refresh(Order::Loss, Filter::Wrong, &of(&done));
        assert!(s.is_ordered());
        // Losses of the wrong ones: image 1 → 1, 3 → 0, 6 → 0.
        assert_eq!(list(&s), [1, 3, 6]);
        s.refresh(Order::Loss, Filter::All, &of(&done));
        // Loss 2: 2, 5; loss 1: 1, 4, 7; loss 0: 0, 3, 6.
        assert_eq!(list(&s), [2, 5, 1, 4, 7, 0, 3, 6]);
        assert_eq!(s.locate(4), Ok(3));
        s.refresh(Order::Loss, Filter::Wrong, &of(&done));
        // Image 5 (loss 2) is not wrong; it would come first.
        assert_eq!(s.locate(5), Err(0));
        assert_eq!(
            s.locate(7),
            Err(1),
            "after 1 (loss 1, lower index), before 3"
        );
    }

    #[test]
    fn disagreements_wait_for_both_networks() {
        let main = evaluation(1, &PREDS, &LABELS, 8);
        let other = evaluation(2, &LABELS, &LABELS, 2);
        let of = Sources {
            labels: &LABELS,
            main: &main,
            other: Some(&other),
        };
        let s = Selection::new(Order::Loss, Filter::Disagree, &of);
        assert_eq!(
            list(&s),
            [1],
            "image 1 only: the other has predicted two images"
        );
        assert!(
            !s.is_ordered(),
            "ranked only once the other has finished too"
        );
        let none = Sources { other: None, ..of };
        assert!(Selection::new(Order::Index, Filter::Disagree, &none).is_empty());
    }

    #[test]
    fn a_preview_is_the_head_of_the_list() {
        let main = evaluation(1, &PREDS, &LABELS, 8);
        let of = Sources {
            labels: &LABELS,
            main: &main,
            other: None,
        };
        for order in Order::ALL {
            for filter in [Filter::All, Filter::Wrong, Filter::Label(3)] {
                let whole = list(&Selection::new(order, filter, &of));
                let head: Vec<usize> = whole.iter().copied().take(2).collect();
                assert_eq!(first(order, filter, &of, 2), head, "{order:?} {filter:?}");
            }
        }
    }

    #[test]
    fn the_filter_cycle_visits_the_current_image_s_label_and_cell() {
        let mut f = Filter::All;
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(f);
            f = f.next(4, 9, true);
        }
        assert_eq!(
            seen,
            [
                Filter::All,
                Filter::Wrong,
                Filter::Label(4),
                Filter::Cell {
                    truth: 4,
                    predicted: 9
                },
                Filter::Disagree
            ]
        );
        assert_eq!(f, Filter::All);
        let cell = Filter::Cell {
            truth: 1,
            predicted: 2,
        };
        assert_eq!(cell.next(0, 0, false), Filter::All);
        assert_eq!(cell.name(), "1→2");
    }
}
