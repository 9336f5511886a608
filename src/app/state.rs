//! The explorer's state ([`AppState`]) and [`AppState::update`], the only place it changes.
//!
//! The state is the [`Shared`] part every view reads (data, network, current image,
//! settings, evaluations), the stack of open views, and what floats above them (the help
//! overlay, the go-to prompt, a notice). Keys, the mouse and the worker all arrive as
//! [`Msg`]s; `update` applies one and may answer with a [`Cmd`] for the run loop to carry
//! out. The view reads the state and nothing else.

use std::sync::Arc;

use ratatui::layout::Rect;

use crate::app::evaluations::EvalKey;
use crate::app::help;
use crate::app::msg::{Cmd, Goto, Msg, Nav};
use crate::app::shared::{Notice, Origin, Palette, Shared};
use crate::app::views::{ViewId, browse, confusion, draw, gallery, modes, network, train};
use crate::app::worker::{Job, JobKind, LoadJob, WorkerMsg};
use crate::dataset::{Dataset, Split};
use crate::network::Network;
use crate::normalize::NormMode;

/// Longest index that `g` accepts, in digits (enough for any split here).
const MAX_GOTO_DIGITS: usize = 9;
/// Longest path the second network's prompt takes, in characters.
const MAX_PATH_CHARS: usize = 4096;

/// The whole state of the explorer.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: Shared,
    /// Open views, the active one last; never empty.
    views: Vec<ViewId>,
    browse: browse::State,
    confusion: confusion::State,
    network: network::State,
    draw: draw::State,
    modes: modes::State,
    train: train::State,
    /// The last frame drawn (empty until the first): where the panels are for the mouse,
    /// and how many rows the gallery's page keys move by.
    screen: Rect,
    /// The help overlay, when open, and how far it is scrolled.
    help: Option<usize>,
    goto: Option<String>,
    /// The second network's prompt, while it is open.
    load: Option<String>,
    /// The file being read for a second network, and the job's generation.
    loading: Option<(u64, String)>,
    notice: Option<Notice>,
    should_quit: bool,
    /// The trained weights a quit was last held back for (see [`AppState::quit`]).
    quit_warned: Option<Arc<Network>>,
}

impl AppState {
    /// The state at start: the browse view on image 0 with the given settings, and the
    /// command that starts their evaluation. `seed` drives `r` (random image).
    ///
    /// The dataset must not be empty and the network must fit it (`Network::check_fits`).
    pub fn new(
        data: Arc<Dataset>,
        net: Arc<Network>,
        split: Split,
        palette: Palette,
        key: EvalKey,
        seed: u64,
    ) -> (Self, Cmd) {
        let (shared, job) = Shared::new(data, net, split, palette, key, seed);
        let state = Self {
            shared,
            views: vec![ViewId::Browse],
            browse: browse::State::default(),
            confusion: confusion::State::default(),
            network: network::State::default(),
            draw: draw::State::default(),
            modes: modes::State::default(),
            train: train::State::default(),
            screen: Rect::default(),
            help: None,
            goto: None,
            load: None,
            loading: None,
            notice: None,
            should_quit: false,
            quit_warned: None,
        };
        (state, job.into())
    }

    /// The same state, told where the network came from (its file, what it was trained on).
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.shared.set_origin(origin);
        self
    }

    /// The same state, with the training view reading the splits from `dir` (without it,
    /// nothing trains).
    pub fn with_data_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.shared.set_fit_dir(dir.clone());
        self.train = train::State::with_data_dir(dir);
        self
    }

    /// The same state, calling the network loaded at start `label` where the titles name
    /// the network shown (once a trained one was shown too).
    pub fn with_label(mut self, label: String) -> Self {
        self.shared.set_net_label(label);
        self
    }

    /// What every view shares.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The browse view's own state.
    pub fn browse(&self) -> &browse::State {
        &self.browse
    }

    /// The confusion matrix view's own state.
    pub fn confusion(&self) -> &confusion::State {
        &self.confusion
    }

    /// The size of the screen last drawn (80x24, the smallest supported, before the first).
    pub fn screen(&self) -> (u16, u16) {
        if self.screen.is_empty() {
            (80, 24)
        } else {
            (self.screen.width, self.screen.height)
        }
    }

    /// The open views, the active one last.
    pub fn views(&self) -> &[ViewId] {
        &self.views
    }

    /// The network view's own state.
    pub fn network(&self) -> &network::State {
        &self.network
    }

    /// The drawing view's own state.
    pub fn draw(&self) -> &draw::State {
        &self.draw
    }

    /// The train × test view's own state.
    pub fn modes(&self) -> &modes::State {
        &self.modes
    }

    /// The training view's own state.
    pub fn train(&self) -> &train::State {
        &self.train
    }

    /// The active view.
    pub fn view(&self) -> ViewId {
        self.views.last().copied().unwrap_or(ViewId::Browse)
    }

    /// The go-to prompt's text, while it is open.
    pub fn goto_input(&self) -> Option<&str> {
        self.goto.as_deref()
    }

    /// The second network's prompt's text, while it is open.
    pub fn load_input(&self) -> Option<&str> {
        self.load.as_deref()
    }

    /// Whether the help overlay is shown.
    pub fn help_shown(&self) -> bool {
        self.help.is_some()
    }

    /// How many rows the help is scrolled down.
    pub fn help_offset(&self) -> usize {
        self.help.unwrap_or(0)
    }

    /// Quits, unless a trained network would be lost unwritten: then says so once (for those
    /// weights), and the next quit goes through.
    fn quit(&mut self) {
        if let Some(net) = self.train.unsaved()
            && !self
                .quit_warned
                .as_ref()
                .is_some_and(|w| Arc::ptr_eq(w, &net))
        {
            self.quit_warned = Some(net);
            self.notice = Some(Notice::error(
                "the trained network is not written: q again quits, t then w writes it".into(),
            ));
            return;
        }
        self.should_quit = true;
    }

    /// Whether the help has more rows than the screen shows at once.
    pub fn help_scrolls(&self) -> bool {
        help::last_offset(self.view(), self.screen) > 0
    }

    /// Scrolls the help by `by` rows, no further than its last screenful.
    fn scroll_help(&mut self, by: isize) {
        let last = help::last_offset(self.view(), self.screen);
        if let Some(offset) = &mut self.help {
            *offset = offset.saturating_add_signed(by).min(last);
        }
    }

    /// The status-bar message, if any.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// True once the user asked to leave.
    pub fn should_quit(&self) -> bool {
        self.should_quit
    }

    /// Applies one message; while the network view is shown, also asks for what it lacks
    /// for the image and settings that result (its slow numbers, see `network::measures`).
    pub fn update(&mut self, msg: Msg) -> Cmd {
        let cmd = self.apply(msg);
        self.network.sync(&self.shared);
        match self.view() {
            ViewId::Network => cmd.with_jobs(self.network.wanted(&self.shared)),
            ViewId::Modes => {
                cmd.with_jobs(self.modes.wanted(&mut self.shared).into_iter().collect())
            }
            _ => cmd,
        }
    }

    /// Applies one message to the state.
    fn apply(&mut self, msg: Msg) -> Cmd {
        // A notice lasts until the next thing the user does.
        let had_notice = !matches!(msg, Msg::Worker(_) | Msg::Resized | Msg::Screen(_))
            && self.notice.take().is_some();
        match msg {
            Msg::Nav(nav) => self.notice = self.shared.navigate(nav),
            Msg::Set(setting) => {
                let main = self.shared.change(setting);
                if let Some(notice) = self.shared.take_notice() {
                    self.notice = Some(notice);
                }
                self.draw.refresh(&self.shared);
                return Cmd::either(main, self.shared.evaluate_other());
            }
            Msg::NextOrder => self.shared.next_order(),
            Msg::NextFilter => self.shared.next_filter(),
            Msg::Confusion(msg) => {
                if let Some(filter) = self.confusion.update(msg) {
                    let before = self.shared.filter();
                    self.shared.set_filter(filter);
                    if self.shared.selection().is_empty() {
                        // An empty cell would leave the browse view walking nothing.
                        self.shared.set_filter(before);
                        self.notice = Some(Notice::info(format!("no {}", filter.describe())));
                    } else {
                        self.notice = self.shared.navigate(Nav::First);
                        self.open(ViewId::Gallery);
                    }
                }
            }
            Msg::Gallery(msg) => self.gallery(msg),
            Msg::Compare(net, name, trained_on) => {
                // Said only when it matters: this comes with the explorer's first screen.
                if trained_on.is_some_and(|t| t != self.shared.norm()) {
                    self.notice = Some(comparing_notice(&name, trained_on, self.shared.norm()));
                }
                return self.shared.compare_with(net, name, trained_on).into();
            }
            Msg::Goto(goto) => self.goto(goto),
            Msg::LoadPrompt(edit) => return self.load_prompt(edit),
            Msg::Browse(msg) => self.browse.update(msg),
            Msg::Network(msg) => self.network.update(msg, &self.shared),
            Msg::Modes(msg) => return self.modes.update(msg, &mut self.shared).into(),
            Msg::ToggleHelp => self.help = self.help.xor(Some(0)),
            Msg::ScrollHelp(by) => self.scroll_help(by),
            Msg::PageHelp(pages) => {
                // A page keeps one row of the last in sight.
                let page = help::visible_rows(self.view(), self.screen)
                    .saturating_sub(1)
                    .max(1);
                self.scroll_help(pages.saturating_mul(page as isize));
            }
            Msg::Resized => {}
            Msg::Screen(area) => self.screen = area,
            Msg::Draw(msg) => {
                if let Some(notice) = self.draw.update(msg, &self.shared, self.screen) {
                    self.notice = Some(notice);
                }
            }
            Msg::Train(msg) => return self.train_msg(msg),
            Msg::Back => {
                if had_notice {
                    // Esc waved the notice away; that is all.
                } else if self.view() == ViewId::Train && self.train.running() {
                    let stop = self.train.stop(&mut self.shared);
                    return self.outcome(stop);
                } else if self.views.len() > 1 {
                    self.views.pop();
                } else {
                    self.quit();
                }
            }
            Msg::Open(view) => self.open(view),
            Msg::Quit => self.quit(),
            Msg::Suspend => return Cmd::Suspend,
            Msg::Worker(WorkerMsg::Loaded { generation, result }) => {
                return self.loaded(generation, result);
            }
            Msg::Worker(report) if report.kind() == JobKind::Load => {
                // A load that panicked: said only if it is the one awaited.
                if let WorkerMsg::Failed {
                    generation,
                    message,
                    ..
                } = report
                    && self.loading.take_if(|(g, _)| *g == generation).is_some()
                {
                    self.notice = Some(Notice::error(format!("loading failed: {message}")));
                }
            }
            Msg::Worker(report) if matches!(report.kind(), JobKind::Train | JobKind::Save) => {
                let reported = self.train.on_worker(report);
                return self.reported(reported);
            }
            Msg::Worker(report) => {
                let kind = report.kind();
                let failed = match kind {
                    JobKind::Evaluate | JobKind::Compare | JobKind::Load => {
                        self.shared.on_worker(report)
                    }
                    JobKind::Occlusion | JobKind::BatchTiming | JobKind::OutputTiming => {
                        self.network.on_worker(report)
                    }
                    JobKind::ModeMatrix => self.modes.on_worker(report),
                    JobKind::Fit => {
                        let (job, notice) = self.shared.on_fit(report);
                        if notice.is_some() {
                            self.notice = notice;
                        }
                        self.draw.refresh(&self.shared);
                        return Cmd::either(job, self.shared.evaluate_other());
                    }
                    // Routed to the training view above.
                    JobKind::Train | JobKind::Save => None,
                };
                if let Some(message) = failed {
                    let what = match kind {
                        JobKind::Compare => "the second network's evaluation",
                        _ => kind.name(),
                    };
                    self.notice = Some(Notice::error(format!("{what} failed: {message}")));
                }
            }
        }
        Cmd::None
    }

    /// Opens `view` on top of the others; its own key a second time goes back. A view already
    /// open further down comes back to the top, dropping what was opened after it, so that
    /// Esc always leads back the way the user came.
    fn open(&mut self, view: ViewId) {
        if self.view() == view && self.views.len() > 1 {
            self.views.pop();
        } else if let Some(at) = self.views.iter().position(|&v| v == view) {
            self.views.truncate(at + 1);
        } else {
            self.views.push(view);
        }
        // The gallery shows the list the current image is walked through: it starts on an
        // image of it.
        if self.view() == ViewId::Gallery && self.notice.is_none() {
            self.notice = self.shared.enter_selection();
        }
    }

    /// The training view's messages; `u` swaps the network every view shows.
    fn train_msg(&mut self, msg: train::Msg) -> Cmd {
        if msg == train::Msg::UseTrained {
            return self.use_trained();
        }
        let outcome = self.train.update(msg, &mut self.shared);
        self.outcome(outcome)
    }

    /// Carries out what the training view asked for.
    fn outcome(&mut self, outcome: train::Outcome) -> Cmd {
        match outcome {
            train::Outcome::None => Cmd::None,
            train::Outcome::Notice(notice) => {
                self.notice = Some(notice);
                Cmd::None
            }
            train::Outcome::Submit(job, notice) => {
                if notice.is_some() {
                    self.notice = notice;
                }
                Cmd::Submit(job)
            }
            train::Outcome::Leave => {
                if self.view() == ViewId::Train && self.views.len() > 1 {
                    self.views.pop();
                }
                Cmd::None
            }
        }
    }

    /// `u`: the trained network in every view, or the loaded one again.
    fn use_trained(&mut self) -> Cmd {
        let job = if self.shared.swapped() {
            let job = self.shared.show_loaded();
            self.notice = Some(Notice::info(format!(
                "every view shows the {} again",
                self.shared.net_label()
            )));
            job
        } else if let Some((net, label)) = self.train.trained() {
            self.notice = Some(Notice::info(format!(
                "every view shows the {label} (u: the loaded one)"
            )));
            let trained_on = self.train.run().map(|run| run.config.norm);
            self.shared.show_instead(net, label, trained_on)
        } else {
            self.notice = Some(Notice::info(
                "no trained network yet: t opens the training view, and its first epoch \
                 makes one"
                    .into(),
            ));
            return Cmd::None;
        };
        self.network_changed(job)
    }

    /// What a report of the training view's jobs brings: a notice, and new weights, which
    /// every view shows at once while a trained network is shown.
    fn reported(&mut self, reported: train::Reported) -> Cmd {
        if let Some(notice) = reported.notice {
            self.notice = Some(notice);
        }
        match reported.network {
            Some((net, label)) if self.shared.swapped() => {
                let trained_on = self.train.run().map(|run| run.config.norm);
                let job = self.shared.show_instead(net, label, trained_on);
                self.network_changed(job)
            }
            _ => Cmd::None,
        }
    }

    /// After the network every view shows changed: what the views derived from the old one
    /// is made again, and `job` evaluates the new one.
    fn network_changed(&mut self, job: Option<Job>) -> Cmd {
        self.draw.refresh(&self.shared);
        self.network.network_changed(&self.shared);
        Cmd::from(job)
    }

    /// The gallery's moves by rows and pages, which depend on how many thumbnails the
    /// screen holds, and Enter, which shows the selected image in the browse view.
    fn gallery(&mut self, msg: gallery::Msg) {
        let (width, height) = self.screen();
        let body = Rect::new(0, 0, width, height.saturating_sub(1));
        let grid = gallery::grid(&self.shared, body);
        let nav = |by: isize, unit: usize| {
            let n = by.unsigned_abs().saturating_mul(unit.max(1));
            if by < 0 {
                Nav::Back(n)
            } else {
                Nav::Forward(n)
            }
        };
        match msg {
            gallery::Msg::Rows(by) => self.notice = self.shared.navigate(nav(by, grid.cols)),
            gallery::Msg::Pages(by) => self.notice = self.shared.navigate(nav(by, grid.per_page())),
            gallery::Msg::Open => self.open(ViewId::Browse),
        }
    }

    /// The second network's prompt; Enter returns the job that reads the file.
    fn load_prompt(&mut self, edit: Goto) -> Cmd {
        match edit {
            Goto::Start => self.load = Some(String::new()),
            Goto::Type(c) => {
                if let Some(text) = &mut self.load
                    && !c.is_control()
                    && text.chars().count() < MAX_PATH_CHARS
                {
                    text.push(c);
                }
            }
            Goto::Backspace => {
                if let Some(text) = &mut self.load {
                    text.pop();
                }
            }
            Goto::Confirm => {
                let path = self.load.take().unwrap_or_default();
                // An empty prompt loads nothing.
                if path.trim().is_empty() {
                    return Cmd::None;
                }
                let generation = self.shared.new_generation();
                self.notice = Some(Notice::info(format!("reading {path} …")));
                let job = LoadJob {
                    generation,
                    path: path.clone().into(),
                    inputs: self.shared.data.pixels_per_image(),
                    classes: crate::dataset::NUM_CLASSES,
                };
                self.loading = Some((generation, path));
                return Cmd::Submit(Job::Load(job));
            }
            Goto::Cancel => self.load = None,
        }
        Cmd::None
    }

    /// A second network's file was read: compare with it, or say what is wrong with it.
    fn loaded(
        &mut self,
        generation: u64,
        result: Result<(Arc<Network>, Option<NormMode>), String>,
    ) -> Cmd {
        let Some((_, path)) = self.loading.take_if(|(g, _)| *g == generation) else {
            // A file asked for before the last one: superseded.
            return Cmd::None;
        };
        match result {
            Ok((net, trained_on)) => {
                let name = std::path::Path::new(&path)
                    .file_name()
                    .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
                self.notice = Some(comparing_notice(&name, trained_on, self.shared.norm()));
                self.shared.compare_with(net, name, trained_on).into()
            }
            Err(fault) => {
                self.notice = Some(Notice::error(fault));
                Cmd::None
            }
        }
    }

    fn goto(&mut self, goto: Goto) {
        match goto {
            Goto::Start => self.goto = Some(String::new()),
            Goto::Type(c) => {
                if let Some(text) = &mut self.goto
                    && c.is_ascii_digit()
                    && text.len() < MAX_GOTO_DIGITS
                {
                    text.push(c);
                }
            }
            Goto::Backspace => {
                if let Some(text) = &mut self.goto {
                    text.pop();
                }
            }
            Goto::Confirm => {
                // An empty prompt goes nowhere.
                if let Some(Ok(index)) = self.goto.take().map(|t| t.parse::<usize>()) {
                    self.notice = self.shared.navigate(Nav::To(index));
                }
            }
            Goto::Cancel => self.goto = None,
        }
    }
}

/// A tiny state for unit tests: 2x2 images and a one-layer 4-10 network.
#[cfg(test)]
pub(crate) fn test_state(
    images: Vec<u8>,
    labels: Vec<u8>,
    w: ndarray::Array2<f32>,
    split: Split,
    batch_size: usize,
    seed: u64,
) -> (AppState, Cmd) {
    use crate::layer::OutputLayer;
    let data = Dataset::from_parts(images, labels, 2, 2).unwrap();
    let net = Network::new(vec![crate::layer::Layer {
        w,
        b: ndarray::Array1::zeros(10),
    }])
    .unwrap();
    let key = EvalKey {
        norm: NormMode::Div255,
        batch_size,
        output: OutputLayer::Softmax,
    };
    AppState::new(
        Arc::new(data),
        Arc::new(net),
        split,
        Palette::Plain,
        key,
        seed,
    )
}

/// The notice for a second network taken up for comparison: its name, and the mode its file
/// records when that is not the one both networks are fed (its ≠ in the modes table).
fn comparing_notice(name: &str, trained_on: Option<NormMode>, norm: NormMode) -> Notice {
    Notice::info(match trained_on {
        Some(t) if t != norm => {
            format!("comparing with {name}, trained on {t} but fed {norm} like this one (≠)")
        }
        _ => format!("comparing with {name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Order, Rankings, Verdict};
    use crate::app::evaluations::EvalStatus;
    use crate::app::msg::Setting;
    use crate::app::selection::Filter;
    use crate::app::shared::BATCH_SIZES;
    use crate::app::worker::{EvalJob, Job, LoadJob, Progress, WorkerMsg};
    use crate::eval::Tally;
    use crate::layer::{OutputLayer, argmax};
    use crate::normalize::{NormMode, Norms};
    use ndarray::Array2;
    use std::collections::HashMap;
    use std::time::Duration;

    /// 30 images of 2x2 pixels, labels `i % 10`, and a one-layer network.
    fn state() -> (AppState, Cmd) {
        let n = 30;
        let images: Vec<u8> = (0..n * 4).map(|i| ((i * 53) % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let w = Array2::from_shape_fn((4, 10), |(r, c)| ((r * 5 + c * 3) % 7) as f32 - 3.0);
        test_state(images, labels, w, Split::Test, 10, 7)
    }

    fn job_of(cmd: Cmd) -> EvalJob {
        match cmd {
            Cmd::Submit(Job::Evaluate(job)) => job,
            other => panic!("expected an evaluation to start, got {other:?}"),
        }
    }

    fn nav(s: &mut AppState, nav: Nav) -> Cmd {
        s.update(Msg::Nav(nav))
    }

    fn set(s: &mut AppState, setting: Setting) -> Cmd {
        s.update(Msg::Set(setting))
    }

    /// Made-up figures for image `i`: its loss is `i % 7`, so that rankings have ties to
    /// break.
    fn verdict(i: usize) -> Verdict {
        Verdict {
            confidence: 0.5 + (i % 5) as f32 * 0.1,
            loss: (i % 7) as f32,
            margin: 0.1 * (i % 3) as f32,
        }
    }

    /// A progress message for images `range` with the given predictions.
    fn progress(s: &AppState, generation: u64, start: usize, preds: &[u8]) -> Msg {
        let range = start..start + preds.len();
        let mut batch = Tally::default();
        batch.push(&s.shared.data.labels()[range.clone()], preds);
        let verdicts = range.clone().map(verdict).collect();
        Msg::Worker(WorkerMsg::Progress(Box::new(Progress {
            generation,
            range,
            predictions: preds.to_vec(),
            verdicts,
            batch,
            elapsed: Duration::from_millis(10),
        })))
    }

    fn finish(generation: u64) -> Msg {
        Msg::Worker(WorkerMsg::Finished {
            generation,
            elapsed: Duration::from_millis(30),
        })
    }

    /// Feeds a whole evaluation where image `i` is predicted `preds(i)`.
    fn complete(s: &mut AppState, generation: u64, preds: impl Fn(usize) -> u8) {
        complete_as(s, generation, preds, |m| m);
    }

    /// [`complete`] for a message of the worker's that `wrap` wraps (the second network's),
    /// with the rankings the worker sends before the end.
    fn complete_as(
        s: &mut AppState,
        generation: u64,
        preds: impl Fn(usize) -> u8,
        wrap: fn(WorkerMsg) -> WorkerMsg,
    ) {
        let unwrap = |m: Msg| match m {
            Msg::Worker(m) => Msg::Worker(wrap(m)),
            other => other,
        };
        for start in (0..30).step_by(10) {
            let p: Vec<u8> = (start..start + 10).map(&preds).collect();
            let m = progress(s, generation, start, &p);
            s.update(unwrap(m));
        }
        let all: Vec<u8> = (0..30).map(&preds).collect();
        let verdicts: Vec<Verdict> = (0..30).map(verdict).collect();
        let rankings = Rankings::new(&verdicts, &all, s.shared.data.labels());
        s.update(unwrap(Msg::Worker(WorkerMsg::Ranked {
            generation,
            rankings: Arc::new(rankings),
        })));
        s.update(unwrap(finish(generation)));
    }

    #[test]
    fn starts_by_evaluating_the_initial_settings() {
        let (s, cmd) = state();
        let job = job_of(cmd);
        assert_eq!(job.norm, NormMode::Div255);
        assert_eq!(job.batch_size, 10);
        assert_eq!(job.generation, s.shared.evaluation().generation);
        assert_eq!(s.shared.evaluation().status, EvalStatus::Running);
        assert_eq!(s.view(), ViewId::Browse);
    }

    #[test]
    fn every_relative_move_wraps_and_says_so() {
        let (mut s, _) = state();
        let at = |s: &AppState| s.shared.index();
        let wrapped = |s: &AppState| s.notice().is_some_and(|n| n.text.starts_with("wrapped"));
        nav(&mut s, Nav::Prev);
        assert_eq!(at(&s), 29, "previous from the first wraps");
        assert!(wrapped(&s));
        nav(&mut s, Nav::Next);
        assert_eq!(at(&s), 0);
        assert!(wrapped(&s), "next from the last wraps");
        nav(&mut s, Nav::Next);
        assert!(!wrapped(&s), "an ordinary step says nothing");
        nav(&mut s, Nav::Forward(100));
        assert_eq!(at(&s), 11, "a page wraps like a step: 1 + 100 is 11 of 30");
        assert!(wrapped(&s));
        nav(&mut s, Nav::Back(5));
        assert_eq!((at(&s), wrapped(&s)), (6, false));
        nav(&mut s, Nav::Back(100));
        assert_eq!((at(&s), wrapped(&s)), (26, true));
        nav(&mut s, Nav::Last);
        assert_eq!(at(&s), 29);
        nav(&mut s, Nav::First);
        assert_eq!(at(&s), 0);
        nav(&mut s, Nav::NextWithLabel(3));
        assert_eq!((at(&s), wrapped(&s)), (3, false));
        nav(&mut s, Nav::Last);
        nav(&mut s, Nav::NextWithLabel(3));
        assert_eq!(
            (at(&s), wrapped(&s)),
            (3, true),
            "a search wraps too, and says so"
        );
        for _ in 0..20 {
            nav(&mut s, Nav::Random);
            assert!(at(&s) < 30);
        }
    }

    #[test]
    fn the_image_report_follows_index_and_mode() {
        let (mut s, _) = state();
        let before = s.shared.image().clone();
        nav(&mut s, Nav::Next);
        let image = s.shared.image();
        assert_ne!(*image, before);
        assert_eq!(image.raw, Norms::of_pixels(s.shared.data.image(1)));
        let sum: f32 = image.probs.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
        // Ranking is the same under softmax and identity.
        assert_eq!(
            image.predicted,
            argmax(ndarray::ArrayView1::from(&image.probs))
        );
        set(&mut s, Setting::NextNorm);
        assert_eq!(s.shared.norm(), NormMode::L1);
        assert!((s.shared.image().after.l1 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn goto_takes_digits_and_checks_the_range() {
        let (mut s, _) = state();
        let goto = |s: &mut AppState, g| s.update(Msg::Goto(g));
        goto(&mut s, Goto::Start);
        for c in ['1', 'x', '7'] {
            goto(&mut s, Goto::Type(c));
        }
        assert_eq!(s.goto_input(), Some("17"));
        goto(&mut s, Goto::Confirm);
        assert_eq!((s.shared.index(), s.goto_input()), (17, None));
        goto(&mut s, Goto::Start);
        goto(&mut s, Goto::Type('9'));
        goto(&mut s, Goto::Type('9'));
        goto(&mut s, Goto::Confirm);
        assert_eq!(s.shared.index(), 17);
        assert!(
            s.notice()
                .is_some_and(|n| n.is_error && n.text.contains("0 to 29"))
        );
        goto(&mut s, Goto::Start);
        goto(&mut s, Goto::Type('2'));
        goto(&mut s, Goto::Backspace);
        goto(&mut s, Goto::Type('5'));
        goto(&mut s, Goto::Cancel);
        assert_eq!((s.shared.index(), s.goto_input()), (17, None));
    }

    #[test]
    fn progress_merges_and_finish_caches() {
        let (mut s, cmd) = state();
        let g = job_of(cmd).generation;
        let m = progress(&s, g, 0, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
        s.update(m);
        let eval = s.shared.evaluation();
        assert_eq!((eval.tally.total, eval.tally.correct), (10, 9));
        assert_eq!(eval.predictions[9], Some(0));
        assert_eq!(eval.predictions[10], None);
        assert_eq!(eval.status, EvalStatus::Running);
        for start in [10, 20] {
            let p: Vec<u8> = (start..start + 10).map(|i| (i % 10) as u8).collect();
            let m = progress(&s, g, start, &p);
            s.update(m);
        }
        s.update(finish(g));
        let eval = s.shared.evaluation();
        assert_eq!((eval.tally.total, eval.tally.correct), (30, 29));
        assert_eq!(eval.batches, 3);
        assert_eq!(eval.status, EvalStatus::Finished);
        assert!(s.shared.evaluations().is_finished(&s.shared.key()));
    }

    #[test]
    fn a_whitened_mode_waits_for_its_fit_and_takes_effect_when_it_arrives() {
        // 3x3 images: no other test's fit has that size, so the process-wide fit is ours.
        let n = 40;
        let images: Vec<u8> = (0..n * 9).map(|i| ((i * 37 + i / 9) % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let data = Dataset::from_parts(images, labels, 3, 3).unwrap();
        let w = Array2::from_shape_fn((9, 10), |(r, c)| ((r * 5 + c * 3) % 7) as f32 - 3.0);
        let net = Network::new(vec![crate::layer::Layer {
            w,
            b: ndarray::Array1::zeros(10),
        }])
        .unwrap();
        let key = EvalKey {
            norm: NormMode::Div255,
            batch_size: 10,
            output: OutputLayer::Softmax,
        };
        let (mut s, _) = AppState::new(
            Arc::new(data),
            Arc::new(net),
            Split::Test,
            Palette::Plain,
            key,
            7,
        );
        let dir = std::path::PathBuf::from("somewhere/data");
        s.shared.set_fit_dir(dir.clone());
        job_of(set(&mut s, Setting::PrevNorm));
        assert_eq!(s.shared.norm(), NormMode::Raw);
        // Back from raw is zca: a fit starts, and the mode stays raw meanwhile.
        let Cmd::Submit(Job::Fit(fit_job)) = set(&mut s, Setting::PrevNorm) else {
            panic!("choosing zca without a fit starts one");
        };
        assert_eq!(fit_job.data_dir, dir);
        assert_eq!(s.shared.norm(), NormMode::Raw);
        assert_eq!(s.shared.fitting().wanted(), Some(NormMode::Zca));
        // One more step while it runs: pca is wanted now, and no second fit starts.
        assert!(matches!(set(&mut s, Setting::PrevNorm), Cmd::None));
        assert_eq!(s.shared.fitting().wanted(), Some(NormMode::Pca));
        assert_eq!(s.shared.norm(), NormMode::Raw);
        let fit = Arc::new(crate::whiten::Whitening::fit(&s.shared.data, |_| true).unwrap());
        // A report of another job changes nothing.
        s.update(Msg::Worker(WorkerMsg::Fitted {
            generation: fit_job.generation + 1,
            result: Ok(Arc::clone(&fit)),
        }));
        assert_eq!(s.shared.norm(), NormMode::Raw);
        let cmd = s.update(Msg::Worker(WorkerMsg::Fitted {
            generation: fit_job.generation,
            result: Ok(fit),
        }));
        assert_eq!(s.shared.norm(), NormMode::Pca);
        assert_eq!(job_of(cmd).norm, NormMode::Pca);
        assert!(s.notice.is_some(), "the fit is announced");
        // From now on the whitened modes switch at once.
        job_of(set(&mut s, Setting::NextNorm));
        assert_eq!(s.shared.norm(), NormMode::Zca);
    }

    #[test]
    fn a_stale_generation_is_dropped() {
        let (mut s, cmd) = state();
        let old = job_of(cmd).generation;
        let new = job_of(set(&mut s, Setting::NextNorm)).generation;
        assert_ne!(old, new);
        let stale = progress(&s, old, 0, &[0; 10]);
        s.update(stale);
        s.update(finish(old));
        let eval = s.shared.evaluation();
        assert_eq!(eval.tally, Tally::default(), "an old job's batch was shown");
        assert_eq!(eval.status, EvalStatus::Running);
        for norm in NormMode::ALL {
            assert!(
                s.shared.result_for(norm).is_none(),
                "an old job's result was cached"
            );
        }
        let fresh = progress(&s, new, 0, &[0; 10]);
        s.update(fresh);
        assert_eq!(s.shared.evaluation().tally.total, 10);
        assert_eq!(s.shared.evaluation().key.norm, NormMode::L1);
    }

    #[test]
    fn switching_back_shows_the_cached_result_without_a_job() {
        let (mut s, cmd) = state();
        let g = job_of(cmd).generation;
        complete(&mut s, g, |i| (i % 10) as u8);
        let done = s.shared.evaluation().clone();
        let g2 = job_of(set(&mut s, Setting::NextNorm)).generation;
        assert_eq!(s.shared.evaluation().tally.total, 0);
        assert_eq!(
            s.shared
                .result_for(NormMode::Div255)
                .map(|e| e.tally.accuracy()),
            Some(1.0)
        );
        // Half of the l1 run, then back to div255: cached, no new job, l1 partial discarded.
        let m = progress(&s, g2, 0, &[9; 10]);
        s.update(m);
        assert!(set(&mut s, Setting::PrevNorm).is_none());
        let shown = s.shared.evaluation();
        assert_eq!((shown.key, &shown.tally), (done.key, &done.tally));
        assert_eq!(shown.predictions, done.predictions);
        assert!(s.shared.result_for(NormMode::L1).is_none());
        // Batch size and output are part of the key.
        assert!(!set(&mut s, Setting::NextBatch).is_none());
        assert_eq!(s.shared.batch_size(), 100);
        // The table still shows div255's result, computed at batch 10.
        assert_eq!(
            s.shared
                .result_for(NormMode::Div255)
                .map(|e| e.key.batch_size),
            Some(10)
        );
        assert!(set(&mut s, Setting::PrevBatch).is_none());
        assert!(!set(&mut s, Setting::ToggleOutput).is_none());
        assert_eq!(s.shared.output(), OutputLayer::Identity);
        assert!(BATCH_SIZES.contains(&s.shared.batch_size()));
    }

    #[test]
    fn the_modes_table_names_the_settings_of_the_number_it_shows() {
        // n, then B five times (each pass finishing, with a stale batch of the pass before
        // arriving in between), then N and o: what the user last saw for l1 was batch 10.
        let (mut s, cmd) = state();
        complete(&mut s, job_of(cmd).generation, |i| (i % 10) as u8);
        let mut previous = job_of(set(&mut s, Setting::NextNorm)).generation;
        complete(&mut s, previous, |_| 0);
        let mut accuracy_at = HashMap::new();
        for (k, batch) in [1, 10000, 1000, 100, 10].into_iter().enumerate() {
            let job = match set(&mut s, Setting::PrevBatch) {
                Cmd::Submit(Job::Evaluate(job)) => job,
                _ => {
                    // Batch 10 was computed before: shown from the cache, no job.
                    assert_eq!(batch, 10);
                    continue;
                }
            };
            assert_eq!((job.norm, job.batch_size), (NormMode::L1, batch));
            // A late batch of the replaced pass arrives interleaved with the new one's.
            let stale = progress(&s, previous, 0, &[1; 10]);
            s.update(stale);
            let right = k % 3 + 1;
            complete(&mut s, job.generation, |i| {
                if i < right * 10 { (i % 10) as u8 } else { 9 }
            });
            accuracy_at.insert(batch, s.shared.evaluation().tally.accuracy());
            previous = job.generation;
        }
        assert_eq!(s.shared.batch_size(), 10);
        assert!(
            set(&mut s, Setting::PrevNorm).is_none(),
            "div255 at 10 is cached"
        );
        assert!(!set(&mut s, Setting::ToggleOutput).is_none());
        let shown = s.shared.result_for(NormMode::L1).unwrap();
        // Batch 10 is the current batch size: that result wins, whatever finished last.
        assert_eq!(shown.key.batch_size, 10);
        assert_eq!(shown.key.output, OutputLayer::Softmax);
        assert_eq!(shown.tally.total, 30);
        // Elsewhere the table falls back on the result of that mode seen last, and its
        // key is the settings it was computed with.
        for batch in [1, 10000, 1000, 100] {
            let key = EvalKey {
                norm: NormMode::L1,
                batch_size: batch,
                output: OutputLayer::Softmax,
            };
            let done = s
                .shared
                .evaluations()
                .result_for(key.norm, 7, OutputLayer::Identity);
            assert_eq!(done.map(|e| e.key.batch_size), Some(10), "seen last");
            assert!(s.shared.evaluations().is_finished(&key));
            let exact = s
                .shared
                .evaluations()
                .result_for(NormMode::L1, batch, OutputLayer::Softmax)
                .unwrap();
            assert_eq!(exact.key, key);
            assert_eq!(exact.tally.accuracy(), accuracy_at[&batch], "batch {batch}");
        }
    }

    #[test]
    fn misclassified_navigation_uses_the_worker_predictions() {
        let (mut s, cmd) = state();
        nav(&mut s, Nav::NextWrong);
        assert_eq!(s.shared.index(), 0);
        assert!(
            s.notice()
                .is_some_and(|n| n.text.contains("no predictions yet"))
        );
        let g = job_of(cmd).generation;
        // Wrong on images 4 and 21 only.
        complete(&mut s, g, |i| {
            if i == 4 || i == 21 {
                ((i + 1) % 10) as u8
            } else {
                (i % 10) as u8
            }
        });
        nav(&mut s, Nav::NextWrong);
        assert_eq!(s.shared.index(), 4);
        nav(&mut s, Nav::NextWrong);
        assert_eq!(s.shared.index(), 21);
        nav(&mut s, Nav::NextWrong);
        assert_eq!(s.shared.index(), 4, "wraps around");
        assert!(
            s.notice()
                .is_some_and(|n| n.text.contains("past the last image"))
        );
        nav(&mut s, Nav::PrevWrong);
        assert_eq!(s.shared.index(), 21);
    }

    #[test]
    fn a_worker_failure_is_shown_and_the_app_goes_on() {
        let (mut s, cmd) = state();
        let g = job_of(cmd).generation;
        s.update(Msg::Worker(WorkerMsg::Failed {
            kind: JobKind::Evaluate,
            generation: g,
            message: "boom".into(),
        }));
        assert_eq!(
            s.shared.evaluation().status,
            EvalStatus::Failed("boom".into())
        );
        assert!(
            s.notice()
                .is_some_and(|n| n.is_error && n.text == "evaluation failed: boom")
        );
        nav(&mut s, Nav::Next);
        assert_eq!(s.shared.index(), 1);
        assert!(!set(&mut s, Setting::NextNorm).is_none());
        s.update(Msg::Quit);
        assert!(s.should_quit());
    }

    #[test]
    fn ctrl_z_asks_the_loop_to_suspend() {
        let (mut s, _) = state();
        assert!(matches!(s.update(Msg::Suspend), Cmd::Suspend));
        assert!(!s.should_quit());
    }

    #[test]
    fn esc_in_the_first_view_quits() {
        let (mut s, _) = state();
        s.update(Msg::Back);
        assert!(s.should_quit());
    }

    /// Labels are `i % 10`; wrong on images 3 and 13 (both 3 taken for 4), 20 (0 for 1) and
    /// 27 (7 for 8). Their made-up losses (`i % 7`): 3, 6, 6, 6.
    fn with_errors(i: usize) -> u8 {
        match i {
            3 | 13 | 20 | 27 => ((i + 1) % 10) as u8,
            _ => (i % 10) as u8,
        }
    }

    #[test]
    fn moves_walk_the_filter_in_the_order_and_e_keeps_to_it() {
        let (mut s, cmd) = state();
        complete(&mut s, job_of(cmd).generation, with_errors);
        s.update(Msg::NextFilter);
        assert_eq!(s.shared.filter(), Filter::Wrong);
        let walk = |s: &mut AppState, nav: Nav, n: usize| -> Vec<usize> {
            (0..n)
                .map(|_| {
                    s.update(Msg::Nav(nav));
                    s.shared.index()
                })
                .collect()
        };
        assert_eq!(walk(&mut s, Nav::Next, 5), [3, 13, 20, 27, 3]);
        assert!(s.notice().is_some_and(|n| n.text.contains("wrapped")));
        // Confidence, then loss: highest first, ties (13, 20, 27 at 6) by index.
        s.update(Msg::NextOrder);
        s.update(Msg::NextOrder);
        assert_eq!(s.shared.order(), Order::Loss);
        s.update(Msg::Nav(Nav::First));
        assert_eq!(s.shared.index(), 13);
        assert_eq!(walk(&mut s, Nav::Next, 4), [20, 27, 3, 13]);
        assert_eq!(walk(&mut s, Nav::Prev, 2), [3, 27]);
        // All images by loss: e walks the misclassified ones in that order.
        for _ in 0..3 {
            s.update(Msg::NextFilter);
        }
        assert_eq!(
            s.shared.filter(),
            Filter::All,
            "no second network: no disagree"
        );
        s.update(Msg::Nav(Nav::First));
        assert_eq!(s.shared.index(), 6, "the first image of loss 6");
        assert_eq!(walk(&mut s, Nav::NextWrong, 3), [13, 20, 27]);
        assert_eq!(walk(&mut s, Nav::PrevWrong, 1), [20]);
        // Back to dataset order: as before the filter and the order existed.
        for _ in 0..2 {
            s.update(Msg::NextOrder);
        }
        assert_eq!(s.shared.order(), Order::Index);
        assert_eq!(walk(&mut s, Nav::Next, 2), [21, 22]);
    }

    #[test]
    fn a_running_pass_grows_the_filtered_list() {
        let (mut s, cmd) = state();
        let g = job_of(cmd).generation;
        s.update(Msg::NextFilter);
        nav(&mut s, Nav::Next);
        assert!(
            s.notice()
                .is_some_and(|n| n.text.contains("no misclassified image"))
        );
        let first: Vec<u8> = (0..10).map(with_errors).collect();
        let m = progress(&s, g, 0, &first);
        s.update(m);
        assert_eq!(s.shared.selection().len(), 1);
        nav(&mut s, Nav::Next);
        assert_eq!(s.shared.index(), 3);
        let second: Vec<u8> = (10..20).map(with_errors).collect();
        let m = progress(&s, g, 10, &second);
        s.update(m);
        nav(&mut s, Nav::Next);
        assert_eq!(
            s.shared.index(),
            13,
            "the second batch's error joined the list"
        );
    }

    #[test]
    fn an_empty_cell_says_so_and_leaves_the_browse_view_walking_what_it_walked() {
        let (mut s, cmd) = state();
        complete(&mut s, job_of(cmd).generation, with_errors);
        s.update(Msg::Open(ViewId::Confusion));
        // Row 0, column 9: no 0 of the fixture is taken for a 9.
        s.update(Msg::Confusion(confusion::Msg::Move(0, 9)));
        s.update(Msg::Confusion(confusion::Msg::Open));
        assert_eq!(s.view(), ViewId::Confusion, "no gallery of nothing");
        assert_eq!(s.shared.filter(), Filter::All);
        assert_eq!(
            s.notice().map(|n| n.text.as_str()),
            Some("no image labelled 0 and predicted 9")
        );
        s.update(Msg::Back);
        s.update(Msg::Back);
        let at = s.shared.index();
        nav(&mut s, Nav::Next);
        assert_ne!(s.shared.index(), at, "browsing still moves");
    }

    #[test]
    fn a_cell_opens_its_gallery_enter_browses_it_and_esc_goes_back() {
        let (mut s, cmd) = state();
        complete(&mut s, job_of(cmd).generation, with_errors);
        let before = s.shared.evaluation().clone();
        // No view switch or cursor move starts a job: the finished pass is shown.
        assert!(s.update(Msg::Open(ViewId::Confusion)).is_none());
        assert!(
            s.update(Msg::Confusion(confusion::Msg::Move(3, 4)))
                .is_none()
        );
        assert!(s.update(Msg::Confusion(confusion::Msg::Open)).is_none());
        assert_eq!(
            s.views(),
            [ViewId::Browse, ViewId::Confusion, ViewId::Gallery]
        );
        let cell = Filter::Cell {
            truth: 3,
            predicted: 4,
        };
        assert_eq!(s.shared.filter(), cell);
        assert_eq!(
            s.shared.index(),
            3,
            "the gallery starts on the cell's first image"
        );
        assert!(s.update(Msg::Back).is_none());
        assert_eq!(
            s.view(),
            ViewId::Confusion,
            "Esc goes back where it came from"
        );
        s.update(Msg::Confusion(confusion::Msg::Open));
        s.update(Msg::Nav(Nav::Next));
        assert_eq!(s.shared.index(), 13);
        assert!(s.update(Msg::Gallery(gallery::Msg::Open)).is_none());
        assert_eq!(s.views(), [ViewId::Browse]);
        assert_eq!(s.shared.index(), 13, "Enter shows the selected image");
        // The browse view walks the cell too.
        nav(&mut s, Nav::Next);
        assert_eq!(s.shared.index(), 3);
        assert_eq!(s.shared.evaluation(), &before, "nothing was recomputed");
        // G opens the gallery on the current image.
        s.update(Msg::Open(ViewId::Gallery));
        assert_eq!((s.view(), s.shared.index()), (ViewId::Gallery, 3));
        s.update(Msg::Back);
        assert_eq!(s.views(), [ViewId::Browse]);
    }

    #[test]
    fn the_help_pages_by_what_it_shows_and_stops_at_its_last_screenful() {
        let (mut s, _) = state();
        s.update(Msg::Screen(Rect::new(0, 0, 80, 24)));
        s.update(Msg::ToggleHelp);
        let (visible, last) = (
            help::visible_rows(s.view(), s.screen),
            help::last_offset(s.view(), s.screen),
        );
        assert_eq!(visible, 22, "24 rows less the border");
        assert!(s.help_scrolls() && last > visible, "{last}");
        s.update(Msg::PageHelp(1));
        assert_eq!(
            s.help_offset(),
            visible - 1,
            "a page keeps one row in sight"
        );
        s.update(Msg::ScrollHelp(isize::MAX));
        assert_eq!(s.help_offset(), last);
        // Past the end nothing moves, so one key up is one row up.
        s.update(Msg::PageHelp(5));
        s.update(Msg::ScrollHelp(-1));
        assert_eq!(s.help_offset(), last - 1);
        s.update(Msg::ScrollHelp(isize::MIN));
        assert_eq!(s.help_offset(), 0);
        // On a screen tall enough for every row, it does not scroll.
        s.update(Msg::Screen(Rect::new(0, 0, 80, 200)));
        assert!(!s.help_scrolls());
    }

    #[test]
    fn gallery_rows_and_pages_follow_the_screen() {
        let (mut s, cmd) = state();
        complete(&mut s, job_of(cmd).generation, with_errors);
        s.update(Msg::Open(ViewId::Gallery));
        // 2x2 images: 1x1-cell thumbnails under 11-character captions, 12 cells a tile.
        s.update(Msg::Screen(Rect::new(0, 0, 80, 24)));
        s.update(Msg::Gallery(gallery::Msg::Rows(1)));
        assert_eq!(s.shared.index(), 6, "78 cells hold six tiles a row");
        s.update(Msg::Screen(Rect::new(0, 0, 40, 24)));
        s.update(Msg::Gallery(gallery::Msg::Rows(1)));
        assert_eq!(s.shared.index(), 9, "38 cells hold three");
        s.update(Msg::Gallery(gallery::Msg::Rows(-1)));
        s.update(Msg::Gallery(gallery::Msg::Pages(1)));
        // Ten rows of three: a page is the whole split, and wraps to where it started.
        assert_eq!(s.shared.index(), 6);
        assert!(s.notice().is_some_and(|n| n.text.contains("wrapped")));
    }

    #[test]
    fn a_second_network_is_evaluated_and_cached_apart() {
        let (mut s, cmd) = state();
        let g = job_of(cmd).generation;
        complete(&mut s, g, with_errors);
        let other = Arc::new(s.shared.net.as_ref().clone());
        let Cmd::Submit(Job::Compare(job)) = s.update(Msg::Compare(other, "b.npz".into(), None))
        else {
            panic!("the second network's pass starts")
        };
        assert_eq!(job.norm, NormMode::Div255);
        let compare = |m| WorkerMsg::Compare(Box::new(m));
        // Its own predictions: right everywhere but 5 (and it is not told about ours).
        complete_as(
            &mut s,
            job.generation,
            |i| if i == 5 { 6 } else { (i % 10) as u8 },
            compare,
        );
        let other = s.shared.other().unwrap();
        assert_eq!(other.evals.current().tally.correct, 29);
        assert_eq!(s.shared.evaluation().tally.correct, 26, "ours is untouched");
        for _ in 0..4 {
            s.update(Msg::NextFilter);
        }
        assert_eq!(s.shared.filter(), Filter::Disagree);
        let disagree: Vec<usize> = s.shared.selection().from(0).collect();
        assert_eq!(disagree, [3, 5, 13, 20, 27]);
        // New settings start both passes; coming back starts neither.
        let Cmd::SubmitAll(jobs) = set(&mut s, Setting::NextNorm) else {
            panic!("both networks' passes start")
        };
        let kinds: Vec<JobKind> = jobs.iter().map(Job::kind).collect();
        assert_eq!(kinds, [JobKind::Evaluate, JobKind::Compare]);
        assert!(set(&mut s, Setting::PrevNorm).is_none());
        assert_eq!(s.shared.other().unwrap().evals.current().tally.correct, 29);
        assert_eq!(
            s.shared.selection().len(),
            5,
            "the filter holds across settings"
        );
        // A failure of the second network's pass names it.
        set(&mut s, Setting::NextNorm);
        let failed = s.shared.other().unwrap().evals.current().generation;
        s.update(Msg::Worker(WorkerMsg::Failed {
            kind: JobKind::Compare,
            generation: failed,
            message: "boom".into(),
        }));
        assert!(
            s.notice()
                .is_some_and(|n| n.text == "the second network's evaluation failed: boom")
        );
        assert_eq!(s.shared.evaluation().status, EvalStatus::Running);
    }

    #[test]
    fn w_reads_a_second_network_in_the_background_then_compares_with_it() {
        let (mut s, _) = state();
        let ask_for = |s: &mut AppState, path: &str| -> LoadJob {
            s.update(Msg::LoadPrompt(Goto::Start));
            for c in path.chars().chain(['\u{7}']) {
                s.update(Msg::LoadPrompt(Goto::Type(c)));
            }
            assert_eq!(
                s.load_input(),
                Some(path),
                "a control character is not typed"
            );
            match s.update(Msg::LoadPrompt(Goto::Confirm)) {
                Cmd::Submit(Job::Load(job)) => job,
                other => panic!("{other:?}"),
            }
        };
        let loaded = |generation, result| Msg::Worker(WorkerMsg::Loaded { generation, result });
        let first = ask_for(&mut s, "dir/a.npz");
        assert_eq!((first.inputs, first.classes), (4, 10));
        assert_eq!(first.path, std::path::PathBuf::from("dir/a.npz"));
        assert!(s.load_input().is_none() && s.notice().is_some_and(|n| !n.is_error));
        // Asked again before the first file was read: the first answer no longer counts.
        let second = ask_for(&mut s, "dir/b.npz");
        let net = Arc::new(s.shared.net.as_ref().clone());
        assert!(
            s.update(loaded(first.generation, Ok((Arc::clone(&net), None))))
                .is_none()
        );
        assert!(s.shared.other().is_none());
        s.update(loaded(
            second.generation,
            Err("dir/b.npz: not a valid .npz".into()),
        ));
        assert!(
            s.notice()
                .is_some_and(|n| n.is_error && n.text.contains("b.npz"))
        );
        assert!(s.shared.other().is_none());
        let third = ask_for(&mut s, "dir/c.npz");
        let cmd = s.update(loaded(third.generation, Ok((net, Some(NormMode::L2)))));
        assert!(matches!(cmd, Cmd::Submit(Job::Compare(_))), "{cmd:?}");
        assert_eq!(s.shared.other().map(|o| o.name.as_str()), Some("c.npz"));
        assert_eq!(
            s.shared.other().and_then(|o| o.trained_on),
            Some(NormMode::L2)
        );
        assert!(
            s.notice().is_some_and(|n| n.text
                == "comparing with c.npz, trained on l2 but fed div255 like this one (≠)"),
            "{:?}",
            s.notice()
        );
        // An empty prompt reads nothing.
        s.update(Msg::LoadPrompt(Goto::Start));
        assert!(s.update(Msg::LoadPrompt(Goto::Confirm)).is_none());
    }
}
