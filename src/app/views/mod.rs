//! The explorer's views: one module per screen, each with its key table, its mouse handling,
//! the room it needs and its drawing. [`ViewId`] names them and dispatches to them.
//!
//! A view whose keys act on the shared state (the image, the settings) maps them to the
//! shared messages ([`crate::app::msg::Nav`], [`crate::app::msg::Setting`]); a view with
//! state of its own adds a variant to [`crate::app::msg::Msg`] for its messages, keeps its
//! state beside [`crate::app::shared::Shared`] in [`crate::app::state::AppState`], and
//! applies them in an `update` of its own, called from the one update step.

pub mod browse;
pub mod confusion;
pub mod draw;
pub mod gallery;
pub mod modes;
pub mod network;
pub mod train;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, MouseEvent};
use ratatui::layout::Rect;

use crate::app::keymap::{Binding, Note};
use crate::app::msg::Msg;
use crate::app::shared::Shared;
use crate::app::state::AppState;

/// A screen of the explorer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewId {
    /// One image, its output, norms and the accuracy over the split.
    Browse,
    /// The confusion matrix of the evaluation for the current settings.
    Confusion,
    /// Thumbnails of the images walked through (a cell of the matrix, the filter).
    Gallery,
    /// The forward pass of the current image laid open.
    Network,
    /// A digit the user draws, prepared as MNIST's were, and what the network makes of it.
    Draw,
    /// The train × test table: each mode's network fed every mode.
    Modes,
    /// A network trained from random weights while the learner watches.
    Train,
}

impl ViewId {
    /// Every view.
    pub const ALL: [ViewId; 7] = [
        ViewId::Browse,
        ViewId::Network,
        ViewId::Confusion,
        ViewId::Gallery,
        ViewId::Draw,
        ViewId::Modes,
        ViewId::Train,
    ];

    /// The view's own keys (the global ones come first, see [`crate::app::router`]).
    pub fn keys(self) -> &'static [Binding] {
        match self {
            ViewId::Browse => browse::KEYS,
            ViewId::Confusion => confusion::KEYS,
            ViewId::Gallery => gallery::KEYS,
            ViewId::Network => network::KEYS,
            ViewId::Draw => draw::KEYS,
            ViewId::Modes => modes::KEYS,
            ViewId::Train => train::KEYS,
        }
    }

    /// Help lines for what the mouse does in the view.
    pub fn mouse_help(self) -> &'static [Note] {
        match self {
            ViewId::Browse => browse::MOUSE,
            ViewId::Confusion => confusion::MOUSE,
            ViewId::Gallery => gallery::MOUSE,
            ViewId::Network => network::MOUSE,
            ViewId::Draw => draw::MOUSE,
            ViewId::Modes => modes::MOUSE,
            ViewId::Train => train::MOUSE,
        }
    }

    /// What each of the view's panels shows, for the help.
    pub fn guide(self) -> &'static [Note] {
        match self {
            ViewId::Browse => browse::GUIDE,
            ViewId::Confusion => confusion::GUIDE,
            ViewId::Gallery => gallery::GUIDE,
            ViewId::Network => network::GUIDE,
            ViewId::Draw => draw::GUIDE,
            ViewId::Modes => modes::GUIDE,
            ViewId::Train => train::GUIDE,
        }
    }

    /// What the view's marks and colors mean, for the help.
    pub fn marks(self) -> &'static [Note] {
        match self {
            ViewId::Browse => browse::MARKS,
            ViewId::Confusion => confusion::MARKS,
            ViewId::Gallery => gallery::MARKS,
            ViewId::Network => network::MARKS,
            ViewId::Draw => draw::MARKS,
            ViewId::Modes => modes::MARKS,
            ViewId::Train => train::MARKS,
        }
    }

    /// The smallest terminal (status line included) the view fits.
    pub fn needed(self, shared: &Shared) -> (u16, u16) {
        match self {
            ViewId::Browse => browse::needed(shared),
            ViewId::Confusion => confusion::needed(shared),
            ViewId::Gallery => gallery::needed(shared),
            ViewId::Network => network::needed(shared),
            ViewId::Draw => draw::needed(),
            ViewId::Modes => modes::needed(shared),
            ViewId::Train => train::needed(),
        }
    }

    /// Draws the view into `body`, the screen but the status line.
    pub fn draw(self, state: &AppState, frame: &mut Frame, body: Rect) {
        match self {
            ViewId::Browse => browse::draw(state.shared(), state.browse(), frame, body),
            ViewId::Confusion => confusion::draw(state.shared(), state.confusion(), frame, body),
            ViewId::Gallery => gallery::draw(state.shared(), frame, body),
            ViewId::Network => network::draw(state.shared(), state.network(), frame, body),
            ViewId::Draw => draw::draw(state.shared(), state.draw(), frame, body),
            ViewId::Modes => modes::draw(state.shared(), state.modes(), frame, body),
            ViewId::Train => train::draw(state.shared(), state.train(), frame, body),
        }
    }
}

/// The message for a mouse event in `view`.
pub fn mouse_to_msg(view: ViewId, mouse: MouseEvent) -> Option<Msg> {
    match view {
        // The wheel moves through the images in both.
        ViewId::Browse | ViewId::Network => browse::mouse_to_msg(mouse),
        ViewId::Confusion | ViewId::Modes | ViewId::Train => None,
        ViewId::Gallery => gallery::mouse_to_msg(mouse),
        ViewId::Draw => draw::mouse_to_msg(mouse),
    }
}

/// While the active view has a prompt open, what a key means to it: every key goes to the
/// prompt (`Some`, with `None` inside for a key that does nothing there).
pub fn prompt_key(state: &AppState, code: KeyCode) -> Option<Option<Msg>> {
    match state.view() {
        ViewId::Browse | ViewId::Network | ViewId::Confusion | ViewId::Gallery | ViewId::Modes => {
            None
        }
        ViewId::Draw => draw::prompt_key(state.draw(), code),
        ViewId::Train => train::prompt_key(state.train(), code),
    }
}
