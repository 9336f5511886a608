//! Snapshot tests of the view: the screen drawn into ratatui's `TestBackend` from states
//! reached through `update` alone, at 80x24, 120x40 and a size too small for the layout.
//!
//! Worker progress is fed by the test with fixed timings, so the speed shown is the same on
//! every run.

mod common;

use common::{render, rows, shows};

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use mnist_explorer::analysis::{Rankings, Verdict, verdicts};
use mnist_explorer::app::evaluations::EvalKey;
use mnist_explorer::app::help;
use mnist_explorer::app::msg::{Cmd, Goto, Msg, Nav, Setting};
use mnist_explorer::app::shared::{Origin, Palette};
use mnist_explorer::app::state::AppState;
use mnist_explorer::app::views::{ViewId, browse, confusion, draw, modes};
use mnist_explorer::app::widgets::MAX_BAR_WIDTH;
use mnist_explorer::app::worker::{EvalJob, Job, MatrixJob, Progress, WorkerMsg};
use mnist_explorer::dataset::Split;
use mnist_explorer::eval::{Tally, evaluate};
use mnist_explorer::layer::OutputLayer;
use mnist_explorer::mode_matrix::{self, Event, RowFault};
use mnist_explorer::normalize::NormMode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

/// A state on the shipped test split with the centroid network; returns the first job.
fn start(palette: Palette) -> (AppState, EvalJob) {
    let data = Arc::new(common::test_split());
    let net = Arc::new(common::centroid_network(&data, 2000));
    let key = EvalKey {
        norm: NormMode::Div255,
        batch_size: 1000,
        output: OutputLayer::Softmax,
    };
    let (state, cmd) = AppState::new(data, net, Split::Test, palette, key, 1);
    (state, job_of(cmd))
}

/// The worker's message for batch number `k` of `job`, covering `range` with `preds` and
/// `verdicts`.
fn progress(
    job: &EvalJob,
    range: Range<usize>,
    preds: Vec<u8>,
    verdicts: Vec<Verdict>,
    k: usize,
) -> Msg {
    let mut tally = Tally::default();
    tally.push(&job.data.labels()[range.clone()], &preds);
    Msg::Worker(WorkerMsg::Progress(Box::new(Progress {
        generation: job.generation,
        range,
        predictions: preds,
        verdicts,
        batch: tally,
        elapsed: Duration::from_millis(10 * (k as u64 + 1)),
    })))
}

/// Runs `job` through the evaluation loop, as the worker does, and feeds its first `batches`
/// batches (all when `None`, then its rankings and its end) to the state; each batch
/// "takes" 10 ms.
fn feed(state: &mut AppState, job: EvalJob, batches: Option<usize>) {
    feed_as(state, job, batches, |m| m);
}

/// [`feed`] for the second network's job, whose reports the worker wraps.
fn feed_other(state: &mut AppState, job: EvalJob, batches: Option<usize>) {
    feed_as(state, job, batches, |m| WorkerMsg::Compare(Box::new(m)));
}

fn feed_as(
    state: &mut AppState,
    job: EvalJob,
    batches: Option<usize>,
    wrap: fn(WorkerMsg) -> WorkerMsg,
) {
    let total = job.data.batches(job.batch_size).count();
    let n = batches.unwrap_or(total);
    let mut k = 0;
    let mut all_verdicts = Vec::new();
    let (_, predictions) = evaluate(
        &job.net,
        &job.data,
        job.norm,
        job.batch_size,
        job.output,
        |batch| {
            if k == n {
                return false;
            }
            let labels = &job.data.labels()[batch.range.clone()];
            let verdicts = verdicts(batch.outputs, labels, job.output);
            all_verdicts.extend_from_slice(&verdicts);
            let Msg::Worker(m) = progress(
                &job,
                batch.range.clone(),
                batch.predictions.to_vec(),
                verdicts,
                k,
            ) else {
                unreachable!()
            };
            state.update(Msg::Worker(wrap(m)));
            k += 1;
            true
        },
    );
    if n == total {
        let rankings = Rankings::new(&all_verdicts, &predictions, job.data.labels());
        state.update(Msg::Worker(wrap(WorkerMsg::Ranked {
            generation: job.generation,
            rankings: Arc::new(rankings),
        })));
        state.update(Msg::Worker(wrap(WorkerMsg::Finished {
            generation: job.generation,
            elapsed: Duration::from_millis(10 * n as u64),
        })));
    }
}

/// The longest run of full blocks in `row`: the longest bar drawn on it.
fn longest_bar(row: &str) -> usize {
    row.split(|c| c != '█')
        .map(|run| run.chars().count())
        .max()
        .unwrap_or(0)
}

/// The accuracy of `norm` on the whole test set, as the explorer prints it.
fn accuracy_text(state: &AppState, norm: NormMode) -> String {
    let shared = state.shared();
    let (tally, _) = evaluate(
        &shared.net,
        &shared.data,
        norm,
        1000,
        OutputLayer::Softmax,
        |_| true,
    );
    format!("{:.2}%", tally.accuracy() * 100.0)
}

fn job_of(cmd: Cmd) -> EvalJob {
    match cmd {
        Cmd::Submit(Job::Evaluate(job)) => job,
        other => panic!("expected a new evaluation, got {other:?}"),
    }
}

#[test]
fn compact_80x24_after_a_finished_evaluation() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    let done = format!("accuracy {} done", accuracy_text(&state, NormMode::Div255));
    assert!(shows(&terminal, &done), "{done}");
    assert!(shows(&terminal, "10000/10000"));
}

#[test]
fn wide_120x40_identity_output_half_evaluated_on_a_misclassified_image() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    state.update(Msg::Nav(Nav::NextWrong));
    let job = job_of(state.update(Msg::Set(Setting::ToggleOutput)));
    feed(&mut state, job, Some(4));
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "identity output: raw scores"));
    assert!(
        shows(&terminal, "✗ WRONG"),
        "e lands on a misclassified image"
    );
    assert!(shows(&terminal, "4000/10000"), "four batches of 1000 fed");
}

#[test]
fn modes_table_after_switching_modes_and_back() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    let job = job_of(state.update(Msg::Set(Setting::PrevNorm)));
    feed(&mut state, job, None);
    let job = job_of(state.update(Msg::Set(Setting::NextBatch)));
    feed(&mut state, job, Some(1));
    // Back to div255 at batch 1000: cached, shown at once.
    assert!(state.update(Msg::Set(Setting::PrevBatch)).is_none());
    assert!(state.update(Msg::Set(Setting::NextNorm)).is_none());
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    for norm in [NormMode::Div255, NormMode::Raw] {
        let row = format!("{:<7}{:>8}", norm.name(), accuracy_text(&state, norm));
        assert!(shows(&terminal, &row), "the table shows {row}");
    }
}

#[test]
fn help_overlay_at_80x24() {
    let (mut state, _) = start(Palette::Plain);
    state.update(Msg::ToggleHelp);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    let total = help::rows(state.view()).len();
    assert!(
        shows(&terminal, &format!("1–22 of {total}")),
        "the footer says how much is shown"
    );
    assert!(shows(&terminal, "what you see"), "the guide comes first");
}

#[test]
fn the_help_scrolls_to_its_last_row_at_80x24() {
    let (mut state, _) = start(Palette::Plain);
    state.update(Msg::ToggleHelp);
    for _ in 0..5 {
        state.update(Msg::ScrollHelp(10));
    }
    let terminal = render(&state, 80, 24);
    let Some(help::Row::Entry(label, what)) = help::rows(state.view()).last().copied() else {
        panic!("the help ends with an entry")
    };
    assert!(shows(&terminal, &format!("{label:<13}{what}")));
    let total = help::rows(state.view()).len();
    assert!(
        shows(&terminal, &format!("of {total}")),
        "{:?}",
        rows(&terminal)
    );
}

#[test]
fn the_whole_help_is_the_key_tables_at_80x50() {
    let (mut state, _) = start(Palette::Plain);
    state.update(Msg::ToggleHelp);
    let terminal = render(&state, 80, 50);
    // The help is the key tables: every binding's keys and words are on it.
    let view = state.view();
    for b in view
        .keys()
        .iter()
        .chain(mnist_explorer::app::router::GLOBAL_KEYS)
    {
        let row = format!("{:<13}{}", b.label, b.help);
        assert!(shows(&terminal, &row), "help lacks `{row}`");
    }
    for note in view.guide().iter().chain(view.marks()) {
        assert!(shows(&terminal, note.help), "help lacks `{}`", note.help);
    }
    assert!(
        shows(&terminal, "any key closes"),
        "all of it fits: no scrolling"
    );
}

#[test]
fn goto_prompt_and_colored_digit_at_80x24() {
    let (mut state, _) = start(Palette::TrueColor);
    state.update(Msg::Goto(Goto::Start));
    state.update(Msg::Goto(Goto::Type('4')));
    state.update(Msg::Goto(Goto::Type('2')));
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "go to image: 42"));
    // Each cell of the digit (inside the panel's border) carries two pixels in gray.
    let pixels = state.shared().pixels();
    let buf = terminal.backend().buffer();
    for y in 0..14u16 {
        for x in 0..28u16 {
            let cell = &buf[(1 + x, 1 + y)];
            let gray = |r: u16| {
                let v = pixels[usize::from(r) * 28 + usize::from(x)];
                Color::Rgb(v, v, v)
            };
            assert_eq!(
                (cell.symbol(), cell.fg, cell.bg),
                ("▀", gray(2 * y), gray(2 * y + 1)),
                "cell {x},{y}"
            );
        }
    }
}

#[test]
fn too_small_says_what_it_needs() {
    let (state, _) = start(Palette::Plain);
    let terminal = render(&state, 60, 20);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(
        &terminal,
        "terminal too small: need 80x24, have 60x20"
    ));
    // Any size at all draws without panicking, down to nothing.
    for (w, h) in [(0, 0), (1, 1), (79, 24), (80, 23), (200, 10), (10, 200)] {
        render(&state, w, h);
    }
}

#[test]
fn too_small_and_narrow_still_shows_both_sizes() {
    let (state, _) = start(Palette::Plain);
    let terminal = render(&state, 30, 10);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "need 80x24") && shows(&terminal, "have 30x10"));
}

#[test]
fn compact_80x24_zscore_formula_is_not_cut() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    // Backwards through the cycle: div255, raw, zscore (pca and zca are skipped with a
    // notice: this state has no data folder to fit them on). Both formulas are longer than
    // the compact norms panel is wide.
    let job = job_of(state.update(Msg::Set(Setting::PrevNorm)));
    assert_eq!(state.shared().norm(), NormMode::Raw);
    feed(&mut state, job, None);
    let job = job_of(state.update(Msg::Set(Setting::PrevNorm)));
    assert_eq!(state.shared().norm(), NormMode::Zscore);
    feed(&mut state, job, Some(3));
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "(x/255-0.1307)/0.3081"));
}

#[test]
fn medium_100x30_has_per_class_bars() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    let terminal = render(&state, 100, 30);
    insta::assert_snapshot!(terminal.backend());
    let (tally, _) = evaluate(
        &state.shared().net,
        &state.shared().data,
        NormMode::Div255,
        1000,
        OutputLayer::Softmax,
        |_| true,
    );
    for (class, acc) in tally.per_class_accuracy().iter().enumerate() {
        let acc = format!("{:>6.2}", acc.unwrap() * 100.0);
        let row = rows(&terminal)
            .into_iter()
            .find(|r| r.contains(&format!("│{class} █")) && r.contains(&acc));
        assert!(row.is_some(), "no bar for class {class} at {acc}");
    }
}

#[test]
fn roomy_200x50_bars_stop_growing() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    let terminal = render(&state, 200, 50);
    insta::assert_snapshot!(terminal.backend());
    let longest = rows(&terminal).iter().map(|r| longest_bar(r)).max();
    assert_eq!(
        longest,
        Some(MAX_BAR_WIDTH),
        "the full bar of a 100% class is as long as bars get, and no longer"
    );
}

#[test]
fn a_batch_prediction_that_differs_from_the_single_image_one_is_flagged() {
    let (mut state, job) = start(Palette::Plain);
    let mut first = None;
    evaluate(
        &job.net,
        &job.data,
        job.norm,
        job.batch_size,
        job.output,
        |batch| {
            let labels = &job.data.labels()[batch.range.clone()];
            let verdicts = verdicts(batch.outputs, labels, job.output);
            first = Some((batch.range.clone(), batch.predictions.to_vec(), verdicts));
            false
        },
    );
    let (range, mut preds, verdicts) = first.expect("the pass reports its first batch");
    // What a batch-dependent bug would look like: image 0 predicted as another class.
    preds[0] = (preds[0] + 1) % 10;
    state.update(progress(&job, range, preds.clone(), verdicts, 0));
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

#[test]
fn zscore_input_view_shows_the_negative_background_at_80x24() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    state.update(Msg::Set(Setting::PrevNorm));
    state.update(Msg::Set(Setting::PrevNorm));
    assert_eq!(state.shared().norm(), NormMode::Zscore);
    state.update(Msg::Browse(browse::Msg::ToggleInputView));
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    // Every background pixel is -0.42 under z-score: the corner of the digit is a dot.
    assert_eq!(terminal.backend().buffer()[(1, 1)].symbol(), "·");
    assert!(
        shows(&terminal, "zscore -0.4241 … 2.822"),
        "{:?}",
        rows(&terminal)
    );
    assert!(
        shows(&terminal, "pending"),
        "the pass has not run under zscore yet"
    );
}

#[test]
fn log_scale_shows_what_a_confident_softmax_hides_at_120x40() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    let linear = render(&state, 120, 40);
    state.update(Msg::Browse(browse::Msg::ToggleLogScale));
    let log = render(&state, 120, 40);
    insta::assert_snapshot!(log.backend());
    assert!(shows(&log, "softmax, log scale: 1e-8 … 1"));
    // Image 0 is a confident 7: on a linear scale the nine others have no bar at all.
    let body = ratatui::layout::Rect::new(0, 0, 120, 39);
    let (_, output) = browse::panels(state.shared(), body)
        .into_iter()
        .find(|(name, _)| *name == "output")
        .unwrap();
    let bars = |t: &Terminal<TestBackend>| {
        let buf = t.backend().buffer();
        // The cell after "7 " on each class's row, inside the border.
        (0..10)
            .filter(|&class| buf[(output.x + 3, output.y + 1 + class)].symbol() != " ")
            .count()
    };
    assert_eq!(bars(&linear), 1, "{:?}", rows(&linear));
    // On the log scale every class a decade above the 1e-8 floor has one (an eighth of the
    // width at least), and none below the floor.
    let probs = &state.shared().image().probs;
    let above = |floor: f32| probs.iter().filter(|&&p| p >= floor).count();
    assert!(
        above(1e-7) >= 4,
        "the fixture has small probabilities to show"
    );
    let drawn = bars(&log);
    assert!(
        (above(1e-7)..=above(1e-8)).contains(&drawn),
        "{drawn}: {:?}",
        rows(&log)
    );
}

#[test]
fn roomy_200x60_leaves_no_panel_half_blank() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    let terminal = render(&state, 200, 60);
    insta::assert_snapshot!(terminal.backend());
    let buf = terminal.backend().buffer();
    let body = ratatui::layout::Rect::new(0, 0, 200, 59);
    for (name, area) in browse::panels(state.shared(), body) {
        let inner = (area.y + 1..area.y + area.height - 1).filter(|&y| {
            (area.x + 1..area.x + area.width - 1).all(|x| buf[(x, y)].symbol() == " ")
        });
        let blank = inner.count();
        let rows = usize::from(area.height - 2);
        assert!(blank * 2 <= rows, "{name}: {blank} of {rows} rows blank");
    }
}

/// The rows of the screen that hold the matrix's row `t` (`│  t ` at 80 wide).
fn matrix_row(terminal: &Terminal<TestBackend>, t: usize) -> Vec<u64> {
    let row = rows(terminal)
        .into_iter()
        .find(|r| r.starts_with(&format!("│  {t} ")))
        .unwrap_or_else(|| panic!("no row {t}: {:?}", rows(terminal)));
    // Cells are a shade (or the cursor) and a number; the total follows the rule.
    let cells = row.split('│').skip(1).take(2).collect::<Vec<_>>().join(" ");
    cells
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .skip(1)
        .map(|w| w.parse().unwrap())
        .collect()
}

/// Opens the confusion matrix with its cursor on (`row`, `col`).
fn open_matrix_at(state: &mut AppState, row: i8, col: i8) {
    assert!(state.update(Msg::Open(ViewId::Confusion)).is_none());
    state.update(Msg::Confusion(confusion::Msg::Move(row, col)));
}

#[test]
fn confusion_matrix_at_80x24_shows_all_100_cells_shaded_without_colors() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    open_matrix_at(&mut state, 4, 9);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    let tally = &state.shared().evaluation().tally;
    for t in 0..10 {
        let mut expected = tally.confusion[t].to_vec();
        expected.push(tally.class_totals()[t]);
        assert_eq!(matrix_row(&terminal, t), expected, "row {t}");
    }
    let text = rows(&terminal).join("\n");
    for shade in ['░', '▒', '▓', '█'] {
        assert!(
            text.contains(shade),
            "no {shade}: NO_COLOR shades with characters"
        );
    }
    assert!(shows(&terminal, &format!("▸{:>4}", tally.confusion[4][9])));
    assert!(shows(&terminal, "true 4 → predicted 9 (wrong)"));
}

#[test]
fn confusion_matrix_at_120x40_in_row_percent_while_running() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, Some(4));
    open_matrix_at(&mut state, 2, 7);
    state.update(Msg::Confusion(confusion::Msg::TogglePercent));
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "running 4000/10000"), "the matrix is live");
    assert!(shows(&terminal, "confusion matrix: % of each row"));
    let tally = &state.shared().evaluation().tally;
    let share = 100.0 * tally.confusion[2][7] as f64 / tally.class_totals()[2] as f64;
    let cell = format!("▸{:>5}", format!("{:.1}", (share * 10.0).floor() / 10.0));
    assert!(shows(&terminal, &cell), "{cell}");
    let body = ratatui::layout::Rect::new(0, 0, 120, 39);
    let panels: Vec<&str> = confusion::panels(state.shared(), body)
        .iter()
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(panels, ["matrix", "cell", "preview"], "room for a preview");
    assert!(shows(&terminal, "2→7: the first, by index"));
}

#[test]
fn the_matrix_colors_right_green_and_errors_red() {
    let (mut state, job) = start(Palette::TrueColor);
    feed(&mut state, job, None);
    open_matrix_at(&mut state, 0, 0);
    let terminal = render(&state, 80, 24);
    let buf = terminal.backend().buffer();
    let green_or_red = |x: u16, y: u16| match buf[(x, y)].bg {
        Color::Rgb(r, g, _) if g > r => "green",
        Color::Rgb(r, g, _) if r > g => "red",
        _ => "none",
    };
    // Row 1 (y = 3): its diagonal cell is green, its 1→8 cell (some images with this
    // network) red. Cells are 6 wide after the border and a 4-wide label.
    let x_of = |p: u16| 1 + 4 + 6 * p + 1;
    assert_eq!(green_or_red(x_of(1), 3), "green");
    assert!(state.shared().evaluation().tally.confusion[1][8] > 0);
    assert_eq!(green_or_red(x_of(8), 3), "red");
    assert_eq!(green_or_red(x_of(5), 3), "none", "no 1 was taken for a 5");
    assert_eq!(state.shared().evaluation().tally.confusion[1][5], 0);
}

#[test]
fn gallery_of_an_off_diagonal_cell_at_120x40() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    open_matrix_at(&mut state, 4, 9);
    state.update(Msg::Confusion(confusion::Msg::Open));
    assert_eq!(state.view(), ViewId::Gallery);
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    let count = state.shared().evaluation().tally.confusion[4][9] as usize;
    assert!(count >= 20, "the fixture's 4→9 cell fills a page");
    let captions = rows(&terminal)
        .iter()
        .map(|r| r.matches(" 4→9 ").count())
        .sum::<usize>();
    assert!(
        captions >= 20,
        "{captions} thumbnails: at least 10 fit 120x40"
    );
    assert!(shows(
        &terminal,
        &format!("gallery: 4→9 · by index · 1 of {count}")
    ));
    let first = state.shared().selection().at(0);
    assert!(
        shows(&terminal, &format!("▸{first} 4→9 ")),
        "the first is selected"
    );
}

#[test]
fn gallery_at_80x24_of_the_mistakes_by_loss() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    state.update(Msg::NextFilter);
    state.update(Msg::NextOrder);
    state.update(Msg::NextOrder);
    state.update(Msg::Open(ViewId::Gallery));
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    // The highest losses first, from the same pass as the predictions.
    let eval = state.shared().evaluation();
    let losses: Vec<f32> = state
        .shared()
        .selection()
        .from(0)
        .map(|i| eval.verdicts[i].unwrap().loss)
        .collect();
    assert!(losses.windows(2).all(|w| w[0] >= w[1]));
    let wrong = (eval.tally.total - eval.tally.correct) as usize;
    assert_eq!(losses.len(), wrong);
    let shown: Vec<usize> = rows(&terminal)
        .iter()
        .flat_map(|r| {
            r.split(['│', '▸', ' '])
                .collect::<Vec<_>>()
                .windows(2)
                .filter(|w| w[1].contains('→') && w[0].parse::<usize>().is_ok())
                .map(|w| w[0].parse().unwrap())
                .collect::<Vec<usize>>()
        })
        .collect();
    let expected: Vec<usize> = state.shared().selection().from(0).take(10).collect();
    assert_eq!(shown, expected, "ten thumbnails at 80x24, in the order");
    assert!(shows(&terminal, "gallery: wrong · by loss · 1 of"));
}

#[test]
fn browse_with_a_second_network_at_120x40() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    let other = Arc::new(common::centroid_network(&state.shared().data, 300));
    let Cmd::Submit(Job::Compare(other_job)) =
        state.update(Msg::Compare(other, "centroids-300.npz".into(), None))
    else {
        panic!("the second network's pass starts")
    };
    feed_other(&mut state, other_job, None);
    state.update(Msg::Nav(Nav::To(8)));
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "softmax: this ▕ centroids-300.npz"));
    let theirs = state
        .shared()
        .other()
        .unwrap()
        .evals
        .current()
        .tally
        .accuracy();
    let ours = state.shared().evaluation().tally.accuracy();
    assert_ne!(ours, theirs, "the fixture's networks differ");
    let row = format!("▸div255   {:.2}%  {:.2}%", ours * 100.0, theirs * 100.0);
    assert!(shows(&terminal, &row), "{row}");
    assert!(shows(&terminal, "other net"));
    let compact = render(&state, 80, 24);
    let row = format!("▸div255  {:.2} {:.2}", ours * 100.0, theirs * 100.0);
    assert!(
        shows(&compact, &row),
        "both accuracies fit 80x24: {row}: {:?}",
        rows(&compact)
    );
}

#[test]
fn a_second_network_trained_on_another_mode_is_marked_in_its_column() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    let other = Arc::new(common::centroid_network(&state.shared().data, 300));
    let Cmd::Submit(Job::Compare(other_job)) =
        state.update(Msg::Compare(other, "l2.npz".into(), Some(NormMode::L2)))
    else {
        panic!("the second network's pass starts")
    };
    feed_other(&mut state, other_job, None);
    let notice = state.notice().map(|n| n.text.clone()).unwrap_or_default();
    assert_eq!(
        notice,
        "comparing with l2.npz, trained on l2 but fed div255 like this one (≠)"
    );
    for (width, height) in [(120, 40), (80, 24)] {
        let terminal = render(&state, width, height);
        let row_of = |mode: &str| {
            rows(&terminal)
                .into_iter()
                .find(|r| r.contains(mode))
                .unwrap_or_default()
        };
        // This network (no record) has no ≠; the second has one after each figure but l2's.
        let div255 = row_of("▸div255");
        assert_eq!(div255.matches('≠').count(), 1, "{div255}");
        let before = div255.split('≠').next().unwrap().chars().last();
        assert!(
            before.is_some_and(|c| c.is_ascii_digit() || c == '%'),
            "right after the second network's figure: {div255}"
        );
        let l2 = row_of(" l2 ");
        assert_eq!(l2.matches('≠').count(), 0, "{l2}");
    }
}

#[test]
fn the_browse_title_shows_the_filter_and_the_order() {
    let (mut state, job) = start(Palette::Plain);
    feed(&mut state, job, None);
    state.update(Msg::NextFilter);
    state.update(Msg::NextOrder);
    state.update(Msg::Nav(Nav::First));
    let wrong = state.shared().selection().len();
    let first = state.shared().index();
    let terminal = render(&state, 80, 24);
    let title = format!("┌ {first} · wrong conf 1/{wrong} ");
    assert!(
        shows(&terminal, &title),
        "{title}: {:?}",
        rows(&terminal)[0]
    );
    let wide = render(&state, 120, 40);
    let title = format!("┌ image {first} · wrong by confidence · 1 of {wrong} ");
    assert!(shows(&wide, &title), "{title}: {:?}", rows(&wide)[0]);
}

/// The drawing view opened from `start`, with a vertical stroke drawn with the keyboard at
/// column 3 from row 6 to row 20, as a learner would draw a 1.
fn drawn(palette: Palette) -> AppState {
    use mnist_explorer::app::views::draw::{Dir, Msg as DrawMsg};
    let (mut state, _) = start(palette);
    state.update(Msg::Open(ViewId::Draw));
    let mut send = |m| {
        state.update(Msg::Draw(m));
    };
    for _ in 0..11 {
        send(DrawMsg::Move(Dir::Left));
    }
    for _ in 0..8 {
        send(DrawMsg::Move(Dir::Up));
    }
    send(DrawMsg::TogglePen);
    for _ in 0..14 {
        send(DrawMsg::Move(Dir::Down));
    }
    send(DrawMsg::TogglePen);
    state
}

/// The predicted class and its probability as the prediction panel prints them.
fn prediction_text(state: &AppState) -> String {
    let report = &state.draw().reading().expect("a stroke is read").report;
    format!(
        "predicted {}  {:.2}%",
        report.predicted,
        report.probs[report.predicted] * 100.0
    )
}

#[test]
fn draw_view_80x24_a_stroke_prepared() {
    let state = drawn(Palette::Plain);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, &prediction_text(&state)));
    assert!(shows(&terminal, "network input: prepared"));
    assert!(shows(&terminal, "brush 3 · pen up"));
    assert!(shows(&terminal, "prediction · norm div255"));
    let mut state = state;
    state.update(Msg::Set(Setting::NextNorm));
    assert!(shows(&render(&state, 80, 24), "prediction · norm l1"));
    // The prepared input is centered: its ink lies in the input panel's middle columns,
    // while the drawing sits at the canvas's left.
    let body = ratatui::layout::Rect::new(0, 0, 80, 23);
    let panels = draw::panels(body);
    let place = |name: &str| panels.iter().find(|(n, _)| *n == name).unwrap().1;
    let inked = |area: ratatui::layout::Rect| -> Vec<u16> {
        let buf = terminal.backend().buffer();
        (area.x + 1..area.x + area.width - 1)
            .filter(|&x| (area.y + 1..area.y + 15).any(|y| buf[(x, y)].symbol() == "█"))
            .map(|x| x - area.x - 1)
            .collect()
    };
    assert!(inked(place("canvas")).iter().all(|&c| c < 6));
    assert!(
        inked(place("network input"))
            .iter()
            .all(|&c| (11..=17).contains(&c))
    );
}

#[test]
fn draw_view_120x40_raw_drawing_and_a_kept_digit() {
    use mnist_explorer::app::views::draw::Msg as DrawMsg;
    let mut state = drawn(Palette::Plain);
    state.update(Msg::Draw(DrawMsg::StartKeep));
    state.update(Msg::Draw(DrawMsg::Label(1)));
    state.update(Msg::Draw(DrawMsg::ToggleRaw));
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "network input: RAW"));
    assert!(shows(&terminal, "RAW: the drawing as it is"));
    assert!(shows(&terminal, &prediction_text(&state)));
    assert!(shows(&terminal, "my digits: 1 kept"));
    assert!(shows(&terminal, "#1   label 1"));
    // Zoom 2: the stroke's column 3 is drawn two cells wide, from the canvas's cell 7.
    let buf = terminal.backend().buffer();
    assert_eq!(buf[(1 + 6, 20)].symbol(), "█");
    assert_eq!(buf[(1 + 7, 20)].symbol(), "█");
}

#[test]
fn draw_view_in_color_marks_the_cursor_in_yellow() {
    let state = drawn(Palette::TrueColor);
    let terminal = render(&state, 80, 24);
    // The cursor ended at pixel (3, 20): cell row 10, top half.
    let cell = &terminal.backend().buffer()[(1 + 3, 1 + 10)];
    assert_eq!((cell.symbol(), cell.fg), ("▀", Color::Yellow));
    // The pixel below it, the stroke's soft end, keeps its gray.
    assert!(
        matches!(cell.bg, Color::Rgb(v, w, _) if v == w && v > 0 && v < 255),
        "{:?}",
        cell.bg
    );
    // Under NO_COLOR the same cell is a plus.
    let plain = render(&drawn(Palette::Plain), 80, 24);
    assert_eq!(plain.backend().buffer()[(1 + 3, 1 + 10)].symbol(), "+");
}

#[test]
fn draw_view_help_lists_its_keys_and_marks() {
    let mut state = drawn(Palette::Plain);
    state.update(Msg::ToggleHelp);
    let terminal = render(&state, 100, 60);
    for b in draw::KEYS {
        let row = format!("{:<13}{}", b.label, b.help);
        assert!(shows(&terminal, &row), "help lacks `{row}`");
    }
    for note in draw::MARKS.iter().chain(draw::MOUSE) {
        assert!(shows(&terminal, note.help), "help lacks `{}`", note.help);
    }
}

/// [`start`] with the network said to come from `path` and trained on div255.
fn start_recorded(palette: Palette, path: Option<&str>) -> (AppState, EvalJob) {
    let (state, job) = start(palette);
    let origin = Origin {
        path: path.map(Into::into),
        trained_on: Some(NormMode::Div255),
    };
    (state.with_origin(origin), job)
}

#[test]
fn the_accuracy_panel_names_the_training_mode_and_says_why_l1_fails_at_80x24() {
    let (mut state, job) = start_recorded(Palette::Plain, None);
    feed(&mut state, job, None);
    let job = job_of(state.update(Msg::Set(Setting::NextNorm)));
    assert_eq!(job.norm, NormMode::L1);
    feed(&mut state, job, None);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "└ trained on div255 ─"));
    // Every mode but div255 is marked, div255 alone is not.
    for mode in ["raw   ≠", "▸l1    ≠", "l2    ≠", "max   ≠", "zscore≠"] {
        assert!(shows(&terminal, mode), "{mode}");
    }
    assert!(!shows(&terminal, "div255≠"));
    assert!(
        shows(&terminal, "≠ pixels ~100× smaller:"),
        "the short reason"
    );
    assert!(shows(&terminal, "sums shrink to bias"));
    // Back on the trained mode, no reason is given.
    state.update(Msg::Set(Setting::PrevNorm));
    let terminal = render(&state, 80, 24);
    assert!(!shows(&terminal, "smaller"));
}

#[test]
fn the_accuracy_panel_gives_the_long_reason_at_120x40() {
    let (mut state, job) = start_recorded(Palette::Plain, None);
    feed(&mut state, job, None);
    let job = job_of(state.update(Msg::Set(Setting::PrevNorm)));
    feed(&mut state, job, None);
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "≠ raw makes each pixel ~255×"));
    assert!(shows(&terminal, "saturate at 0 or 1, keeping little"));
    assert!(shows(&terminal, "trained on div255"));
}

/// Opens the train × test view of the shipped family and returns its job.
fn open_modes(state: &mut AppState) -> MatrixJob {
    match state.update(Msg::Open(ViewId::Modes)).jobs() {
        [Job::ModeMatrix(job)] => job.clone(),
        other => panic!("expected the table's job, got {other:?}"),
    }
}

/// The events of `job`, as the worker computes them, with the l1 network's replaced by a
/// missing file when `without_l1`.
fn matrix_events(job: &MatrixJob, without_l1: bool) -> Vec<WorkerMsg> {
    let mut events = Vec::new();
    mode_matrix::run(
        &job.members,
        &job.data,
        job.batch_size,
        &|| true,
        &mut |event| {
            events.push(event);
            true
        },
    );
    events
        .into_iter()
        .filter_map(|event| match event {
            Event::Row { trained, .. } | Event::Cell { trained, .. }
                if without_l1 && trained == NormMode::L1 =>
            {
                matches!(event, Event::Row { .. }).then_some(Event::Row {
                    trained,
                    outcome: Err(RowFault::Missing),
                })
            }
            event => Some(event),
        })
        .map(|event| WorkerMsg::Matrix {
            generation: job.generation,
            event: Box::new(event),
        })
        .collect()
}

const SHIPPED: &str = "weights/mnist-784-50-100-10.npz";

#[test]
fn train_by_test_view_at_80x24_after_the_whole_table_without_colors() {
    let (mut state, _) = start_recorded(Palette::Plain, Some(SHIPPED));
    let job = open_modes(&mut state);
    assert_eq!(job.members[1].path, std::path::Path::new(SHIPPED));
    for report in matrix_events(&job, true) {
        state.update(Msg::Worker(report));
    }
    state.update(Msg::Worker(WorkerMsg::MatrixDone {
        generation: job.generation,
    }));
    // The cursor from div255 fed div255 to raw fed l2.
    state.update(Msg::Modes(modes::Msg::Move(-1, 2)));
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "the raw network fed l2"));
    assert!(shows(&terminal, "missing: mnist-784-50-100-10-l1.npz"));
    assert!(shows(&terminal, "div255*"), "the shown network's row");
    assert!(shows(
        &terminal,
        "30 passes · every network does best on the mode"
    ));
    let rows = rows(&terminal);
    let own_cell = |r: &&String| {
        r.split('[')
            .skip(1)
            .any(|after| after.starts_with(|c: char| c.is_ascii_digit()))
    };
    let diagonal = rows.iter().filter(own_cell).count();
    assert_eq!(diagonal, 5, "one own mode per network read");
    // Each cell's number is the whole split's accuracy, with its shade in front.
    let raw = mode_matrix::Member {
        trained: NormMode::Raw,
        path: "weights/mnist-784-50-100-10-raw.npz".into(),
    };
    let net = mnist_explorer::weights::load(&raw.path).unwrap().network;
    let (tally, _) = evaluate(
        &net,
        &job.data,
        NormMode::L2,
        1000,
        OutputLayer::Softmax,
        |_| true,
    );
    let cell = format!("accuracy {:.2}%", tally.accuracy() * 100.0);
    assert!(shows(&terminal, &cell), "{cell}");
}

#[test]
fn train_by_test_view_at_120x40_while_the_job_runs() {
    let (mut state, _) = start_recorded(Palette::Gray256, Some(SHIPPED));
    let job = open_modes(&mut state);
    // The raw row and two cells of the div255 row.
    for report in matrix_events(&job, false).into_iter().take(10) {
        state.update(Msg::Worker(report));
    }
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "evaluating them: 8/36 passes"));
    assert!(shows(&terminal, "the div255 network fed div255"));
    assert!(
        shows(&terminal, "accuracy 97.69%"),
        "its own cell came second"
    );
    assert!(
        shows(&terminal, "[…]"),
        "the l1 network's own cell is still to come"
    );
    // A late report of an older job changes nothing.
    let again = match state.update(Msg::Modes(modes::Msg::Again)).jobs() {
        [Job::ModeMatrix(job)] => job.clone(),
        other => panic!("{other:?}"),
    };
    assert_ne!(again.generation, job.generation);
    for report in matrix_events(&job, false).into_iter().take(3) {
        state.update(Msg::Worker(report));
    }
    let terminal = render(&state, 120, 40);
    assert!(shows(&terminal, "evaluating them: 0/36 passes"));
}
