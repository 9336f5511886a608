//! Explorer speed: one full frame drawn at 120x40 into ratatui's `TestBackend` (target: well
//! under a millisecond), a whole test-set evaluation at batch 100 through the background
//! worker, from submitting the job to its `Finished` message, and the training view's frame
//! while a training holds the cores (target: under 16 ms).
//!
//! Run with `cargo bench --bench ui`. The network is a deterministic pseudo-random
//! 784-50-100-10 one: the same work as the book's, without needing a weights file.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mnist_explorer::app::evaluations::EvalKey;
use mnist_explorer::app::msg::{Cmd, Msg, Nav};
use mnist_explorer::app::shared::Palette;
use mnist_explorer::app::state::AppState;
use mnist_explorer::app::ui;
use mnist_explorer::app::views::{ViewId, train};
use mnist_explorer::app::worker::{EvalJob, Job, Worker, WorkerMsg};
use mnist_explorer::dataset::{Dataset, Split};
use mnist_explorer::layer::{Layer, OutputLayer};
use mnist_explorer::network::Network;
use mnist_explorer::normalize::NormMode;
use ndarray::{Array1, Array2};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn test_split() -> Arc<Dataset> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    match Dataset::load(&dir, Split::Test) {
        Ok(data) => Arc::new(data),
        Err(e) => panic!("the benchmark needs the shipped data/ test split: {e}"),
    }
}

/// The book's shape with small deterministic weights.
fn network() -> Arc<Network> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let layers = [(784, 50), (50, 100), (100, 10)]
        .into_iter()
        .map(|(i, o)| Layer {
            w: Array2::from_shape_simple_fn((i, o), &mut next) * 0.1,
            b: Array1::from_shape_simple_fn(o, &mut next) * 0.1,
        })
        .collect();
    match Network::new(layers) {
        Ok(net) => Arc::new(net),
        Err(e) => panic!("benchmark network: {e}"),
    }
}

fn key() -> EvalKey {
    EvalKey {
        norm: NormMode::Div255,
        batch_size: 100,
        output: OutputLayer::Softmax,
    }
}

fn draw_full_frame(c: &mut Criterion) {
    let (data, net) = (test_split(), network());
    let (mut state, _) = AppState::new(data, net, Split::Test, Palette::TrueColor, key(), 1);
    state.update(Msg::Nav(Nav::Next));
    let mut terminal = match Terminal::new(TestBackend::new(120, 40)) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    c.bench_function("draw 120x40 frame", |b| {
        b.iter(|| {
            // `clear` makes every frame a full one, not a diff against the previous.
            let _ = terminal.clear();
            let _ = terminal.draw(|frame| ui::draw(black_box(&state), frame));
        })
    });
    c.bench_function("redraw 120x40 frame, unchanged", |b| {
        b.iter(|| {
            let _ = terminal.draw(|frame| ui::draw(black_box(&state), frame));
        })
    });
}

fn worker_full_evaluation(c: &mut Criterion) {
    let (data, net) = (test_split(), network());
    let (tx, rx) = channel();
    let worker = Worker::new(move |m| tx.send(m).is_ok());
    let mut generation = 0;
    let mut group = c.benchmark_group("worker");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("test set at batch 100", |b| {
        b.iter(|| {
            generation += 1;
            let k = key();
            worker.submit(Job::Evaluate(EvalJob {
                generation,
                data: Arc::clone(&data),
                net: Arc::clone(&net),
                norm: k.norm,
                batch_size: k.batch_size,
                output: k.output,
            }));
            loop {
                match rx.recv() {
                    Ok(WorkerMsg::Finished { generation: g, .. }) if g == generation => break,
                    Ok(WorkerMsg::Failed { message, .. }) => panic!("{message}"),
                    Ok(_) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        })
    });
    group.finish();
}

fn first_frame(c: &mut Criterion) {
    // The in-process part of the time to first frame: state for image 0 and one frame.
    let (data, net) = (test_split(), network());
    c.bench_function("initial state + first frame 80x24", |b| {
        b.iter(|| {
            let (state, cmd) = AppState::new(
                Arc::clone(&data),
                Arc::clone(&net),
                Split::Test,
                Palette::Gray256,
                key(),
                1,
            );
            assert!(matches!(cmd, Cmd::Submit(_)));
            let mut terminal = match Terminal::new(TestBackend::new(80, 24)) {
                Ok(t) => t,
                Err(e) => panic!("{e}"),
            };
            let _ = terminal.draw(|frame| ui::draw(&state, frame));
        })
    });
}

/// The training view's frame at 120x40 while a training runs on the worker (the shipped
/// training split, `train`'s default network and settings but 10,000 epochs): each iteration applies the reports that arrived since the last one, as the run
/// loop does, and draws a full frame; the training's threads hold the cores meanwhile. Then
/// the same frame with the training stopped, for comparison.
fn draw_while_training(c: &mut Criterion) {
    let (data, net) = (test_split(), network());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let (state, _) = AppState::new(data, net, Split::Test, Palette::TrueColor, key(), 1);
    let mut state = state.with_data_dir(dir);
    state.update(Msg::Open(ViewId::Train));
    // 10000 epochs: far more than the benchmark lasts.
    state.update(Msg::Train(train::Msg::Select(4)));
    for (i, c) in "10000".chars().enumerate() {
        let key = if i == 0 {
            train::EditKey::Begin(Some(c))
        } else {
            train::EditKey::Type(c)
        };
        state.update(Msg::Train(train::Msg::Edit(key)));
    }
    state.update(Msg::Train(train::Msg::Edit(train::EditKey::Accept)));
    let Cmd::Submit(job) = state.update(Msg::Train(train::Msg::Enter)) else {
        panic!("Enter starts a training")
    };
    let (tx, rx) = channel();
    let worker = Worker::new(move |m| tx.send(m).is_ok());
    worker.submit(job);
    // Past the reading of the splits, into the epochs.
    while !matches!(rx.recv(), Ok(WorkerMsg::TrainEpoch { .. })) {}
    let mut terminal = match Terminal::new(TestBackend::new(120, 40)) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let frame = |state: &mut AppState, terminal: &mut Terminal<TestBackend>| {
        for report in rx.try_iter() {
            state.update(Msg::Worker(report));
        }
        let _ = terminal.clear();
        let _ = terminal.draw(|frame| ui::draw(black_box(state), frame));
    };
    c.bench_function("train view 120x40 frame, training running", |b| {
        b.iter(|| frame(&mut state, &mut terminal))
    });
    assert!(state.train().running(), "the training ran all along");
    state.update(Msg::Train(train::Msg::Stop));
    drop(worker);
    c.bench_function("train view 120x40 frame, training stopped", |b| {
        b.iter(|| frame(&mut state, &mut terminal))
    });
}

criterion_group!(
    benches,
    draw_full_frame,
    first_frame,
    worker_full_evaluation,
    draw_while_training
);
criterion_main!(benches);
