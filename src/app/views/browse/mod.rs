//! The browse view, the explorer's first screen: one test image, what the network makes of
//! it, its norms, and the accuracy over the whole split. Its keys move through the images and
//! change the shared settings.
//!
//! Compact layout (80x24, the digit at zoom 1):
//! ```text
//! ┌ image ──────┐┌ output ──┐┌ accuracy ──┐
//! │ 28x14 cells ││ 10 bars  ││ gauge      │
//! │             │├ norms ───┤│ per class  │
//! ├ prediction ─┤│          ││ modes      │
//! └─────────────┘└──────────┘└────────────┘
//!  status line with the main keys
//! ```
//! With room (e.g. 120x40) the digit is zoomed and the panels on the right stack:
//! ```text
//! ┌ image (zoom 2) ┐┌ output ─────────────┐
//! │                │├ norms ──────────────┤
//! ├ prediction ────┤├ accuracy ───────────┤
//! ```

mod accuracy;
mod image;
mod norms;
mod output;
mod prediction;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use crate::app::keymap::{Binding, Hint, Note};
use crate::app::msg::{self, Goto, Nav, Setting};
use crate::app::shared::Shared;
use crate::app::views::ViewId;

/// The browse view's own state: how it shows what the shared state holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State {
    /// Draw the network's input (after normalization) instead of the pixels.
    pub input_view: bool,
    /// Bars of the softmax on a log scale, so that 99.999% and 0.001% both show.
    pub log_scale: bool,
}

/// The browse view's own messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// Pixels or the network's input in the image panel.
    ToggleInputView,
    /// Linear or log scale for the softmax bars.
    ToggleLogScale,
}

impl State {
    /// Applies one of the view's messages.
    pub fn update(&mut self, msg: Msg) {
        match msg {
            Msg::ToggleInputView => self.input_view = !self.input_view,
            Msg::ToggleLogScale => self.log_scale = !self.log_scale,
        }
    }
}

/// How far PgUp/PgDn move.
pub const PAGE: usize = 100;

/// Previous / next image.
pub const STEP: Binding = Binding {
    keys: &[
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Char('h'),
        KeyCode::Char('l'),
    ],
    label: "← → h l",
    help: "previous / next image",
    hint: Some(Hint {
        rank: 0,
        keys: "←→",
        word: "image",
    }),
    action: |code| {
        Some(msg::Msg::Nav(match code {
            KeyCode::Left | KeyCode::Char('h') => Nav::Prev,
            _ => Nav::Next,
        }))
    },
};

/// Back / forward 100 images.
pub const PAGE_KEYS: Binding = Binding {
    keys: &[KeyCode::PageUp, KeyCode::PageDown],
    label: "PgUp PgDn",
    help: "back / forward 100 images",
    hint: None,
    action: |code| {
        Some(msg::Msg::Nav(if code == KeyCode::PageUp {
            Nav::Back(PAGE)
        } else {
            Nav::Forward(PAGE)
        }))
    },
};

/// First / last image.
pub const ENDS: Binding = Binding {
    keys: &[KeyCode::Home, KeyCode::End],
    label: "Home End",
    help: "first / last image",
    hint: None,
    action: |code| {
        Some(msg::Msg::Nav(if code == KeyCode::Home {
            Nav::First
        } else {
            Nav::Last
        }))
    },
};

/// The go-to prompt.
pub const GOTO: Binding = Binding {
    keys: &[KeyCode::Char('g')],
    label: "g",
    help: "go to an index: type it, Enter (Esc cancels)",
    hint: Some(Hint {
        rank: 70,
        keys: "g",
        word: "go to",
    }),
    action: |_| Some(msg::Msg::Goto(Goto::Start)),
};

/// A random image.
pub const RANDOM: Binding = Binding {
    keys: &[KeyCode::Char('r')],
    label: "r",
    help: "a random image",
    hint: None,
    action: |_| Some(msg::Msg::Nav(Nav::Random)),
};

/// Next image with a true label.
pub const LABELS: Binding = Binding {
    keys: &[
        KeyCode::Char('0'),
        KeyCode::Char('1'),
        KeyCode::Char('2'),
        KeyCode::Char('3'),
        KeyCode::Char('4'),
        KeyCode::Char('5'),
        KeyCode::Char('6'),
        KeyCode::Char('7'),
        KeyCode::Char('8'),
        KeyCode::Char('9'),
    ],
    label: "0 … 9",
    help: "next image with that true label",
    hint: None,
    action: |code| match code {
        KeyCode::Char(c @ '0'..='9') => Some(msg::Msg::Nav(Nav::NextWithLabel(c as u8 - b'0'))),
        _ => None,
    },
};

/// Next / previous misclassified image.
pub const ERRORS: Binding = Binding {
    keys: &[KeyCode::Char('e'), KeyCode::Char('E')],
    label: "e E",
    help: "next / previous misclassified image (background pass)",
    hint: Some(Hint {
        rank: 40,
        keys: "e/E",
        word: "errors",
    }),
    action: |code| {
        Some(msg::Msg::Nav(if code == KeyCode::Char('e') {
            Nav::NextWrong
        } else {
            Nav::PrevWrong
        }))
    },
};

/// Next / previous normalization mode.
pub const NORM: Binding = Binding {
    keys: &[KeyCode::Char('n'), KeyCode::Char('N')],
    label: "n N",
    help: "next / previous normalization mode (pca, zca fitted first)",
    hint: Some(Hint {
        rank: 10,
        keys: "n/N",
        word: "norm",
    }),
    action: |code| {
        Some(msg::Msg::Set(if code == KeyCode::Char('n') {
            Setting::NextNorm
        } else {
            Setting::PrevNorm
        }))
    },
};

/// Next / previous batch size.
pub const BATCH: Binding = Binding {
    keys: &[KeyCode::Char('b'), KeyCode::Char('B')],
    label: "b B",
    help: "next / previous batch size (1 … 10000)",
    hint: Some(Hint {
        rank: 20,
        keys: "b/B",
        word: "batch",
    }),
    action: |code| {
        Some(msg::Msg::Set(if code == KeyCode::Char('b') {
            Setting::NextBatch
        } else {
            Setting::PrevBatch
        }))
    },
};

/// Softmax or identity output layer.
pub const OUTPUT: Binding = Binding {
    keys: &[KeyCode::Char('o')],
    label: "o",
    help: "output layer: softmax ↔ identity (raw scores)",
    hint: Some(Hint {
        rank: 30,
        keys: "o",
        word: "output",
    }),
    action: |_| Some(msg::Msg::Set(Setting::ToggleOutput)),
};

/// Pixels or the network's input.
pub const INPUT_VIEW: Binding = Binding {
    keys: &[KeyCode::Char('v')],
    label: "v",
    help: "image panel: the pixels ↔ what the network receives",
    hint: Some(Hint {
        rank: 15,
        keys: "v",
        word: "input",
    }),
    action: |_| Some(msg::Msg::Browse(Msg::ToggleInputView)),
};

/// Linear or log scale for the softmax bars.
pub const LOG_SCALE: Binding = Binding {
    keys: &[KeyCode::Char('L')],
    label: "L",
    help: "softmax bars on a log scale (1e-8 … 1) ↔ linear",
    hint: None,
    action: |_| Some(msg::Msg::Browse(Msg::ToggleLogScale)),
};

/// Cycle the order the images are walked in.
pub const ORDER: Binding = Binding {
    keys: &[KeyCode::Char('s')],
    label: "s",
    help: "order: index, confidence (wrong first), loss, margin",
    hint: Some(Hint {
        rank: 80,
        keys: "s",
        word: "order",
    }),
    action: |_| Some(msg::Msg::NextOrder),
};

/// Cycle the filter of the images walked.
pub const FILTER: Binding = Binding {
    keys: &[KeyCode::Char('f')],
    label: "f",
    help: "filter: all, wrong, this label, this cell, disagree",
    hint: Some(Hint {
        rank: 81,
        keys: "f",
        word: "filter",
    }),
    action: |_| Some(msg::Msg::NextFilter),
};

/// The browse view's keys (the app's messages are `msg::Msg` here: `Msg` is this view's own).
pub const KEYS: &[Binding] = &[
    STEP,
    PAGE_KEYS,
    ENDS,
    GOTO,
    RANDOM,
    LABELS,
    ERRORS,
    NORM,
    BATCH,
    OUTPUT,
    INPUT_VIEW,
    LOG_SCALE,
    ORDER,
    FILTER,
    Binding {
        keys: &[KeyCode::Char('w')],
        label: "w",
        help: "a second network to compare with: type its .npz path",
        hint: None,
        action: |_| Some(msg::Msg::LoadPrompt(Goto::Start)),
    },
    Binding {
        keys: &[KeyCode::Char('G')],
        label: "G",
        help: "gallery: thumbnails of the images walked (order, filter)",
        hint: Some(Hint {
            rank: 76,
            keys: "G",
            word: "gallery",
        }),
        action: |_| Some(msg::Msg::Open(ViewId::Gallery)),
    },
];

/// Help lines for what is not a key.
pub const MOUSE: &[Note] = &[
    Note {
        label: "mouse wheel",
        help: "previous / next image",
    },
    // The app captures the mouse for the wheel, which hides the terminal's own selection.
    Note {
        label: "Shift+drag",
        help: "select text (in most terminals)",
    },
];

/// What each panel shows, for the help.
pub const GUIDE: &[Note] = &[
    Note {
        label: "image",
        help: "the digit; v: what the network receives, after the mode",
    },
    Note {
        label: "output",
        help: "ten scores, made probabilities by the softmax (o: raw)",
    },
    Note {
        label: "prediction",
        help: "the class with the largest output, how sure, the runner-up",
    },
    Note {
        label: "input norms",
        help: "L1, L2, max, mean and std of the input, raw and after",
    },
    Note {
        label: "accuracy",
        help: "the whole split, in the background, batch by batch",
    },
];

/// What the marks on the screen mean, for the help.
pub const MARKS: &[Note] = &[
    Note {
        label: "◀ / P T PT",
        help: "the predicted class, the true one, both (right)",
    },
    Note {
        label: "in a batch",
        help: "the background pass's prediction for this image",
    },
    Note {
        label: "pending",
        help: "the background pass has not reached this image yet",
    },
    Note {
        label: "▸",
        help: "the current mode, in the modes table",
    },
    Note {
        label: "trained on",
        help: "accuracy border: the mode the weights file records",
    },
    Note {
        label: "≠ (yellow)",
        help: "not its training mode (after a figure: the second network's)",
    },
    Note {
        label: "≠ l1 makes…",
        help: "under the modes: why the current mode does worse",
    },
    Note {
        label: "-  … 45%",
        help: "not computed yet · being computed",
    },
    Note {
        label: "b10 id sm",
        help: "computed at batch 10, with identity, softmax",
    },
    Note {
        label: "│ = 0",
        help: "identity scores grow left (< 0) or right (> 0)",
    },
    Note {
        label: "4→9 loss 3/9",
        help: "in the title: the filter (f), the order (s), the place in it",
    },
    Note {
        label: "▏ second bar",
        help: "the second network's output (--compare), beside the first's",
    },
    Note {
        label: "blue, ·",
        help: "negative input values (v; zscore, pca, zca backgrounds)",
    },
];

/// The message for a mouse event: the wheel moves through the images.
pub fn mouse_to_msg(mouse: MouseEvent) -> Option<msg::Msg> {
    match mouse.kind {
        MouseEventKind::ScrollDown => Some(msg::Msg::Nav(Nav::Next)),
        MouseEventKind::ScrollUp => Some(msg::Msg::Nav(Nav::Prev)),
        _ => None,
    }
}

/// Narrowest terminal the layout fits.
const MIN_WIDTH: u16 = 80;
/// Shortest terminal the layout fits (the status line included).
const MIN_HEIGHT: u16 = 24;
/// Largest digit zoom used.
const MAX_ZOOM: u16 = 4;
/// The prediction panel under the digit.
const PREDICTION_HEIGHT: u16 = 7;
/// The output panel: ten bars and a border.
const OUTPUT_HEIGHT: u16 = 12;
/// The norms panel: mode, header, five rows and a border.
const NORMS_HEIGHT: u16 = 9;
/// Least height of the accuracy panel when the right side is stacked.
const ACCURACY_STACKED_HEIGHT: u16 = 16;
/// Least width beside the digit: two columns of panels.
const RIGHT_MIN_WIDTH: u16 = 50;
/// Least width beside the digit for stacking the panels instead.
const RIGHT_STACKED_WIDTH: u16 = 56;

/// Where each panel goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Areas {
    digit: Rect,
    zoom: u16,
    prediction: Rect,
    output: Rect,
    norms: Rect,
    accuracy: Rect,
}

/// Draws the view into `body` (the screen but the status line), which must be at least
/// [`needed`] (less the status line).
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, body: Rect) {
    let (rows, cols) = image_size(shared);
    let Some(areas) = layout(body, rows, cols) else {
        return;
    };
    image::draw(shared, view, frame, areas.digit, areas.zoom);
    prediction::draw(shared, frame, areas.prediction);
    output::draw(shared, view, frame, areas.output);
    norms::draw(shared, frame, areas.norms);
    accuracy::draw(shared, frame, areas.accuracy);
}

/// Each panel's name and place in `body`, for tests that check how the room is used.
#[doc(hidden)]
pub fn panels(shared: &Shared, body: Rect) -> Vec<(&'static str, Rect)> {
    let (rows, cols) = image_size(shared);
    layout(body, rows, cols).map_or_else(Vec::new, |a| {
        vec![
            ("image", a.digit),
            ("prediction", a.prediction),
            ("output", a.output),
            ("norms", a.norms),
            ("accuracy", a.accuracy),
        ]
    })
}

/// The smallest terminal (status line included) the view fits.
pub fn needed(shared: &Shared) -> (u16, u16) {
    let (rows, cols) = image_size(shared);
    needed_for(rows, cols)
}

/// The smallest terminal (status line included) the layout fits for `rows x cols` images.
fn needed_for(rows: u16, cols: u16) -> (u16, u16) {
    let (w, h) = digit_size(rows, cols, 1);
    let width = MIN_WIDTH.max(w.saturating_add(RIGHT_MIN_WIDTH));
    let height = MIN_HEIGHT
        .max(h.saturating_add(PREDICTION_HEIGHT + 1))
        .max(OUTPUT_HEIGHT + NORMS_HEIGHT + 1);
    (width, height)
}

fn image_size(shared: &Shared) -> (u16, u16) {
    let clamp = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
    (clamp(shared.data.rows()), clamp(shared.data.cols()))
}

/// The digit panel's size at `zoom`: `cols*zoom` cells wide, two pixel rows per cell.
fn digit_size(rows: u16, cols: u16, zoom: u16) -> (u16, u16) {
    let w = cols.saturating_mul(zoom).saturating_add(2);
    let h = rows.saturating_mul(zoom).div_ceil(2).saturating_add(2);
    (w, h)
}

/// Splits the body (the screen but the status line), or `None` when it is too small.
fn layout(body: Rect, rows: u16, cols: u16) -> Option<Areas> {
    let (need_w, need_h) = needed_for(rows, cols);
    if body.width < need_w || body.height.saturating_add(1) < need_h {
        return None;
    }
    let body_h = body.height;
    // The largest zoom that leaves room for the panels beside and below the digit.
    let zoom = (1..=MAX_ZOOM)
        .rev()
        .find(|&z| {
            let (w, h) = digit_size(rows, cols, z);
            body.width.saturating_sub(w) >= RIGHT_MIN_WIDTH
                && h.saturating_add(PREDICTION_HEIGHT) <= body_h
        })
        .unwrap_or(1);
    let (digit_w, digit_h) = digit_size(rows, cols, zoom);
    let (x, y) = (body.x, body.y);
    let digit = Rect::new(x, y, digit_w, digit_h);
    let prediction = Rect::new(x, y + digit_h, digit_w, body_h - digit_h);
    let right_x = x + digit_w;
    let right_w = body.width - digit_w;
    let stacked = right_w >= RIGHT_STACKED_WIDTH
        && body_h >= OUTPUT_HEIGHT + NORMS_HEIGHT + ACCURACY_STACKED_HEIGHT;
    let (output, norms, accuracy) = if stacked {
        (
            Rect::new(right_x, y, right_w, OUTPUT_HEIGHT),
            Rect::new(right_x, y + OUTPUT_HEIGHT, right_w, NORMS_HEIGHT),
            Rect::new(
                right_x,
                y + OUTPUT_HEIGHT + NORMS_HEIGHT,
                right_w,
                body_h - OUTPUT_HEIGHT - NORMS_HEIGHT,
            ),
        )
    } else {
        let mid_w = right_w / 2;
        (
            Rect::new(right_x, y, mid_w, OUTPUT_HEIGHT),
            Rect::new(right_x, y + OUTPUT_HEIGHT, mid_w, body_h - OUTPUT_HEIGHT),
            Rect::new(right_x + mid_w, y, right_w - mid_w, body_h),
        )
    };
    Some(Areas {
        digit,
        zoom,
        prediction,
        output,
        norms,
        accuracy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body of a `w` x `h` screen: all but the status line.
    fn body(w: u16, h: u16) -> Rect {
        Rect::new(0, 0, w, h - 1)
    }

    #[test]
    fn layout_fits_the_classic_size_and_zooms_when_roomy() {
        let a = layout(body(80, 24), 28, 28).unwrap();
        assert_eq!(a.zoom, 1);
        assert_eq!((a.digit.width, a.digit.height), (30, 16));
        let b = layout(body(120, 40), 28, 28).unwrap();
        assert_eq!(b.zoom, 2);
        assert_eq!(
            b.output.width, 62,
            "stacked panels take the whole right side"
        );
        assert!(layout(body(79, 24), 28, 28).is_none());
        assert!(layout(body(80, 23), 28, 28).is_none());
    }

    #[test]
    fn no_panel_leaves_the_screen() {
        for (w, h) in [
            (80, 24),
            (81, 25),
            (100, 30),
            (120, 40),
            (250, 80),
            (300, 24),
        ] {
            let area = body(w, h);
            let a = layout(area, 28, 28).unwrap();
            for r in [a.digit, a.prediction, a.output, a.norms, a.accuracy] {
                assert_eq!(area.intersection(r), r, "{w}x{h}: {r:?}");
                assert!(r.width > 0 && r.height > 0, "{w}x{h}: {r:?}");
            }
        }
    }
}
