//! Everything that can happen to the explorer ([`Msg`]) and what an update may ask the run
//! loop to do ([`Cmd`]). Keys, the mouse and the worker all become messages; the one update
//! step ([`crate::app::state::AppState::update`]) applies them.

use std::sync::Arc;

use ratatui::layout::Rect;

use crate::app::views::{ViewId, browse, confusion, draw, gallery, modes, network, train};
use crate::app::worker::{Job, WorkerMsg};
use crate::network::Network;
use crate::normalize::NormMode;

/// A message for the update step.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Move through the images.
    Nav(Nav),
    /// Change a shared setting.
    Set(Setting),
    /// The go-to prompt.
    Goto(Goto),
    /// The prompt for a second network's file (`w`): the same edits as the go-to prompt,
    /// any character but control ones; Enter reads the file in the background.
    LoadPrompt(Goto),
    /// The browse view's own toggles.
    Browse(browse::Msg),
    /// The network view's own keys (unit cursor, logit scale, panels).
    Network(network::Msg),
    /// Open or close the help overlay.
    ToggleHelp,
    /// Scroll the help overlay by this many rows (negative: up; `isize::MIN`/`MAX`: to the
    /// top/bottom).
    ScrollHelp(isize),
    /// Scroll the help overlay by this many pages of what it shows (negative: up).
    PageHelp(isize),
    /// Esc: close a notice, else leave the view for the one it was opened from, else quit.
    Back,
    /// Open a view (or, if it is the active one, go back from it).
    Open(ViewId),
    /// Leave the app.
    Quit,
    /// Ctrl-Z: hand the terminal back to the shell and stop until continued (`fg`).
    Suspend,
    /// The terminal changed size: nothing to update, but the screen must be drawn again.
    Resized,
    /// A report from the worker.
    Worker(WorkerMsg),
    /// The next order to walk the images in (`s`).
    NextOrder,
    /// The next filter of the images walked (`f`).
    NextFilter,
    /// The confusion matrix view's own messages.
    Confusion(confusion::Msg),
    /// The gallery's own messages.
    Gallery(gallery::Msg),
    /// Hold this network (called by the name given, trained on the mode given if its file
    /// records one) against the first from now on.
    Compare(Arc<Network>, String, Option<NormMode>),
    /// The drawing view's own messages.
    Draw(draw::Msg),
    /// The train × test view's own messages.
    Modes(modes::Msg),
    /// The training view's own messages.
    Train(train::Msg),
    /// A frame of this size was drawn: where the views' panels are for the mouse, and how
    /// many rows the keys that move by rows or pages move by.
    Screen(Rect),
}

/// Moves through the images of the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Next image (wraps).
    Next,
    /// Previous image (wraps).
    Prev,
    /// Forward by this many images (stops at the last).
    Forward(usize),
    /// Back by this many images (stops at the first).
    Back(usize),
    /// First image.
    First,
    /// Last image.
    Last,
    /// A random image.
    Random,
    /// The image with this index.
    To(usize),
    /// Next image the evaluation got wrong.
    NextWrong,
    /// Previous image the evaluation got wrong.
    PrevWrong,
    /// Next image with this true label.
    NextWithLabel(u8),
}

/// Changes one of the settings every view shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
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
}

/// The go-to prompt: type an index, Enter goes there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goto {
    /// Open the prompt.
    Start,
    /// A character typed into it.
    Type(char),
    /// Delete the last typed character.
    Backspace,
    /// Go to the typed index.
    Confirm,
    /// Close it without moving.
    Cancel,
}

/// What the run loop must do after an update.
#[derive(Debug, Clone)]
pub enum Cmd {
    /// Nothing.
    None,
    /// Start this job (it replaces any running job of its kind).
    Submit(Job),
    /// Start these jobs, each replacing any running job of its kind.
    SubmitAll(Vec<Job>),
    /// Give the terminal back, stop the process, and take the terminal again once continued.
    Suspend,
}

impl Cmd {
    /// Whether there is nothing to do.
    pub fn is_none(&self) -> bool {
        matches!(self, Cmd::None)
    }

    /// This command and `jobs` besides (a suspension stays a suspension: nothing that
    /// suspends also starts work).
    pub fn with_jobs(self, mut jobs: Vec<Job>) -> Cmd {
        match self {
            _ if jobs.is_empty() => self,
            Cmd::None if jobs.len() == 1 => Cmd::Submit(jobs.remove(0)),
            Cmd::None => Cmd::SubmitAll(jobs),
            Cmd::Submit(job) => {
                jobs.insert(0, job);
                Cmd::SubmitAll(jobs)
            }
            Cmd::SubmitAll(mut all) => {
                all.extend(jobs);
                Cmd::SubmitAll(all)
            }
            Cmd::Suspend => Cmd::Suspend,
        }
    }

    /// Whichever of two jobs there are (the two networks' evaluations, say).
    pub fn either(first: Option<Job>, second: Option<Job>) -> Self {
        Cmd::from(first).with_jobs(second.into_iter().collect())
    }

    /// The jobs the command starts.
    pub fn jobs(&self) -> &[Job] {
        match self {
            Cmd::Submit(job) => std::slice::from_ref(job),
            Cmd::SubmitAll(jobs) => jobs,
            Cmd::None | Cmd::Suspend => &[],
        }
    }
}

impl From<Option<Job>> for Cmd {
    fn from(job: Option<Job>) -> Self {
        job.map_or(Cmd::None, Cmd::Submit)
    }
}
