//! The background work of the explorer: every slow computation is a [`Job`], run off the UI
//! thread, reporting over a channel.
//!
//! Each kind of job has a lane of its own (a thread started on its first job), so a long job
//! of one kind never holds up another kind, and at most one job of each kind runs. Within a
//! lane only the latest job matters (as in gitui's `asyncjob`): submitting a job bumps the
//! lane's generation number, the running job sees the change between units of work (batches)
//! and stops without sending anything more, and jobs still queued behind the newest are
//! skipped. Every message carries its job's generation so that the UI can drop anything that
//! arrives late: a cancelled job can never show its result under another setting. A panic
//! inside a job is caught and reported as [`WorkerMsg::Failed`]; the lane then waits for the
//! next job. A lane ends when the [`Worker`] is dropped or when the UI stops listening.

use std::any::Any;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::analysis::{Rankings, Verdict};
pub use crate::app::fitting::FitJob;
pub use crate::app::training::{SaveJob, Splits, TrainJob, TrainProgress};
use crate::app::training::{run_training, save};
use crate::dataset::Dataset;
use crate::eval::Tally;
use crate::layer::OutputLayer;
use crate::mode_matrix::{self, Member};
use crate::network::Network;
use crate::normalize::NormMode;
use crate::occlusion::OcclusionMap;
use crate::timing::{PassPath, PassTime};
use crate::train::EpochReport;
use crate::whiten::{Stage, Whitening};

mod jobs;
#[cfg(test)]
mod tests;

use jobs::{
    load, run_batch_timing, run_evaluation, run_fit, run_mode_matrix, run_occlusion,
    run_output_timing,
};

/// Prefix of the worker threads' names; the app's panic hook recognizes it so that a caught
/// job panic does not tear down the terminal.
pub const THREAD_PREFIX: &str = "worker-";

/// Generation stored on shutdown: no job ever has it, so whatever runs stops.
const SHUTDOWN: u64 = u64::MAX;

/// Which lane a job runs in: at most one job of each kind runs at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// A whole-split evaluation.
    Evaluate,
    /// A whole-split evaluation of the second network (`--compare`), in a lane of its own so
    /// that neither network's pass cancels the other's.
    Compare,
    /// Reading a second network's file, typed in the explorer.
    Load,
    /// An occlusion map of one image.
    Occlusion,
    /// Images per second against batch size, fast kernels and matrix product.
    BatchTiming,
    /// A whole-split pass with softmax against one with identity.
    OutputTiming,
    /// The train × test table: each mode's network read and evaluated under every mode.
    ModeMatrix,
    /// A training run (minutes at most, so a lane of its own: evaluations go on meanwhile).
    Train,
    /// Writing a trained network to a file.
    Save,
    /// Fitting the whitening on the training split.
    Fit,
}

impl JobKind {
    /// The lane's name, for its thread and for messages.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Evaluate => "evaluation",
            JobKind::Compare => "comparison",
            JobKind::Load => "loading",
            JobKind::Fit => "whitening fit",
            JobKind::Occlusion => "occlusion map",
            JobKind::BatchTiming => "batch timing",
            JobKind::OutputTiming => "softmax timing",
            JobKind::ModeMatrix => "train × test table",
            JobKind::Train => "training",
            JobKind::Save => "writing",
        }
    }
}

/// Work for the background.
#[derive(Debug, Clone)]
pub enum Job {
    /// Evaluate a network on a whole split.
    Evaluate(EvalJob),
    /// Evaluate the second network on a whole split; its reports come as
    /// [`WorkerMsg::Compare`].
    Compare(EvalJob),
    /// Read a network from a file and check that it fits the data; reported as
    /// [`WorkerMsg::Loaded`].
    Load(LoadJob),
    /// Compute the occlusion map of one image.
    Occlusion(ImageJob),
    /// Time passes at every batch size of the lesson, through both paths.
    BatchTiming(TimingJob),
    /// Time a whole-split pass with softmax and with identity output.
    OutputTiming(TimingJob),
    /// Read each mode's network and evaluate it under every mode; reported as
    /// [`WorkerMsg::Matrix`] events, then [`WorkerMsg::MatrixDone`].
    ModeMatrix(MatrixJob),
    /// Train a network; reported as [`WorkerMsg::TrainLoaded`], `TrainBatch`, `TrainEpoch`
    /// and `TrainDone`.
    Train(TrainJob),
    /// Write a network to a file; reported as [`WorkerMsg::Saved`].
    Save(SaveJob),
    /// Fit the whitening on the training split; reported as [`WorkerMsg::FitStage`]s, then
    /// [`WorkerMsg::Fitted`].
    Fit(FitJob),
    /// Stop whatever runs in the lane of `kind`, and do nothing else.
    Cancel {
        /// The lane.
        kind: JobKind,
        /// A generation no other job has: the running job sees it and stops.
        generation: u64,
    },
}

impl Job {
    /// The lane the job runs in.
    pub fn kind(&self) -> JobKind {
        match self {
            Job::Evaluate(_) => JobKind::Evaluate,
            Job::Compare(_) => JobKind::Compare,
            Job::Load(_) => JobKind::Load,
            Job::Fit(_) => JobKind::Fit,
            Job::Occlusion(_) => JobKind::Occlusion,
            Job::BatchTiming(_) => JobKind::BatchTiming,
            Job::OutputTiming(_) => JobKind::OutputTiming,
            Job::ModeMatrix(_) => JobKind::ModeMatrix,
            Job::Train(_) => JobKind::Train,
            Job::Save(_) => JobKind::Save,
            Job::Cancel { kind, .. } => *kind,
        }
    }

    /// The job's generation, which its messages carry back.
    pub fn generation(&self) -> u64 {
        match self {
            Job::Evaluate(job) | Job::Compare(job) => job.generation,
            Job::Load(job) => job.generation,
            Job::Fit(job) => job.generation,
            Job::Occlusion(job) => job.generation,
            Job::BatchTiming(job) | Job::OutputTiming(job) => job.generation,
            Job::ModeMatrix(job) => job.generation,
            Job::Train(job) => job.generation,
            Job::Save(job) => job.generation,
            Job::Cancel { generation, .. } => *generation,
        }
    }
}

/// One image of a split, under one normalization mode.
#[derive(Debug, Clone)]
pub struct ImageJob {
    /// Identifies the job; messages carry it back.
    pub generation: u64,
    /// The images and labels.
    pub data: Arc<Dataset>,
    /// The network.
    pub net: Arc<Network>,
    /// The image's index in `data`.
    pub index: usize,
    /// Input normalization.
    pub norm: NormMode,
}

/// Passes to time over a split, under one normalization mode and batch size.
#[derive(Debug, Clone)]
pub struct TimingJob {
    /// Identifies the job; messages carry it back.
    pub generation: u64,
    /// The images and labels.
    pub data: Arc<Dataset>,
    /// The network.
    pub net: Arc<Network>,
    /// Input normalization.
    pub norm: NormMode,
    /// Images per forward pass (the output timing's; the batch lesson takes its own).
    pub batch_size: usize,
}

/// One point of the batch lesson: a path at a batch size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchPoint {
    /// Which code ran.
    pub path: PassPath,
    /// Images per forward call.
    pub batch_size: usize,
    /// How long the pass took.
    pub time: PassTime,
}

/// A whole-split pass with softmax output against one with identity.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTiming {
    /// Input normalization of both passes.
    pub norm: NormMode,
    /// Their batch size.
    pub batch_size: usize,
    /// The pass with softmax.
    pub softmax: PassTime,
    /// The pass with identity.
    pub identity: PassTime,
    /// Whether both passes predicted the same class for every image.
    pub same_predictions: bool,
}

/// What to evaluate: a network on a split, with one (normalization, batch size, output layer).
#[derive(Debug, Clone)]
pub struct EvalJob {
    /// Identifies the job; messages carry it back.
    pub generation: u64,
    /// The images and labels.
    pub data: Arc<Dataset>,
    /// The network.
    pub net: Arc<Network>,
    /// Input normalization.
    pub norm: NormMode,
    /// Images per forward pass (at least 1).
    pub batch_size: usize,
    /// Output layer of the forward pass.
    pub output: OutputLayer,
}

/// The networks of a family to read and evaluate on a split under every mode.
#[derive(Debug, Clone)]
pub struct MatrixJob {
    /// Identifies the job; its reports carry it back.
    pub generation: u64,
    /// The images and labels.
    pub data: Arc<Dataset>,
    /// The network of each mode and its file.
    pub members: Vec<Member>,
    /// Images per forward pass.
    pub batch_size: usize,
}

/// A network file to read, for images of `inputs` pixels and `classes` classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadJob {
    /// Identifies the job; its report carries it back.
    pub generation: u64,
    /// The file.
    pub path: PathBuf,
    /// Pixels per image of the data it must fit.
    pub inputs: usize,
    /// Classes of the data it must fit.
    pub classes: usize,
}

/// One finished batch of an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The job this batch belongs to.
    pub generation: u64,
    /// The images of this batch (dataset indices).
    pub range: Range<usize>,
    /// The predicted class of each image of `range`.
    pub predictions: Vec<u8>,
    /// Confidence, loss and margin of each image of `range`, from the same forward pass.
    pub verdicts: Vec<Verdict>,
    /// Counts for this batch alone; the receiver merges them.
    pub batch: Tally,
    /// Time since the job started, at the end of this batch.
    pub elapsed: Duration,
}

/// What the worker reports.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerMsg {
    /// An evaluation finished a batch (boxed: a tally is 800 bytes, the other variants a few).
    Progress(Box<Progress>),
    /// Every batch of an evaluation is done, and these are its images ranked (sent just
    /// before [`WorkerMsg::Finished`], so that the UI thread never sorts a split).
    Ranked {
        /// The job.
        generation: u64,
        /// The rankings by confidence, loss and margin.
        rankings: Arc<Rankings>,
    },
    /// Every batch of an evaluation is done.
    Finished {
        /// The job.
        generation: u64,
        /// Time the whole job took.
        elapsed: Duration,
    },
    /// An occlusion map is ready (boxed: it holds a map of patch positions).
    Occluded {
        /// The job.
        generation: u64,
        /// The image.
        index: usize,
        /// Its normalization.
        norm: NormMode,
        /// The map.
        map: Box<OcclusionMap>,
    },
    /// One point of the batch lesson is measured.
    BatchTimed {
        /// The job.
        generation: u64,
        /// The point.
        point: BatchPoint,
    },
    /// Every point of the batch lesson is measured.
    BatchTimingFinished {
        /// The job.
        generation: u64,
    },
    /// Both output-layer passes are timed.
    OutputTimed {
        /// The job.
        generation: u64,
        /// The result.
        timing: Box<OutputTiming>,
    },
    /// A job panicked or could not start; its lane is still alive.
    Failed {
        /// The lane it ran in.
        kind: JobKind,
        /// The job.
        generation: u64,
        /// The panic message.
        message: String,
    },
    /// A network file was read ([`Job::Load`]): the network, or what is wrong with the file
    /// (the message names it).
    Loaded {
        /// The job.
        generation: u64,
        /// The network and the mode its file records it was trained with, or the fault.
        result: Result<(Arc<Network>, Option<NormMode>), String>,
    },
    /// How far the whitening fit is ([`Job::Fit`]).
    FitStage {
        /// The job.
        generation: u64,
        /// Where it is.
        stage: Stage,
    },
    /// The whitening fit is done: the fit, or what went wrong.
    Fitted {
        /// The job.
        generation: u64,
        /// The fit, or the fault.
        result: Result<Arc<Whitening>, String>,
    },
    /// A report of the second network's evaluation ([`Job::Compare`]): `Progress` or
    /// `Finished` (its failures come as `Failed` of kind [`JobKind::Compare`]).
    Compare(Box<WorkerMsg>),
    /// A row read or a cell evaluated of the train × test table ([`Job::ModeMatrix`]).
    Matrix {
        /// The job.
        generation: u64,
        /// What was done.
        event: Box<mode_matrix::Event>,
    },
    /// Every row and cell of the train × test table is done.
    MatrixDone {
        /// The job.
        generation: u64,
    },
    /// A training job read the splits it was not given (the UI keeps them for the next).
    TrainLoaded {
        /// The job.
        generation: u64,
        /// The splits.
        splits: Splits,
    },
    /// A training job's latest step and the loss curve's new points (boxed: the curve).
    TrainBatch(Box<TrainProgress>),
    /// A training job finished an epoch.
    TrainEpoch {
        /// The job.
        generation: u64,
        /// The epoch's figures.
        report: EpochReport,
        /// The weights it ended with.
        network: Arc<Network>,
        /// Time since the trainer started.
        elapsed: Duration,
    },
    /// A training job finished its last epoch.
    TrainDone {
        /// The job.
        generation: u64,
        /// The trained network.
        network: Arc<Network>,
        /// Threads each step ran on.
        threads: usize,
        /// The code path that ran.
        kernel: &'static str,
    },
    /// A network was written ([`Job::Save`]): the file, or what went wrong (naming it).
    Saved {
        /// The job.
        generation: u64,
        /// The file written, or the fault.
        result: Result<PathBuf, String>,
    },
}

impl WorkerMsg {
    /// The lane of the job the message is about.
    pub fn kind(&self) -> JobKind {
        match self {
            WorkerMsg::Progress(_) | WorkerMsg::Ranked { .. } | WorkerMsg::Finished { .. } => {
                JobKind::Evaluate
            }
            WorkerMsg::Occluded { .. } => JobKind::Occlusion,
            WorkerMsg::BatchTimed { .. } | WorkerMsg::BatchTimingFinished { .. } => {
                JobKind::BatchTiming
            }
            WorkerMsg::OutputTimed { .. } => JobKind::OutputTiming,
            WorkerMsg::Failed { kind, .. } => *kind,
            WorkerMsg::Compare(_) => JobKind::Compare,
            WorkerMsg::Loaded { .. } => JobKind::Load,
            WorkerMsg::FitStage { .. } | WorkerMsg::Fitted { .. } => JobKind::Fit,
            WorkerMsg::Matrix { .. } | WorkerMsg::MatrixDone { .. } => JobKind::ModeMatrix,
            WorkerMsg::TrainLoaded { .. }
            | WorkerMsg::TrainBatch(_)
            | WorkerMsg::TrainEpoch { .. }
            | WorkerMsg::TrainDone { .. } => JobKind::Train,
            WorkerMsg::Saved { .. } => JobKind::Save,
        }
    }

    /// The generation of the job the message is about.
    pub fn generation(&self) -> u64 {
        match self {
            WorkerMsg::Progress(p) => p.generation,
            WorkerMsg::Ranked { generation, .. }
            | WorkerMsg::Loaded { generation, .. }
            | WorkerMsg::FitStage { generation, .. }
            | WorkerMsg::Fitted { generation, .. }
            | WorkerMsg::Finished { generation, .. }
            | WorkerMsg::Failed { generation, .. }
            | WorkerMsg::Occluded { generation, .. }
            | WorkerMsg::BatchTimed { generation, .. }
            | WorkerMsg::BatchTimingFinished { generation }
            | WorkerMsg::OutputTimed { generation, .. }
            | WorkerMsg::Matrix { generation, .. }
            | WorkerMsg::MatrixDone { generation }
            | WorkerMsg::TrainLoaded { generation, .. }
            | WorkerMsg::TrainEpoch { generation, .. }
            | WorkerMsg::TrainDone { generation, .. }
            | WorkerMsg::Saved { generation, .. } => *generation,
            WorkerMsg::TrainBatch(progress) => progress.generation,
            WorkerMsg::Compare(report) => report.generation(),
        }
    }
}

/// Delivers a message to the UI; `false` once the UI is gone.
type Send = Arc<dyn Fn(WorkerMsg) -> bool + std::marker::Send + Sync>;

/// Handle to the background lanes. Dropping it cancels every running job and joins the
/// threads.
pub struct Worker {
    send: Send,
    lanes: Mutex<HashMap<JobKind, Lane>>,
}

/// One kind's thread, its queue and the generation it should be working on.
struct Lane {
    jobs: Option<Sender<Job>>,
    current: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// A worker whose lanes report through `send`, which returns `false` once the UI is gone
    /// (the lane then ends). Threads start with their lane's first job.
    pub fn new<F>(send: F) -> Self
    where
        F: Fn(WorkerMsg) -> bool + std::marker::Send + Sync + 'static,
    {
        Self {
            send: Arc::new(send),
            lanes: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces whatever runs or waits in `job`'s lane with `job`: the running job stops
    /// after its current unit of work and sends nothing more.
    pub fn submit(&self, job: Job) {
        let kind = job.kind();
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let lane = match lanes.entry(kind) {
            Entry::Occupied(lane) => lane.into_mut(),
            // Nothing runs in a lane never started: nothing to stop.
            Entry::Vacant(_) if matches!(job, Job::Cancel { .. }) => return,
            Entry::Vacant(slot) => match Lane::spawn(kind, Arc::clone(&self.send)) {
                Ok(lane) => slot.insert(lane),
                Err(e) => {
                    (self.send)(WorkerMsg::Failed {
                        kind,
                        generation: job.generation(),
                        message: format!("could not start the {} thread: {e}", kind.name()),
                    });
                    return;
                }
            },
        };
        lane.current.store(job.generation(), Ordering::SeqCst);
        if let Some(jobs) = &lane.jobs {
            // A send error means the lane has ended (the UI stopped listening), and then
            // nobody waits for the job's messages either.
            let _ = jobs.send(job);
        }
    }

    /// Cancels every running job and waits for the threads to end.
    pub fn shutdown(&mut self) {
        let lanes = std::mem::take(self.lanes.get_mut().unwrap_or_else(|e| e.into_inner()));
        for lane in lanes.values() {
            lane.current.store(SHUTDOWN, Ordering::SeqCst);
        }
        for (_, mut lane) in lanes {
            lane.jobs = None;
            if let Some(thread) = lane.thread.take() {
                // A panic escaping `serve` is impossible (jobs run under catch_unwind), and
                // there is nothing to do about one while quitting anyway.
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Lane {
    fn spawn(kind: JobKind, send: Send) -> std::io::Result<Self> {
        let (jobs, rx) = channel();
        let current = Arc::new(AtomicU64::new(0));
        let thread = std::thread::Builder::new()
            .name(format!("{THREAD_PREFIX}{}", kind.name()))
            .spawn({
                let current = Arc::clone(&current);
                move || serve(&rx, &current, &*send)
            })?;
        Ok(Self {
            jobs: Some(jobs),
            current,
            thread: Some(thread),
        })
    }
}

/// Tells a job whether it is still wanted.
pub struct Cancel<'a> {
    current: &'a AtomicU64,
    generation: u64,
}

impl Cancel<'_> {
    /// True once a newer job (or shutdown) replaced this one.
    pub fn cancelled(&self) -> bool {
        self.current.load(Ordering::SeqCst) != self.generation
    }
}

/// A lane's body: take the newest job, run it, repeat until the job channel closes or the
/// UI stops listening.
fn serve(rx: &Receiver<Job>, current: &AtomicU64, send: &(dyn Fn(WorkerMsg) -> bool + Sync)) {
    while let Ok(mut job) = rx.recv() {
        // Skip to the newest queued job: older ones are already superseded.
        while let Ok(newer) = rx.try_recv() {
            job = newer;
        }
        let cancel = Cancel {
            current,
            generation: job.generation(),
        };
        if cancel.cancelled() {
            continue;
        }
        let (kind, generation) = (job.kind(), job.generation());
        let outcome = catch_unwind(AssertUnwindSafe(|| run(job, &cancel, send)));
        let listening = match outcome {
            Ok(listening) => listening,
            Err(payload) => send(WorkerMsg::Failed {
                kind,
                generation,
                message: panic_message(payload.as_ref()),
            }),
        };
        if !listening {
            return;
        }
    }
}

/// Runs one job; returns `false` when the UI has stopped listening.
fn run(job: Job, cancel: &Cancel<'_>, send: &(dyn Fn(WorkerMsg) -> bool + Sync)) -> bool {
    match job {
        Job::Evaluate(job) => run_evaluation(&job, cancel, send),
        Job::Compare(job) => run_evaluation(&job, cancel, &|report| {
            send(WorkerMsg::Compare(Box::new(report)))
        }),
        Job::Load(job) => send(WorkerMsg::Loaded {
            generation: job.generation,
            result: load(&job),
        }),
        Job::Fit(job) => run_fit(&job, cancel, send),
        Job::Occlusion(job) => run_occlusion(&job, cancel, send),
        Job::BatchTiming(job) => run_batch_timing(&job, cancel, send),
        Job::OutputTiming(job) => run_output_timing(&job, cancel, send),
        Job::ModeMatrix(job) => run_mode_matrix(&job, cancel, send),
        Job::Train(job) => run_training(job, cancel, send),
        Job::Save(job) => send(WorkerMsg::Saved {
            generation: job.generation,
            result: save(&job),
        }),
        // Its submission stopped the lane's job; that was all.
        Job::Cancel { .. } => true,
    }
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + std::marker::Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "the job panicked".to_string()
    }
}
