//! The training view (`t`): a form with the settings of a run, prefilled with the `train`
//! command's defaults; `Enter` trains a network from random weights on the worker, and the
//! view follows it: the smoothed loss per batch and the loss per epoch, train and test
//! accuracy per epoch, images per second, the epoch and step, the time left. After an epoch,
//! `u` has every view show the network being trained instead of the loaded one (and back);
//! `w` writes it to a file.
//!
//! The form (any size):
//! ```text
//! ┌ train a network from random weights ────────┐
//! │ ▸ hidden layers    50,100                    │
//! │   optimizer      ◂ momentum ▸                │
//! │   …                                          │
//! │ what the selected field decides; a refusal   │
//! └──────────────────────────────────────────────┘
//! ```
//! A run, roomy (120x40 and more) and compact (80x24: the accuracies in the table only):
//! ```text
//! ┌ progress: settings, epoch and step, images/s, time left ┐
//! ┌ loss ─────────────────────┐┌ accuracy ─────────────────┐
//! ┌ epochs: loss, train and test accuracy, seconds ──────────┐
//! ```

mod charts;
mod epochs;
pub mod form;
mod form_panel;
mod progress;
pub mod run;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;

use crate::app::keymap::{Binding, Hint, Note};
use crate::app::msg::{self, Goto};
use crate::app::shared::{Notice, Shared};
use crate::app::training::{SaveJob, TrainJob};
use crate::app::views::{ViewId, browse};
use crate::app::widgets::pct;
use crate::app::worker::{Job, JobKind, WorkerMsg};
use crate::dataset::{Dataset, Split};
use crate::network::Network;
use form::{Form, Limits};
use run::{Run, Status};

/// Longest path the write prompt takes, in characters.
const MAX_PATH_CHARS: usize = 4096;

/// A key typed while a field of the form is being edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKey {
    /// Start typing into the selected field: with this character in place of its value, or
    /// (`None`, Backspace) with its value less the last character.
    Begin(Option<char>),
    /// A character.
    Type(char),
    /// Delete the last character.
    Backspace,
    /// Enter the value (refused in place if it cannot be taken).
    Accept,
    /// Enter the value and select the field this many places down (up when negative).
    Move(isize),
    /// Leave the field as it was.
    Cancel,
}

/// The training view's own messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// Select the field this many places down (up when negative).
    Select(isize),
    /// The next (`true`) or previous value of a choice field.
    Choose(bool),
    /// Typing into a field.
    Edit(EditKey),
    /// Every field back to `train`'s defaults.
    Defaults,
    /// Enter: start a run from the form; after a run, the form again.
    Enter,
    /// Stop the run; when none runs, leave the view.
    Stop,
    /// Show the trained network everywhere instead of the loaded one, or back.
    UseTrained,
    /// The prompt for the file to write the trained network to.
    Write(Goto),
    /// The answer to "replace the file?".
    Replace(bool),
}

/// The write prompt on the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WritePrompt {
    /// The path being typed.
    Path(String),
    /// The path typed names an existing file: replace it?
    Replace(PathBuf),
}

/// What an update asks of the explorer beyond the view.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Nothing more.
    None,
    /// Say this on the status line.
    Notice(Notice),
    /// Start this job.
    Submit(Job, Option<Notice>),
    /// Leave the view.
    Leave,
}

/// What a worker report brought.
#[derive(Debug, Clone, Default)]
pub struct Reported {
    /// New weights of the run, and what to call them.
    pub network: Option<(Arc<Network>, String)>,
    /// Something to say.
    pub notice: Option<Notice>,
}

/// The training view's own state.
#[derive(Debug, Clone, Default)]
pub struct State {
    form: Form,
    /// The form is shown rather than the run.
    on_form: bool,
    run: Option<Run>,
    /// Where the splits are read from; without it (tests of other views) nothing trains.
    data_dir: Option<PathBuf>,
    /// The training and test splits, once read, for the next runs.
    splits: Option<(Arc<Dataset>, Arc<Dataset>)>,
    writing: Option<WritePrompt>,
    /// The write job under way, and the weights it writes.
    saving: Option<u64>,
    saving_net: Option<Arc<Network>>,
    /// The weights last written to a file.
    written: Option<Arc<Network>>,
}

impl State {
    /// A view that reads the splits from `dir`.
    pub fn with_data_dir(dir: PathBuf) -> Self {
        Self {
            data_dir: Some(dir),
            ..Self::default()
        }
    }

    /// The form.
    pub fn form(&self) -> &Form {
        &self.form
    }

    /// Whether the form is shown (no run yet, or Enter after one).
    pub fn on_form(&self) -> bool {
        self.on_form || self.run.is_none()
    }

    /// The latest run.
    pub fn run(&self) -> Option<&Run> {
        self.run.as_ref()
    }

    /// Whether a run is under way.
    pub fn running(&self) -> bool {
        self.run.as_ref().is_some_and(Run::is_running)
    }

    /// The latest run's latest weights, and what to call them.
    pub fn trained(&self) -> Option<(Arc<Network>, String)> {
        let run = self.run.as_ref()?;
        Some((Arc::clone(run.network.as_ref()?), run.label()))
    }

    /// The latest run's weights if no file holds them yet (none before the first epoch).
    pub fn unsaved(&self) -> Option<Arc<Network>> {
        let net = self.run.as_ref()?.network.as_ref()?;
        let written = self.written.as_ref().is_some_and(|w| Arc::ptr_eq(w, net));
        (!written).then(|| Arc::clone(net))
    }

    /// The write prompt, while it is open.
    pub fn prompt(&self) -> Option<&WritePrompt> {
        self.writing.as_ref()
    }

    /// Applies one of the view's messages (all but `UseTrained`, which the explorer applies
    /// to every view). `shared` gives the data's shape, the split already read, and the
    /// generation of a job to start.
    pub fn update(&mut self, msg: Msg, shared: &mut Shared) -> Outcome {
        let limits = self.limits(shared);
        let on_form = self.on_form();
        match msg {
            Msg::Select(by) if on_form => self.form.select(by, limits),
            Msg::Choose(forward) if on_form => self.form.choose(forward),
            Msg::Edit(key) if on_form => self.edit(key, limits),
            Msg::Defaults if on_form => self.form.reset(),
            Msg::Select(_) | Msg::Choose(_) | Msg::Edit(_) | Msg::Defaults => {
                return Outcome::Notice(Notice::info(if self.running() {
                    "the form is for the next run: t or Esc stops this one".into()
                } else {
                    "Enter shows the form for a new run".into()
                }));
            }
            Msg::Enter if on_form => return self.start(shared, limits),
            Msg::Enter if self.running() => {
                return Outcome::Notice(Notice::info(
                    "a training is running: t or Esc stops it".into(),
                ));
            }
            Msg::Enter => self.on_form = true,
            Msg::Stop => return self.stop(shared),
            Msg::UseTrained => {}
            Msg::Write(edit) => return self.write(edit, shared),
            Msg::Replace(yes) => return self.replace(yes, shared),
        }
        Outcome::None
    }

    /// Stops the run under way (its figures stay on screen), or leaves the view when none
    /// runs.
    pub fn stop(&mut self, shared: &mut Shared) -> Outcome {
        let Some(run) = self.run.as_mut().filter(|r| r.is_running()) else {
            return Outcome::Leave;
        };
        run.status = Status::Stopped;
        let at = match run.batch {
            Some(b) => format!(" at epoch {}, step {}", b.epoch, b.batch),
            None => String::new(),
        };
        let job = Job::Cancel {
            kind: JobKind::Train,
            generation: shared.new_generation(),
        };
        Outcome::Submit(job, Some(Notice::info(format!("training stopped{at}"))))
    }

    /// Applies a report of a training or write job; reports of any other job are dropped.
    pub fn on_worker(&mut self, report: WorkerMsg) -> Reported {
        let generation = report.generation();
        if report.kind() == JobKind::Save {
            return self.on_saved(report);
        }
        let Some(run) = self
            .run
            .as_mut()
            .filter(|r| r.generation == generation && r.is_running())
        else {
            return Reported::default();
        };
        let mut reported = Reported::default();
        match report {
            WorkerMsg::TrainLoaded { splits, .. } => {
                self.splits = Some((splits.train, splits.test));
                run.status = Status::Running;
            }
            WorkerMsg::TrainBatch(progress) => {
                run.status = Status::Running;
                run.batch = Some(progress.batch);
                run.curve.extend_from_slice(&progress.points);
                run.elapsed = progress.elapsed;
            }
            WorkerMsg::TrainEpoch {
                report,
                network,
                elapsed,
                ..
            } => {
                run.epochs.push(report);
                run.network = Some(Arc::clone(&network));
                run.elapsed = elapsed;
                reported.network = Some((network, run.label()));
            }
            WorkerMsg::TrainDone {
                network, threads, ..
            } => {
                run.status = Status::Finished;
                run.threads = Some(threads);
                run.network = Some(network);
                let accuracy = run
                    .test_accuracy()
                    .map_or_else(String::new, |a| format!(": test accuracy {}", pct(a)));
                // Within twice chance, the run learned nothing worth using: say why it may be.
                let classes = crate::dataset::NUM_CLASSES as f64;
                reported.notice = Some(if run.test_accuracy().is_some_and(|a| a < 2.0 / classes) {
                    Notice::error(format!(
                        "training done{accuracy}, about what guessing gets: a learning rate \
                         too large (this run's {}) throws the weights past every minimum",
                        run.config.lr
                    ))
                } else {
                    Notice::info(format!(
                        "training done{accuracy} (u: use it everywhere, w: write it)"
                    ))
                });
            }
            WorkerMsg::Failed { message, .. } => {
                run.status = Status::Failed(message.clone());
                reported.notice = Some(Notice::error(format!("training failed: {message}")));
            }
            _ => {}
        }
        reported
    }

    fn on_saved(&mut self, report: WorkerMsg) -> Reported {
        if self.saving != Some(report.generation()) {
            return Reported::default();
        }
        self.saving = None;
        let net = self.saving_net.take();
        let notice = match report {
            WorkerMsg::Saved {
                result: Ok(path), ..
            } => {
                self.written = net;
                Notice::info(format!("wrote {}", path.display()))
            }
            WorkerMsg::Saved { result: Err(e), .. } | WorkerMsg::Failed { message: e, .. } => {
                Notice::error(format!("writing failed: {e}"))
            }
            _ => return Reported::default(),
        };
        Reported {
            network: None,
            notice: Some(notice),
        }
    }

    /// What a value of the form is checked against: the training split's size once known.
    fn limits(&self, shared: &Shared) -> Limits {
        let images = match (&self.splits, shared.split) {
            (Some((train, _)), _) => train.len(),
            (None, Split::Train) => shared.data.len(),
            (None, Split::Test) => usize::MAX,
        };
        Limits {
            images,
            inputs: shared.data.pixels_per_image(),
        }
    }

    fn edit(&mut self, key: EditKey, limits: Limits) {
        match key {
            EditKey::Begin(first) => self.form.start_edit(first),
            EditKey::Type(c) => self.form.type_char(c),
            EditKey::Backspace => self.form.backspace(),
            EditKey::Accept => {
                self.form.accept(limits);
            }
            EditKey::Move(by) => self.form.select(by, limits),
            EditKey::Cancel => self.form.cancel_edit(),
        }
    }

    /// Starts a run of the form's settings.
    fn start(&mut self, shared: &mut Shared, limits: Limits) -> Outcome {
        if self.running() {
            return Outcome::Notice(Notice::info(
                "a training is running: t or Esc stops it".into(),
            ));
        }
        if !self.form.accept(limits) {
            // The field's refusal shows in the form.
            return Outcome::None;
        }
        let Some(data_dir) = self.data_dir.clone() else {
            return Outcome::Notice(Notice::error(
                "no data folder is known to read the training split from".into(),
            ));
        };
        let (train, test) = match (&self.splits, shared.split) {
            (Some((train, test)), _) => (Some(Arc::clone(train)), Some(Arc::clone(test))),
            (None, Split::Train) => (Some(Arc::clone(&shared.data)), None),
            (None, Split::Test) => (None, Some(Arc::clone(&shared.data))),
        };
        let config = self.form.config().clone();
        let generation = shared.new_generation();
        self.run = Some(Run::new(generation, config.clone(), limits.inputs));
        self.on_form = false;
        let job = Job::Train(TrainJob {
            generation,
            config,
            data_dir,
            train,
            test,
        });
        Outcome::Submit(job, None)
    }

    /// The write prompt: `w` opens it on a name made from the network's shape.
    fn write(&mut self, edit: Goto, shared: &mut Shared) -> Outcome {
        match edit {
            Goto::Start => {
                let Some(run) = self.run.as_ref().filter(|r| r.network.is_some()) else {
                    return Outcome::Notice(Notice::info(
                        "no trained network yet: it comes with the first epoch".into(),
                    ));
                };
                self.writing = Some(WritePrompt::Path(format!("trained-{}.npz", run.shape())));
            }
            Goto::Type(c) => {
                if let Some(WritePrompt::Path(text)) = &mut self.writing
                    && !c.is_control()
                    && text.chars().count() < MAX_PATH_CHARS
                {
                    text.push(c);
                }
            }
            Goto::Backspace => {
                if let Some(WritePrompt::Path(text)) = &mut self.writing {
                    text.pop();
                }
            }
            Goto::Cancel => self.writing = None,
            Goto::Confirm => {
                let Some(WritePrompt::Path(text)) = self.writing.take() else {
                    return Outcome::None;
                };
                // An empty prompt writes nothing.
                if text.trim().is_empty() {
                    return Outcome::None;
                }
                let path = PathBuf::from(text);
                if path.is_dir() {
                    return Outcome::Notice(Notice::error(format!(
                        "{} is a folder: give a file name",
                        path.display()
                    )));
                }
                let path = crate::weights::npz_path(&path);
                if path.exists() {
                    self.writing = Some(WritePrompt::Replace(path));
                    return Outcome::None;
                }
                return self.save(path, false, shared);
            }
        }
        Outcome::None
    }

    fn replace(&mut self, yes: bool, shared: &mut Shared) -> Outcome {
        let Some(WritePrompt::Replace(path)) = self.writing.take() else {
            return Outcome::None;
        };
        if yes {
            self.save(path, true, shared)
        } else {
            Outcome::Notice(Notice::info(format!(
                "{} is left as it was",
                path.display()
            )))
        }
    }

    /// The job that writes the latest weights to `path`.
    fn save(&mut self, path: PathBuf, replace: bool, shared: &mut Shared) -> Outcome {
        let Some((net, label)) = self.trained() else {
            return Outcome::None;
        };
        let record = self.run.as_ref().map(|run| {
            let last = run.epochs.last().and_then(|e| e.test_accuracy);
            run.config.record_after(run.epochs.len(), last)
        });
        let generation = shared.new_generation();
        self.saving = Some(generation);
        self.saving_net = Some(Arc::clone(&net));
        let notice = Notice::info(format!("writing {} ({label}) …", path.display()));
        Outcome::Submit(
            Job::Save(SaveJob {
                generation,
                net,
                path,
                replace,
                record,
            }),
            Some(notice),
        )
    }
}

/// While a field is edited or the write prompt is open, what a key means to it: every key
/// goes there (`Some`, with `None` inside for a key that does nothing).
pub fn prompt_key(state: &State, code: KeyCode) -> Option<Option<msg::Msg>> {
    let wrap = |m: Msg| Some(msg::Msg::Train(m));
    if let Some(writing) = &state.writing {
        return Some(match (writing, code) {
            (WritePrompt::Replace(_), KeyCode::Char('y')) => wrap(Msg::Replace(true)),
            (WritePrompt::Replace(_), _) => wrap(Msg::Replace(false)),
            (WritePrompt::Path(_), KeyCode::Enter) => wrap(Msg::Write(Goto::Confirm)),
            (WritePrompt::Path(_), KeyCode::Esc) => wrap(Msg::Write(Goto::Cancel)),
            (WritePrompt::Path(_), KeyCode::Backspace) => wrap(Msg::Write(Goto::Backspace)),
            (WritePrompt::Path(_), KeyCode::Char(c)) => wrap(Msg::Write(Goto::Type(c))),
            (WritePrompt::Path(_), _) => None,
        });
    }
    if state.on_form() && state.form.editing().is_some() {
        let key = match code {
            KeyCode::Enter => EditKey::Accept,
            KeyCode::Esc => EditKey::Cancel,
            KeyCode::Backspace => EditKey::Backspace,
            KeyCode::Up | KeyCode::BackTab => EditKey::Move(-1),
            KeyCode::Down | KeyCode::Tab => EditKey::Move(1),
            KeyCode::Char(c) => EditKey::Type(c),
            _ => return Some(None),
        };
        return Some(wrap(Msg::Edit(key)));
    }
    None
}

/// `u`: the trained network everywhere, or the loaded one again. Listed by the training
/// view with a hint, and among the keys every other view offers without one.
pub const USE: Binding = Binding {
    keys: &[KeyCode::Char('u')],
    label: "u",
    help: "show the trained network in every view ↔ the loaded one",
    hint: Some(Hint {
        rank: 4,
        keys: "u",
        word: "use it",
    }),
    action: |_| Some(msg::Msg::Train(Msg::UseTrained)),
};

/// The training view's keys.
pub const KEYS: &[Binding] = &[
    Binding {
        keys: &[
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Char('k'),
            KeyCode::Char('j'),
        ],
        label: "↑ ↓ k j",
        help: "form: the previous / next field",
        hint: Some(Hint {
            rank: 1,
            keys: "↑↓",
            word: "field",
        }),
        action: |code| {
            Some(msg::Msg::Train(Msg::Select(match code {
                KeyCode::Up | KeyCode::Char('k') => -1,
                _ => 1,
            })))
        },
    },
    Binding {
        keys: &[
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Char('h'),
            KeyCode::Char('l'),
        ],
        label: "← → h l",
        help: "form: the previous / next choice (optimizer, schedule, mode)",
        hint: None,
        action: |code| {
            Some(msg::Msg::Train(Msg::Choose(matches!(
                code,
                KeyCode::Right | KeyCode::Char('l')
            ))))
        },
    },
    Binding {
        // The digits, as the browse view lists them for its labels.
        keys: browse::LABELS.keys,
        label: "0 … 9",
        help: "form: type a new value into the field (Enter takes it)",
        hint: None,
        action: |code| match code {
            KeyCode::Char(c) => Some(msg::Msg::Train(Msg::Edit(EditKey::Begin(Some(c))))),
            _ => None,
        },
    },
    Binding {
        keys: &[KeyCode::Backspace],
        label: "Backspace",
        help: "form: edit the field's value (Esc: leave it as it was)",
        hint: None,
        action: |_| Some(msg::Msg::Train(Msg::Edit(EditKey::Begin(None)))),
    },
    Binding {
        keys: &[KeyCode::Char('r')],
        label: "r",
        help: "form: every field back to the train command's defaults",
        hint: None,
        action: |_| Some(msg::Msg::Train(Msg::Defaults)),
    },
    Binding {
        keys: &[KeyCode::Enter],
        label: "Enter",
        help: "start the training; after a run: the form for the next",
        hint: Some(Hint {
            rank: 2,
            keys: "Enter",
            word: "start",
        }),
        action: |_| Some(msg::Msg::Train(Msg::Enter)),
    },
    Binding {
        keys: &[KeyCode::Char('t')],
        label: "t",
        help: "stop the training (Esc too); when none runs: back",
        hint: Some(Hint {
            rank: 3,
            keys: "t",
            word: "stop",
        }),
        action: |_| Some(msg::Msg::Train(Msg::Stop)),
    },
    USE,
    Binding {
        keys: &[KeyCode::Char('w')],
        label: "w",
        help: "write the trained network to a .npz file (asks first)",
        hint: Some(Hint {
            rank: 5,
            keys: "w",
            word: "write",
        }),
        action: |_| Some(msg::Msg::Train(Msg::Write(Goto::Start))),
    },
    Binding {
        keys: &[KeyCode::Char('b')],
        label: "b",
        help: "the browse view, while the training goes on (t: back here)",
        hint: Some(Hint {
            rank: 6,
            keys: "b",
            word: "browse",
        }),
        action: |_| Some(msg::Msg::Open(ViewId::Browse)),
    },
];

/// Help lines for what is not a key: the view has no use for the mouse.
pub const MOUSE: &[Note] = &[];

/// What each panel shows, for the help.
pub const GUIDE: &[Note] = &[
    Note {
        label: "form",
        help: "the run's settings, prefilled as `train` has them",
    },
    Note {
        label: "progress",
        help: "epoch and step, images per second, the time left",
    },
    Note {
        label: "loss",
        help: "cross-entropy: per batch (smoothed) and per epoch",
    },
    Note {
        label: "accuracy",
        help: "per epoch: on the training images seen, and on the test set",
    },
    Note {
        label: "epochs",
        help: "each epoch's loss, accuracies and seconds",
    },
];

/// What the marks on the screen mean, for the help.
pub const MARKS: &[Note] = &[
    Note {
        label: "▸  ◂ ▸",
        help: "the selected field · a choice (← → change it)",
    },
    Note {
        label: "• .",
        help: "the smoothed loss per batch (with colors · without)",
    },
    Note {
        label: "█ #",
        help: "per epoch: loss, test accuracy (with colors · without)",
    },
    Note {
        label: "▄ +",
        help: "per epoch: the accuracy on the training images seen",
    },
    Note {
        label: "train acc",
        help: "on each image just before its step, as Keras reports it",
    },
    Note {
        label: "shown",
        help: "the network every view shows now: loaded or trained (u)",
    },
];

/// The smallest terminal (status line included) the view fits.
pub fn needed() -> (u16, u16) {
    (80, 24)
}

/// Draws the view into `body`: the form, or the run's panels.
pub fn draw(shared: &Shared, state: &State, frame: &mut Frame, body: Rect) {
    match state.run.as_ref().filter(|_| !state.on_form()) {
        None => form_panel::draw(shared, state, frame, body),
        Some(run) => {
            let areas = layout(body);
            progress::draw(shared, state, run, frame, areas.progress);
            charts::loss(shared, run, frame, areas.loss);
            if let Some(accuracy) = areas.accuracy {
                charts::accuracy(shared, run, frame, accuracy);
            }
            epochs::draw(shared, run, frame, areas.epochs);
        }
    }
}

/// Rows of the progress panel.
const PROGRESS_HEIGHT: u16 = 6;
/// Most rows of the epochs table.
const EPOCHS_MAX_HEIGHT: u16 = 12;
/// From this body size on, the accuracy gets a chart of its own beside the loss.
const ROOMY: (u16, u16) = (100, 32);

/// Where the run's panels go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Areas {
    progress: Rect,
    loss: Rect,
    accuracy: Option<Rect>,
    epochs: Rect,
}

fn layout(body: Rect) -> Areas {
    let progress = Rect::new(body.x, body.y, body.width, PROGRESS_HEIGHT.min(body.height));
    let rest = body.height.saturating_sub(progress.height);
    let roomy = body.width >= ROOMY.0 && body.height >= ROOMY.1;
    // Compact: the loss chart and the table share what is left; roomy: the table keeps at
    // most its rows and the charts take the rest.
    let epochs_h = if roomy {
        EPOCHS_MAX_HEIGHT.min(rest / 3)
    } else {
        rest / 2
    };
    let charts_h = rest - epochs_h;
    let y = body.y + progress.height;
    let charts = Rect::new(body.x, y, body.width, charts_h);
    let epochs = Rect::new(body.x, y + charts_h, body.width, epochs_h);
    let (loss, accuracy) = if roomy {
        let left = body.width * 3 / 5;
        (
            Rect::new(body.x, y, left, charts_h),
            Some(Rect::new(body.x + left, y, body.width - left, charts_h)),
        )
    } else {
        (charts, None)
    };
    Areas {
        progress,
        loss,
        accuracy,
        epochs,
    }
}

/// Each panel's name and place in `body` while a run is shown, for tests that check how the
/// room is used.
#[doc(hidden)]
pub fn panels(body: Rect) -> Vec<(&'static str, Rect)> {
    let a = layout(body);
    let mut panels = vec![("progress", a.progress), ("loss", a.loss)];
    panels.extend(a.accuracy.map(|r| ("accuracy", r)));
    panels.push(("epochs", a.epochs));
    panels
}
