//! What every view of the explorer shares: the split and the network (and a second one to
//! compare with, and the loaded one set aside while a trained one is shown), the current
//! image and what the networks make of it, the settings
//! (normalization, batch size, output layer), the whole-split evaluations, and the order and
//! filter that moves walk through. Views read it; it changes only through its methods
//! ([`Shared::navigate`], [`Shared::change`], …), called from the one update step.

use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::Order;
use crate::app::evaluations::{EvalKey, Evaluation, Evaluations};
use crate::app::fitting::{Arrived, Fitting, Want};
use crate::app::msg::{Nav, Setting};
use crate::app::selection::{Filter, Selection, Sources};
use crate::app::worker::{Job, JobKind, WorkerMsg};
use crate::dataset::{Dataset, Split};
use crate::inspect::{ImageReport, inspect};
use crate::layer::OutputLayer;
use crate::network::Network;
use crate::normalize::NormMode;
use crate::rng::SplitMix64;
use crate::softmax::Steps;

/// The batch sizes `b`/`B` cycle through.
pub const BATCH_SIZES: [usize; 5] = [1, 10, 100, 1000, 10000];

/// The factors the network view multiplies the scores by (`x`) to show the naive softmax
/// overflow while the stable one holds.
pub const LOGIT_SCALES: [f32; 4] = [1.0, 10.0, 100.0, 1000.0];

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

/// A one-line message in the status bar until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// Shown as an error.
    pub is_error: bool,
}

impl Notice {
    /// Something went wrong.
    pub fn error(text: String) -> Self {
        Self {
            text,
            is_error: true,
        }
    }

    /// Something worth knowing.
    pub fn info(text: String) -> Self {
        Self {
            text,
            is_error: false,
        }
    }
}

/// A second network, held against the first (`--compare`). Views see it through
/// [`Shared::other`], read-only; only `Shared` changes it.
#[derive(Debug, Clone)]
pub struct Other {
    /// The network.
    pub net: Arc<Network>,
    /// What to call it: its file's name.
    pub name: String,
    /// The current image through this network.
    pub image: ImageReport,
    /// Its evaluations: `evals.current()` for the current settings, and the finished ones.
    pub evals: Evaluations,
    /// The mode its file records it was trained with, if any: it is fed the current mode.
    pub trained_on: Option<NormMode>,
}

/// Where the network came from: its weights file, and the mode the file records it was
/// trained with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The weights file (`None`: a network made in memory, as in tests).
    pub path: Option<PathBuf>,
    /// The normalization it was trained with (`None`: the file does not say).
    pub trained_on: Option<NormMode>,
}

/// The loaded network while another one (a trained one) is shown in its place, with its
/// name and evaluations, so that switching back shows its accuracies at once.
#[derive(Debug, Clone)]
struct Aside {
    net: Arc<Network>,
    label: String,
    evals: Evaluations,
}

/// The state every view shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The split browsed.
    pub data: Arc<Dataset>,
    /// The network.
    pub net: Arc<Network>,
    /// Which split `data` is.
    pub split: Split,
    /// How to paint.
    pub palette: Palette,
    index: usize,
    norm: NormMode,
    batch_size: usize,
    output: OutputLayer,
    image: ImageReport,
    /// The softmax of the current image's scores laid open, once per [`LOGIT_SCALES`].
    softmax: Vec<Steps>,
    evals: Evaluations,
    /// The whitening fit, made on the worker when a whitened mode is first chosen.
    fitting: Fitting,
    /// What a setting change has to say (a mode skipped), for the status line.
    notice_later: Option<Notice>,
    /// What to call the network shown: `loaded network · FILE`, `trained network · epoch
    /// 3/10`; its first word says which it is where there is little room.
    label: String,
    /// Whether the titles name the network shown: once another one was shown, there is a
    /// choice to tell apart.
    named: bool,
    aside: Option<Aside>,
    other: Option<Other>,
    origin: Origin,
    /// The mode the network shown in place of the loaded one was trained with.
    shown_trained_on: Option<NormMode>,
    order: Order,
    filter: Filter,
    selection: Selection,
    next_generation: u64,
    rng: SplitMix64,
}

impl Shared {
    /// Image 0 under `key`'s settings, and the job that evaluates them. `seed` drives the
    /// random image. The dataset must not be empty and the network must fit it.
    pub fn new(
        data: Arc<Dataset>,
        net: Arc<Network>,
        split: Split,
        palette: Palette,
        key: EvalKey,
        seed: u64,
    ) -> (Self, Option<Job>) {
        let image = inspect(&net, data.image(0), key.norm);
        let softmax = laid_open(&image);
        let evals = Evaluations::new(key, data.len());
        let mut shared = Self {
            data,
            net,
            split,
            palette,
            index: 0,
            norm: key.norm,
            batch_size: key.batch_size.max(1),
            output: key.output,
            image,
            softmax,
            evals,
            fitting: Fitting::default(),
            notice_later: None,
            label: "loaded network".to_string(),
            named: false,
            aside: None,
            other: None,
            origin: Origin::default(),
            shown_trained_on: None,
            order: Order::Index,
            filter: Filter::All,
            selection: Selection::default(),
            next_generation: 1,
            rng: SplitMix64::new(seed),
        };
        let job = shared.evaluate();
        shared.refresh_selection();
        (shared, job)
    }

    /// Holds `net` (called `name`) against the first network from now on, and returns the
    /// job that evaluates it under the current settings. It must fit the data as the first
    /// one does.
    pub fn compare_with(
        &mut self,
        net: Arc<Network>,
        name: String,
        trained_on: Option<NormMode>,
    ) -> Option<Job> {
        let image = inspect(&net, self.data.image(self.index), self.norm);
        self.other = Some(Other {
            net,
            name,
            image,
            evals: Evaluations::new(self.key(), self.data.len()),
            trained_on,
        });
        self.evaluate_other()
    }

    /// Says where the network came from.
    pub fn set_origin(&mut self, origin: Origin) {
        self.origin = origin;
    }

    /// Where the network came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The normalization the network shown was trained with, if known: its file's record,
    /// or the settings of the training that made the one shown in its place.
    pub fn trained_on(&self) -> Option<NormMode> {
        match &self.aside {
            Some(_) => self.shown_trained_on,
            None => self.origin.trained_on,
        }
    }

    /// Calls the network loaded at start `label` (its file, say) where the titles name it.
    pub fn set_net_label(&mut self, label: String) {
        match &mut self.aside {
            Some(aside) => aside.label = label,
            None => self.label = label,
        }
    }

    /// What to call the network shown, e.g. `trained network · epoch 3/10`.
    pub fn net_label(&self) -> &str {
        &self.label
    }

    /// Whether the titles should name the network shown (once another one was shown).
    pub fn named(&self) -> bool {
        self.named
    }

    /// Whether another network is shown in place of the one loaded at start.
    pub fn swapped(&self) -> bool {
        self.aside.is_some()
    }

    /// Shows `net` (called `label`, trained on `trained_on`) in every view in place of the
    /// network loaded at start, which is set aside with its evaluations; a network shown this
    /// way before is dropped with its own (its accuracies are no other network's). Returns
    /// the job that evaluates `net` under the current settings. It must fit the data as the
    /// first one does.
    pub fn show_instead(
        &mut self,
        net: Arc<Network>,
        label: String,
        trained_on: Option<NormMode>,
    ) -> Option<Job> {
        self.shown_trained_on = trained_on;
        let fresh = Evaluations::new(self.key(), self.data.len());
        let evals = std::mem::replace(&mut self.evals, fresh);
        let old = std::mem::replace(&mut self.net, net);
        let old_label = std::mem::replace(&mut self.label, label);
        if self.aside.is_none() {
            self.aside = Some(Aside {
                net: old,
                label: old_label,
                evals,
            });
        }
        self.named = true;
        self.network_changed()
    }

    /// Shows the network loaded at start again, with the evaluations it had; returns the job
    /// that finishes the current settings' one if it never finished. Nothing when it is
    /// shown already.
    pub fn show_loaded(&mut self) -> Option<Job> {
        let aside = self.aside.take()?;
        self.net = aside.net;
        self.label = aside.label;
        self.evals = aside.evals;
        self.network_changed()
    }

    /// After the network changed: the image through it again, the evaluation of the current
    /// settings (kept or started; one that was running when set aside starts again, its job
    /// replaced meanwhile), and the list walked.
    fn network_changed(&mut self) -> Option<Job> {
        self.inspect();
        let job = self.evaluate();
        self.refresh_selection();
        job
    }

    /// A generation number no job has had yet, for a job of any kind.
    pub fn new_generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation - 1
    }

    /// The second network, if there is one.
    pub fn other(&self) -> Option<&Other> {
        self.other.as_ref()
    }

    /// The order moves walk through.
    pub fn order(&self) -> Order {
        self.order
    }

    /// The filter moves walk through.
    pub fn filter(&self) -> Filter {
        self.filter
    }

    /// The images moves walk through, in order.
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// The next order of the cycle.
    pub fn next_order(&mut self) {
        self.order = self.order.next();
        self.refresh_selection();
    }

    /// The next filter of the cycle (see [`Filter::next`]), from the current image.
    pub fn next_filter(&mut self) {
        let label = self.data.label(self.index);
        let predicted = u8::try_from(self.image.predicted).unwrap_or(u8::MAX);
        self.set_filter(self.filter.next(label, predicted, self.other.is_some()));
    }

    /// Walks through the images `filter` keeps from now on.
    pub fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
        self.refresh_selection();
    }

    /// Goes to the first image of the list unless the current one is in it; says so when
    /// the list is empty.
    pub fn enter_selection(&mut self) -> Option<Notice> {
        match self.selection.locate(self.index) {
            Ok(_) => None,
            Err(_) if self.selection.is_empty() => Some(self.nothing_selected()),
            Err(_) => self.go_to(self.selection.at(0)),
        }
    }

    /// What lists of images are made from: the labels and the evaluations shown.
    pub fn sources(&self) -> Sources<'_> {
        Sources {
            labels: self.data.labels(),
            main: self.evals.current(),
            other: self.other.as_ref().map(|o| o.evals.current()),
        }
    }

    /// Rebuilds or extends the list after anything it depends on changed.
    fn refresh_selection(&mut self) {
        let mut selection = std::mem::take(&mut self.selection);
        selection.refresh(self.order, self.filter, &self.sources());
        self.selection = selection;
    }

    /// Index of the current image.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The current image's pixels.
    pub fn pixels(&self) -> &[u8] {
        self.data.image(self.index)
    }

    /// The current image's true label.
    pub fn label(&self) -> usize {
        usize::from(self.data.label(self.index))
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

    /// The current image through the network.
    pub fn image(&self) -> &ImageReport {
        &self.image
    }

    /// The current image's softmax laid open with its scores multiplied by
    /// `LOGIT_SCALES[scale]` (the last scale for any larger index).
    pub fn softmax_steps(&self, scale: usize) -> &Steps {
        &self.softmax[scale.min(self.softmax.len() - 1)]
    }

    /// The evaluation for the current settings.
    pub fn evaluation(&self) -> &Evaluation {
        self.evals.current()
    }

    /// The evaluations, current and finished.
    pub fn evaluations(&self) -> &Evaluations {
        &self.evals
    }

    /// The finished evaluation of `norm` to show in the modes table: the one with the current
    /// batch size and output layer if computed, otherwise the latest one computed.
    pub fn result_for(&self, norm: NormMode) -> Option<&Evaluation> {
        self.evals.result_for(norm, self.batch_size, self.output)
    }

    /// The current settings.
    pub fn key(&self) -> EvalKey {
        EvalKey {
            norm: self.norm,
            batch_size: self.batch_size,
            output: self.output,
        }
    }

    /// Moves through the images; a move that cannot be made says why, and one that wraps
    /// around an end of the list says so. Every move but `To` walks the selection (the
    /// order and filter; every image in dataset order by default), and every relative move
    /// wraps: ←/→, PgUp/PgDn and the searches (e/E, a label) alike.
    pub fn navigate(&mut self, nav: Nav) -> Option<Notice> {
        let images = self.data.len();
        if let Nav::To(i) = nav {
            return if i < images {
                self.go_to(i)
            } else {
                Some(Notice::error(format!(
                    "no image {i}: indices run 0 to {}",
                    images.saturating_sub(1)
                )))
            };
        }
        let len = self.selection.len();
        if len == 0 {
            return Some(self.nothing_selected());
        }
        match nav {
            Nav::Next => self.step(1, true),
            Nav::Prev => self.step(1, false),
            Nav::Forward(n) => self.step(n, true),
            Nav::Back(n) => self.step(n, false),
            Nav::First => self.go_to(self.selection.at(0)),
            Nav::Last => self.go_to(self.selection.at(len - 1)),
            Nav::Random => {
                let at = (self.rng.next_u64() % len as u64) as usize;
                self.go_to(self.selection.at(at))
            }
            Nav::NextWrong => self.find_wrong(true),
            Nav::PrevWrong => self.find_wrong(false),
            Nav::NextWithLabel(label) => self.find_label(label),
            Nav::To(_) => None,
        }
    }

    /// Moves `by` places forward or back in the list, wrapping around its ends with a
    /// notice. From an image outside the list, the first step lands on its neighbour in the
    /// order.
    fn step(&mut self, by: usize, forward: bool) -> Option<Notice> {
        let len = self.selection.len().max(1);
        // The place a step of 0 would reach: the image itself, or the gap where it would be.
        let (from, gap) = match self.selection.locate(self.index) {
            Ok(at) => (at, false),
            Err(at) => (at, true),
        };
        let (to, wrapped) = if forward {
            let to = from.saturating_add(by) - usize::from(gap && by > 0);
            (to % len, to >= len)
        } else {
            ((from + len - by % len) % len, by > from)
        };
        let index = self.selection.at(to);
        self.go_to(index);
        wrapped.then(|| Notice::info(wrap_notice(forward, index)))
    }
    /// Changes a setting; returns the job that evaluates the new settings unless their
    /// result is already known.
    pub fn change(&mut self, setting: Setting) -> Option<Job> {
        match setting {
            Setting::NextNorm | Setting::PrevNorm => {
                let step = |m: NormMode| {
                    if setting == Setting::NextNorm {
                        m.next()
                    } else {
                        m.prev()
                    }
                };
                // A whitened mode waiting for its fit is where the next step starts from.
                let mut target = step(self.fitting.wanted().unwrap_or(self.norm));
                if target.whitening().is_some() {
                    match self.fitting.want(target, self.data.pixels_per_image()) {
                        Want::Ready => {}
                        Want::Wait(job) => return job.map(Job::Fit),
                        Want::Unavailable(why) => {
                            self.notice_later =
                                Some(Notice::error(format!("pca and zca are skipped: {why}")));
                            while target.whitening().is_some() {
                                target = step(target);
                            }
                        }
                    }
                } else {
                    self.fitting.unwant();
                }
                self.norm = target;
                self.inspect();
            }
            Setting::NextBatch => self.batch_size = next_batch_size(self.batch_size),
            Setting::PrevBatch => self.batch_size = prev_batch_size(self.batch_size),
            Setting::ToggleOutput => self.output = self.output.toggled(),
        }
        let job = self.evaluate();
        self.refresh_selection();
        job
    }

    /// The job that evaluates the second network under the current settings, unless its
    /// result is known (or there is no second network).
    pub fn evaluate_other(&mut self) -> Option<Job> {
        let (key, generation) = (self.key(), self.next_generation);
        let other = self.other.as_mut()?;
        let job = other.evals.show(key, generation, &self.data, &other.net);
        // The list may walk the second network's predictions (the disagreements).
        self.refresh_selection();
        let job = job?;
        self.next_generation += 1;
        Some(Job::Compare(job))
    }

    /// Where the whitening fit is.
    pub fn fitting(&self) -> &Fitting {
        &self.fitting
    }

    /// Fits the whitening on the training split of `dir` when a whitened mode is chosen.
    pub fn set_fit_dir(&mut self, dir: PathBuf) {
        self.fitting = Fitting::with_data_dir(dir);
    }

    /// A notice a setting change left for the status line.
    pub fn take_notice(&mut self) -> Option<Notice> {
        self.notice_later.take()
    }

    /// Applies a report of the whitening fit: its progress, or its end (the mode waiting for
    /// it takes effect, and its evaluation is the job returned), with what to tell the user.
    pub fn on_fit(&mut self, report: WorkerMsg) -> (Option<Job>, Option<Notice>) {
        let (generation, result) = match report {
            WorkerMsg::FitStage { generation, stage } => {
                self.fitting.on_stage(generation, stage);
                return (None, None);
            }
            WorkerMsg::Fitted { generation, result } => (generation, result),
            WorkerMsg::Failed {
                generation,
                message,
                ..
            } => (generation, Err(message)),
            _ => return (None, None),
        };
        match self.fitting.on_done(generation, result) {
            None => (None, None),
            Some(Err(why)) => (
                None,
                Some(Notice::error(format!("the whitening fit failed: {why}"))),
            ),
            Some(Ok(Arrived { fit, wanted })) => {
                let notice = Some(Notice::info(format!(
                    "whitening fitted on {} images in {:.2} s: {} of {} directions kept",
                    crate::percent::thousands(fit.images() as u64),
                    fit.fit_time().as_secs_f64(),
                    fit.retained(),
                    fit.pixels()
                )));
                let Some(mode) = wanted else {
                    return (None, notice);
                };
                self.norm = mode;
                self.inspect();
                let job = self.evaluate();
                self.refresh_selection();
                (job, notice)
            }
        }
    }

    /// Applies a worker report; returns the message of a failed job.
    pub fn on_worker(&mut self, report: WorkerMsg) -> Option<String> {
        let failed = match report {
            WorkerMsg::Compare(report) => self.other.as_mut()?.evals.on_worker(*report),
            report if report.kind() == JobKind::Compare => {
                self.other.as_mut()?.evals.on_worker(report)
            }
            report => self.evals.on_worker(report),
        };
        self.refresh_selection();
        failed
    }

    fn go_to(&mut self, index: usize) -> Option<Notice> {
        if index != self.index && index < self.data.len() {
            self.index = index;
            self.inspect();
        }
        None
    }

    /// Runs the current image through the networks again (after a move or a mode change).
    fn inspect(&mut self) {
        let pixels = self.data.image(self.index);
        self.image = inspect(&self.net, pixels, self.norm);
        self.softmax = laid_open(&self.image);
        if let Some(other) = &mut self.other {
            other.image = inspect(&other.net, pixels, self.norm);
        }
    }

    /// What a move says when the list it walks is empty.
    fn nothing_selected(&self) -> Notice {
        let why = match self.filter {
            Filter::Disagree if self.other.is_none() => " (there is no second network)",
            Filter::All | Filter::Label(_) => "",
            _ if self.evals.current().tally.total == 0 => " (no predictions yet)",
            _ => "",
        };
        Notice::info(format!(
            "no {}{why}: f changes the filter",
            self.filter.describe()
        ))
    }

    /// Shows the finished evaluation of the current settings, or returns the job that
    /// computes it.
    fn evaluate(&mut self) -> Option<Job> {
        let generation = self.next_generation;
        let job = self
            .evals
            .show(self.key(), generation, &self.data, &self.net)?;
        self.next_generation += 1;
        Some(Job::Evaluate(job))
    }

    /// The next (or previous) image of the list, wrapping around, that satisfies `pred`,
    /// and whether the search went past an end of the list to find it.
    fn search(&self, forward: bool, pred: impl Fn(usize) -> bool) -> Option<(usize, bool)> {
        let len = self.selection.len();
        // From an image outside the list, its neighbour in the order is the first candidate.
        let (from, steps) = match self.selection.locate(self.index) {
            Ok(at) => (at, 1..len),
            Err(at) if forward => (at, 0..len),
            Err(at) => (at, 1..len + 1),
        };
        steps
            .map(|step| {
                if forward {
                    ((from + step) % len, from + step >= len)
                } else {
                    ((from + len - step) % len, step > from)
                }
            })
            .map(|(at, wrapped)| (self.selection.at(at), wrapped))
            .find(|&(i, _)| pred(i))
    }

    /// Goes to what a search found, saying so when it wrapped around.
    fn found(&mut self, (index, wrapped): (usize, bool), forward: bool) -> Option<Notice> {
        self.go_to(index);
        wrapped.then(|| Notice::info(wrap_notice(forward, index)))
    }

    fn find_wrong(&mut self, forward: bool) -> Option<Notice> {
        let eval = self.evals.current();
        let labels = self.data.labels();
        let wrong = |i: usize| eval.predictions[i].is_some_and(|p| p != labels[i]);
        if let Some(found) = self.search(forward, wrong) {
            return self.found(found, forward);
        }
        let counted = eval.tally.total;
        let text = if counted == 0 {
            "no predictions yet: the evaluation has not reported".to_string()
        } else if wrong(self.index) {
            format!("this is the only misclassified image among {counted} evaluated")
        } else {
            format!("no misclassified image among {counted} evaluated")
        };
        Some(Notice::info(text))
    }

    fn find_label(&mut self, label: u8) -> Option<Notice> {
        let labels = self.data.labels();
        match self.search(true, |i| labels[i] == label) {
            Some(found) => self.found(found, true),
            None => Some(Notice::info(format!("no other image labelled {label}"))),
        }
    }
}

/// The softmax of `image`'s logits at every [`LOGIT_SCALES`] factor.
fn laid_open(image: &ImageReport) -> Vec<Steps> {
    LOGIT_SCALES
        .iter()
        .map(|&k| Steps::of(&image.logits.iter().map(|&a| a * k).collect::<Vec<f32>>()))
        .collect()
}

/// What a move that went around an end of the split says.
fn wrap_notice(forward: bool, to: usize) -> String {
    if forward {
        format!("wrapped past the last image to image {to}")
    } else {
        format!("wrapped past the first image to image {to}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_cycle_both_ways() {
        assert_eq!(next_batch_size(10000), 1);
        assert_eq!(prev_batch_size(1), 10000);
        assert_eq!(next_batch_size(100), 1000);
        assert_eq!(prev_batch_size(100), 10);
        assert_eq!(next_batch_size(32), 100, "an off-list size joins the cycle");
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
