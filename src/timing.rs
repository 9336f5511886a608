//! Measured speed of the forward pass, for the explorer's lessons: how many images per
//! second a pass over a split takes through the fast kernels or through the straightforward
//! matrix-product path (ndarray's, as numpy computes it), at a given batch size; and a
//! whole-split pass with the softmax output against one with identity.
//!
//! The explorer runs these on its worker and shows what it measured; nothing here decides
//! whether a test passes (speed belongs to the benchmarks).

use std::time::Instant;

use crate::dataset::Dataset;
use crate::eval::{evaluate, normalized_batch, predictions};
use crate::layer::OutputLayer;
use crate::network::Network;
use crate::normalize::NormMode;

/// The batch sizes the batch lesson measures.
pub const LESSON_BATCHES: [usize; 5] = [1, 10, 100, 1000, 10000];
/// Most images a batch-lesson pass takes (the first of the split): the whole test split.
pub const LESSON_IMAGES: usize = 10_000;
/// Wall time after which no further repetition of a pass is started.
pub const BUDGET_SECONDS: f64 = 0.25;
/// Most repetitions of a pass; their median is reported.
pub const MAX_REPS: usize = 15;

/// Which code runs the pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PassPath {
    /// The kernels: sparse first layer, fused layers, threads (what `eval` runs).
    Fast,
    /// One ndarray matrix product per layer and batch, on one thread: the book's numpy code.
    Reference,
}

impl PassPath {
    /// Both paths, the fast one first.
    pub const ALL: [PassPath; 2] = [PassPath::Fast, PassPath::Reference];

    /// A short name for charts and messages.
    pub fn name(self) -> &'static str {
        match self {
            PassPath::Fast => "fast kernels",
            PassPath::Reference => "matrix product",
        }
    }
}

/// How long a pass took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassTime {
    /// Images in the pass.
    pub images: usize,
    /// Median wall time of the repetitions, in seconds.
    pub seconds: f64,
    /// Repetitions timed.
    pub reps: usize,
}

impl PassTime {
    /// Images per second (0 for a pass of no time).
    pub fn images_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.images as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// One pass over all of `data` at `batch` through `path`, returning the predictions, or
/// `None` once `keep_going` (asked between batches) says stop.
pub fn pass(
    net: &Network,
    data: &Dataset,
    norm: NormMode,
    batch: usize,
    output: OutputLayer,
    path: PassPath,
    keep_going: &dyn Fn() -> bool,
) -> Option<Vec<u8>> {
    match path {
        PassPath::Fast => {
            let (_, preds) = evaluate(net, data, norm, batch, output, |_| keep_going());
            (preds.len() == data.len()).then_some(preds)
        }
        PassPath::Reference => {
            let mut preds = Vec::with_capacity(data.len());
            for range in data.batches(batch) {
                if !keep_going() {
                    return None;
                }
                let x = normalized_batch(data, range, norm);
                let out = net.forward_reference(x.view(), output);
                preds.extend(predictions(out.view()));
            }
            Some(preds)
        }
    }
}

/// Times `run` (one pass, `None` when stopped) up to [`MAX_REPS`] times, starting no new
/// repetition after [`BUDGET_SECONDS`]; the median time and the last predictions.
pub fn timed(
    images: usize,
    mut run: impl FnMut() -> Option<Vec<u8>>,
) -> Option<(PassTime, Vec<u8>)> {
    timed_each(images, &mut [&mut run]).and_then(|mut all| all.pop())
}

/// Times each of `runs` as [`timed`] does, taking turns (one repetition of each, then the
/// next round), so that a slow spell of the machine falls on all of them alike. The budget
/// is per run.
pub fn timed_each(
    images: usize,
    runs: &mut [&mut dyn FnMut() -> Option<Vec<u8>>],
) -> Option<Vec<(PassTime, Vec<u8>)>> {
    let start = Instant::now();
    let budget = BUDGET_SECONDS * runs.len() as f64;
    let mut seconds = vec![Vec::with_capacity(MAX_REPS); runs.len()];
    let mut last = vec![Vec::new(); runs.len()];
    for round in 0..MAX_REPS {
        if round > 0 && start.elapsed().as_secs_f64() >= budget {
            break;
        }
        for (k, run) in runs.iter_mut().enumerate() {
            let t = Instant::now();
            last[k] = run()?;
            seconds[k].push(t.elapsed().as_secs_f64());
        }
    }
    Some(
        seconds
            .iter_mut()
            .zip(last)
            .map(|(s, preds)| {
                let time = PassTime {
                    images,
                    seconds: median(s),
                    reps: s.len(),
                };
                (time, preds)
            })
            .collect(),
    )
}

/// The first `n` images of `data` (all of them if it has fewer), as a dataset of their own.
///
/// # Errors
/// Never for a valid dataset; the dataset's own check of the copied parts.
pub fn first(data: &Dataset, n: usize) -> Result<Dataset, crate::dataset::DatasetError> {
    let n = n.min(data.len());
    Dataset::from_parts(
        data.images(0..n).to_vec(),
        data.labels()[..n].to_vec(),
        data.rows(),
        data.cols(),
    )
}

/// The median of `values` (sorted in place), 0 for none.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Layer;
    use ndarray::{Array1, Array2};
    use std::cell::Cell;

    fn fixture() -> (Dataset, Network) {
        let n = 300;
        let images: Vec<u8> = (0..n * 4).map(|i| ((i * 37) % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let data = Dataset::from_parts(images, labels, 2, 2).unwrap();
        let w = Array2::from_shape_fn((4, 6), |(r, c)| ((r * 7 + c * 3) % 5) as f32 - 2.0);
        let w2 = Array2::from_shape_fn((6, 10), |(r, c)| ((r * 3 + c) % 7) as f32 - 3.0);
        let net = Network::new(vec![
            Layer {
                w,
                b: Array1::zeros(6),
            },
            Layer {
                w: w2,
                b: Array1::zeros(10),
            },
        ])
        .unwrap();
        (data, net)
    }

    #[test]
    fn both_paths_predict_alike_at_every_batch_size() {
        let (data, net) = fixture();
        let go = || true;
        for batch in [1, 7, 300] {
            let fast = pass(
                &net,
                &data,
                NormMode::Div255,
                batch,
                OutputLayer::Softmax,
                PassPath::Fast,
                &go,
            );
            let reference = pass(
                &net,
                &data,
                NormMode::Div255,
                batch,
                OutputLayer::Identity,
                PassPath::Reference,
                &go,
            );
            assert_eq!(fast.as_ref().map(Vec::len), Some(300));
            assert_eq!(fast, reference, "batch {batch}");
        }
    }

    #[test]
    fn a_stopped_pass_gives_nothing() {
        let (data, net) = fixture();
        for path in PassPath::ALL {
            let calls = Cell::new(0);
            let go = || {
                calls.set(calls.get() + 1);
                calls.get() < 3
            };
            assert_eq!(
                pass(
                    &net,
                    &data,
                    NormMode::Div255,
                    10,
                    OutputLayer::Softmax,
                    path,
                    &go
                ),
                None
            );
            assert_eq!(calls.get(), 3, "{path:?} stops at the first refusal");
        }
    }

    #[test]
    fn timing_repeats_within_its_bounds_and_reports_the_median() {
        let runs = Cell::new(0);
        let (time, preds) = timed(50, || {
            runs.set(runs.get() + 1);
            Some(vec![1, 2])
        })
        .unwrap();
        assert_eq!(time.reps, runs.get());
        assert!((1..=MAX_REPS).contains(&time.reps));
        assert_eq!((time.images, preds), (50, vec![1, 2]));
        assert!(time.seconds >= 0.0);
        assert_eq!(timed(5, || None), None);
        // Taking turns: both runs get the same number of repetitions.
        let (a, b) = (Cell::new(0), Cell::new(0));
        let both = timed_each(
            7,
            &mut [
                &mut || {
                    a.set(a.get() + 1);
                    Some(vec![0])
                },
                &mut || {
                    b.set(b.get() + 1);
                    Some(vec![1])
                },
            ],
        )
        .unwrap();
        assert_eq!(a.get(), b.get());
        assert_eq!((both[0].0.reps, both[1].1.clone()), (a.get(), vec![1]));
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), 2.5);
    }

    #[test]
    fn first_takes_a_prefix() {
        let (data, _) = fixture();
        let head = first(&data, 10).unwrap();
        assert_eq!(head.len(), 10);
        assert_eq!(head.image(9), data.image(9));
        assert_eq!(first(&data, 10_000).unwrap().len(), 300);
    }
}
