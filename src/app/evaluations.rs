//! The explorer's whole-split evaluations of one network: the one for the current settings,
//! fed batch by batch by the worker, and every finished one kept by its settings so that
//! switching back shows it at once. Each network has its own [`Evaluations`], so a result is
//! kept per (network, mode, batch size, output layer).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::analysis::{Rankings, Verdict};
use crate::app::worker::{EvalJob, JobKind, WorkerMsg};
use crate::dataset::Dataset;
use crate::eval::Tally;
use crate::layer::OutputLayer;
use crate::network::Network;
use crate::normalize::NormMode;

/// What an evaluation is computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalKey {
    /// Input normalization.
    pub norm: NormMode,
    /// Images per forward pass.
    pub batch_size: usize,
    /// Output layer.
    pub output: OutputLayer,
}

// By hand because `OutputLayer` (an engine type) does not derive `Hash`; consistent with the
// derived `Eq`, which compares the same three fields.
impl std::hash::Hash for EvalKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.norm.hash(state);
        self.batch_size.hash(state);
        (self.output as u8).hash(state);
    }
}

/// Where an evaluation is.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalStatus {
    /// Batches are still coming.
    Running,
    /// Every image is counted.
    Finished,
    /// The worker failed with this message.
    Failed(String),
}

/// One evaluation of the whole split, running or done.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Its settings.
    pub key: EvalKey,
    /// The worker job's generation; messages of any other generation are dropped.
    pub generation: u64,
    /// Counts so far (merged batch by batch).
    pub tally: Tally,
    /// The predicted class of every image evaluated so far, by dataset index.
    pub predictions: Vec<Option<u8>>,
    /// Confidence, loss and margin of every image evaluated so far, by dataset index, from
    /// the pass that made its prediction.
    pub verdicts: Vec<Option<Verdict>>,
    /// The images ranked by confidence, loss and margin: made once, when the pass finishes.
    pub rankings: Option<Arc<Rankings>>,
    /// Batches received.
    pub batches: usize,
    /// Worker time from the job's start to its latest batch.
    pub elapsed: Duration,
    /// Running, finished or failed.
    pub status: EvalStatus,
    /// When this evaluation was last finished or shown again, in a count of such events:
    /// the modes table falls back on the one of a mode the user saw last.
    pub seen_seq: u64,
}

impl Evaluation {
    fn new(key: EvalKey, generation: u64, images: usize) -> Self {
        Self {
            key,
            generation,
            tally: Tally::default(),
            predictions: vec![None; images],
            verdicts: vec![None; images],
            rankings: None,
            batches: 0,
            elapsed: Duration::ZERO,
            status: EvalStatus::Running,
            seen_seq: 0,
        }
    }

    /// Images per second of worker time, once there is any.
    pub fn images_per_second(&self) -> Option<f64> {
        let secs = self.elapsed.as_secs_f64();
        (self.tally.total > 0 && secs > 0.0).then(|| self.tally.total as f64 / secs)
    }
}

/// The current evaluation and the finished ones.
#[derive(Debug, Clone)]
pub struct Evaluations {
    current: Evaluation,
    finished: HashMap<EvalKey, Evaluation>,
    seen_count: u64,
}

impl Evaluations {
    /// No evaluation yet: a placeholder for `key` that no worker message matches (generation
    /// 0 is never given to a job).
    pub fn new(key: EvalKey, images: usize) -> Self {
        Self {
            current: Evaluation::new(key, 0, images),
            finished: HashMap::new(),
            seen_count: 0,
        }
    }

    /// The evaluation for the current settings.
    pub fn current(&self) -> &Evaluation {
        &self.current
    }

    /// Shows the finished evaluation of `key` if there is one (returns `None`), or starts
    /// a new one as job `generation` and returns the job to submit.
    pub fn show(
        &mut self,
        key: EvalKey,
        generation: u64,
        data: &Arc<Dataset>,
        net: &Arc<Network>,
    ) -> Option<EvalJob> {
        if let Some(done) = self.finished.get_mut(&key) {
            self.seen_count += 1;
            done.seen_seq = self.seen_count;
            self.current = done.clone();
            return None;
        }
        self.current = Evaluation::new(key, generation, data.len());
        Some(EvalJob {
            generation,
            data: Arc::clone(data),
            net: Arc::clone(net),
            norm: key.norm,
            batch_size: key.batch_size,
            output: key.output,
        })
    }

    /// The finished evaluation of `norm` to show in the modes table: the one with `batch_size`
    /// and `output` if computed, else one with `batch_size` (the other output layer predicts
    /// the same), else the one of that mode seen last. Its `key` says what it was computed
    /// with, which the table must show whenever it differs from the current settings.
    pub fn result_for(
        &self,
        norm: NormMode,
        batch_size: usize,
        output: OutputLayer,
    ) -> Option<&Evaluation> {
        let of_mode = || self.finished.values().filter(move |e| e.key.norm == norm);
        let exact = EvalKey {
            norm,
            batch_size,
            output,
        };
        self.finished
            .get(&exact)
            .or_else(|| of_mode().find(|e| e.key.batch_size == batch_size))
            .or_else(|| of_mode().max_by_key(|e| e.seen_seq))
    }

    /// Whether the evaluation of `key` is finished and kept.
    pub fn is_finished(&self, key: &EvalKey) -> bool {
        self.finished.contains_key(key)
    }

    /// Applies a worker report about an evaluation; returns the error message if the job
    /// failed. Reports of any job but the current one's are dropped.
    pub fn on_worker(&mut self, report: WorkerMsg) -> Option<String> {
        let eval = &mut self.current;
        // Only the job of the settings shown may change what is shown; other kinds of job
        // have generations of their own (the second network's pass fails as `Compare`).
        if !matches!(report.kind(), JobKind::Evaluate | JobKind::Compare)
            || report.generation() != eval.generation
            || eval.status != EvalStatus::Running
        {
            return None;
        }
        match report {
            WorkerMsg::Progress(p) => {
                eval.tally.merge(&p.batch);
                if let Some(slots) = eval.predictions.get_mut(p.range.clone()) {
                    for (slot, &pred) in slots.iter_mut().zip(&p.predictions) {
                        *slot = Some(pred);
                    }
                }
                if let Some(slots) = eval.verdicts.get_mut(p.range.clone()) {
                    for (slot, &verdict) in slots.iter_mut().zip(&p.verdicts) {
                        *slot = Some(verdict);
                    }
                }
                eval.batches += 1;
                eval.elapsed = p.elapsed;
            }
            WorkerMsg::Ranked { rankings, .. } => eval.rankings = Some(rankings),
            WorkerMsg::Finished { elapsed, .. } => {
                eval.elapsed = elapsed;
                eval.status = EvalStatus::Finished;
                self.seen_count += 1;
                eval.seen_seq = self.seen_count;
                self.finished.insert(eval.key, eval.clone());
            }
            WorkerMsg::Failed { message, .. } => {
                eval.status = EvalStatus::Failed(message.clone());
                return Some(message);
            }
            // The second network's reports are unwrapped before they reach its evaluations;
            // a file read is no evaluation's; the other kinds are excluded above.
            WorkerMsg::Compare(_)
            | WorkerMsg::Loaded { .. }
            | WorkerMsg::FitStage { .. }
            | WorkerMsg::Fitted { .. }
            | WorkerMsg::Occluded { .. }
            | WorkerMsg::BatchTimed { .. }
            | WorkerMsg::BatchTimingFinished { .. }
            | WorkerMsg::OutputTimed { .. }
            | WorkerMsg::Matrix { .. }
            | WorkerMsg::MatrixDone { .. }
            | WorkerMsg::TrainLoaded { .. }
            | WorkerMsg::TrainBatch(_)
            | WorkerMsg::TrainEpoch { .. }
            | WorkerMsg::TrainDone { .. }
            | WorkerMsg::Saved { .. } => {}
        }
        None
    }
}
