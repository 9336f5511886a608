//! Tests of the worker: lanes, cancellation, and each kind of job.

use super::*;
use crate::eval::evaluate;
use crate::layer::Layer;
use crate::occlusion::{PATCH, STRIDE, occlusion_map};
use crate::timing::LESSON_BATCHES;
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
    assert_eq!(load(1, &path, 4).unwrap().0.as_ref(), net.as_ref());
    let wrong_size = load(2, &path, 9).unwrap_err();
    assert!(wrong_size.contains("other.npz"), "{wrong_size}");
    let missing = load(3, &dir.path().join("absent.npz"), 4).unwrap_err();
    assert!(missing.contains("absent.npz"), "{missing}");
}
