//! The explorer's state ([`AppState`]) and [`AppState::update`], the only place it changes.
//!
//! Keys, the mouse and the worker all arrive as [`Msg`]s; `update` applies one and may answer
//! with a [`Cmd`] for the run loop to carry out (start an evaluation). The view reads the
//! state and nothing else, so everything it shows, including the current image's network
//! output and norms, is computed here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::app::worker::{Job, WorkerMsg};
use crate::dataset::{Dataset, Split};
use crate::eval::{Tally, normalized_batch};
use crate::layer::{OutputLayer, argmax};
use crate::network::Network;
use crate::normalize::{NormMode, Norms};

/// The batch sizes `b`/`B` cycle through.
pub const BATCH_SIZES: [usize; 5] = [1, 10, 100, 1000, 10000];
/// How far PgUp/PgDn move.
pub const PAGE: usize = 100;
/// Longest index that `g` accepts, in digits (enough for any split here).
const MAX_GOTO_DIGITS: usize = 9;

/// How the digit is painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// 24-bit gray levels (`COLORTERM=truecolor`).
    TrueColor,
    /// The 256-color palette's gray ramp.
    Gray256,
    /// No colors (`NO_COLOR`, `TERM=dumb`): shade characters ` ░▒▓█`.
    Plain,
}

impl Palette {
    /// The palette the environment asks for: `NO_COLOR` (non-empty) or `TERM=dumb` turn
    /// colors off; `COLORTERM=truecolor|24bit` allows 24-bit colors; otherwise 256 colors.
    pub fn from_env(no_color: Option<&str>, term: Option<&str>, colorterm: Option<&str>) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) || term.is_none_or(|t| t == "dumb") {
            Palette::Plain
        } else if colorterm.is_some_and(|c| c == "truecolor" || c == "24bit") {
            Palette::TrueColor
        } else {
            Palette::Gray256
        }
    }
}

/// Everything that can happen to the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Next image.
    Next,
    /// Previous image.
    Prev,
    /// Move forward by this many images (stops at the last).
    Forward(usize),
    /// Move back by this many images (stops at the first).
    Back(usize),
    /// First image.
    First,
    /// Last image.
    Last,
    /// A random image.
    Random,
    /// Next normalization mode.
    NextNorm,
    /// Previous normalization mode.
    PrevNorm,
    /// Next batch size.
    NextBatch,
    /// Previous batch size.
    PrevBatch,
    /// Switch the output layer between softmax and identity.
    ToggleOutput,
    /// Next image the evaluation got wrong.
    NextWrong,
    /// Previous image the evaluation got wrong.
    PrevWrong,
    /// Next image with this true label.
    NextWithLabel(u8),
    /// Open or close the help overlay.
    ToggleHelp,
    /// Start typing an index to go to.
    GotoStart,
    /// A character typed into the go-to prompt.
    GotoType(char),
    /// Delete the last typed character.
    GotoBackspace,
    /// Go to the typed index.
    GotoConfirm,
    /// Leave the prompt without moving.
    GotoCancel,
    /// Close the notice line (every other key closes it too, besides its own action).
    Dismiss,
    /// Leave the app.
    Quit,
    /// The terminal changed size: nothing to update, but the screen must be drawn again.
    Resized,
    /// A report from the evaluation worker.
    Worker(WorkerMsg),
}

/// What the run loop must do after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// Nothing.
    None,
    /// Start this evaluation (it replaces any running one).
    Evaluate(Job),
}

/// What an evaluation is computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalKey {
    /// Input normalization.
    pub norm: NormMode,
    /// Images per forward pass.
    pub batch_size: usize,
    /// Output layer.
    pub output: OutputLayer,
}

// By hand because `OutputLayer` (an engine type) does not derive `Hash`; consistent with the
// derived `Eq`, which compares the same three fields.
impl std::hash::Hash for EvalKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.norm.hash(state);
        self.batch_size.hash(state);
        (self.output as u8).hash(state);
    }
}

/// Where an evaluation is.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalStatus {
    /// Batches are still coming.
    Running,
    /// Every image is counted.
    Finished,
    /// The worker failed with this message.
    Failed(String),
}

/// One evaluation of the whole split, running or done.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Its settings.
    pub key: EvalKey,
    /// The worker job's generation; messages of any other generation are dropped.
    pub generation: u64,
    /// Counts so far (merged batch by batch).
    pub tally: Tally,
    /// The predicted class of every image evaluated so far, by dataset index.
    pub predictions: Vec<Option<u8>>,
    /// Batches received.
    pub batches: usize,
    /// Worker time from the job's start to its latest batch.
    pub elapsed: Duration,
    /// Running, finished or failed.
    pub status: EvalStatus,
    /// Order in which finished evaluations were completed (for the modes table).
    pub finished_seq: u64,
}

impl Evaluation {
    fn new(key: EvalKey, generation: u64, images: usize) -> Self {
        Self {
            key,
            generation,
            tally: Tally::default(),
            predictions: vec![None; images],
            batches: 0,
            elapsed: Duration::ZERO,
            status: EvalStatus::Running,
            finished_seq: 0,
        }
    }

    /// Images per second of worker time, once there is any.
    pub fn images_per_second(&self) -> Option<f64> {
        let secs = self.elapsed.as_secs_f64();
        (self.tally.total > 0 && secs > 0.0).then(|| self.tally.total as f64 / secs)
    }
}

/// The current image through the network, and its norms; recomputed when the image or the
/// normalization changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageView {
    /// Raw scores (identity output layer).
    pub scores: Vec<f32>,
    /// Softmax output layer.
    pub probs: Vec<f32>,
    /// argmax of the output (the same for both layers).
    pub predicted: usize,
    /// Norms of the raw pixels.
    pub raw: Norms,
    /// Norms after the current normalization.
    pub after: Norms,
    /// Mean and standard deviation (population) of the raw pixels.
    pub raw_mean_std: (f64, f64),
    /// Mean and standard deviation of the normalized input.
    pub after_mean_std: (f64, f64),
}

/// A one-line message in the status bar until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// Shown as an error.
    pub is_error: bool,
}

/// The whole state of the explorer.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) data: Arc<Dataset>,
    pub(crate) net: Arc<Network>,
    pub(crate) split: Split,
    pub(crate) palette: Palette,
    pub(crate) index: usize,
    pub(crate) norm: NormMode,
    pub(crate) batch_size: usize,
    pub(crate) output: OutputLayer,
    pub(crate) view: ImageView,
    pub(crate) eval: Evaluation,
    /// Finished evaluations, so that switching back shows them at once.
    pub(crate) results: HashMap<EvalKey, Evaluation>,
    pub(crate) help: bool,
    pub(crate) goto: Option<String>,
    pub(crate) notice: Option<Notice>,
    pub(crate) should_quit: bool,
    next_generation: u64,
    finished_count: u64,
    rng: u64,
}

impl AppState {
    /// The state at start: image 0 with the given settings, and the command that starts
    /// their evaluation. `seed` drives `r` (random image).
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
        let view = compute_view(&data, &net, 0, key.norm);
        let images = data.len();
        let mut state = Self {
            data,
            net,
            split,
            palette,
            index: 0,
            norm: key.norm,
            batch_size: key.batch_size.max(1),
            output: key.output,
            view,
            eval: Evaluation::new(key, 0, images),
            results: HashMap::new(),
            help: false,
            goto: None,
            notice: None,
            should_quit: false,
            next_generation: 1,
            finished_count: 0,
            rng: seed,
        };
        let cmd = state.start_evaluation();
        (state, cmd)
    }

    /// Index of the image shown.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The current normalization mode.
    pub fn norm(&self) -> NormMode {
        self.norm
    }

    /// The current batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The current output layer.
    pub fn output(&self) -> OutputLayer {
        self.output
    }

    /// The evaluation for the current settings.
    pub fn evaluation(&self) -> &Evaluation {
        &self.eval
    }

    /// The current image's network output and norms.
    pub fn image_view(&self) -> &ImageView {
        &self.view
    }

    /// The go-to prompt's text, while it is open.
    pub fn goto_input(&self) -> Option<&str> {
        self.goto.as_deref()
    }

    /// Whether the help overlay is shown.
    pub fn help_shown(&self) -> bool {
        self.help
    }

    /// The status-bar message, if any.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// True once the user asked to leave.
    pub fn should_quit(&self) -> bool {
        self.should_quit
    }

    /// Whether an evaluation is still coming in.
    pub fn evaluating(&self) -> bool {
        self.eval.status == EvalStatus::Running
    }

    /// The finished evaluation of `norm` to show in the modes table: the one with the
    /// current batch size and output layer if computed, otherwise the latest one computed.
    pub fn result_for(&self, norm: NormMode) -> Option<&Evaluation> {
        let exact = EvalKey {
            norm,
            batch_size: self.batch_size,
            output: self.output,
        };
        self.results.get(&exact).or_else(|| {
            self.results
                .values()
                .filter(|e| e.key.norm == norm)
                .max_by_key(|e| e.finished_seq)
        })
    }

    fn key(&self) -> EvalKey {
        EvalKey {
            norm: self.norm,
            batch_size: self.batch_size,
            output: self.output,
        }
    }

    /// Applies one message.
    pub fn update(&mut self, msg: Msg) -> Cmd {
        if !matches!(msg, Msg::Worker(_) | Msg::Resized) {
            self.notice = None;
        }
        let len = self.data.len();
        let last = len.saturating_sub(1);
        match msg {
            Msg::Next => self.go_to((self.index + 1) % len.max(1)),
            Msg::Prev => self.go_to((self.index + len.max(1) - 1) % len.max(1)),
            Msg::Forward(n) => self.go_to(self.index.saturating_add(n).min(last)),
            Msg::Back(n) => self.go_to(self.index.saturating_sub(n)),
            Msg::First => self.go_to(0),
            Msg::Last => self.go_to(last),
            Msg::Random => {
                let i = (splitmix64(&mut self.rng) % len.max(1) as u64) as usize;
                self.go_to(i);
            }
            Msg::NextNorm | Msg::PrevNorm => {
                self.norm = if msg == Msg::NextNorm {
                    self.norm.next()
                } else {
                    self.norm.prev()
                };
                self.view = compute_view(&self.data, &self.net, self.index, self.norm);
                return self.start_evaluation();
            }
            Msg::NextBatch | Msg::PrevBatch => {
                self.batch_size = if msg == Msg::NextBatch {
                    next_batch_size(self.batch_size)
                } else {
                    prev_batch_size(self.batch_size)
                };
                return self.start_evaluation();
            }
            Msg::ToggleOutput => {
                self.output = self.output.toggled();
                return self.start_evaluation();
            }
            Msg::NextWrong => self.find_wrong(true),
            Msg::PrevWrong => self.find_wrong(false),
            Msg::NextWithLabel(label) => self.find_label(label),
            Msg::ToggleHelp => self.help = !self.help,
            Msg::GotoStart => self.goto = Some(String::new()),
            Msg::GotoType(c) => {
                if let Some(text) = &mut self.goto
                    && c.is_ascii_digit()
                    && text.len() < MAX_GOTO_DIGITS
                {
                    text.push(c);
                }
            }
            Msg::GotoBackspace => {
                if let Some(text) = &mut self.goto {
                    text.pop();
                }
            }
            Msg::GotoConfirm => {
                if let Some(text) = self.goto.take() {
                    match text.parse::<usize>() {
                        Ok(i) if i < len => self.go_to(i),
                        Ok(i) => self.error(format!("no image {i}: indices run 0 to {last}")),
                        Err(_) => {}
                    }
                }
            }
            Msg::GotoCancel => self.goto = None,
            Msg::Quit => self.should_quit = true,
            Msg::Resized | Msg::Dismiss => {}
            Msg::Worker(report) => self.on_worker(report),
        }
        Cmd::None
    }

    fn go_to(&mut self, index: usize) {
        if index != self.index && index < self.data.len() {
            self.index = index;
            self.view = compute_view(&self.data, &self.net, index, self.norm);
        }
    }

    fn error(&mut self, text: String) {
        self.notice = Some(Notice {
            text,
            is_error: true,
        });
    }

    fn info(&mut self, text: String) {
        self.notice = Some(Notice {
            text,
            is_error: false,
        });
    }

    /// Shows the cached evaluation of the current settings, or starts one.
    fn start_evaluation(&mut self) -> Cmd {
        let key = self.key();
        if let Some(done) = self.results.get(&key) {
            self.eval = done.clone();
            return Cmd::None;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.eval = Evaluation::new(key, generation, self.data.len());
        Cmd::Evaluate(Job {
            generation,
            norm: key.norm,
            batch_size: key.batch_size,
            output: key.output,
        })
    }

    fn on_worker(&mut self, report: WorkerMsg) {
        // Only the job of the settings shown may change what is shown.
        if report.generation() != self.eval.generation || self.eval.status != EvalStatus::Running {
            return;
        }
        match report {
            WorkerMsg::Progress(p) => {
                self.eval.tally.merge(&p.batch);
                if let Some(slots) = self.eval.predictions.get_mut(p.range.clone()) {
                    for (slot, &pred) in slots.iter_mut().zip(&p.predictions) {
                        *slot = Some(pred);
                    }
                }
                self.eval.batches += 1;
                self.eval.elapsed = p.elapsed;
            }
            WorkerMsg::Finished { elapsed, .. } => {
                self.eval.elapsed = elapsed;
                self.eval.status = EvalStatus::Finished;
                self.finished_count += 1;
                self.eval.finished_seq = self.finished_count;
                self.results.insert(self.eval.key, self.eval.clone());
            }
            WorkerMsg::Failed { message, .. } => {
                self.error(format!("evaluation failed: {message}"));
                self.eval.status = EvalStatus::Failed(message);
            }
        }
    }

    /// Moves to the next (or previous) image, wrapping around, that satisfies `pred`.
    fn search(&self, forward: bool, pred: impl Fn(usize) -> bool) -> Option<usize> {
        let len = self.data.len();
        (1..len)
            .map(|step| {
                if forward {
                    (self.index + step) % len
                } else {
                    (self.index + len - step) % len
                }
            })
            .find(|&i| pred(i))
    }

    fn find_wrong(&mut self, forward: bool) {
        let preds = &self.eval.predictions;
        let labels = self.data.labels();
        let wrong = |i: usize| preds[i].is_some_and(|p| p != labels[i]);
        match self.search(forward, wrong) {
            Some(i) => self.go_to(i),
            None => {
                let counted = self.eval.tally.total;
                let wrong_here = wrong(self.index);
                let text = if counted == 0 {
                    "no predictions yet: the evaluation has not reported".to_string()
                } else if wrong_here {
                    format!("this is the only misclassified image among {counted} evaluated")
                } else {
                    format!("no misclassified image among {counted} evaluated")
                };
                self.info(text);
            }
        }
    }

    fn find_label(&mut self, label: u8) {
        let labels = self.data.labels();
        match self.search(true, |i| labels[i] == label) {
            Some(i) => self.go_to(i),
            None => self.info(format!("no other image labelled {label}")),
        }
    }
}

/// The next batch size of [`BATCH_SIZES`] (wrapping), from any current size.
fn next_batch_size(current: usize) -> usize {
    BATCH_SIZES
        .iter()
        .copied()
        .find(|&b| b > current)
        .unwrap_or(BATCH_SIZES[0])
}

/// The previous batch size of [`BATCH_SIZES`] (wrapping), from any current size.
fn prev_batch_size(current: usize) -> usize {
    BATCH_SIZES
        .iter()
        .rev()
        .copied()
        .find(|&b| b < current)
        .unwrap_or(BATCH_SIZES[BATCH_SIZES.len() - 1])
}

/// Runs image `index` through the network under both output layers and measures its norms.
fn compute_view(data: &Dataset, net: &Network, index: usize, norm: NormMode) -> ImageView {
    let pixels = data.image(index);
    let batch = normalized_batch(data, index..index + 1, norm);
    let scores = net.forward(batch.view(), OutputLayer::Identity);
    let probs = net.forward(batch.view(), OutputLayer::Softmax);
    let input = batch.as_slice().unwrap_or(&[]);
    ImageView {
        predicted: argmax(scores.row(0)),
        scores: scores.row(0).to_vec(),
        probs: probs.row(0).to_vec(),
        raw: Norms::of_pixels(pixels),
        after: Norms::of_values(input),
        raw_mean_std: mean_std(pixels.iter().map(|&p| f64::from(p))),
        after_mean_std: mean_std(input.iter().map(|&v| f64::from(v))),
    }
}

/// Mean and population standard deviation, (0, 0) for no values.
fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (n, sum) = values
        .clone()
        .fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = sum / n as f64;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    (mean, var.sqrt())
}

/// SplitMix64: a tiny, good-enough generator for picking a random image.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
    use crate::app::worker::Progress;
    use ndarray::Array2;

    /// 30 images of 2x2 pixels, labels `i % 10`, and a one-layer network.
    fn state() -> (AppState, Cmd) {
        let n = 30;
        let images: Vec<u8> = (0..n * 4).map(|i| ((i * 53) % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let w = Array2::from_shape_fn((4, 10), |(r, c)| ((r * 5 + c * 3) % 7) as f32 - 3.0);
        test_state(images, labels, w, Split::Test, 10, 7)
    }

    fn job_of(cmd: Cmd) -> Job {
        match cmd {
            Cmd::Evaluate(job) => job,
            Cmd::None => panic!("expected an evaluation to start"),
        }
    }

    /// A progress message for images `range` with the given predictions.
    fn progress(s: &AppState, generation: u64, start: usize, preds: &[u8]) -> Msg {
        let range = start..start + preds.len();
        let mut batch = Tally::default();
        batch.push(&s.data.labels()[range.clone()], preds);
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
        assert_eq!(job.generation, s.eval.generation);
        assert!(s.evaluating());
    }

    #[test]
    fn navigation_keys_move_and_wrap_or_stop() {
        let (mut s, _) = state();
        s.update(Msg::Prev);
        assert_eq!(s.index(), 29, "previous from the first wraps");
        s.update(Msg::Next);
        assert_eq!(s.index(), 0);
        s.update(Msg::Forward(PAGE));
        assert_eq!(s.index(), 29, "a page stops at the last image");
        s.update(Msg::Back(5));
        assert_eq!(s.index(), 24);
        s.update(Msg::Back(PAGE));
        assert_eq!(s.index(), 0);
        s.update(Msg::Last);
        assert_eq!(s.index(), 29);
        s.update(Msg::First);
        assert_eq!(s.index(), 0);
        s.update(Msg::NextWithLabel(3));
        assert_eq!(s.index(), 3);
        s.update(Msg::NextWithLabel(3));
        assert_eq!(s.index(), 13);
        for _ in 0..20 {
            s.update(Msg::Random);
            assert!(s.index() < 30);
        }
    }

    #[test]
    fn the_image_view_follows_index_and_mode() {
        let (mut s, _) = state();
        let before = s.view.clone();
        s.update(Msg::Next);
        assert_ne!(s.view, before);
        assert_eq!(s.view.raw, Norms::of_pixels(s.data.image(1)));
        let sum: f32 = s.view.probs.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
        // Ranking is the same under softmax and identity.
        assert_eq!(
            s.view.predicted,
            argmax(ndarray::ArrayView1::from(&s.view.probs))
        );
        s.update(Msg::NextNorm);
        assert_eq!(s.norm(), NormMode::L1);
        assert!((s.view.after.l1 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn goto_takes_digits_and_checks_the_range() {
        let (mut s, _) = state();
        s.update(Msg::GotoStart);
        for c in ['1', 'x', '7'] {
            s.update(Msg::GotoType(c));
        }
        assert_eq!(s.goto_input(), Some("17"));
        s.update(Msg::GotoConfirm);
        assert_eq!((s.index(), s.goto_input()), (17, None));
        s.update(Msg::GotoStart);
        s.update(Msg::GotoType('9'));
        s.update(Msg::GotoType('9'));
        s.update(Msg::GotoConfirm);
        assert_eq!(s.index(), 17);
        assert!(
            s.notice()
                .is_some_and(|n| n.is_error && n.text.contains("0 to 29"))
        );
        s.update(Msg::GotoStart);
        s.update(Msg::GotoType('2'));
        s.update(Msg::GotoBackspace);
        s.update(Msg::GotoType('5'));
        s.update(Msg::GotoCancel);
        assert_eq!((s.index(), s.goto_input()), (17, None));
    }

    #[test]
    fn progress_merges_and_finish_caches() {
        let (mut s, cmd) = state();
        let g = job_of(cmd).generation;
        let m = progress(&s, g, 0, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
        s.update(m);
        assert_eq!((s.eval.tally.total, s.eval.tally.correct), (10, 9));
        assert_eq!(s.eval.predictions[9], Some(0));
        assert_eq!(s.eval.predictions[10], None);
        assert_eq!(s.eval.status, EvalStatus::Running);
        for start in [10, 20] {
            let p: Vec<u8> = (start..start + 10).map(|i| (i % 10) as u8).collect();
            let m = progress(&s, g, start, &p);
            s.update(m);
        }
        s.update(finish(g));
        assert_eq!((s.eval.tally.total, s.eval.tally.correct), (30, 29));
        assert_eq!(s.eval.batches, 3);
        assert_eq!(s.eval.status, EvalStatus::Finished);
        assert!(s.results.contains_key(&s.key()));
    }

    #[test]
    fn a_stale_generation_is_dropped() {
        let (mut s, cmd) = state();
        let old = job_of(cmd).generation;
        let new = job_of(s.update(Msg::NextNorm)).generation;
        assert_ne!(old, new);
        let stale = progress(&s, old, 0, &[0; 10]);
        s.update(stale);
        s.update(finish(old));
        assert_eq!(
            s.eval.tally,
            Tally::default(),
            "an old job's batch was shown"
        );
        assert_eq!(s.eval.status, EvalStatus::Running);
        assert!(s.results.is_empty(), "an old job's result was cached");
        let fresh = progress(&s, new, 0, &[0; 10]);
        s.update(fresh);
        assert_eq!(s.eval.tally.total, 10);
        assert_eq!(s.eval.key.norm, NormMode::L1);
    }

    #[test]
    fn switching_back_shows_the_cached_result_without_a_job() {
        let (mut s, cmd) = state();
        let g = job_of(cmd).generation;
        complete(&mut s, g, |i| (i % 10) as u8);
        let done = s.eval.clone();
        let g2 = job_of(s.update(Msg::NextNorm)).generation;
        assert_eq!(s.eval.tally.total, 0);
        assert_eq!(
            s.result_for(NormMode::Div255).map(|e| e.tally.accuracy()),
            Some(1.0)
        );
        // Half of the l1 run, then back to div255: cached, no new job, l1 partial discarded.
        let m = progress(&s, g2, 0, &[9; 10]);
        s.update(m);
        assert_eq!(s.update(Msg::PrevNorm), Cmd::None);
        assert_eq!(s.eval, done);
        assert!(s.result_for(NormMode::L1).is_none());
        // Batch size and output are part of the key.
        assert!(matches!(s.update(Msg::NextBatch), Cmd::Evaluate(_)));
        assert_eq!(s.batch_size(), 100);
        // The table still shows div255's result, computed at batch 10.
        assert_eq!(
            s.result_for(NormMode::Div255).map(|e| e.key.batch_size),
            Some(10)
        );
        assert!(matches!(s.update(Msg::PrevBatch), Cmd::None));
        assert!(matches!(s.update(Msg::ToggleOutput), Cmd::Evaluate(_)));
        assert_eq!(s.output(), OutputLayer::Identity);
    }

    #[test]
    fn batch_sizes_cycle_both_ways() {
        assert_eq!(next_batch_size(10000), 1);
        assert_eq!(prev_batch_size(1), 10000);
        assert_eq!(next_batch_size(100), 1000);
        assert_eq!(prev_batch_size(100), 10);
        assert_eq!(next_batch_size(32), 100, "an off-list size joins the cycle");
    }

    #[test]
    fn misclassified_navigation_uses_the_worker_predictions() {
        let (mut s, cmd) = state();
        s.update(Msg::NextWrong);
        assert_eq!(s.index(), 0);
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
        s.update(Msg::NextWrong);
        assert_eq!(s.index(), 4);
        s.update(Msg::NextWrong);
        assert_eq!(s.index(), 21);
        s.update(Msg::NextWrong);
        assert_eq!(s.index(), 4, "wraps around");
        s.update(Msg::PrevWrong);
        assert_eq!(s.index(), 21);
    }

    #[test]
    fn a_worker_failure_is_shown_and_the_app_goes_on() {
        let (mut s, cmd) = state();
        let g = job_of(cmd).generation;
        s.update(Msg::Worker(WorkerMsg::Failed {
            generation: g,
            message: "boom".into(),
        }));
        assert_eq!(s.eval.status, EvalStatus::Failed("boom".into()));
        assert!(s.notice().is_some_and(|n| n.is_error));
        s.update(Msg::Next);
        assert_eq!(s.index(), 1);
        assert!(matches!(s.update(Msg::NextNorm), Cmd::Evaluate(_)));
        s.update(Msg::Quit);
        assert!(s.should_quit());
    }

    #[test]
    fn palette_follows_the_environment() {
        let p = Palette::from_env;
        assert_eq!(
            p(Some("1"), Some("xterm"), Some("truecolor")),
            Palette::Plain
        );
        assert_eq!(
            p(Some(""), Some("xterm"), Some("truecolor")),
            Palette::TrueColor
        );
        assert_eq!(p(None, Some("dumb"), None), Palette::Plain);
        assert_eq!(p(None, Some("xterm-256color"), None), Palette::Gray256);
    }
}
