//! Snapshot tests of the view: the screen drawn into ratatui's `TestBackend` from states
//! reached through `update` alone, at 80x24, 120x40 and a size too small for the layout.
//!
//! Worker progress is fed by the test with fixed timings, so the speed shown is the same on
//! every run.

mod common;

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use mnist_explorer::app::state::{AppState, Cmd, EvalKey, Msg, Palette};
use mnist_explorer::app::ui;
use mnist_explorer::app::worker::{Job, Progress, WorkerMsg};
use mnist_explorer::dataset::{Dataset, Split};
use mnist_explorer::eval::{Tally, normalized_batch, predictions};
use mnist_explorer::layer::OutputLayer;
use mnist_explorer::network::Network;
use mnist_explorer::normalize::NormMode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A state on the shipped test split with the centroid network; returns the first job.
fn start(palette: Palette) -> (AppState, Job, Arc<Dataset>, Arc<Network>) {
    let data = Arc::new(common::test_split());
    let net = Arc::new(common::centroid_network(&data, 2000));
    let key = EvalKey {
        norm: NormMode::Div255,
        batch_size: 1000,
        output: OutputLayer::Softmax,
    };
    let (state, cmd) = AppState::new(
        Arc::clone(&data),
        Arc::clone(&net),
        Split::Test,
        palette,
        key,
        1,
    );
    let Cmd::Evaluate(job) = cmd else {
        panic!("no evaluation started")
    };
    (state, job, data, net)
}

/// The network's predictions for `range`, as the worker computes them for `job`.
fn batch_predictions(job: &Job, data: &Dataset, net: &Network, range: Range<usize>) -> Vec<u8> {
    let batch = normalized_batch(data, range, job.norm);
    predictions(net.forward(batch.view(), job.output).view())
}

/// The worker's message for batch number `k` of `job`, covering `range` with `preds`.
fn progress(job: &Job, data: &Dataset, range: Range<usize>, preds: Vec<u8>, k: usize) -> Msg {
    let mut tally = Tally::default();
    tally.push(&data.labels()[range.clone()], &preds);
    Msg::Worker(WorkerMsg::Progress(Box::new(Progress {
        generation: job.generation,
        range,
        predictions: preds,
        batch: tally,
        elapsed: Duration::from_millis(10 * (k as u64 + 1)),
    })))
}

/// Runs `job` here, as the worker would, and feeds its first `batches` batches (all when
/// `None`) to the state; each batch "takes" 10 ms.
fn feed(state: &mut AppState, job: Job, data: &Dataset, net: &Network, batches: Option<usize>) {
    let ranges: Vec<_> = data.batches(job.batch_size).collect();
    let n = batches.unwrap_or(ranges.len());
    for (k, range) in ranges.iter().take(n).enumerate() {
        let preds = batch_predictions(&job, data, net, range.clone());
        state.update(progress(&job, data, range.clone(), preds, k));
    }
    if n == ranges.len() {
        state.update(Msg::Worker(WorkerMsg::Finished {
            generation: job.generation,
            elapsed: Duration::from_millis(10 * n as u64),
        }));
    }
}

fn render(state: &AppState, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::draw(state, frame)).unwrap();
    terminal
}

fn job_of(cmd: Cmd) -> Job {
    match cmd {
        Cmd::Evaluate(job) => job,
        Cmd::None => panic!("expected a new evaluation"),
    }
}

#[test]
fn compact_80x24_after_a_finished_evaluation() {
    let (mut state, job, data, net) = start(Palette::Plain);
    feed(&mut state, job, &data, &net, None);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn wide_120x40_identity_output_half_evaluated_on_a_misclassified_image() {
    let (mut state, job, data, net) = start(Palette::Plain);
    feed(&mut state, job, &data, &net, None);
    state.update(Msg::NextWrong);
    let job = job_of(state.update(Msg::ToggleOutput));
    feed(&mut state, job, &data, &net, Some(4));
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn modes_table_after_switching_modes_and_back() {
    let (mut state, job, data, net) = start(Palette::Plain);
    feed(&mut state, job, &data, &net, None);
    let job = job_of(state.update(Msg::PrevNorm));
    feed(&mut state, job, &data, &net, None);
    let job = job_of(state.update(Msg::NextBatch));
    feed(&mut state, job, &data, &net, Some(1));
    // Back to div255 at batch 1000: cached, shown at once.
    assert_eq!(state.update(Msg::PrevBatch), Cmd::None);
    assert_eq!(state.update(Msg::NextNorm), Cmd::None);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn help_overlay_at_80x24() {
    let (mut state, _, _, _) = start(Palette::Plain);
    state.update(Msg::ToggleHelp);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn goto_prompt_and_colored_digit_at_80x24() {
    let (mut state, _, _, _) = start(Palette::TrueColor);
    state.update(Msg::GotoStart);
    state.update(Msg::GotoType('4'));
    state.update(Msg::GotoType('2'));
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn too_small_says_what_it_needs() {
    let (state, _, _, _) = start(Palette::Plain);
    let terminal = render(&state, 60, 20);
    insta::assert_snapshot!(terminal.backend());
    // Any size at all draws without panicking, down to nothing.
    for (w, h) in [(0, 0), (1, 1), (79, 24), (80, 23), (200, 10), (10, 200)] {
        render(&state, w, h);
    }
}

#[test]
fn too_small_and_narrow_still_shows_both_sizes() {
    let (state, _, _, _) = start(Palette::Plain);
    let terminal = render(&state, 30, 10);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn compact_80x24_zscore_formula_is_not_cut() {
    let (mut state, job, data, net) = start(Palette::Plain);
    feed(&mut state, job, &data, &net, None);
    // Backwards through the cycle: div255, raw, zscore. Both formulas are longer than the
    // compact norms panel is wide.
    let job = job_of(state.update(Msg::PrevNorm));
    assert_eq!(state.norm(), NormMode::Raw);
    feed(&mut state, job, &data, &net, None);
    let job = job_of(state.update(Msg::PrevNorm));
    assert_eq!(state.norm(), NormMode::Zscore);
    feed(&mut state, job, &data, &net, Some(3));
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn medium_100x30_has_per_class_bars() {
    let (mut state, job, data, net) = start(Palette::Plain);
    feed(&mut state, job, &data, &net, None);
    let terminal = render(&state, 100, 30);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn roomy_200x50_bars_stop_growing() {
    let (mut state, job, data, net) = start(Palette::Plain);
    feed(&mut state, job, &data, &net, None);
    let terminal = render(&state, 200, 50);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn a_batch_prediction_that_differs_from_the_single_image_one_is_flagged() {
    let (mut state, job, data, net) = start(Palette::Plain);
    let range = data.batches(job.batch_size).next().unwrap();
    let mut preds = batch_predictions(&job, &data, &net, range.clone());
    // What a batch-dependent bug would look like: image 0 predicted as another class.
    preds[0] = (preds[0] + 1) % 10;
    state.update(progress(&job, &data, range, preds.clone(), 0));
    let text = format!("{}", render(&state, 120, 40).backend());
    let line = text
        .lines()
        .find(|l| l.contains("in a batch"))
        .expect("the batch prediction is shown");
    assert!(
        line.contains(&format!("in a batch   {} (differs)", preds[0])),
        "{line}"
    );
}
