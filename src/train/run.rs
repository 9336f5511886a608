//! A whole training run: [`train`] checks the configuration and the data, builds the
//! network and the compact images, and runs the epochs, shuffling, stepping, measuring the
//! test split after each epoch and reporting every batch and epoch to a callback.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use super::config::{TrainConfig, TrainError};
use super::init::glorot_uniform;
use super::store::{MAX_PIXELS, SparseImages};
use super::trainer::Trainer;
use crate::dataset::Dataset;
use crate::eval::evaluate;
use crate::kernels::Path;
use crate::layer::OutputLayer;
use crate::network::Network;
use crate::normalize::NormMode;
use crate::rng::SplitMix64;

/// Images per forward pass when measuring test accuracy after an epoch (not a training knob).
const EVAL_BATCH: usize = 1000;

/// Progress reported to [`train`]'s callback.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A batch is done.
    Batch(BatchProgress),
    /// An epoch is done (including the test accuracy, when a test split was given), and the
    /// weights it ended with (the explorer shows them while the next epoch runs).
    Epoch(EpochReport, Arc<Network>),
}

/// Where an epoch stands after a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchProgress {
    /// 1-based epoch.
    pub epoch: usize,
    /// Batches done in this epoch.
    pub batch: usize,
    /// Batches per epoch.
    pub batches: usize,
    /// Images done in this epoch.
    pub images: usize,
    /// Mean loss over this epoch's batches so far.
    pub loss: f64,
    /// Mean loss of this batch alone (before its step).
    pub batch_loss: f64,
    /// Seconds since the epoch started.
    pub seconds: f64,
}

/// The numbers of one finished epoch.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's images, each measured just before its step.
    pub train_loss: f64,
    /// Accuracy over the epoch's images, each measured just before its step (a running
    /// figure, as Keras reports it; a fresh pass would cost as much as the epoch).
    pub train_accuracy: f64,
    /// Accuracy on the test split after the epoch, if one was given.
    pub test_accuracy: Option<f64>,
    /// Seconds of training in this epoch (shuffle and steps; the test pass excluded).
    pub seconds: f64,
}

/// The outcome of [`train`].
#[derive(Debug, Clone)]
pub struct Trained {
    /// The final weights.
    pub network: Network,
    /// One report per epoch.
    pub epochs: Vec<EpochReport>,
    /// Seconds spent normalizing the training split into its sparse form, once.
    pub prepare_seconds: f64,
    /// The code path that ran.
    pub kernel: Path,
    /// Threads each step was split across.
    pub threads: usize,
}

/// Trains a fresh network on `data` as `config` says, measuring `test` after each epoch.
///
/// `on_event` hears of every batch and epoch; returning `ControlFlow::Break` stops the run
/// between batches with [`TrainError::Stopped`]. With more than one thread in the rayon pool,
/// the epochs (and so `on_event`) run on a pool thread.
///
/// # Errors
/// An invalid configuration (see [`TrainConfig::validate`]), labels or images that do not fit
/// the network, a loss that turns NaN or infinite, or a stop requested by `on_event`.
pub fn train(
    data: &Dataset,
    test: Option<&Dataset>,
    config: &TrainConfig,
    on_event: impl FnMut(&Event) -> ControlFlow<()> + Send,
) -> Result<Trained, TrainError> {
    config.validate(data.len())?;
    if data.pixels_per_image() > MAX_PIXELS {
        return Err(TrainError::TooManyPixels {
            pixels: data.pixels_per_image(),
        });
    }
    let classes = crate::dataset::NUM_CLASSES;
    let sizes = config.sizes(data.pixels_per_image(), classes);
    check_memory(&sizes, config.batch_size)?;
    let mut rng = SplitMix64::new(config.seed);
    let net = Network::new(glorot_uniform(&sizes, &mut rng))?;
    // Same pixel count is not enough: 14x56 test images would be read as garbled digits.
    if let Some(t) = test
        && (t.rows(), t.cols()) != (data.rows(), data.cols())
    {
        return Err(TrainError::TestSize {
            test: (t.rows(), t.cols()),
            train: (data.rows(), data.cols()),
        });
    }

    let start = Instant::now();
    let sparse = SparseImages::new(data, config.norm);
    let prepare_seconds = start.elapsed().as_secs_f64();
    if let Some(label) = sparse.max_label().filter(|&l| usize::from(l) >= classes) {
        return Err(TrainError::BadLabel {
            label,
            outputs: classes,
        });
    }

    let mut trainer = Trainer::new(&net, config.optimizer, config.lr, config.batch_size);
    if trainer.threads() == 1 {
        return epochs(
            &mut trainer,
            &sparse,
            test,
            config,
            rng,
            prepare_seconds,
            on_event,
        );
    }
    // On a pool thread, the test pass after each epoch starts without waking the pool from
    // outside (the steps run on the trainer's own team).
    rayon::scope(|_| {
        epochs(
            &mut trainer,
            &sparse,
            test,
            config,
            rng,
            prepare_seconds,
            on_event,
        )
    })
}

/// Most floats of weights plus one batch's activations a run may need: 2 GB of them. The
/// trainer keeps a few copies of the weights (gradients, optimizer states, transposes) and
/// of the activations (deltas), so a run at the limit takes several GB; beyond it, a typo in
/// `--hidden` would end in an allocation failure rather than an error.
const MOST_FLOATS: u128 = 1 << 29;

/// Refuses layer sizes whose weights and batch activations exceed [`MOST_FLOATS`].
fn check_memory(sizes: &[usize], batch_size: usize) -> Result<(), TrainError> {
    let weights = sizes.windows(2).fold(0u128, |sum, w| {
        sum.saturating_add((w[0] as u128 + 1).saturating_mul(w[1] as u128))
    });
    let widths = sizes
        .iter()
        .fold(0u128, |sum, &s| sum.saturating_add(s as u128));
    let needed = weights.saturating_add((batch_size as u128).saturating_mul(widths));
    if needed > MOST_FLOATS {
        let sizes = sizes
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("-");
        return Err(TrainError::TooLarge {
            sizes,
            batch_size,
            needed,
            most: MOST_FLOATS,
        });
    }
    Ok(())
}

/// The epoch loop of [`train`].
fn epochs(
    trainer: &mut Trainer,
    sparse: &SparseImages,
    test: Option<&Dataset>,
    config: &TrainConfig,
    mut rng: SplitMix64,
    prepare_seconds: f64,
    mut on_event: impl FnMut(&Event) -> ControlFlow<()>,
) -> Result<Trained, TrainError> {
    let mut order: Vec<usize> = (0..sparse.len()).collect();
    let batches = sparse.len().div_ceil(config.batch_size);
    // Not reserved by `epochs`: a huge count (a run meant to be stopped) would ask for it all.
    let mut reports = Vec::new();
    for epoch in 1..=config.epochs {
        let start = Instant::now();
        rng.shuffle(&mut order);
        let (mut loss_sum, mut correct, mut images) = (0f64, 0usize, 0usize);
        for (b, batch) in order.chunks(config.batch_size).enumerate() {
            // Saturating: with an absurd epoch count the schedule is merely flat, not wrapped.
            let step = (epoch - 1).saturating_mul(batches).saturating_add(b);
            let steps = config.epochs.saturating_mul(batches);
            trainer.set_lr(config.schedule.rate(config.lr, step, steps));
            let s = trainer.step(sparse, batch);
            if !s.loss_sum.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    batch: b + 1,
                    loss: s.loss_sum / s.images as f64,
                });
            }
            loss_sum += s.loss_sum;
            correct += s.correct;
            images += s.images;
            let progress = BatchProgress {
                epoch,
                batch: b + 1,
                batches,
                images,
                loss: loss_sum / images as f64,
                batch_loss: s.loss_sum / s.images as f64,
                seconds: start.elapsed().as_secs_f64(),
            };
            if on_event(&Event::Batch(progress)).is_break() {
                return Err(TrainError::Stopped {
                    epoch,
                    batch: b + 1,
                });
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let network = Arc::new(trainer.network()?);
        let test_accuracy = test.map(|t| test_accuracy(&network, t, config.norm));
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / images as f64,
            train_accuracy: correct as f64 / images as f64,
            test_accuracy,
            seconds,
        };
        reports.push(report);
        if on_event(&Event::Epoch(report, network)).is_break() {
            return Err(TrainError::Stopped {
                epoch,
                batch: batches,
            });
        }
    }
    Ok(Trained {
        network: trainer.network()?,
        epochs: reports,
        prepare_seconds,
        kernel: trainer.kernel(),
        threads: trainer.threads(),
    })
}

/// Accuracy of `net` on every image of `data`.
pub fn test_accuracy(net: &Network, data: &Dataset, norm: NormMode) -> f64 {
    evaluate(net, data, norm, EVAL_BATCH, OutputLayer::Identity, |_| true)
        .0
        .accuracy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::config::Optimizer;
    use crate::train::fixtures::{config, real_slice, varied_images};

    #[test]
    fn a_few_hundred_steps_learn_real_digits_and_repeat_exactly() {
        let all = real_slice(3000);
        let split = |r: std::ops::Range<usize>| {
            let d = Dataset::from_parts(
                all.images(r.clone()).to_vec(),
                all.labels()[r].to_vec(),
                28,
                28,
            );
            d.unwrap()
        };
        let (train_set, held_out) = (split(0..2000), split(2000..3000));
        // 3 epochs of 100 batches: 300 steps.
        let (mut losses, mut epochs) = (Vec::new(), Vec::new());
        let run = |seed, losses: &mut Vec<f64>, snapshots: &mut Vec<(EpochReport, _)>| {
            train(&train_set, Some(&held_out), &config(seed), |e| {
                match e {
                    Event::Batch(b) if b.epoch == 1 && b.batch <= 5 => losses.push(b.loss),
                    Event::Epoch(r, net) => snapshots.push((*r, Arc::clone(net))),
                    Event::Batch(_) => {}
                }
                ControlFlow::Continue(())
            })
            .unwrap()
        };
        let first = run(42, &mut losses, &mut epochs);
        // Each epoch's weights come with its report: the test accuracy is theirs, and the
        // last ones are the result.
        assert_eq!(epochs.len(), 3);
        for (report, net) in &epochs {
            let acc = test_accuracy(net, &held_out, NormMode::Div255);
            assert_eq!(report.test_accuracy, Some(acc), "epoch {}", report.epoch);
        }
        assert_ne!(
            *epochs[0].1, *epochs[1].1,
            "the weights move from epoch to epoch"
        );
        assert_eq!(*epochs[2].1, first.network);
        let start_loss = losses[0];
        assert!((start_loss - 10f64.ln()).abs() < 0.3, "{start_loss}");
        let last = first.epochs[2];
        assert!(last.train_loss < 0.5 * start_loss, "{:?}", first.epochs);
        let acc = last.test_accuracy.unwrap();
        assert!(acc > 0.80, "held-out accuracy {acc} (chance is 0.1)");

        let again = run(42, &mut Vec::new(), &mut Vec::new());
        assert_eq!(again.network, first.network, "same seed, same weights");
        let other = run(43, &mut Vec::new(), &mut Vec::new());
        assert_ne!(other.network, first.network, "another seed, other weights");
    }

    #[test]
    fn test_images_of_another_shape_are_refused() {
        let data = varied_images(28, 28, 4, 1);
        let c = TrainConfig {
            batch_size: 2,
            ..config(0)
        };
        for (rows, cols) in [(1, 1), (14, 56), (28, 29)] {
            let test = varied_images(rows, cols, 3, 2);
            let err = train(&data, Some(&test), &c, |_| ControlFlow::Continue(())).unwrap_err();
            assert_eq!(
                err,
                TrainError::TestSize {
                    test: (rows, cols),
                    train: (28, 28)
                }
            );
            let text = err.to_string();
            assert!(text.contains(&format!("are {rows}x{cols}, the training split's 28x28")));
        }
    }

    #[test]
    fn images_too_large_to_index_are_refused() {
        let data = Dataset::from_parts(vec![0; 257 * 256], vec![0], 257, 256).unwrap();
        let mut c = config(0);
        c.batch_size = 1;
        let err = train(&data, None, &c, |_| ControlFlow::Continue(())).unwrap_err();
        assert_eq!(err, TrainError::TooManyPixels { pixels: 65792 });
        assert!(err.to_string().contains("at most 65536 pixels"), "{err}");
    }

    #[test]
    fn networks_too_large_to_hold_are_refused_before_allocating() {
        assert_eq!(check_memory(&[784, 50, 100, 10], 60_000), Ok(()));
        for (sizes, batch) in [
            (vec![784, 100_000, 100_000, 10], 100),
            (vec![784, usize::MAX, usize::MAX, 10], 100),
            (vec![784, 10_000, 10], 60_000),
        ] {
            let err = check_memory(&sizes, batch).unwrap_err();
            assert!(matches!(err, TrainError::TooLarge { .. }), "{err}");
        }
        let (data, test) = (real_slice(20), real_slice(20));
        let mut c = config(0);
        c.hidden = vec![100_000, 100_000];
        let err = train(&data, Some(&test), &c, |_| ControlFlow::Continue(())).unwrap_err();
        assert!(err.to_string().contains("784-100000-100000-10"), "{err}");
    }

    #[test]
    fn a_diverging_run_stops_with_an_error() {
        let data = real_slice(200);
        let mut c = config(0);
        c.optimizer = Optimizer::Sgd;
        c.norm = NormMode::Raw;
        // The first update sends weights to infinity; the next forward pass makes NaN.
        c.lr = f32::MAX;
        let err = train(&data, None, &c, |_| ControlFlow::Continue(())).unwrap_err();
        assert!(matches!(err, TrainError::Diverged { .. }), "{err}");
    }

    #[test]
    fn the_callback_can_stop_a_run_between_batches() {
        let data = real_slice(200);
        let err = train(&data, None, &config(0), |e| match e {
            Event::Batch(b) if b.batch == 3 => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .unwrap_err();
        assert_eq!(err, TrainError::Stopped { epoch: 1, batch: 3 });
    }

    #[test]
    fn an_endless_epoch_count_neither_reserves_memory_nor_overflows() {
        let data = real_slice(200);
        let config = TrainConfig {
            epochs: usize::MAX,
            ..config(0)
        };
        // One report per epoch is kept: reserving room for usize::MAX of them aborted the
        // process, and epochs x batches overflowed the schedule's step count.
        let err = train(&data, None, &config, |e| match e {
            Event::Epoch(r, _) if r.epoch == 2 => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .unwrap_err();
        assert!(
            matches!(err, TrainError::Stopped { epoch: 2, .. }),
            "{err:?}"
        );
    }
}
