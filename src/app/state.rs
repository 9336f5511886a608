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
use crate::app::shared::{Notice, Palette, Shared};
use crate::app::views::{ViewId, browse, draw};
use crate::app::worker::JobKind;
use crate::dataset::{Dataset, Split};
use crate::network::Network;

/// Longest index that `g` accepts, in digits (enough for any split here).
const MAX_GOTO_DIGITS: usize = 9;

/// The whole state of the explorer.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: Shared,
    /// Open views, the active one last; never empty.
    views: Vec<ViewId>,
    browse: browse::State,
    draw: draw::State,
    /// The last frame drawn, for placing mouse events on the panels.
    screen: Rect,
    /// The help overlay, when open, and how far it is scrolled.
    help: Option<usize>,
    goto: Option<String>,
    notice: Option<Notice>,
    should_quit: bool,
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
            draw: draw::State::default(),
            screen: Rect::default(),
            help: None,
            goto: None,
            notice: None,
            should_quit: false,
        };
        (state, job.into())
    }

    /// What every view shares.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The browse view's own state.
    pub fn browse(&self) -> &browse::State {
        &self.browse
    }

    /// The drawing view's own state.
    pub fn draw(&self) -> &draw::State {
        &self.draw
    }

    /// The active view.
    pub fn view(&self) -> ViewId {
        self.views.last().copied().unwrap_or(ViewId::Browse)
    }

    /// The go-to prompt's text, while it is open.
    pub fn goto_input(&self) -> Option<&str> {
        self.goto.as_deref()
    }

    /// Whether the help overlay is shown.
    pub fn help_shown(&self) -> bool {
        self.help.is_some()
    }

    /// How many rows the help is scrolled down.
    pub fn help_offset(&self) -> usize {
        self.help.unwrap_or(0)
    }

    /// The status-bar message, if any.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// True once the user asked to leave.
    pub fn should_quit(&self) -> bool {
        self.should_quit
    }

    /// Applies one message.
    pub fn update(&mut self, msg: Msg) -> Cmd {
        // A notice lasts until the next thing the user does.
        let had_notice = !matches!(msg, Msg::Worker(_) | Msg::Resized | Msg::Screen(_))
            && self.notice.take().is_some();
        match msg {
            Msg::Nav(nav) => self.notice = self.shared.navigate(nav),
            Msg::Set(setting) => {
                let cmd = self.shared.change(setting).into();
                self.draw.refresh(&self.shared);
                return cmd;
            }
            Msg::Goto(goto) => self.goto(goto),
            Msg::Browse(msg) => self.browse.update(msg),
            Msg::ToggleHelp => self.help = self.help.xor(Some(0)),
            Msg::ScrollHelp(by) => {
                let last = help::rows(self.view()).len().saturating_sub(1);
                if let Some(offset) = &mut self.help {
                    *offset = offset.saturating_add_signed(by).min(last);
                }
            }
            Msg::Resized => {}
            Msg::Screen(area) => self.screen = area,
            Msg::Draw(msg) => {
                if let Some(notice) = self.draw.update(msg, &self.shared, self.screen) {
                    self.notice = Some(notice);
                }
            }
            Msg::Back => {
                if had_notice {
                    // Esc waved the notice away; that is all.
                } else if self.views.len() > 1 {
                    self.views.pop();
                } else {
                    self.should_quit = true;
                }
            }
            Msg::Open(view) => self.open(view),
            Msg::Quit => self.should_quit = true,
            Msg::Suspend => return Cmd::Suspend,
            Msg::Worker(report) => {
                let kind = report.kind();
                if let Some(message) = self.shared.on_worker(report) {
                    let what = match kind {
                        JobKind::Evaluate => "evaluation",
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
    use crate::normalize::NormMode;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::evaluations::EvalStatus;
    use crate::app::msg::Setting;
    use crate::app::shared::BATCH_SIZES;
    use crate::app::worker::{EvalJob, Job, Progress, WorkerMsg};
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

    /// A progress message for images `range` with the given predictions.
    fn progress(s: &AppState, generation: u64, start: usize, preds: &[u8]) -> Msg {
        let range = start..start + preds.len();
        let mut batch = Tally::default();
        batch.push(&s.shared.data.labels()[range.clone()], preds);
        Msg::Worker(WorkerMsg::Progress(Box::new(Progress {
            generation,
            range,
            predictions: preds.to_vec(),
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
        for start in (0..30).step_by(10) {
            let p: Vec<u8> = (start..start + 10).map(&preds).collect();
            let m = progress(s, generation, start, &p);
            s.update(m);
        }
        s.update(finish(generation));
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
}
