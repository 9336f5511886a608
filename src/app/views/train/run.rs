//! One training run as the explorer knows it: its settings, where it is, and what the worker
//! reported of it (the smoothed loss curve, every epoch's figures, the latest weights),
//! with the figures derived from them: images per second, the share done, the time left.

use std::sync::Arc;
use std::time::Duration;

use crate::app::training::LossPoint;
use crate::network::Network;
use crate::train::{BatchProgress, EpochReport, TrainConfig};

/// Where a run is.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Reading the splits.
    Reading,
    /// Training.
    Running,
    /// Every epoch done.
    Finished,
    /// Stopped by the user.
    Stopped,
    /// The worker failed with this message (a diverged loss, a split it could not read).
    Failed(String),
}

/// One training run.
#[derive(Debug, Clone)]
pub struct Run {
    /// The worker job's generation; its reports carry it.
    pub generation: u64,
    /// Its settings.
    pub config: TrainConfig,
    /// Layer sizes, input first.
    pub sizes: Vec<usize>,
    /// Where it is.
    pub status: Status,
    /// The latest batch reported.
    pub batch: Option<BatchProgress>,
    /// The smoothed loss, as far as it got.
    pub curve: Vec<LossPoint>,
    /// Every finished epoch's figures.
    pub epochs: Vec<EpochReport>,
    /// The weights after the latest finished epoch.
    pub network: Option<Arc<Network>>,
    /// Training time at the latest report (from the trainer's start, test passes included).
    pub elapsed: Duration,
    /// Threads each step ran on, once the run is done.
    pub threads: Option<usize>,
}

impl Run {
    /// A run of `config` on images of `inputs` pixels, just submitted as job `generation`.
    pub fn new(generation: u64, config: TrainConfig, inputs: usize) -> Self {
        let sizes = config.sizes(inputs, crate::dataset::NUM_CLASSES);
        Self {
            generation,
            config,
            sizes,
            status: Status::Reading,
            batch: None,
            curve: Vec::new(),
            epochs: Vec::new(),
            network: None,
            elapsed: Duration::ZERO,
            threads: None,
        }
    }

    /// Whether the worker is still at it.
    pub fn is_running(&self) -> bool {
        matches!(self.status, Status::Reading | Status::Running)
    }

    /// The layer sizes as `784-50-100-10`.
    pub fn shape(&self) -> String {
        let sizes: Vec<String> = self.sizes.iter().map(ToString::to_string).collect();
        sizes.join("-")
    }

    /// Steps per epoch, once the first batch told.
    pub fn batches(&self) -> Option<usize> {
        self.batch.map(|b| b.batches)
    }

    /// Steps done in the whole run.
    pub fn steps_done(&self) -> usize {
        self.batch.map_or(0, |b| {
            (b.epoch - 1)
                .saturating_mul(b.batches)
                .saturating_add(b.batch)
        })
    }

    /// Steps of the whole run, once the first batch told how many an epoch has.
    pub fn steps(&self) -> Option<usize> {
        self.batches().map(|n| n.saturating_mul(self.config.epochs))
    }

    /// The share of the run done, 0 to 1.
    pub fn done(&self) -> f64 {
        match self.steps() {
            Some(steps) if steps > 0 => self.steps_done() as f64 / steps as f64,
            _ => 0.0,
        }
    }

    /// Training images per second in the current epoch (test passes not counted).
    pub fn images_per_second(&self) -> Option<f64> {
        let b = self.batch?;
        (b.seconds > 0.0).then(|| b.images as f64 / b.seconds)
    }

    /// The time left, at the pace so far (test passes included), while the run goes on.
    pub fn time_left(&self) -> Option<Duration> {
        let done = self.done();
        if !self.is_running() || done <= 0.0 {
            return None;
        }
        let left = self.elapsed.as_secs_f64() * (1.0 - done) / done;
        Duration::try_from_secs_f64(left).ok()
    }

    /// The latest epoch's test accuracy.
    pub fn test_accuracy(&self) -> Option<f64> {
        self.epochs.last().and_then(|e| e.test_accuracy)
    }

    /// What to call the latest weights: `trained network · epoch 3/10`.
    pub fn label(&self) -> String {
        format!(
            "trained network · epoch {}/{}",
            self.epochs.len(),
            self.config.epochs
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_done_and_the_time_left_follow_the_steps() {
        let mut run = Run::new(1, TrainConfig::default(), 784);
        assert_eq!(run.shape(), "784-50-100-10");
        assert_eq!((run.done(), run.time_left()), (0.0, None));
        // 40 epochs of 600 steps; 1.5 epochs done in 3 s: 77 s to go.
        run.status = Status::Running;
        run.batch = Some(BatchProgress {
            epoch: 2,
            batch: 300,
            batches: 600,
            images: 30_000,
            loss: 0.3,
            batch_loss: 0.25,
            seconds: 0.5,
        });
        run.elapsed = Duration::from_secs(3);
        assert_eq!(run.steps_done(), 900);
        assert_eq!(run.done(), 900.0 / 24_000.0);
        let left = run.time_left().unwrap().as_secs_f64();
        assert!((left - 77.0).abs() < 1e-6, "{left}");
        assert_eq!(run.images_per_second(), Some(60_000.0));
        run.status = Status::Stopped;
        assert_eq!(run.time_left(), None, "no time left for a stopped run");
    }
}
