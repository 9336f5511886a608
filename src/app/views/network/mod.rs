//! The network view (`i`): the forward pass of the current image laid open. The pipeline with
//! the shapes of a batch, every hidden layer's activations, one unit under a cursor (what
//! flows into it), the softmax step by step at a chosen scale of the scores (the naive one
//! overflowing beside the stable one), which pixels matter (an occlusion map), and what the
//! passes cost (softmax against identity, and images per second against batch size).
//!
//! Roomy layout (120x40 and more):
//! ```text
//!  ┌ pipeline ──────────────────────────────────────────────────┐
//!  ┌ activations ───┐┌ pixels ─┐┌ unit ─────────────────────────┐
//!  │ strips, stats  ││ heat    ││ weights · weights × input     │
//!  ┌ softmax laid open ─────────────┐┌ speed ───────────────────┐
//!  │ a, a−max, exp, y, naive        ││ softmax vs identity, chart│
//! ```
//! Compact (80x24): the pipeline on a line, the activations, and one of unit, softmax,
//! pixels and speed below (Tab; a key that acts on a panel brings it forward); no chart.

mod hidden;
pub mod measures;
mod pipeline;
mod pixels;
mod softmax;
mod speed;
mod unit;

use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders};

use crate::app::keymap::{Binding, Hint, Note};
use crate::app::msg;
use crate::app::shared::{LOGIT_SCALES, Shared};
use crate::app::views::browse;
use crate::app::worker::{Job, WorkerMsg};
use crate::inspect::{Incoming, incoming};
use crate::normalize::NormMode;
use measures::Measures;

/// The panel the compact layout shows below the activations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Panel {
    /// The unit under the cursor.
    #[default]
    Unit,
    /// The softmax laid open.
    Softmax,
    /// The occlusion map.
    Pixels,
    /// The timings.
    Speed,
}

impl Panel {
    /// Every panel, in Tab order.
    pub const ALL: [Panel; 4] = [Panel::Unit, Panel::Softmax, Panel::Pixels, Panel::Speed];

    /// Its name, as the panel titles and the help say it.
    pub fn name(self) -> &'static str {
        match self {
            Panel::Unit => "unit",
            Panel::Softmax => "softmax",
            Panel::Pixels => "pixels",
            Panel::Speed => "speed",
        }
    }

    fn step(self, forward: bool) -> Self {
        let n = Self::ALL.len();
        let i = Self::ALL.iter().position(|&p| p == self).unwrap_or(0);
        Self::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// The network view's own messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// Move the unit cursor by this many units along its layer (wraps).
    Unit(isize),
    /// Move the cursor to the layer before (`true`: towards the input) or after.
    Layer(bool),
    /// Next (`true`) or previous scale of the scores for the softmax.
    Scale(bool),
    /// Next (`true`) or previous panel in the compact layout.
    Panel(bool),
    /// Measure the timings again.
    Remeasure,
}

/// Where the cursor is and what the view has measured.
#[derive(Debug, Clone, Default)]
pub struct State {
    layer: usize,
    unit: usize,
    scale: usize,
    panel: Panel,
    /// What flows into the unit under the cursor, for `focus_key`'s image and mode.
    focus: Option<Incoming>,
    focus_key: Option<(usize, NormMode, usize, usize)>,
    measures: Measures,
}

impl State {
    /// The cursor's layer (0: the first, whose inputs are the pixels).
    pub fn layer(&self) -> usize {
        self.layer
    }

    /// The cursor's unit within its layer.
    pub fn unit(&self) -> usize {
        self.unit
    }

    /// Index of the scores' factor in [`LOGIT_SCALES`].
    pub fn scale(&self) -> usize {
        self.scale
    }

    /// The panel the compact layout shows.
    pub fn panel(&self) -> Panel {
        self.panel
    }

    /// What flows into the unit under the cursor.
    pub fn focus(&self) -> Option<&Incoming> {
        self.focus.as_ref()
    }

    /// The slow numbers.
    pub fn measures(&self) -> &Measures {
        &self.measures
    }

    /// Applies one of the view's messages; the cursor stays within the network's layers.
    pub fn update(&mut self, msg: Msg, shared: &Shared) {
        let layers = shared.net.layers();
        let units = |l: usize| layers.get(l).map_or(1, |l| l.w.ncols()).max(1);
        match msg {
            Msg::Unit(by) => {
                let n = units(self.layer) as isize;
                self.unit = (self.unit as isize + by).rem_euclid(n) as usize;
                self.panel = Panel::Unit;
            }
            Msg::Layer(up) => {
                self.layer = if up {
                    self.layer.saturating_sub(1)
                } else {
                    (self.layer + 1).min(layers.len().saturating_sub(1))
                };
                self.unit = self.unit.min(units(self.layer) - 1);
                self.panel = Panel::Unit;
            }
            Msg::Scale(up) => {
                let n = LOGIT_SCALES.len();
                self.scale = if up {
                    (self.scale + 1) % n
                } else {
                    (self.scale + n - 1) % n
                };
                self.panel = Panel::Softmax;
            }
            Msg::Panel(forward) => self.panel = self.panel.step(forward),
            Msg::Remeasure => {
                self.measures.forget_timings();
                self.panel = Panel::Speed;
            }
        }
    }

    /// After another network took the place of the one shown: the cursor kept within its
    /// layers, and everything measured on the other one forgotten.
    pub fn network_changed(&mut self, shared: &Shared) {
        let layers = shared.net.layers();
        self.layer = self.layer.min(layers.len().saturating_sub(1));
        let units = layers.get(self.layer).map_or(1, |l| l.w.ncols()).max(1);
        self.unit = self.unit.min(units - 1);
        self.focus = None;
        self.focus_key = None;
        self.measures.forget_all();
    }

    /// Brings what the view derives from the shared state up to date: the unit under the
    /// cursor for the current image and mode. Cheap when nothing changed.
    pub fn sync(&mut self, shared: &Shared) {
        let key = (shared.index(), shared.norm(), self.layer, self.unit);
        if self.focus_key != Some(key) {
            self.focus = incoming(&shared.net, shared.image(), self.layer, self.unit);
            self.focus_key = Some(key);
        }
    }

    /// The jobs that compute what the view lacks for the current image and settings.
    pub fn wanted(&mut self, shared: &Shared) -> Vec<Job> {
        self.measures.wanted(shared)
    }

    /// Applies a report of one of the view's jobs; returns the message of a failed one.
    pub fn on_worker(&mut self, report: WorkerMsg) -> Option<String> {
        self.measures.on_worker(report)
    }
}

/// The network view's keys: images and settings as in browse, then its own.
pub const KEYS: &[Binding] = &[
    browse::STEP,
    browse::GOTO,
    browse::RANDOM,
    browse::ERRORS,
    browse::NORM,
    browse::BATCH,
    Binding {
        keys: &[KeyCode::Char('['), KeyCode::Char(']')],
        label: "[ ]",
        help: "previous / next unit of the layer",
        hint: Some(Hint {
            rank: 5,
            keys: "[]",
            word: "unit",
        }),
        action: |code| {
            Some(msg::Msg::Network(Msg::Unit(
                if code == KeyCode::Char('[') { -1 } else { 1 },
            )))
        },
    },
    Binding {
        keys: &[KeyCode::Char('{'), KeyCode::Char('}')],
        label: "{ }",
        help: "back / forward 10 units",
        hint: None,
        action: |code| {
            Some(msg::Msg::Network(Msg::Unit(
                if code == KeyCode::Char('{') { -10 } else { 10 },
            )))
        },
    },
    Binding {
        keys: &[KeyCode::Up, KeyCode::Down],
        label: "↑ ↓",
        help: "the cursor's layer: towards the input / the output",
        hint: Some(Hint {
            rank: 6,
            keys: "↑↓",
            word: "layer",
        }),
        action: |code| Some(msg::Msg::Network(Msg::Layer(code == KeyCode::Up))),
    },
    Binding {
        keys: &[KeyCode::Char('x'), KeyCode::Char('X')],
        label: "x X",
        help: "softmax of the scores ×1, ×10, ×100, ×1000 (next / prev.)",
        hint: Some(Hint {
            rank: 7,
            keys: "x",
            word: "scale",
        }),
        action: |code| Some(msg::Msg::Network(Msg::Scale(code == KeyCode::Char('x')))),
    },
    Binding {
        keys: &[KeyCode::Tab, KeyCode::BackTab],
        label: "Tab S-Tab",
        help: "small screens: next / previous panel below the layers",
        hint: Some(Hint {
            rank: 8,
            keys: "Tab",
            word: "panel",
        }),
        action: |code| Some(msg::Msg::Network(Msg::Panel(code == KeyCode::Tab))),
    },
    Binding {
        keys: &[KeyCode::Char('m')],
        label: "m",
        help: "measure the timings again (softmax vs identity, batch sizes)",
        hint: None,
        action: |_| Some(msg::Msg::Network(Msg::Remeasure)),
    },
];

/// Help lines for what is not a key (the wheel acts as in browse, through its
/// `mouse_to_msg`).
pub const MOUSE: &[Note] = &[Note {
    label: "mouse wheel",
    help: "previous / next image",
}];

/// What each panel shows, for the help.
pub const GUIDE: &[Note] = &[
    Note {
        label: "pipeline",
        help: "the shapes of a batch of B images, layer by layer (b/B)",
    },
    Note {
        label: "activations",
        help: "every layer's units: shade = value; min, mean, max, sat",
    },
    Note {
        label: "unit",
        help: "layer 1: its weights, and weights × input; later: top inputs",
    },
    Note {
        label: "softmax",
        help: "a, a − max, exp, Σ, y; beside it the naive exp(a)/Σexp(a)",
    },
    Note {
        label: "pixels",
        help: "hide 4×4 patches: how much p(true label) drops",
    },
    Note {
        label: "speed",
        help: "softmax vs identity pass; images/s by batch size, 2 paths",
    },
];

/// What the marks on the screen mean, for the help.
pub const MARKS: &[Note] = &[
    Note {
        label: "◆",
        help: "the unit under the cursor ([ ] ↑ ↓)",
    },
    Note {
        label: "shades",
        help: "activations 0 (dark / blank) … 1 (bright / █)",
    },
    Note {
        label: "sat",
        help: "saturated units: output within 0.01 of 0 or 1 (slope < 1%)",
    },
    Note {
        label: "blue, ·",
        help: "negative weights or products; white or shades: positive",
    },
    Note {
        label: "red, # +",
        help: "pixels whose hiding lowers p(true label); blue, -: raises it",
    },
    Note {
        label: "inf NaN",
        help: "the naive softmax overflowed (exp(a) > 3.4e38 in float32)",
    },
    Note {
        label: "fast, matrix",
        help: "our kernels; ndarray's matrix product, as numpy computes",
    },
];

/// Narrowest terminal the layout fits.
const MIN_WIDTH: u16 = 80;
/// Shortest terminal the layout fits (the status line included).
const MIN_HEIGHT: u16 = 24;
/// From this size on, every panel is shown at once.
const ROOMY: (u16, u16) = (120, 40);
/// The compact layout's panel below the activations: a title line and 14 rows (a 28-row
/// digit at two pixel rows per cell).
const DETAIL_HEIGHT: u16 = 15;
/// The roomy layout's pipeline: three lines and a border.
const PIPELINE_HEIGHT: u16 = 5;
/// The roomy layout's middle row: a 28-row digit (14 cells) and a border.
const MIDDLE_HEIGHT: u16 = 16;
/// The roomy layout's unit panel: two 28-column images, a gap and a border.
const UNIT_WIDTH: u16 = 59;
/// The roomy layout's pixels panel: a 28-column digit and a border.
const PIXELS_WIDTH: u16 = 30;
/// The roomy layout's softmax panel: seven columns of nine and the class.
const SOFTMAX_WIDTH: u16 = 67;

/// Where each panel goes; the compact layout has only one of unit, softmax, pixels and speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Areas {
    roomy: bool,
    pipeline: Rect,
    hidden: Rect,
    unit: Option<Rect>,
    softmax: Option<Rect>,
    pixels: Option<Rect>,
    speed: Option<Rect>,
}

/// The smallest terminal (status line included) the view fits.
pub fn needed(_shared: &Shared) -> (u16, u16) {
    (MIN_WIDTH, MIN_HEIGHT)
}

/// Whether `body` (the screen but the status line) takes the roomy layout.
fn is_roomy(body: Rect) -> bool {
    body.width >= ROOMY.0 && body.height + 1 >= ROOMY.1
}

/// Splits the body, or `None` when it is too small.
fn layout(shared: &Shared, view: &State, body: Rect) -> Option<Areas> {
    if body.width < MIN_WIDTH || body.height + 1 < MIN_HEIGHT {
        return None;
    }
    let (x, y, w, h) = (body.x, body.y, body.width, body.height);
    if is_roomy(body) {
        let middle_y = y + PIPELINE_HEIGHT;
        let bottom_y = middle_y + MIDDLE_HEIGHT;
        let bottom_h = h - PIPELINE_HEIGHT - MIDDLE_HEIGHT;
        let hidden_w = w - UNIT_WIDTH - PIXELS_WIDTH;
        let at = |dx: u16, dy: u16, width: u16, height: u16| Rect::new(x + dx, dy, width, height);
        return Some(Areas {
            roomy: true,
            pipeline: at(0, y, w, PIPELINE_HEIGHT),
            hidden: at(0, middle_y, hidden_w, MIDDLE_HEIGHT),
            pixels: Some(at(hidden_w, middle_y, PIXELS_WIDTH, MIDDLE_HEIGHT)),
            unit: Some(at(w - UNIT_WIDTH, middle_y, UNIT_WIDTH, MIDDLE_HEIGHT)),
            softmax: Some(at(0, bottom_y, SOFTMAX_WIDTH, bottom_h)),
            speed: Some(at(SOFTMAX_WIDTH, bottom_y, w - SOFTMAX_WIDTH, bottom_h)),
        });
    }
    // One line if any form of the pipeline fits in one, to leave the activations their room.
    let lines = match pipeline::lines(shared, w, 1, false).len() {
        1 => 1,
        _ => pipeline::lines(shared, w, 2, false).len() as u16,
    };
    let detail = Rect::new(x, y + h - DETAIL_HEIGHT, w, DETAIL_HEIGHT);
    let mut areas = Areas {
        roomy: false,
        pipeline: Rect::new(x, y, w, lines),
        hidden: Rect::new(x, y + lines, w, h - lines - DETAIL_HEIGHT),
        ..Areas::default()
    };
    match view.panel {
        Panel::Unit => areas.unit = Some(detail),
        Panel::Softmax => areas.softmax = Some(detail),
        Panel::Pixels => areas.pixels = Some(detail),
        Panel::Speed => areas.speed = Some(detail),
    }
    Some(areas)
}

/// Draws the view into `body` (the screen but the status line).
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, body: Rect) {
    let Some(areas) = layout(shared, view, body) else {
        return;
    };
    let roomy = areas.roomy;
    pipeline::draw(shared, frame, areas.pipeline, roomy);
    hidden::draw(shared, view, frame, areas.hidden, roomy);
    let tabs = (!roomy).then_some(view.panel);
    if let Some(area) = areas.unit {
        unit::draw(shared, view, frame, area, tabs);
    }
    if let Some(area) = areas.softmax {
        softmax::draw(shared, view, frame, area, tabs);
    }
    if let Some(area) = areas.pixels {
        pixels::draw(shared, view, frame, area, tabs);
    }
    if let Some(area) = areas.speed {
        speed::draw(shared, view, frame, area, tabs);
    }
}

/// Each panel's name and place in `body`, for tests that check how the room is used.
#[doc(hidden)]
pub fn panels(shared: &Shared, view: &State, body: Rect) -> Vec<(&'static str, Rect)> {
    let Some(a) = layout(shared, view, body) else {
        return Vec::new();
    };
    let mut out = vec![("pipeline", a.pipeline), ("activations", a.hidden)];
    for (name, area) in [
        ("unit", a.unit),
        ("softmax", a.softmax),
        ("pixels", a.pixels),
        ("speed", a.speed),
    ] {
        if let Some(area) = area {
            out.push((name, area));
        }
    }
    out
}

/// A panel's frame: all four borders in the roomy layout; in the compact one, a title line
/// only (the panels are stacked full width) that also names the other panels Tab reaches.
fn block(title: String, tabs: Option<Panel>) -> Block<'static> {
    match tabs {
        None => Block::bordered().title(title),
        Some(shown) => {
            let others: Vec<&str> = Panel::ALL
                .iter()
                .filter(|&&p| p != shown)
                .map(|p| p.name())
                .collect();
            Block::new().borders(Borders::TOP).title(title).title(
                ratatui::text::Line::from(format!(" Tab: {} ", others.join(", "))).right_aligned(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::{Cmd, Nav, Setting};
    use crate::app::state::{AppState, test_state};
    use crate::app::views::ViewId;
    use crate::app::worker::{BatchPoint, JobKind, OutputTiming};
    use crate::dataset::Split;
    use crate::occlusion::OcclusionMap;
    use crate::timing::{LESSON_BATCHES, PassTime};
    use measures::Measured;
    use ndarray::Array2;

    /// 30 images of 2x2 pixels and a one-layer 4 -> 10 network, browsing.
    fn state() -> AppState {
        let images: Vec<u8> = (0..120).map(|i| ((i * 53) % 256) as u8).collect();
        let labels: Vec<u8> = (0..30).map(|i| (i % 10) as u8).collect();
        let w = Array2::from_shape_fn((4, 10), |(r, c)| ((r * 5 + c * 3) % 7) as f32 - 3.0);
        test_state(images, labels, w, Split::Test, 10, 7).0
    }

    fn kinds(cmd: &Cmd) -> Vec<JobKind> {
        cmd.jobs().iter().map(Job::kind).collect()
    }

    fn open(s: &mut AppState) -> Cmd {
        s.update(msg::Msg::Open(ViewId::Network))
    }

    /// What the worker would report for each of `cmd`'s jobs of the view, with made-up
    /// timings (the numbers are not the point; their arrival is).
    fn reports(cmd: &Cmd) -> Vec<msg::Msg> {
        let time = PassTime {
            images: 30,
            seconds: 0.01,
            reps: 1,
        };
        let mut out = Vec::new();
        for job in cmd.jobs() {
            let generation = job.generation();
            match job {
                Job::Occlusion(j) => out.push(WorkerMsg::Occluded {
                    generation,
                    index: j.index,
                    norm: j.norm,
                    map: Box::new(OcclusionMap {
                        class: 0,
                        base: 0.5,
                        patch: 4,
                        stride: 2,
                        rows: 2,
                        cols: 2,
                        grid: (1, 1),
                        drops: vec![0.25],
                    }),
                }),
                Job::BatchTiming(_) => {
                    for path in crate::timing::PassPath::ALL {
                        for batch_size in LESSON_BATCHES {
                            out.push(WorkerMsg::BatchTimed {
                                generation,
                                point: BatchPoint {
                                    path,
                                    batch_size,
                                    time,
                                },
                            });
                        }
                    }
                    out.push(WorkerMsg::BatchTimingFinished { generation });
                }
                Job::OutputTiming(j) => out.push(WorkerMsg::OutputTimed {
                    generation,
                    timing: Box::new(OutputTiming {
                        norm: j.norm,
                        batch_size: j.batch_size,
                        softmax: time,
                        identity: time,
                        same_predictions: true,
                    }),
                }),
                Job::Evaluate(_)
                | Job::Compare(_)
                | Job::Load(_)
                | Job::ModeMatrix(_)
                | Job::Train(_)
                | Job::Save(_)
                | Job::Fit(_)
                | Job::Cancel { .. } => {}
            }
        }
        out.into_iter().map(msg::Msg::Worker).collect()
    }

    fn feed(s: &mut AppState, cmd: &Cmd) {
        for m in reports(cmd) {
            assert!(s.update(m).is_none(), "a report starts no job");
        }
    }

    #[test]
    fn opening_the_view_asks_for_what_it_lacks_and_no_more() {
        let mut s = state();
        assert!(
            s.update(msg::Msg::Nav(Nav::Next)).is_none(),
            "browsing asks for nothing of the network view"
        );
        let cmd = open(&mut s);
        assert_eq!(
            kinds(&cmd),
            [
                JobKind::Occlusion,
                JobKind::BatchTiming,
                JobKind::OutputTiming
            ]
        );
        // Asked for: the same keys are not asked again while the jobs run.
        assert!(s.update(msg::Msg::Resized).is_none());
        feed(&mut s, &cmd);
        let m = s.network().measures();
        assert!(matches!(
            m.occlusion(1, NormMode::Div255),
            Measured::Ready(_)
        ));
        assert!(matches!(m.batch_chart(), Measured::Ready(c) if c.finished && c.complete()));
        assert!(matches!(
            m.output_timing(NormMode::Div255, 10),
            Measured::Ready(_)
        ));
        // Leaving and coming back shows the results without computing them again.
        s.update(msg::Msg::Back);
        assert_eq!(s.view(), ViewId::Browse);
        assert!(open(&mut s).is_none());
        // A new image needs its own map; a new batch size its own softmax timing (and an
        // evaluation); a new mode both.
        assert_eq!(
            kinds(&s.update(msg::Msg::Nav(Nav::Next))),
            [JobKind::Occlusion]
        );
        assert_eq!(
            kinds(&s.update(msg::Msg::Set(Setting::NextBatch))),
            [JobKind::Evaluate, JobKind::OutputTiming]
        );
        assert_eq!(
            kinds(&s.update(msg::Msg::Set(Setting::NextNorm))),
            [JobKind::Evaluate, JobKind::Occlusion, JobKind::OutputTiming]
        );
        // Asked to measure again: both timings, not the maps.
        assert_eq!(
            kinds(&s.update(msg::Msg::Network(Msg::Remeasure))),
            [JobKind::BatchTiming, JobKind::OutputTiming]
        );
        assert_eq!(s.network().panel(), Panel::Speed);
    }

    #[test]
    fn a_replaced_jobs_late_report_is_dropped() {
        let mut s = state();
        let first = open(&mut s);
        let second = s.update(msg::Msg::Nav(Nav::Next));
        // The map of image 0 arrives after image 1's job replaced it.
        let late: Vec<msg::Msg> = reports(&first)
            .into_iter()
            .filter(|m| matches!(m, msg::Msg::Worker(WorkerMsg::Occluded { .. })))
            .collect();
        for m in late {
            s.update(m);
        }
        let m = s.network().measures();
        assert!(matches!(
            m.occlusion(0, NormMode::Div255),
            Measured::Pending
        ));
        feed(&mut s, &second);
        let m = s.network().measures();
        assert!(matches!(
            m.occlusion(1, NormMode::Div255),
            Measured::Ready(_)
        ));
    }

    #[test]
    fn a_failed_measure_says_so_once_and_is_not_asked_again() {
        let mut s = state();
        let cmd = open(&mut s);
        let occlusion = cmd.jobs()[0].generation();
        s.update(msg::Msg::Worker(WorkerMsg::Failed {
            kind: JobKind::Occlusion,
            generation: occlusion,
            message: "boom".into(),
        }));
        assert!(
            s.notice()
                .is_some_and(|n| n.is_error && n.text == "occlusion map failed: boom")
        );
        assert_eq!(
            s.network().measures().occlusion(0, NormMode::Div255),
            Measured::Failed("boom")
        );
        assert!(s.update(msg::Msg::Resized).is_none(), "not retried");
        // The evaluation, whose generations are counted apart, is untouched.
        assert_eq!(
            s.shared().evaluation().status,
            crate::app::evaluations::EvalStatus::Running
        );
    }

    #[test]
    fn the_cursor_wraps_along_a_layer_and_stays_in_the_network() {
        let mut s = state();
        open(&mut s);
        let net = |s: &mut AppState, m| s.update(msg::Msg::Network(m));
        net(&mut s, Msg::Unit(-1));
        assert_eq!((s.network().layer(), s.network().unit()), (0, 9));
        net(&mut s, Msg::Unit(10));
        assert_eq!(
            s.network().unit(),
            9,
            "ten units along ten wraps to the same"
        );
        net(&mut s, Msg::Layer(false));
        net(&mut s, Msg::Layer(true));
        assert_eq!(s.network().layer(), 0, "one layer: nowhere to go");
        // The unit's incoming numbers follow the cursor and the image.
        let focus = s.network().focus().unwrap();
        assert_eq!((focus.layer, focus.unit), (0, 9));
        assert_eq!(focus.inputs, s.shared().image().input);
        s.update(msg::Msg::Nav(Nav::Next));
        assert_eq!(
            s.network().focus().unwrap().inputs,
            s.shared().image().input
        );
        for k in 1..=LOGIT_SCALES.len() {
            net(&mut s, Msg::Scale(true));
            assert_eq!(s.network().scale(), k % LOGIT_SCALES.len());
        }
        assert_eq!(
            s.network().panel(),
            Panel::Softmax,
            "x brings the softmax forward"
        );
        net(&mut s, Msg::Scale(false));
        assert_eq!(s.network().scale(), LOGIT_SCALES.len() - 1);
        net(&mut s, Msg::Panel(true));
        assert_eq!(s.network().panel(), Panel::Pixels);
    }

    #[test]
    fn the_scaled_softmax_overflows_only_the_naive_way() {
        let mut s = state();
        open(&mut s);
        let logits = s.shared().image().logits.clone();
        let largest = logits.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let last = LOGIT_SCALES.len() - 1;
        let steps = s.shared().softmax_steps(last);
        assert_eq!(steps.logits[0], logits[0] * LOGIT_SCALES[last]);
        assert_eq!(
            steps.overflowed(),
            logits.iter().any(|&a| a * LOGIT_SCALES[last] > 88.8),
            "largest score {largest}"
        );
        assert!(steps.stable.iter().all(|p| p.is_finite()));
    }

    #[test]
    fn panels_take_turns_both_ways() {
        let mut p = Panel::Unit;
        for _ in 0..Panel::ALL.len() {
            assert_eq!(p.step(true).step(false), p);
            p = p.step(true);
        }
        assert_eq!(p, Panel::Unit);
    }
}
