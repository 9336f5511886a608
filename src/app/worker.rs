//! The background evaluation thread: it evaluates the whole split for one (normalization,
//! batch size, output layer) job at a time and reports each batch over a channel.
//!
//! Only the latest job matters (as in gitui's `asyncjob`): submitting a job bumps a shared
//! generation number, the running job sees the change between batches and stops, and jobs
//! still queued behind the newest are skipped. Every message carries its job's generation so
//! the UI can drop anything that arrives late. A panic inside a job is caught and reported as
//! [`WorkerMsg::Failed`]; the thread then waits for the next job. The thread ends when the
//! [`Worker`] is dropped or when the receiving side of its messages is gone.

use std::any::Any;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::dataset::Dataset;
use crate::eval::{Tally, normalized_batch, predictions};
use crate::layer::OutputLayer;
use crate::network::Network;
use crate::normalize::NormMode;

/// Name of the worker thread; the app's panic hook recognizes it so that a caught worker
/// panic does not tear down the terminal.
pub const THREAD_NAME: &str = "eval-worker";

/// Generation stored on shutdown: no job ever has it, so whatever runs stops.
const SHUTDOWN: u64 = u64::MAX;

/// What to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Identifies the job; messages carry it back.
    pub generation: u64,
    /// Input normalization.
    pub norm: NormMode,
    /// Images per forward pass (at least 1).
    pub batch_size: usize,
    /// Output layer of the forward pass.
    pub output: OutputLayer,
}

/// One finished batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The job this batch belongs to.
    pub generation: u64,
    /// The images of this batch (dataset indices).
    pub range: Range<usize>,
    /// The predicted class of each image of `range`.
    pub predictions: Vec<u8>,
    /// Counts for this batch alone; the receiver merges them.
    pub batch: Tally,
    /// Time since the job started, at the end of this batch.
    pub elapsed: Duration,
}

/// What the worker reports.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerMsg {
    /// A batch is done (boxed: a tally is 800 bytes, the other variants a few).
    Progress(Box<Progress>),
    /// Every batch of the job is done.
    Finished {
        /// The job.
        generation: u64,
        /// Time the whole job took.
        elapsed: Duration,
    },
    /// The job panicked; the worker is still alive.
    Failed {
        /// The job.
        generation: u64,
        /// The panic message.
        message: String,
    },
}

impl WorkerMsg {
    /// The generation of the job the message is about.
    pub fn generation(&self) -> u64 {
        match self {
            WorkerMsg::Progress(p) => p.generation,
            WorkerMsg::Finished { generation, .. } | WorkerMsg::Failed { generation, .. } => {
                *generation
            }
        }
    }
}

/// Handle to the evaluation thread. Dropping it cancels the running job and joins the thread.
pub struct Worker {
    jobs: Option<Sender<Job>>,
    current: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the thread. `send` delivers a message to the UI and returns `false` once the
    /// UI is gone, which ends the thread.
    ///
    /// # Errors
    /// The operating system refuses to create the thread.
    pub fn spawn<F>(data: Arc<Dataset>, net: Arc<Network>, send: F) -> std::io::Result<Self>
    where
        F: FnMut(WorkerMsg) -> bool + Send + 'static,
    {
        let (jobs, rx) = channel();
        let current = Arc::new(AtomicU64::new(0));
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn({
                let current = Arc::clone(&current);
                move || serve(&data, &net, &rx, &current, send)
            })?;
        Ok(Self {
            jobs: Some(jobs),
            current,
            thread: Some(thread),
        })
    }

    /// Replaces whatever runs or waits with `job`: the running job stops after its current
    /// batch and sends nothing more.
    pub fn submit(&self, job: Job) {
        self.current.store(job.generation, Ordering::SeqCst);
        if let Some(jobs) = &self.jobs {
            // A send error means the thread has ended (its receiver dropped); the UI then
            // simply gets no more progress, which it shows as an evaluation that never ends.
            let _ = jobs.send(job);
        }
    }

    /// Cancels the running job and waits for the thread to end.
    pub fn shutdown(&mut self) {
        self.current.store(SHUTDOWN, Ordering::SeqCst);
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            // A panic escaping `serve` is impossible (jobs run under catch_unwind), and there
            // is nothing to do about one while quitting anyway.
            let _ = thread.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The thread's body: take the newest job, run it, repeat until the job channel closes or
/// the UI stops listening.
fn serve<F>(data: &Dataset, net: &Network, rx: &Receiver<Job>, current: &AtomicU64, mut send: F)
where
    F: FnMut(WorkerMsg) -> bool,
{
    while let Ok(mut job) = rx.recv() {
        // Skip to the newest queued job: older ones are already superseded.
        while let Ok(newer) = rx.try_recv() {
            job = newer;
        }
        if job.generation != current.load(Ordering::SeqCst) {
            continue;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            run_job(data, net, job, current, &mut send)
        }));
        let listening = match outcome {
            Ok(listening) => listening,
            Err(payload) => send(WorkerMsg::Failed {
                generation: job.generation,
                message: panic_message(payload.as_ref()),
            }),
        };
        if !listening {
            return;
        }
    }
}

/// Runs one job; returns `false` when the UI has stopped listening.
fn run_job<F>(data: &Dataset, net: &Network, job: Job, current: &AtomicU64, send: &mut F) -> bool
where
    F: FnMut(WorkerMsg) -> bool,
{
    let start = Instant::now();
    for range in data.batches(job.batch_size) {
        if current.load(Ordering::SeqCst) != job.generation {
            return true;
        }
        let batch = normalized_batch(data, range.clone(), job.norm);
        let preds = predictions(net.forward(batch.view(), job.output).view());
        let mut tally = Tally::default();
        tally.push(&data.labels()[range.clone()], &preds);
        let sent = send(WorkerMsg::Progress(Box::new(Progress {
            generation: job.generation,
            range,
            predictions: preds,
            batch: tally,
            elapsed: start.elapsed(),
        })));
        if !sent {
            return false;
        }
    }
    send(WorkerMsg::Finished {
        generation: job.generation,
        elapsed: start.elapsed(),
    })
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "the evaluation panicked".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::evaluate;
    use crate::layer::Layer;
    use ndarray::{Array1, Array2};
    use std::sync::mpsc::RecvTimeoutError;

    const WAIT: Duration = Duration::from_secs(20);

    /// 200 images of 2x2 pixels with labels 0..9 and a one-layer network (4 -> 10).
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

    fn spawn(data: Arc<Dataset>, net: Arc<Network>) -> (Worker, Receiver<WorkerMsg>) {
        let (tx, rx) = channel();
        let worker = Worker::spawn(data, net, move |m| tx.send(m).is_ok()).unwrap();
        (worker, rx)
    }

    fn job(generation: u64, batch_size: usize) -> Job {
        Job {
            generation,
            norm: NormMode::Div255,
            batch_size,
            output: OutputLayer::Softmax,
        }
    }

    /// Collects messages until `generation` finishes or fails.
    fn until_end(rx: &Receiver<WorkerMsg>, generation: u64) -> Vec<WorkerMsg> {
        let mut out = Vec::new();
        loop {
            let m = rx.recv_timeout(WAIT).unwrap();
            let end = matches!(m, WorkerMsg::Finished { .. } | WorkerMsg::Failed { .. })
                && m.generation() == generation;
            out.push(m);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn a_job_reports_every_batch_and_matches_evaluate() {
        let (data, net) = fixture(4);
        let (worker, rx) = spawn(Arc::clone(&data), Arc::clone(&net));
        worker.submit(job(1, 30));
        let msgs = until_end(&rx, 1);
        let mut tally = Tally::default();
        let mut preds = Vec::new();
        let mut next = 0;
        for m in &msgs[..msgs.len() - 1] {
            let WorkerMsg::Progress(p) = m else {
                panic!("unexpected {m:?}")
            };
            assert_eq!(p.generation, 1);
            assert_eq!(p.range.start, next, "batches arrive in order, none skipped");
            next = p.range.end;
            tally.merge(&p.batch);
            preds.extend_from_slice(&p.predictions);
        }
        assert_eq!(msgs.len() - 1, 7, "200 images in batches of 30");
        let (expected, expected_preds) = evaluate(
            &net,
            &data,
            NormMode::Div255,
            30,
            OutputLayer::Softmax,
            |_| true,
        );
        assert_eq!(tally, expected);
        assert_eq!(preds, expected_preds);
    }

    #[test]
    fn overwrite_only_the_newest_job_finishes() {
        let (data, net) = fixture(4);
        let (worker, rx) = spawn(data, net);
        // Batch size 1 makes job 1 long enough that jobs 2 and 3 replace it mid-way.
        worker.submit(job(1, 1));
        worker.submit(job(2, 1));
        worker.submit(job(3, 50));
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
        assert_eq!(of_3, 4 + 1, "four batches of 50 and the end");
        // Nothing else arrives afterwards.
        assert!(matches!(
            rx.recv_timeout(Duration::from_millis(100)),
            Err(RecvTimeoutError::Timeout)
        ));
    }

    /// Like `spawn`, but the worker blocks after its first message until the returned
    /// sender is dropped, so a test can act while a job is certainly half done.
    fn spawn_gated(
        data: Arc<Dataset>,
        net: Arc<Network>,
    ) -> (Worker, Receiver<WorkerMsg>, Sender<()>) {
        let (tx, rx) = channel();
        let (gate_tx, gate_rx) = channel::<()>();
        let mut first = true;
        let worker = Worker::spawn(data, net, move |m| {
            let ok = tx.send(m).is_ok();
            if std::mem::take(&mut first) {
                let _ = gate_rx.recv();
            }
            ok
        })
        .unwrap();
        (worker, rx, gate_tx)
    }

    #[test]
    fn cancel_stops_the_running_job_between_batches() {
        let (data, net) = fixture(4);
        let (worker, rx, gate) = spawn_gated(data, net);
        worker.submit(job(1, 1));
        assert_eq!(rx.recv_timeout(WAIT).unwrap().generation(), 1);
        worker.submit(job(2, 50));
        drop(gate);
        let msgs = until_end(&rx, 2);
        let of_1 = msgs.iter().filter(|m| m.generation() == 1).count();
        assert_eq!(of_1, 0, "job 1 sent more after it was replaced: {msgs:?}");
        assert!(matches!(msgs.last(), Some(WorkerMsg::Finished { .. })));
    }

    #[test]
    fn shutdown_cancels_and_joins() {
        let (data, net) = fixture(4);
        let (mut worker, rx, gate) = spawn_gated(data, net);
        worker.submit(job(1, 1));
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
    fn a_panic_is_reported_and_the_worker_survives() {
        // A network expecting 3 inputs panics in the matrix product on 4-pixel images.
        let (data, bad_net) = fixture(3);
        let (worker, rx) = spawn(Arc::clone(&data), bad_net);
        worker.submit(job(1, 50));
        let msgs = until_end(&rx, 1);
        let Some(WorkerMsg::Failed { message, .. }) = msgs.last() else {
            panic!("expected a failure, got {msgs:?}")
        };
        assert!(!message.is_empty());
        // The thread is still serving.
        worker.submit(job(2, 50));
        let msgs = until_end(&rx, 2);
        assert!(matches!(msgs.last(), Some(WorkerMsg::Failed { .. })));
    }

    #[test]
    fn the_thread_ends_when_the_ui_stops_listening() {
        let (data, net) = fixture(4);
        let (tx, rx) = channel();
        let mut worker = Worker::spawn(data, net, move |m| tx.send(m).is_ok()).unwrap();
        drop(rx);
        worker.submit(job(1, 1));
        // The first send fails, the thread returns; join must not hang.
        let thread = worker.thread.take().unwrap();
        thread.join().unwrap();
    }
}
