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
use std::time::{Duration, Instant};

use crate::analysis::{Rankings, Verdict, verdicts};
pub use crate::app::fitting::FitJob;
pub use crate::app::training::{SaveJob, Splits, TrainJob, TrainProgress};
use crate::app::training::{run_training, save};
use crate::dataset::{Dataset, Split};
use crate::eval::{Tally, evaluate};
use crate::layer::OutputLayer;
use crate::mode_matrix::{self, Member};
use crate::network::Network;
use crate::normalize::NormMode;
use crate::occlusion::{OcclusionMap, PATCH, STRIDE, occlusion_map};
use crate::timing::{self, LESSON_BATCHES, LESSON_IMAGES, PassPath, PassTime};
use crate::train::EpochReport;
use crate::whiten::{FitError, Stage, Whitening};

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
        /// The network, or the fault.
        result: Result<Arc<Network>, String>,
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

/// Reads and evaluates the family's networks, one message per row and cell, checking for
/// cancellation between batches.
fn run_mode_matrix(job: &MatrixJob, cancel: &Cancel<'_>, send: &dyn Fn(WorkerMsg) -> bool) -> bool {
    let mut listening = true;
    let done = mode_matrix::run(
        &job.members,
        &job.data,
        job.batch_size,
        &|| !cancel.cancelled(),
        &mut |event| {
            listening = send(WorkerMsg::Matrix {
                generation: job.generation,
                event: Box::new(event),
            });
            listening
        },
    );
    if !done || cancel.cancelled() {
        return listening;
    }
    send(WorkerMsg::MatrixDone {
        generation: job.generation,
    })
}

/// Reads the training split and fits the whitening on it, reporting each stage and checking
/// for cancellation between them.
fn run_fit(job: &FitJob, cancel: &Cancel<'_>, send: &dyn Fn(WorkerMsg) -> bool) -> bool {
    let generation = job.generation;
    let train = match Dataset::load(&job.data_dir, Split::Train) {
        Ok(train) => train,
        Err(e) => {
            return send(WorkerMsg::Fitted {
                generation,
                result: Err(format!("reading the training split: {e}")),
            });
        }
    };
    let mut listening = true;
    let fit = Whitening::fit(&train, |stage| {
        listening = send(WorkerMsg::FitStage { generation, stage });
        listening && !cancel.cancelled()
    });
    match fit {
        Err(FitError::Cancelled) => listening,
        result => send(WorkerMsg::Fitted {
            generation,
            result: result.map(Arc::new).map_err(|e| e.to_string()),
        }),
    }
}

/// Reads the network of `job` and checks that it fits the data.
fn load(job: &LoadJob) -> Result<Arc<Network>, String> {
    let net = crate::weights::load(&job.path)
        .map_err(|e| e.to_string())?
        .network;
    net.check_fits(job.inputs, job.classes)
        .map_err(|fault| format!("{}: {fault}", job.path.display()))?;
    Ok(Arc::new(net))
}

/// Computes the occlusion map of the job's image for its true label, checking for
/// cancellation after each row of patch positions.
fn run_occlusion(job: &ImageJob, cancel: &Cancel<'_>, send: &dyn Fn(WorkerMsg) -> bool) -> bool {
    let data = &job.data;
    let class = usize::from(data.label(job.index));
    let map = occlusion_map(
        &job.net,
        data.image(job.index),
        (data.rows(), data.cols()),
        job.norm,
        class,
        PATCH,
        STRIDE,
        |_, _| !cancel.cancelled(),
    );
    match map {
        Some(map) if !cancel.cancelled() => send(WorkerMsg::Occluded {
            generation: job.generation,
            index: job.index,
            norm: job.norm,
            map: Box::new(map),
        }),
        // Replaced: nothing more to say, and the UI is presumably still listening.
        _ => true,
    }
}

/// Times a pass over the first [`LESSON_IMAGES`] images at every batch size of the lesson,
/// through the matrix product and then through the fast kernels, one message per point.
fn run_batch_timing(
    job: &TimingJob,
    cancel: &Cancel<'_>,
    send: &dyn Fn(WorkerMsg) -> bool,
) -> bool {
    let data = match timing::first(&job.data, LESSON_IMAGES) {
        Ok(data) => data,
        Err(e) => {
            return send(WorkerMsg::Failed {
                kind: JobKind::BatchTiming,
                generation: job.generation,
                message: e.to_string(),
            });
        }
    };
    let keep_going = || !cancel.cancelled();
    // The matrix product first: its passes take seconds in all, by which time the jobs the
    // view started at the same moment (the softmax timing, the occlusion map) are done and
    // no longer share the two cores with the fast passes, which last milliseconds and are
    // the most easily disturbed.
    let points = [PassPath::Reference, PassPath::Fast]
        .into_iter()
        .flat_map(|path| {
            LESSON_BATCHES
                .iter()
                .rev()
                .map(move |&batch_size| (path, batch_size))
        });
    for (path, batch_size) in points {
        let measured = timing::timed(data.len(), || {
            timing::pass(
                &job.net,
                &data,
                job.norm,
                batch_size,
                OutputLayer::Softmax,
                path,
                &keep_going,
            )
        });
        let Some((time, _)) = measured else {
            return true;
        };
        if cancel.cancelled() {
            return true;
        }
        let point = BatchPoint {
            path,
            batch_size,
            time,
        };
        if !send(WorkerMsg::BatchTimed {
            generation: job.generation,
            point,
        }) {
            return false;
        }
    }
    send(WorkerMsg::BatchTimingFinished {
        generation: job.generation,
    })
}

/// Times whole-split passes with softmax and with identity output, taking turns, and checks
/// that they predict alike.
fn run_output_timing(
    job: &TimingJob,
    cancel: &Cancel<'_>,
    send: &dyn Fn(WorkerMsg) -> bool,
) -> bool {
    let keep_going = || !cancel.cancelled();
    let pass = |output| {
        timing::pass(
            &job.net,
            &job.data,
            job.norm,
            job.batch_size,
            output,
            PassPath::Fast,
            &keep_going,
        )
    };
    let measured = timing::timed_each(
        job.data.len(),
        &mut [&mut || pass(OutputLayer::Softmax), &mut || {
            pass(OutputLayer::Identity)
        }],
    );
    let Some([(softmax, with_softmax), (identity, with_identity)]) =
        measured.and_then(|m| <[_; 2]>::try_from(m).ok())
    else {
        return true;
    };
    if cancel.cancelled() {
        return true;
    }
    send(WorkerMsg::OutputTimed {
        generation: job.generation,
        timing: Box::new(OutputTiming {
            norm: job.norm,
            batch_size: job.batch_size,
            softmax,
            identity,
            same_predictions: with_softmax == with_identity,
        }),
    })
}

/// Evaluates the whole split, one message per batch, then [`WorkerMsg::Ranked`] and
/// [`WorkerMsg::Finished`].
fn run_evaluation(job: &EvalJob, cancel: &Cancel<'_>, send: &dyn Fn(WorkerMsg) -> bool) -> bool {
    let start = Instant::now();
    let labels = job.data.labels();
    let mut listening = true;
    let mut all_verdicts = Vec::with_capacity(job.data.len());
    let (_, predictions) = evaluate(
        &job.net,
        &job.data,
        job.norm,
        job.batch_size,
        job.output,
        |done| {
            if cancel.cancelled() {
                return false;
            }
            let labels = &labels[done.range.clone()];
            let mut batch = Tally::default();
            batch.push(labels, done.predictions);
            let verdicts = verdicts(done.outputs, labels, job.output);
            all_verdicts.extend_from_slice(&verdicts);
            listening = send(WorkerMsg::Progress(Box::new(Progress {
                generation: job.generation,
                range: done.range.clone(),
                predictions: done.predictions.to_vec(),
                verdicts,
                batch,
                elapsed: start.elapsed(),
            })));
            listening
        },
    );
    if !listening || cancel.cancelled() {
        return listening;
    }
    let rankings = Arc::new(Rankings::new(&all_verdicts, &predictions, labels));
    if cancel.cancelled() {
        return true;
    }
    if !send(WorkerMsg::Ranked {
        generation: job.generation,
        rankings,
    }) {
        return false;
    }
    send(WorkerMsg::Finished {
        generation: job.generation,
        elapsed: start.elapsed(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Layer;
    use ndarray::{Array1, Array2};
    use std::sync::mpsc::RecvTimeoutError;

    const WAIT: Duration = Duration::from_secs(20);

    /// 200 images of 2x2 pixels with labels 0..9 and a one-layer network (`inputs` -> 10).
    fn fixture(inputs: usize) -> (Arc<Dataset>, Arc<Network>) {
        let n = 200;
        let images: Vec<u8> = (0..n * 4).map(|i| ((i * 37) % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let data = Dataset::from_parts(images, labels, 2, 2).unwrap();
        let w = Array2::from_shape_fn((inputs, 10), |(r, c)| ((r * 7 + c * 3) % 5) as f32 - 2.0);
        let b = Array1::from_shape_fn(10, |c| c as f32 * 0.1);
        let net = Network::new(vec![Layer { w, b }]).unwrap();
        (Arc::new(data), Arc::new(net))
    }

    fn spawn() -> (Worker, Receiver<WorkerMsg>) {
        let (tx, rx) = channel();
        let worker = Worker::new(move |m| tx.send(m).is_ok());
        (worker, rx)
    }

    fn job(fixture: &(Arc<Dataset>, Arc<Network>), generation: u64, batch_size: usize) -> Job {
        Job::Evaluate(EvalJob {
            generation,
            data: Arc::clone(&fixture.0),
            net: Arc::clone(&fixture.1),
            norm: NormMode::Div255,
            batch_size,
            output: OutputLayer::Softmax,
        })
    }

    /// Collects messages until `generation` finishes or fails.
    fn until_end(rx: &Receiver<WorkerMsg>, generation: u64) -> Vec<WorkerMsg> {
        let mut out = Vec::new();
        loop {
            let m = rx.recv_timeout(WAIT).unwrap();
            let end = matches!(
                m,
                WorkerMsg::Finished { .. }
                    | WorkerMsg::BatchTimingFinished { .. }
                    | WorkerMsg::Failed { .. }
            ) && m.generation() == generation;
            out.push(m);
            if end {
                return out;
            }
        }
    }

    /// The progress reports of one finished job, checked to come in order, none skipped,
    /// followed by its rankings and its end; returns the merged tally, the predictions, the
    /// verdicts and the rankings.
    fn merge_reports(msgs: &[WorkerMsg]) -> (Tally, Vec<u8>, Vec<Verdict>, Arc<Rankings>) {
        let [
            progress @ ..,
            WorkerMsg::Ranked { rankings, .. },
            WorkerMsg::Finished { .. },
        ] = msgs
        else {
            panic!("a pass ends with its rankings and its end: {msgs:?}")
        };
        let mut tally = Tally::default();
        let (mut preds, mut verdicts) = (Vec::new(), Vec::new());
        let mut next = 0;
        for m in progress {
            let WorkerMsg::Progress(p) = m else {
                panic!("unexpected {m:?}")
            };
            assert_eq!(p.range.start, next, "batches arrive in order, none skipped");
            assert_eq!(p.verdicts.len(), p.range.len(), "a verdict per image");
            next = p.range.end;
            tally.merge(&p.batch);
            preds.extend_from_slice(&p.predictions);
            verdicts.extend_from_slice(&p.verdicts);
        }
        (tally, preds, verdicts, Arc::clone(rankings))
    }

    #[test]
    fn a_job_reports_every_batch_and_matches_evaluate() {
        let f = fixture(4);
        let (worker, rx) = spawn();
        worker.submit(job(&f, 1, 30));
        let msgs = until_end(&rx, 1);
        assert!(msgs.iter().all(|m| m.generation() == 1));
        assert_eq!(msgs.len() - 2, 7, "200 images in batches of 30");
        let (tally, preds, verdicts, rankings) = merge_reports(&msgs);
        let mut expected_verdicts = Vec::new();
        let (expected, expected_preds) = evaluate(
            &f.1,
            &f.0,
            NormMode::Div255,
            30,
            OutputLayer::Softmax,
            |b| {
                let labels = &f.0.labels()[b.range.clone()];
                expected_verdicts.extend(crate::analysis::verdicts(
                    b.outputs,
                    labels,
                    OutputLayer::Softmax,
                ));
                true
            },
        );
        assert_eq!(tally, expected);
        assert_eq!(preds, expected_preds);
        assert_eq!(verdicts, expected_verdicts);
        assert_eq!(
            *rankings,
            Rankings::new(&expected_verdicts, &expected_preds, f.0.labels())
        );
    }

    #[test]
    fn the_second_network_runs_in_its_own_lane_and_says_so() {
        let f = fixture(4);
        let other = (Arc::clone(&f.0), fixture(4).1);
        let (worker, rx) = spawn();
        let Job::Evaluate(compare) = job(&other, 2, 1) else {
            unreachable!()
        };
        worker.submit(Job::Compare(compare));
        // A main job submitted meanwhile does not replace the comparison.
        worker.submit(job(&f, 3, 50));
        let mut of = HashMap::<u64, Vec<WorkerMsg>>::new();
        while of
            .values()
            .filter(|m| matches!(m.last(), Some(WorkerMsg::Finished { .. })))
            .count()
            < 2
        {
            let m = rx.recv_timeout(WAIT).unwrap();
            let m = match m {
                WorkerMsg::Compare(inner) => {
                    assert_eq!(inner.generation(), 2, "only the comparison is wrapped");
                    *inner
                }
                other => {
                    assert_eq!(
                        other.generation(),
                        3,
                        "the comparison's reports are wrapped"
                    );
                    other
                }
            };
            of.entry(m.generation()).or_default().push(m);
        }
        let (tally, ..) = merge_reports(&of[&2]);
        assert_eq!(tally.total, 200, "every image of the comparison");
        assert_eq!(merge_reports(&of[&3]).0.total, 200);
    }

    #[test]
    fn overwrite_only_the_newest_job_finishes() {
        let f = fixture(4);
        let (worker, rx) = spawn();
        // Batch size 1 makes job 1 long enough that jobs 2 and 3 replace it mid-way.
        worker.submit(job(&f, 1, 1));
        worker.submit(job(&f, 2, 1));
        worker.submit(job(&f, 3, 50));
        let msgs = until_end(&rx, 3);
        let finished: Vec<u64> = msgs
            .iter()
            .filter_map(|m| match m {
                WorkerMsg::Finished { generation, .. } => Some(*generation),
                _ => None,
            })
            .collect();
        assert_eq!(finished, vec![3]);
        let of_3 = msgs.iter().filter(|m| m.generation() == 3).count();
        assert_eq!(of_3, 4 + 2, "four batches of 50, the rankings and the end");
        // Nothing else arrives afterwards.
        assert!(matches!(
            rx.recv_timeout(Duration::from_millis(100)),
            Err(RecvTimeoutError::Timeout)
        ));
    }

    /// Like `spawn`, but the lane blocks after its first message until the returned sender
    /// is dropped, so a test can act while a job is certainly half done.
    fn spawn_gated() -> (Worker, Receiver<WorkerMsg>, Sender<()>) {
        let (tx, rx) = channel();
        let (gate_tx, gate_rx) = channel::<()>();
        let gate = Mutex::new(Some(gate_rx));
        let worker = Worker::new(move |m| {
            let ok = tx.send(m).is_ok();
            let first = gate.lock().unwrap().take();
            if let Some(gate) = first {
                let _ = gate.recv();
            }
            ok
        });
        (worker, rx, gate_tx)
    }

    #[test]
    fn cancel_stops_the_running_job_between_batches() {
        let f = fixture(4);
        let (worker, rx, gate) = spawn_gated();
        worker.submit(job(&f, 1, 1));
        assert_eq!(rx.recv_timeout(WAIT).unwrap().generation(), 1);
        worker.submit(job(&f, 2, 50));
        drop(gate);
        let msgs = until_end(&rx, 2);
        let of_1 = msgs.iter().filter(|m| m.generation() == 1).count();
        assert_eq!(of_1, 0, "job 1 sent more after it was replaced: {msgs:?}");
        assert!(matches!(msgs.last(), Some(WorkerMsg::Finished { .. })));
    }

    #[test]
    fn shutdown_cancels_and_joins() {
        let f = fixture(4);
        let (mut worker, rx, gate) = spawn_gated();
        worker.submit(job(&f, 1, 1));
        assert_eq!(rx.recv_timeout(WAIT).unwrap().generation(), 1);
        // Open the gate only after shutdown has flagged the job (shutdown then joins).
        let opener = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(gate);
        });
        worker.shutdown();
        opener.join().unwrap();
        let rest: Vec<WorkerMsg> = rx.try_iter().collect();
        assert!(rest.is_empty(), "the job went on after shutdown: {rest:?}");
    }

    #[test]
    fn a_panic_is_reported_and_the_lane_survives() {
        // A network expecting 3 inputs panics in the forward pass on 4-pixel images.
        let bad = fixture(3);
        let (worker, rx) = spawn();
        worker.submit(job(&bad, 1, 50));
        let msgs = until_end(&rx, 1);
        let Some(WorkerMsg::Failed { message, kind, .. }) = msgs.last() else {
            panic!("expected a failure, got {msgs:?}")
        };
        assert!(!message.is_empty());
        assert_eq!(*kind, JobKind::Evaluate);
        // The lane is still serving.
        worker.submit(job(&fixture(4), 2, 50));
        let msgs = until_end(&rx, 2);
        assert!(matches!(msgs.last(), Some(WorkerMsg::Finished { .. })));
    }

    fn timing_job(f: &(Arc<Dataset>, Arc<Network>), generation: u64) -> TimingJob {
        TimingJob {
            generation,
            data: Arc::clone(&f.0),
            net: Arc::clone(&f.1),
            norm: NormMode::Div255,
            batch_size: 10,
        }
    }

    #[test]
    fn the_batch_lesson_measures_every_batch_size_on_both_paths() {
        let f = fixture(4);
        let (worker, rx) = spawn();
        worker.submit(Job::BatchTiming(timing_job(&f, 5)));
        let msgs = until_end(&rx, 5);
        assert!(matches!(
            msgs.last(),
            Some(WorkerMsg::BatchTimingFinished { generation: 5 })
        ));
        let points: Vec<BatchPoint> = msgs
            .iter()
            .filter_map(|m| match m {
                WorkerMsg::BatchTimed { point, .. } => Some(*point),
                _ => None,
            })
            .collect();
        for path in PassPath::ALL {
            let mut sizes: Vec<usize> = points
                .iter()
                .filter(|p| p.path == path)
                .map(|p| p.batch_size)
                .collect();
            sizes.sort_unstable();
            assert_eq!(sizes, LESSON_BATCHES, "{path:?}");
        }
        for p in &points {
            assert_eq!(p.time.images, 200);
            assert!(p.time.reps >= 1 && p.time.seconds > 0.0, "{p:?}");
            assert!(p.time.images_per_second() > 0.0);
        }
        assert!(msgs.iter().all(|m| m.kind() == JobKind::BatchTiming));
    }

    #[test]
    fn a_replaced_batch_lesson_says_nothing_more() {
        let f = fixture(4);
        let (worker, rx, gate) = spawn_gated();
        worker.submit(Job::BatchTiming(timing_job(&f, 1)));
        // The first point arrives; the lane then waits at the gate until job 2 replaces job 1.
        assert_eq!(rx.recv_timeout(WAIT).unwrap().generation(), 1);
        worker.submit(Job::BatchTiming(timing_job(&f, 2)));
        drop(gate);
        let msgs = until_end(&rx, 2);
        let of_1 = msgs.iter().filter(|m| m.generation() == 1).count();
        assert_eq!(of_1, 0, "job 1 went on after it was replaced: {msgs:?}");
        let of_2 = msgs
            .iter()
            .filter(|m| matches!(m, WorkerMsg::BatchTimed { .. }))
            .count();
        assert_eq!(of_2, 2 * LESSON_BATCHES.len());
    }

    #[test]
    fn softmax_and_identity_passes_are_timed_and_predict_alike() {
        let f = fixture(4);
        let (worker, rx) = spawn();
        worker.submit(Job::OutputTiming(timing_job(&f, 3)));
        let msgs = until_end_of(&rx, 3, |m| matches!(m, WorkerMsg::OutputTimed { .. }));
        let Some(WorkerMsg::OutputTimed { timing, .. }) = msgs.last() else {
            panic!("{msgs:?}")
        };
        assert!(timing.same_predictions);
        assert_eq!((timing.norm, timing.batch_size), (NormMode::Div255, 10));
        for t in [timing.softmax, timing.identity] {
            assert!(t.seconds > 0.0 && t.images == 200 && t.reps >= 1, "{t:?}");
        }
    }

    #[test]
    fn the_occlusion_map_is_the_engines_for_the_true_label() {
        let f = fixture(4);
        let (worker, rx) = spawn();
        worker.submit(Job::Occlusion(ImageJob {
            generation: 4,
            data: Arc::clone(&f.0),
            net: Arc::clone(&f.1),
            index: 13,
            norm: NormMode::L1,
        }));
        let msgs = until_end_of(&rx, 4, |m| matches!(m, WorkerMsg::Occluded { .. }));
        let Some(WorkerMsg::Occluded {
            index, norm, map, ..
        }) = msgs.last()
        else {
            panic!("{msgs:?}")
        };
        assert_eq!((*index, *norm), (13, NormMode::L1));
        assert_eq!(map.class, usize::from(f.0.label(13)));
        let want = occlusion_map(
            &f.1,
            f.0.image(13),
            (2, 2),
            NormMode::L1,
            map.class,
            PATCH,
            STRIDE,
            |_, _| true,
        );
        assert_eq!(Some(map.as_ref()), want.as_ref());
    }

    /// Collects messages until one of `generation` satisfies `end` (or it fails).
    fn until_end_of(
        rx: &Receiver<WorkerMsg>,
        generation: u64,
        end: impl Fn(&WorkerMsg) -> bool,
    ) -> Vec<WorkerMsg> {
        let mut out = Vec::new();
        loop {
            let m = rx.recv_timeout(WAIT).unwrap();
            let done =
                m.generation() == generation && (end(&m) || matches!(m, WorkerMsg::Failed { .. }));
            out.push(m);
            if done {
                return out;
            }
        }
    }

    #[test]
    fn the_lane_ends_when_the_ui_stops_listening() {
        let f = fixture(4);
        let (tx, rx) = channel();
        let worker = Worker::new(move |m| tx.send(m).is_ok());
        drop(rx);
        worker.submit(job(&f, 1, 1));
        // The first send fails, the thread returns; join must not hang.
        let mut lanes = worker.lanes.lock().unwrap();
        let thread = lanes
            .get_mut(&JobKind::Evaluate)
            .and_then(|lane| lane.thread.take())
            .unwrap();
        drop(lanes);
        thread.join().unwrap();
    }

    #[test]
    fn a_network_file_is_read_off_the_ui_thread_and_faults_name_it() {
        let dir = tempfile::tempdir().unwrap();
        let (worker, rx) = spawn();
        let (_, net) = fixture(4);
        let path = dir.path().join("other.npz");
        crate::weights::save(&net, &path).unwrap();
        let load = |generation, path: &std::path::Path, inputs| {
            worker.submit(Job::Load(LoadJob {
                generation,
                path: path.to_path_buf(),
                inputs,
                classes: 10,
            }));
            match rx.recv_timeout(WAIT).unwrap() {
                WorkerMsg::Loaded {
                    generation: g,
                    result,
                } if g == generation => result,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(load(1, &path, 4).unwrap().as_ref(), net.as_ref());
        let wrong_size = load(2, &path, 9).unwrap_err();
        assert!(wrong_size.contains("other.npz"), "{wrong_size}");
        let missing = load(3, &dir.path().join("absent.npz"), 4).unwrap_err();
        assert!(missing.contains("absent.npz"), "{missing}");
    }
}
