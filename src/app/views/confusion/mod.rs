//! The confusion matrix view (`c`): the 10×10 matrix of the evaluation for the current
//! settings, live while it runs (rows the true label, columns the prediction), with a cell
//! cursor; Enter shows the cursor's images in the gallery.
//!
//! ```text
//! ┌ confusion matrix: counts ─────────────────────┐┌ cell ──────────┐
//! │ t\p   0    1  …    9 │ all                    ││ true 4 → 9     │
//! │   0 ▓970   0  …    1 │ 980                    ││ 23 images …    │
//! │ all  …               │10000                   ││ most confused  │
//! └───────────────────────────────────────────────┘└────────────────┘
//! ```
//! Beside the matrix when there is room (120x40), under it otherwise (80x24).

mod details;
mod matrix;
mod preview;

use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;

use crate::app::keymap::{self, Binding, Hint, Note};
use crate::app::msg;
use crate::app::selection::Filter;
use crate::app::shared::Shared;
use crate::app::views::browse;
use crate::dataset::NUM_CLASSES;

/// The column of the cursor that stands for a row's total: all the images of a label.
pub const TOTAL: u8 = NUM_CLASSES as u8;

/// The view's own state: the cursor and what the cells show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State {
    /// The cursor's row: a true label.
    pub row: u8,
    /// The cursor's column: a prediction, or [`TOTAL`].
    pub col: u8,
    /// Cells show the percentage of their row instead of counts.
    pub percent: bool,
}

/// The view's own messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// Move the cursor by rows and columns (it stops at the edges).
    Move(i8, i8),
    /// Counts or row percentages.
    TogglePercent,
    /// Show the cursor's images.
    Open,
}

impl State {
    /// Applies one of the view's messages; returns the filter of the images to show when
    /// the cursor's cell is opened.
    pub fn update(&mut self, msg: Msg) -> Option<Filter> {
        match msg {
            Msg::Move(rows, cols) => {
                let last_row = TOTAL - 1;
                self.row = self.row.saturating_add_signed(rows).min(last_row);
                self.col = self.col.saturating_add_signed(cols).min(TOTAL);
            }
            Msg::TogglePercent => self.percent = !self.percent,
            Msg::Open => {
                return Some(if self.col >= TOTAL {
                    Filter::Label(self.row)
                } else {
                    Filter::Cell {
                        truth: self.row,
                        predicted: self.col,
                    }
                });
            }
        }
        None
    }
}

/// The view's keys; the settings keys work here as in the browse view, so that the matrix of
/// another mode is a key away.
pub const KEYS: &[Binding] = &[
    Binding {
        keys: keymap::CURSOR_KEYS,
        label: "← → ↑ ↓ hjkl",
        help: "move the cell cursor (right of 9: the row's total)",
        hint: Some(Hint {
            rank: 0,
            keys: "←→↑↓",
            word: "cell",
        }),
        action: |code| {
            let (rows, cols) = keymap::cursor_step(code);
            Some(msg::Msg::Confusion(Msg::Move(rows, cols)))
        },
    },
    Binding {
        keys: &[KeyCode::Enter],
        label: "Enter",
        help: "the cell's images in the gallery (the row's, on its total)",
        hint: Some(Hint {
            rank: 5,
            keys: "Enter",
            word: "images",
        }),
        action: |_| Some(msg::Msg::Confusion(Msg::Open)),
    },
    Binding {
        keys: &[KeyCode::Char('%')],
        label: "%",
        help: "counts ↔ percentages of each row (true label)",
        hint: Some(Hint {
            rank: 8,
            keys: "%",
            word: "counts/%",
        }),
        action: |_| Some(msg::Msg::Confusion(Msg::TogglePercent)),
    },
    browse::NORM,
    browse::BATCH,
    browse::OUTPUT,
];

/// No mouse in this view.
pub const MOUSE: &[Note] = &[];

/// What each panel shows, for the help.
pub const GUIDE: &[Note] = &[
    Note {
        label: "matrix",
        help: "rows: true label, columns: prediction; live as the pass runs",
    },
    Note {
        label: "all",
        help: "row totals (images of a label), column totals (predictions)",
    },
    Note {
        label: "cell",
        help: "the cursor's cell: how many, of which row and column",
    },
    Note {
        label: "confused",
        help: "the largest errors, true→predicted, and their counts",
    },
];

/// What the marks mean, for the help.
pub const MARKS: &[Note] = &[
    Note {
        label: "▸",
        help: "the cursor",
    },
    Note {
        label: "green, red",
        help: "right (diagonal), wrong; brighter: more, each to its largest",
    },
    Note {
        label: "░▒▓█",
        help: "NO_COLOR: a shade, ░ few … █ most; the diagonal in bold",
    },
    Note {
        label: "4→9",
        help: "true label 4, predicted 9",
    },
];

/// Narrowest terminal the view fits.
const MIN_WIDTH: u16 = 80;
/// Shortest terminal the view fits (the status line included).
const MIN_HEIGHT: u16 = 24;
/// Least width of the cell panel beside the matrix.
const SIDE_WIDTH: u16 = 30;
/// Least height of the preview under the matrix: a row of thumbnails and a border.
const PREVIEW_HEIGHT: u16 = 10;

/// Where each panel goes; no preview where it does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Areas {
    matrix: Rect,
    details: Rect,
    preview: Option<Rect>,
}

/// The smallest terminal (status line included) the view fits.
pub fn needed(_shared: &Shared) -> (u16, u16) {
    (MIN_WIDTH, MIN_HEIGHT)
}

/// Where the panels go: the matrix; the cell's details beside it (or under it, at 80x24);
/// the cell's first images under it where there is room.
fn layout(shared: &Shared, body: Rect) -> Areas {
    let roomy = matrix::Geometry::new(shared, true);
    let compact = matrix::Geometry::new(shared, false);
    let fits = |g: &matrix::Geometry, spare: u16| g.panel_width() + spare <= body.width;
    let (geometry, side) = if fits(&roomy, SIDE_WIDTH) {
        (roomy, true)
    } else if fits(&compact, SIDE_WIDTH) {
        (compact, true)
    } else {
        (compact, false)
    };
    let (w, h) = (
        geometry.panel_width().min(body.width),
        geometry.panel_height().min(body.height),
    );
    if side {
        let below = body.height - h;
        Areas {
            matrix: Rect::new(body.x, body.y, w, h),
            details: Rect::new(body.x + w, body.y, body.width - w, body.height),
            preview: (below >= PREVIEW_HEIGHT).then(|| Rect::new(body.x, body.y + h, w, below)),
        }
    } else {
        Areas {
            matrix: Rect::new(body.x, body.y, body.width, h),
            details: Rect::new(body.x, body.y + h, body.width, body.height - h),
            preview: None,
        }
    }
}

/// Draws the view into `body`.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, body: Rect) {
    let areas = layout(shared, body);
    matrix::draw(shared, view, frame, areas.matrix);
    details::draw(shared, view, frame, areas.details);
    if let Some(area) = areas.preview {
        preview::draw(shared, view, frame, area);
    }
}

/// Each panel's name and place in `body`, for tests that check how the room is used.
#[doc(hidden)]
pub fn panels(shared: &Shared, body: Rect) -> Vec<(&'static str, Rect)> {
    let areas = layout(shared, body);
    let mut panels = vec![("matrix", areas.matrix), ("cell", areas.details)];
    panels.extend(areas.preview.map(|p| ("preview", p)));
    panels
}

/// The filter of the images behind the cursor: its cell, or its row on the totals.
fn cursor_filter(view: &State) -> Filter {
    let mut cursor = *view;
    cursor.update(Msg::Open).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_stops_at_the_edges_and_opens_a_cell_or_a_row() {
        let mut s = State::default();
        s.update(Msg::Move(-1, -1));
        assert_eq!((s.row, s.col), (0, 0));
        for _ in 0..20 {
            s.update(Msg::Move(1, 1));
        }
        assert_eq!((s.row, s.col), (9, TOTAL));
        assert_eq!(s.update(Msg::Open), Some(Filter::Label(9)));
        s.update(Msg::Move(-5, -7));
        assert_eq!(
            s.update(Msg::Open),
            Some(Filter::Cell {
                truth: 4,
                predicted: 3
            })
        );
        assert_eq!(s.update(Msg::TogglePercent), None);
        assert!(s.percent);
    }
}
