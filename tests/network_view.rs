//! Snapshot tests of the network view (`i`): the screen drawn into ratatui's `TestBackend`
//! from states reached through `update` alone, on the shipped test split and weights, at
//! 80x24 and 120x40, without colors (`NO_COLOR`) unless a test is about the colors.
//!
//! The worker's answers are made here: the occlusion map by the engine's own function (it is
//! deterministic), the timings as fixed numbers, so that the screens are the same on every
//! run. Each test also asserts the property its name promises.

mod common;

use common::{render, rows, shows};

use std::sync::Arc;

use mnist_explorer::app::evaluations::EvalKey;
use mnist_explorer::app::msg::{Cmd, Msg, Nav, Setting};
use mnist_explorer::app::shared::Palette;
use mnist_explorer::app::state::AppState;
use mnist_explorer::app::views::{ViewId, network};
use mnist_explorer::app::worker::{BatchPoint, Job, OutputTiming, WorkerMsg};
use mnist_explorer::dataset::Split;
use mnist_explorer::layer::OutputLayer;
use mnist_explorer::normalize::NormMode;
use mnist_explorer::occlusion::{PATCH, STRIDE, occlusion_map};
use mnist_explorer::timing::{LESSON_BATCHES, PassPath, PassTime};
use ratatui::layout::Rect;
use ratatui::style::Color;

/// The explorer on the shipped test split and weights, batch 100, with the network view open
/// and every job it asked for answered.
fn start(palette: Palette) -> AppState {
    let data = Arc::new(common::test_split());
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mnist-784-50-100-10.npz");
    let net = Arc::new(
        mnist_explorer::weights::load(&path)
            .expect("the shipped weights load")
            .network,
    );
    let key = EvalKey {
        norm: NormMode::Div255,
        batch_size: 100,
        output: OutputLayer::Softmax,
    };
    let (mut state, _) = AppState::new(data, net, Split::Test, palette, key, 1);
    let cmd = state.update(Msg::Open(ViewId::Network));
    answer(&mut state, &cmd);
    state
}

/// A made-up pass time: `ips` images per second over 10,000 images.
fn time(ips: f64) -> PassTime {
    PassTime {
        images: 10_000,
        seconds: 10_000.0 / ips,
        reps: 3,
    }
}

/// Answers the network view's jobs of `cmd` as the worker would, with fixed timings: the fast
/// path about flat in the batch size, the matrix product growing with it.
fn answer(state: &mut AppState, cmd: &Cmd) {
    for job in cmd.jobs() {
        let generation = job.generation();
        let reports = match job {
            Job::Occlusion(j) => {
                let data = &j.data;
                let class = usize::from(data.label(j.index));
                let map = occlusion_map(
                    &j.net,
                    data.image(j.index),
                    (data.rows(), data.cols()),
                    j.norm,
                    class,
                    PATCH,
                    STRIDE,
                    |_, _| true,
                )
                .expect("not stopped");
                vec![WorkerMsg::Occluded {
                    generation,
                    index: j.index,
                    norm: j.norm,
                    map: Box::new(map),
                }]
            }
            Job::BatchTiming(_) => {
                let mut r = Vec::new();
                for (k, batch_size) in LESSON_BATCHES.into_iter().enumerate() {
                    for (path, ips) in [
                        (PassPath::Fast, 900_000.0 + 100_000.0 * k as f64),
                        (PassPath::Reference, 40_000.0 * 2f64.powi(k as i32)),
                    ] {
                        let point = BatchPoint {
                            path,
                            batch_size,
                            time: time(ips),
                        };
                        r.push(WorkerMsg::BatchTimed { generation, point });
                    }
                }
                r.push(WorkerMsg::BatchTimingFinished { generation });
                r
            }
            Job::OutputTiming(j) => vec![WorkerMsg::OutputTimed {
                generation,
                timing: Box::new(OutputTiming {
                    norm: j.norm,
                    batch_size: j.batch_size,
                    softmax: time(1_020_000.0),
                    identity: time(1_040_000.0),
                    same_predictions: true,
                }),
            }],
            Job::Evaluate(_)
            | Job::Compare(_)
            | Job::Load(_)
            | Job::ModeMatrix(_)
            | Job::Train(_)
            | Job::Save(_)
            | Job::Fit(_)
            | Job::Cancel { .. } => Vec::new(),
        };
        for report in reports {
            state.update(Msg::Worker(report));
        }
    }
}

fn net_msg(state: &mut AppState, msg: network::Msg) {
    let cmd = state.update(Msg::Network(msg));
    answer(state, &cmd);
}

#[test]
fn compact_80x24_shows_the_pipeline_the_activations_and_a_first_layer_unit() {
    let mut state = start(Palette::Plain);
    net_msg(&mut state, network::Msg::Unit(3));
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    let screen = rows(&terminal);
    assert!(
        screen[0].starts_with("B=100: B×784·784×50→σ→B×50"),
        "{}",
        screen[0]
    );
    for needle in ["h1 50 σ", "h2 100 σ", "out 10 softmax", "unit 3 of layer 1"] {
        assert!(shows(&terminal, needle), "{needle}");
    }
    assert!(shows(&terminal, "Tab: softmax, pixels, speed"));
    // The cursor marks unit 3 of the first strip.
    let strip = screen.iter().position(|r| r.starts_with("h1 50")).unwrap() + 1;
    assert_eq!(
        screen[strip].chars().position(|c| c == '◆'),
        Some(3),
        "{}",
        screen[strip]
    );
    // The sum beside the images is the unit's: Σ w·x + b, then the sigmoid of it.
    let focus = state.network().focus().unwrap();
    let total = mnist_explorer::app::widgets::num(f64::from(focus.total));
    assert!(
        shows(&terminal, &format!("= {total}")),
        "{total}: {screen:?}"
    );
}

#[test]
fn compact_80x24_softmax_at_x100_shows_the_naive_overflow() {
    let mut state = start(Palette::Plain);
    net_msg(&mut state, network::Msg::Scale(true));
    net_msg(&mut state, network::Msg::Scale(true));
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "scores ×100"));
    assert!(shows(
        &terminal,
        "naive: exp(a) overflows to inf, inf/inf = NaN"
    ));
    let predicted = state.shared().image().predicted;
    let row = rows(&terminal)
        .into_iter()
        .find(|r| r.starts_with(&format!("▸{predicted}")))
        .expect("the predicted class's row");
    // Stable: y = 1.000 for the predicted class; naive: inf and NaN.
    assert!(
        row.contains("1.000") && row.contains("inf") && row.contains("NaN"),
        "{row}"
    );
}

#[test]
fn compact_80x24_speed_is_a_table_with_every_batch_size_and_no_chart() {
    let mut state = start(Palette::Plain);
    for _ in 0..3 {
        net_msg(&mut state, network::Msg::Panel(true));
    }
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    let screen = rows(&terminal);
    let head = screen
        .iter()
        .find(|r| r.starts_with("batch "))
        .expect("the table's head");
    for b in LESSON_BATCHES {
        assert!(head.contains(&b.to_string()), "{head}");
    }
    let fast = screen.iter().find(|r| r.starts_with("fast ")).unwrap();
    assert_eq!(fast.split_whitespace().count(), 6, "five rates: {fast}");
    assert!(
        shows(&terminal, "matrix ×4.0, fast ×1.2"),
        "the gains of the made-up rates"
    );
    assert!(shows(
        &terminal,
        "9.80 ms vs 9.62 ms · diff +0.19 ms (+2.0%) · same predictions"
    ));
    assert!(
        !screen.iter().skip(9).any(|r| r.contains('█')),
        "no chart at 80x24"
    );
}

#[test]
fn compact_80x24_pixels_marks_what_matters_without_colors() {
    let mut state = start(Palette::Plain);
    // Image 8, a 5: hiding parts of it moves p(5).
    let cmd = state.update(Msg::Nav(Nav::To(8)));
    answer(&mut state, &cmd);
    let cmd = state.update(Msg::Network(network::Msg::Panel(false)));
    answer(&mut state, &cmd);
    net_msg(&mut state, network::Msg::Panel(false));
    assert_eq!(state.network().panel(), network::Panel::Pixels);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    let text = rows(&terminal).join("\n");
    assert!(text.contains('#'), "the strongest drop is marked #");
    assert!(
        shows(&terminal, "#+ lower p · - raise"),
        "the legend of the marks"
    );
    assert!(shows(&terminal, "4×4 patches, stride 2, 169 positions"));
}

#[test]
fn roomy_120x40_shows_every_panel_and_the_chart() {
    let state = start(Palette::Plain);
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    let body = Rect::new(0, 0, 120, 39);
    let panels = network::panels(state.shared(), state.network(), body);
    let names: Vec<&str> = panels.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "pipeline",
            "activations",
            "unit",
            "softmax",
            "pixels",
            "speed"
        ]
    );
    assert!(shows(
        &terminal,
        "X 100×784 ·W1 784×50 +b1 → sigmoid → 100×50"
    ));
    for b in LESSON_BATCHES {
        for path in ["fast", "matrix"] {
            let label = format!("{b:>5} {path}");
            assert!(shows(&terminal, &label), "chart bar {label}");
        }
    }
    // The fastest bar is the longest.
    let longest = |label: &str| {
        rows(&terminal)
            .iter()
            .find(|r| r.contains(label))
            .map_or(0, |r| r.matches('█').count())
    };
    assert!(longest("10000 fast") > longest("    1 matrix"));
}

#[test]
fn panels_stay_on_screen_and_apart_at_any_size() {
    let mut state = start(Palette::Plain);
    for (w, h) in [
        (80, 24),
        (81, 25),
        (100, 30),
        (119, 40),
        (120, 40),
        (200, 60),
    ] {
        for _ in 0..4 {
            state.update(Msg::Network(network::Msg::Panel(true)));
            let body = Rect::new(0, 0, w, h - 1);
            let panels = network::panels(state.shared(), state.network(), body);
            assert!(panels.len() >= 3, "{w}x{h}");
            for (i, (name, r)) in panels.iter().enumerate() {
                assert_eq!(body.intersection(*r), *r, "{w}x{h}: {name} {r:?}");
                assert!(r.width > 0 && r.height > 0, "{w}x{h}: {name}");
                for (other, s) in &panels[i + 1..] {
                    assert!(!r.intersects(*s), "{w}x{h}: {name} and {other}");
                }
            }
            render(&state, w, h);
        }
    }
    for (w, h) in [(0, 0), (1, 1), (79, 24), (80, 23), (10, 200)] {
        render(&state, w, h);
    }
}

#[test]
fn raw_input_saturates_the_hidden_layers_at_120x40() {
    let mut state = start(Palette::Plain);
    // div255 back to raw: the same weights see inputs 255 times larger.
    let cmd = state.update(Msg::Set(Setting::PrevNorm));
    answer(&mut state, &cmd);
    assert_eq!(state.shared().norm(), NormMode::Raw);
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    let stats = &state.shared().image().hidden_stats[0];
    assert!(stats.saturated > 40, "{} of 50 saturated", stats.saturated);
    assert!(shows(
        &terminal,
        &format!("h1 50 σ sat {}/50", stats.saturated)
    ));
}

#[test]
fn a_later_layer_unit_lists_its_largest_contributions() {
    let mut state = start(Palette::Plain);
    net_msg(&mut state, network::Msg::Layer(false));
    net_msg(&mut state, network::Msg::Unit(7));
    let terminal = render(&state, 120, 40);
    assert!(shows(
        &terminal,
        "unit 7 of layer 2 (100 units) · its 50 inputs"
    ));
    let focus = state.network().focus().unwrap();
    let listed: Vec<usize> = rows(&terminal)
        .iter()
        .filter_map(|r| r.split("│h1:").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(listed.len() >= 10, "{listed:?}");
    assert_eq!(listed, focus.order[..listed.len()], "largest |w × x| first");
    // Down to the output layer: a class.
    net_msg(&mut state, network::Msg::Layer(false));
    assert!(shows(
        &render(&state, 120, 40),
        "class 7 (output unit) · its 100 inputs"
    ));
}

#[test]
fn colored_weights_are_blue_below_zero_and_gray_above() {
    let state = start(Palette::TrueColor);
    let terminal = render(&state, 80, 24);
    let focus = state.network().focus().unwrap();
    let buf = terminal.backend().buffer();
    // The weights image starts at the left edge, under the panel's title line.
    let screen = rows(&terminal);
    let top = screen
        .iter()
        .position(|r| r.contains("unit 0 of layer 1"))
        .unwrap() as u16
        + 1;
    let mut checked = 0;
    for y in 0..14u16 {
        for x in 0..28u16 {
            let w = focus.weights[usize::from(2 * y) * 28 + usize::from(x)];
            let fg = buf[(x, top + y)].fg;
            let Color::Rgb(r, g, b) = fg else {
                panic!("{fg:?}")
            };
            if w < -0.05 {
                assert!(b > r && r == 0, "weight {w} drawn {fg:?}");
                checked += 1;
            } else if w > 0.05 {
                assert!(r == g && g == b && r > 0, "weight {w} drawn {fg:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn the_help_lists_the_views_keys_and_how_to_leave() {
    let mut state = start(Palette::Plain);
    state.update(Msg::ToggleHelp);
    let terminal = render(&state, 80, 60);
    for b in network::KEYS {
        let row = format!("{:<13}{}", b.label, b.help);
        assert!(shows(&terminal, &row), "help lacks `{row}`");
    }
    assert!(
        shows(&terminal, "i            inside the network"),
        "i is listed"
    );
    for note in network::GUIDE.iter().chain(network::MARKS) {
        assert!(shows(&terminal, note.help), "help lacks `{}`", note.help);
    }
    assert!(shows(&terminal, "any key closes"));
}

#[test]
fn i_again_and_esc_lead_back_to_browse() {
    let mut state = start(Palette::Plain);
    assert_eq!(state.view(), ViewId::Network);
    state.update(Msg::Open(ViewId::Network));
    assert_eq!(state.view(), ViewId::Browse);
    assert!(
        state.update(Msg::Open(ViewId::Network)).is_none(),
        "all cached"
    );
    state.update(Msg::Nav(Nav::Next));
    assert!(shows(
        &render(&state, 80, 24),
        "activations of image 1 (div255)"
    ));
    state.update(Msg::Back);
    assert_eq!(state.view(), ViewId::Browse);
    assert!(shows(&render(&state, 80, 24), "image 1 ("));
}
