//! The worker's side of the training view: [`TrainJob`] runs the trainer as the `train`
//! command does (the same configuration, the same splits read the same way, the same thread
//! pool, so the same weights bit for bit), reporting a smoothed loss curve and each epoch's
//! weights; [`SaveJob`] writes a trained network to a file, whole or not at all.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::worker::{Cancel, JobKind, WorkerMsg};
use crate::dataset::{Dataset, Split};
use crate::network::Network;
use crate::train::{BatchProgress, Event, TrainConfig, TrainError, train};
use crate::weights::Record;

/// Least time between two batch reports: about as many as the UI draws frames for progress
/// (`app::FRAME_INTERVAL`), so that the channel never fills however fast the steps go.
pub const REPORT_INTERVAL: Duration = Duration::from_millis(33);

/// About how many points the loss curve of a whole run gets: more than a wide chart has
/// columns, few enough that a run of thousands of epochs does not grow without bound.
pub const CURVE_POINTS: usize = 600;

/// The weight of the past in the smoothed loss (an exponential moving average over steps,
/// as TensorBoard smooths): a batch's own loss jumps by a factor of two from one batch to
/// the next, and about the last twenty batches together show the trend.
pub const SMOOTHING: f64 = 0.95;

/// A training run to make: its settings, and where its splits come from.
#[derive(Debug, Clone)]
pub struct TrainJob {
    /// Identifies the job; its reports carry it back.
    pub generation: u64,
    /// What to train.
    pub config: TrainConfig,
    /// The folder the splits are read from when not given.
    pub data_dir: PathBuf,
    /// The training split, if it was read before.
    pub train: Option<Arc<Dataset>>,
    /// The test split, measured after each epoch, if it was read before.
    pub test: Option<Arc<Dataset>>,
}

/// A trained network to write to a file.
#[derive(Debug, Clone)]
pub struct SaveJob {
    /// Identifies the job; its report carries it back.
    pub generation: u64,
    /// The network.
    pub net: Arc<Network>,
    /// The file.
    pub path: PathBuf,
    /// Whether an existing file may be replaced (the user said yes).
    pub replace: bool,
    /// How the network was trained, written beside it so that every command feeds it the
    /// inputs it was trained on.
    pub record: Option<Record>,
}

/// The training and test splits a training job read. Compared by identity: two values are
/// equal when they hold the same splits in memory.
#[derive(Debug, Clone)]
pub struct Splits {
    /// The training split.
    pub train: Arc<Dataset>,
    /// The test split.
    pub test: Arc<Dataset>,
}

impl PartialEq for Splits {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.train, &other.train) && Arc::ptr_eq(&self.test, &other.test)
    }
}

/// One point of the loss curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossPoint {
    /// Epochs done, with the fraction of the current one: 2.5 is halfway through the third.
    pub epochs: f64,
    /// The smoothed loss there.
    pub loss: f64,
}

/// A batch report: where the run stands and the curve's points since the last report.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainProgress {
    /// The job.
    pub generation: u64,
    /// The latest batch.
    pub batch: BatchProgress,
    /// New points of the smoothed loss curve.
    pub points: Vec<LossPoint>,
    /// Time since the trainer started (the splits read), test passes included.
    pub elapsed: Duration,
}

/// The smoothed loss, sampled every `stride` steps so that a run gets about
/// [`CURVE_POINTS`] points.
#[derive(Debug, Clone)]
pub struct Curve {
    stride: usize,
    step: usize,
    average: f64,
    /// 1 - SMOOTHING^step: the average divided by it is not pulled towards its start at 0.
    weight: f64,
    pending: Vec<LossPoint>,
}

impl Curve {
    /// A curve for a run of `steps` steps.
    pub fn new(steps: usize) -> Self {
        Self {
            stride: (steps / CURVE_POINTS).max(1),
            step: 0,
            average: 0.0,
            weight: 0.0,
            pending: Vec::new(),
        }
    }

    /// Takes in one step's loss; a point is due every `stride` steps and at each epoch's end.
    pub fn push(&mut self, b: &BatchProgress) {
        self.step += 1;
        self.average = SMOOTHING * self.average + (1.0 - SMOOTHING) * b.batch_loss;
        self.weight = SMOOTHING * self.weight + (1.0 - SMOOTHING);
        if self.step.is_multiple_of(self.stride) || b.batch == b.batches {
            self.pending.push(LossPoint {
                epochs: (b.epoch - 1) as f64 + b.batch as f64 / b.batches.max(1) as f64,
                loss: self.average / self.weight,
            });
        }
    }

    /// The points not reported yet.
    pub fn take(&mut self) -> Vec<LossPoint> {
        std::mem::take(&mut self.pending)
    }
}

/// Reads the splits the job lacks, trains, and reports: the splits read
/// ([`WorkerMsg::TrainLoaded`]), batches at most every [`REPORT_INTERVAL`] and at each
/// epoch's end ([`WorkerMsg::TrainBatch`]), epochs with their weights
/// ([`WorkerMsg::TrainEpoch`]), then [`WorkerMsg::TrainDone`] or a failure. Checks for
/// cancellation after every step; returns `false` once the UI has stopped listening.
pub fn run_training(
    job: TrainJob,
    cancel: &Cancel<'_>,
    send: &(dyn Fn(WorkerMsg) -> bool + Sync),
) -> bool {
    let generation = job.generation;
    let failed = |message: String| {
        send(WorkerMsg::Failed {
            kind: JobKind::Train,
            generation,
            message,
        })
    };
    let read = job.train.is_none() || job.test.is_none();
    let splits = split(&job.data_dir, Split::Train, job.train)
        .and_then(|train| Ok((train, split(&job.data_dir, Split::Test, job.test)?)));
    let (train_split, test_split) = match splits {
        Ok(splits) => splits,
        Err(message) => return failed(message),
    };
    // The fit is made here, on the worker, so that a whitened training never waits on the UI.
    if job.config.norm.whitening().is_some()
        && let Err(e) = crate::whiten::prepare(&train_split)
    {
        return failed(format!("fitting the whitening: {e}"));
    }
    if cancel.cancelled() {
        return true;
    }
    if read
        && !send(WorkerMsg::TrainLoaded {
            generation,
            splits: Splits {
                train: Arc::clone(&train_split),
                test: Arc::clone(&test_split),
            },
        })
    {
        return false;
    }
    let batches = train_split.len().div_ceil(job.config.batch_size.max(1));
    let mut curve = Curve::new(job.config.epochs.saturating_mul(batches));
    let mut listening = true;
    let mut last_report: Option<Instant> = None;
    let start = Instant::now();
    let result = train(&train_split, Some(&test_split), &job.config, |event| {
        match event {
            Event::Batch(b) => {
                curve.push(b);
                let due = last_report.is_none_or(|t| t.elapsed() >= REPORT_INTERVAL);
                if due || b.batch == b.batches {
                    last_report = Some(Instant::now());
                    listening = send(WorkerMsg::TrainBatch(Box::new(TrainProgress {
                        generation,
                        batch: *b,
                        points: curve.take(),
                        elapsed: start.elapsed(),
                    })));
                }
            }
            Event::Epoch(report, network) => {
                listening = send(WorkerMsg::TrainEpoch {
                    generation,
                    report: *report,
                    network: Arc::clone(network),
                    elapsed: start.elapsed(),
                });
            }
        }
        if listening && !cancel.cancelled() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    });
    match result {
        _ if !listening => false,
        Ok(_) | Err(TrainError::Stopped { .. }) if cancel.cancelled() => true,
        Ok(trained) => send(WorkerMsg::TrainDone {
            generation,
            network: Arc::new(trained.network),
            threads: trained.threads,
            kernel: trained.kernel.name(),
        }),
        Err(e) => failed(e.to_string()),
    }
}

/// `given`, or the split read from `dir` as the `train` command reads it (an empty split is
/// refused: an accuracy over no image would only mislead).
fn split(dir: &Path, split: Split, given: Option<Arc<Dataset>>) -> Result<Arc<Dataset>, String> {
    if let Some(data) = given {
        return Ok(data);
    }
    let data = Dataset::load(dir, split)
        .map_err(|e| format!("loading the {split} split from {}: {e}", dir.display()))?;
    if data.is_empty() {
        return Err(format!(
            "the {split} split in {} holds no image",
            dir.display()
        ));
    }
    Ok(Arc::new(data))
}

/// Writes the job's network through a temporary file renamed into place, replacing an
/// existing file only if the job says so; the result names the file either way.
pub fn save(job: &SaveJob) -> Result<PathBuf, String> {
    crate::out_file::write(&job.path, job.replace, |file| match &job.record {
        Some(record) => crate::weights::write_npz_recorded(&job.net, record, file),
        None => crate::weights::write_npz(&job.net, file),
    })
    .map(|()| job.path.clone())
    .map_err(|e| format!("{e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::worker::{Job, Worker};
    use crate::normalize::NormMode;
    use crate::train::{Optimizer, Schedule};
    use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};

    const WAIT: Duration = Duration::from_secs(60);

    /// 1,000 images to train on and 500 to test on, from the shipped test split.
    fn splits() -> (Arc<Dataset>, Arc<Dataset>) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        let all = Dataset::load(&dir, Split::Test).unwrap();
        let part = |r: std::ops::Range<usize>| {
            let images = all.images(r.clone()).to_vec();
            let labels = all.labels()[r].to_vec();
            Arc::new(Dataset::from_parts(images, labels, 28, 28).unwrap())
        };
        (part(0..1000), part(1000..1500))
    }

    fn config(epochs: usize) -> TrainConfig {
        TrainConfig {
            hidden: vec![8],
            epochs,
            batch_size: 50,
            lr: 0.003,
            optimizer: Optimizer::Adam,
            schedule: Schedule::Constant,
            norm: NormMode::Div255,
            seed: 3,
        }
    }

    fn job(generation: u64, config: TrainConfig) -> Job {
        let (train, test) = splits();
        Job::Train(TrainJob {
            generation,
            config,
            data_dir: PathBuf::from("no such folder"),
            train: Some(train),
            test: Some(test),
        })
    }

    fn spawn() -> (Worker, Receiver<WorkerMsg>) {
        let (tx, rx) = channel();
        (Worker::new(move |m| tx.send(m).is_ok()), rx)
    }

    /// Messages until the job's end (done or failed).
    fn until_end(rx: &Receiver<WorkerMsg>, generation: u64) -> Vec<WorkerMsg> {
        let mut out = Vec::new();
        loop {
            let m = rx.recv_timeout(WAIT).unwrap();
            let end = matches!(m, WorkerMsg::TrainDone { .. } | WorkerMsg::Failed { .. })
                && m.generation() == generation;
            out.push(m);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn a_training_job_reports_its_run_and_ends_with_the_weights_train_makes() {
        let (worker, rx) = spawn();
        worker.submit(job(4, config(2)));
        let msgs = until_end(&rx, 4);
        let (train_set, test_set) = splits();
        let mut direct = Vec::new();
        let expected = train(&train_set, Some(&test_set), &config(2), |e| {
            if let Event::Epoch(report, net) = e {
                direct.push((*report, Arc::clone(net)));
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        let mut points = 0;
        let mut epochs = Vec::new();
        let mut last_batch = None;
        for m in &msgs {
            assert_eq!(m.generation(), 4);
            match m {
                WorkerMsg::TrainBatch(p) => {
                    points += p.points.len();
                    last_batch = Some(p.batch);
                }
                WorkerMsg::TrainEpoch {
                    report, network, ..
                } => {
                    let b = last_batch.expect("batches come first");
                    assert_eq!((b.epoch, b.batch), (report.epoch, b.batches), "epoch's end");
                    epochs.push((*report, Arc::clone(network)));
                }
                WorkerMsg::TrainDone { network, .. } => {
                    assert_eq!(network.as_ref(), &expected.network, "bit for bit");
                }
                other => panic!("unexpected {other:?}: the splits were given"),
            }
        }
        assert_eq!(points, 2 * 20, "40 steps: a point each");
        assert_eq!(epochs.len(), 2);
        for ((report, net), (want, want_net)) in epochs.iter().zip(&direct) {
            assert_eq!(report.test_accuracy, want.test_accuracy);
            assert_eq!(net, want_net);
        }
    }

    #[test]
    fn a_cancelled_training_stops_and_its_lane_serves_the_next() {
        let (worker, rx) = spawn();
        // Minutes of epochs if nothing stopped them.
        worker.submit(job(1, config(100_000)));
        loop {
            if let WorkerMsg::TrainEpoch { .. } = rx.recv_timeout(WAIT).unwrap() {
                break;
            }
        }
        worker.submit(Job::Cancel {
            kind: JobKind::Train,
            generation: 2,
        });
        // What was sent before the cancel arrives; then the lane falls silent.
        let mut after = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(m) => after.push(m),
                Err(RecvTimeoutError::Timeout) => break,
                Err(e) => panic!("{e}"),
            }
            assert!(after.len() < 1000, "the training goes on after its cancel");
        }
        assert!(
            !after
                .iter()
                .any(|m| matches!(m, WorkerMsg::TrainDone { .. } | WorkerMsg::Failed { .. })),
            "a cancelled run neither finishes nor fails: {after:?}"
        );
        worker.submit(job(3, config(1)));
        let msgs = until_end(&rx, 3);
        assert!(matches!(msgs.last(), Some(WorkerMsg::TrainDone { .. })));
    }

    #[test]
    fn splits_that_cannot_be_read_fail_the_job_with_the_folder_named() {
        let (worker, rx) = spawn();
        worker.submit(Job::Train(TrainJob {
            generation: 7,
            config: config(1),
            data_dir: PathBuf::from("/no/such/mnist/folder"),
            train: None,
            test: None,
        }));
        let msgs = until_end(&rx, 7);
        let [WorkerMsg::Failed { kind, message, .. }] = msgs.as_slice() else {
            panic!("{msgs:?}")
        };
        assert_eq!(*kind, JobKind::Train);
        assert!(message.contains("/no/such/mnist/folder"), "{message}");
    }

    #[test]
    fn a_network_is_written_whole_and_replaces_a_file_only_when_told() {
        let dir = tempfile::tempdir().unwrap();
        let (train_set, _) = splits();
        let net = train(&train_set, None, &config(1), |_| ControlFlow::Continue(()))
            .unwrap()
            .network;
        let path = dir.path().join("net.npz");
        let job = |replace| SaveJob {
            generation: 1,
            net: Arc::new(net.clone()),
            path: path.clone(),
            replace,
            record: None,
        };
        assert_eq!(save(&job(false)), Ok(path.clone()));
        assert_eq!(crate::weights::load(&path).unwrap().network, net);
        std::fs::write(&path, "theirs").unwrap();
        let refused = save(&job(false)).unwrap_err();
        assert!(refused.contains("net.npz"), "{refused}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "theirs");
        assert_eq!(save(&job(true)), Ok(path.clone()));
        assert_eq!(crate::weights::load(&path).unwrap().network, net);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
    }

    #[test]
    fn a_network_written_with_its_record_reads_back_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let (train_set, _) = splits();
        let mut settings = config(1);
        settings.norm = NormMode::Zscore;
        let net = train(&train_set, None, &settings, |_| ControlFlow::Continue(()))
            .unwrap()
            .network;
        let path = dir.path().join("net.npz");
        let record = settings.record(Some(0.5));
        let job = SaveJob {
            generation: 1,
            net: Arc::new(net.clone()),
            path: path.clone(),
            replace: false,
            record: Some(record.clone()),
        };
        assert_eq!(save(&job), Ok(path.clone()));
        let loaded = crate::weights::load(&path).unwrap();
        assert_eq!(loaded.network, net);
        assert_eq!(loaded.record, Some(record));
        assert_eq!(loaded.record.unwrap().norm(), NormMode::Zscore);
    }

    fn batch(epoch: usize, batch: usize, batches: usize, batch_loss: f64) -> BatchProgress {
        BatchProgress {
            epoch,
            batch,
            batches,
            images: batch * 10,
            loss: batch_loss,
            batch_loss,
            seconds: 0.0,
        }
    }

    #[test]
    fn the_curve_is_sampled_to_a_bounded_size_and_ends_each_epoch() {
        // 3 epochs of 1,000 steps: a point every 5 steps, and each epoch's last step.
        let mut curve = Curve::new(3000);
        let mut points = Vec::new();
        for epoch in 1..=3 {
            for b in 1..=1000 {
                curve.push(&batch(epoch, b, 1000, 2.0));
            }
            points.extend(curve.take());
        }
        assert_eq!(points.len(), 600);
        assert_eq!(points.last().map(|p| p.epochs), Some(3.0));
        assert!(points.windows(2).all(|w| w[0].epochs < w[1].epochs));
        // A constant loss stays itself from the first step on: the average is not pulled
        // towards 0 at the start.
        assert!(
            points.iter().all(|p| (p.loss - 2.0).abs() < 1e-12),
            "{points:?}"
        );
        // A short run keeps every step.
        let mut short = Curve::new(7);
        for b in 1..=7 {
            short.push(&batch(1, b, 7, b as f64));
        }
        assert_eq!(short.take().len(), 7);
    }

    #[test]
    fn the_curve_follows_a_falling_loss_smoothly() {
        let mut curve = Curve::new(100);
        // The loss halves at step 50: the curve moves there over about twenty steps.
        for b in 1..=100 {
            curve.push(&batch(1, b, 100, if b <= 50 { 2.0 } else { 1.0 }));
        }
        let points = curve.take();
        let at = |step: usize| points[step - 1].loss;
        assert_eq!(at(50), 2.0);
        assert!(at(51) > 1.9 && at(51) < 2.0, "{}", at(51));
        assert!(at(70) > 1.2 && at(70) < 1.5, "{}", at(70));
        // Fifty steps on, what is left of the old loss is b / (1 + b) with b = 0.95^50 (the
        // average's weights sum to 1 - 0.95^100): under a tenth.
        let (left, b) = (at(100) - 1.0, SMOOTHING.powi(50));
        assert!((left - b / (1.0 + b)).abs() < 1e-12, "{left}");
    }
}
