//! The train × test view (`M`): the network trained on each normalization mode (the shipped
//! family beside the weights file) fed every mode, filled by one background job, with a cell
//! cursor and, for the cursor's cell, why a network does worse on inputs it was not trained
//! on.
//!
//! ```text
//! ┌ train × test: test accuracy (%) ───────────────────────────────┐
//! │ rows: trained on · columns: fed                                │
//! │            raw  div255      l1 …                               │
//! │ raw     [95.13]  92.85   10.28 …    (6 rows, the own mode [ ]) │
//! │ 36/36 passes · every network does best on its own mode         │
//! └────────────────────────────────────────────────────────────────┘
//! ┌ the raw network fed l1 ────────────────────────────────────────┐
//! │ accuracy, the reason, the file                                 │
//! └────────────────────────────────────────────────────────────────┘
//! ```

mod cell;
mod table;

use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;

use crate::app::keymap::{self, Binding, Hint, Note};
use crate::app::msg;
use crate::app::shared::Shared;
use crate::app::worker::{Job, JobKind, MatrixJob, WorkerMsg};
use crate::mode_matrix::{self, Matrix};
use crate::normalize::NormMode;

/// Images per forward pass of the table's evaluations: the accuracy does not depend on it,
/// and large batches make the 36 passes take about a second.
const BATCH: usize = 1000;

/// Where the table's job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Rows and cells are still coming.
    Running,
    /// Every row was read and every cell evaluated.
    Done,
    /// The job failed with this message.
    Failed(String),
}

/// The table as the job reported it so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The job's generation; reports of any other are dropped.
    pub generation: u64,
    /// Rows and cells.
    pub matrix: Matrix,
    /// Running, done or failed.
    pub status: Status,
}

/// The view's own state: the table once asked for, and the cell cursor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    table: Option<Table>,
    /// The cursor's row: the training mode's place in [`NormMode::PER_IMAGE`].
    pub row: usize,
    /// The cursor's column: the fed mode's place in [`NormMode::PER_IMAGE`].
    pub col: usize,
    /// Whether the cursor was placed on the shown network and mode yet.
    placed: bool,
}

/// The view's own messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// Move the cursor by rows and columns (it stops at the edges).
    Move(i8, i8),
    /// Read the files and evaluate again.
    Again,
}

impl State {
    /// The table, once asked for.
    pub fn table(&self) -> Option<&Table> {
        self.table.as_ref()
    }

    /// The cursor's cell: (trained on, fed).
    pub fn cursor(&self) -> (NormMode, NormMode) {
        (NormMode::PER_IMAGE[self.row], NormMode::PER_IMAGE[self.col])
    }

    /// Applies one of the view's messages; returns the job to start, if any.
    pub fn update(&mut self, msg: Msg, shared: &mut Shared) -> Option<Job> {
        match msg {
            Msg::Move(rows, cols) => {
                let last = NormMode::PER_IMAGE.len() - 1;
                self.row = self.row.saturating_add_signed(rows.into()).min(last);
                self.col = self.col.saturating_add_signed(cols.into()).min(last);
                None
            }
            Msg::Again => self.start(shared),
        }
    }

    /// What the view lacks while it is shown: the job that fills the table, the first time.
    /// The cursor starts on the shown network's row and the current mode's column.
    pub fn wanted(&mut self, shared: &mut Shared) -> Option<Job> {
        if !self.placed {
            self.placed = true;
            self.row = mode_matrix::column(shared.trained_on().unwrap_or_default());
            self.col = mode_matrix::column(shared.norm());
        }
        match self.table {
            None => self.start(shared),
            Some(_) => None,
        }
    }

    /// A new job for the family of the shown network's file (none without a file).
    fn start(&mut self, shared: &mut Shared) -> Option<Job> {
        let path = shared.origin().path.clone()?;
        let members = mode_matrix::members(&path, shared.trained_on());
        let generation = shared.new_generation();
        self.table = Some(Table {
            generation,
            matrix: Matrix::new(&members),
            status: Status::Running,
        });
        Some(Job::ModeMatrix(MatrixJob {
            generation,
            data: std::sync::Arc::clone(&shared.data),
            members,
            batch_size: BATCH,
        }))
    }

    /// Applies a report of the table's job; returns the message of a failure. Reports of
    /// any job but the current one are dropped.
    pub fn on_worker(&mut self, report: WorkerMsg) -> Option<String> {
        let table = self.table.as_mut()?;
        if report.kind() != JobKind::ModeMatrix || report.generation() != table.generation {
            return None;
        }
        match report {
            WorkerMsg::Matrix { event, .. } => table.matrix.apply(&event),
            WorkerMsg::MatrixDone { .. } => table.status = Status::Done,
            WorkerMsg::Failed { message, .. } => {
                table.status = Status::Failed(message.clone());
                return Some(message);
            }
            _ => {}
        }
        None
    }
}

/// The view's keys.
pub const KEYS: &[Binding] = &[
    Binding {
        keys: keymap::CURSOR_KEYS,
        label: "← → ↑ ↓ hjkl",
        help: "move the cell cursor: a network (row) fed a mode (column)",
        hint: Some(Hint {
            rank: 0,
            keys: "←→↑↓",
            word: "cell",
        }),
        action: |code| {
            let (rows, cols) = keymap::cursor_step(code);
            Some(msg::Msg::Modes(Msg::Move(rows, cols)))
        },
    },
    Binding {
        keys: &[KeyCode::Char('r')],
        label: "r",
        help: "read the files and evaluate again",
        hint: Some(Hint {
            rank: 5,
            keys: "r",
            word: "again",
        }),
        action: |_| Some(msg::Msg::Modes(Msg::Again)),
    },
];

/// No mouse in this view.
pub const MOUSE: &[Note] = &[];

/// What each panel shows, for the help.
pub const GUIDE: &[Note] = &[
    Note {
        label: "table",
        help: "each mode's network (rows) fed every mode (columns)",
    },
    Note {
        label: "networks",
        help: "<weights>-<mode>.npz beside the weights file, shipped",
    },
    Note {
        label: "cell",
        help: "the cursor's cell, and why it does worse than its own mode",
    },
];

/// What the marks mean, for the help.
pub const MARKS: &[Note] = &[
    Note {
        label: "[97.69]",
        help: "the mode the row's network was trained on",
    },
    Note {
        label: "green",
        help: "accuracy: brighter is higher",
    },
    Note {
        label: "░▒▓█",
        help: "without colors (NO_COLOR): a shade before the number",
    },
    Note {
        label: "reversed",
        help: "the cursor",
    },
    Note {
        label: "*",
        help: "the network the other views show",
    },
    Note {
        label: "…  missing",
        help: "not evaluated yet · no such file beside the weights",
    },
];

/// Narrowest terminal the view fits.
const MIN_WIDTH: u16 = 80;
/// Shortest terminal the view fits (the status line included).
const MIN_HEIGHT: u16 = 24;
/// The table panel: a caption, the heading, six rows, a blank and a status line, and a
/// border.
const TABLE_HEIGHT: u16 = 12;

/// The smallest terminal (status line included) the view fits.
pub fn needed(_shared: &Shared) -> (u16, u16) {
    (MIN_WIDTH, MIN_HEIGHT)
}

/// The table above, the cursor's cell below.
fn layout(body: Rect) -> (Rect, Rect) {
    let table_h = TABLE_HEIGHT.min(body.height);
    (
        Rect::new(body.x, body.y, body.width, table_h),
        Rect::new(body.x, body.y + table_h, body.width, body.height - table_h),
    )
}

/// Each panel's name and place in `body`, for tests that check how room is used.
#[doc(hidden)]
pub fn panels(body: Rect) -> Vec<(&'static str, Rect)> {
    let (table, cell) = layout(body);
    vec![("table", table), ("cell", cell)]
}

/// Draws the view into `body`, the screen but the status line.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, body: Rect) {
    let (table_area, cell_area) = layout(body);
    table::draw(shared, view, frame, table_area);
    cell::draw(shared, view, frame, cell_area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::Cmd;
    use crate::app::shared::Origin;
    use crate::app::state::{AppState, test_state};
    use crate::app::views::ViewId;
    use crate::dataset::Split;
    use crate::mode_matrix::{Event, RowFault};

    fn state(path: Option<&str>) -> AppState {
        let images: Vec<u8> = (0..40).map(|i| (i * 53 % 256) as u8).collect();
        let labels: Vec<u8> = (0..10).collect();
        let w = ndarray::Array2::from_shape_fn((4, 10), |(r, c)| (r + c) as f32);
        let (state, _) = test_state(images, labels, w, Split::Test, 10, 1);
        state.with_origin(Origin {
            path: path.map(Into::into),
            trained_on: Some(NormMode::L2),
        })
    }

    fn matrix_job(cmd: &Cmd) -> MatrixJob {
        match cmd.jobs() {
            [.., Job::ModeMatrix(job)] => job.clone(),
            other => panic!("no table job: {other:?}"),
        }
    }

    #[test]
    fn opening_starts_one_job_for_the_family_and_later_reports_replace_earlier_ones() {
        let mut s = state(Some("w/net-l2.npz"));
        let first = matrix_job(&s.update(msg::Msg::Open(ViewId::Modes)));
        let paths: Vec<_> = first.members.iter().map(|m| m.path.clone()).collect();
        assert_eq!(paths[3], std::path::Path::new("w/net-l2.npz"));
        assert_eq!(paths[1], std::path::Path::new("w/net.npz"));
        assert_eq!(
            s.modes().cursor(),
            (NormMode::L2, NormMode::Div255),
            "the shown network, the current mode"
        );
        // Moving the cursor asks for nothing more.
        assert!(s.update(msg::Msg::Modes(Msg::Move(1, 9))).jobs().is_empty());
        assert_eq!(s.modes().cursor(), (NormMode::Max, NormMode::Zscore));
        for _ in 0..9 {
            s.update(msg::Msg::Modes(Msg::Move(-1, -1)));
        }
        assert_eq!(s.modes().cursor(), (NormMode::Raw, NormMode::Raw));
        let again = matrix_job(&s.update(msg::Msg::Modes(Msg::Again)));
        assert_ne!(again.generation, first.generation);
        let row = |generation| {
            msg::Msg::Worker(WorkerMsg::Matrix {
                generation,
                event: Box::new(Event::Row {
                    trained: NormMode::L1,
                    outcome: Err(RowFault::Missing),
                }),
            })
        };
        s.update(row(first.generation));
        let table = s.modes().table().unwrap();
        assert_eq!(
            table.matrix.progress(),
            (0, 36),
            "the replaced job's report is dropped"
        );
        s.update(row(again.generation));
        s.update(msg::Msg::Worker(WorkerMsg::MatrixDone {
            generation: again.generation,
        }));
        let table = s.modes().table().unwrap();
        assert_eq!(table.matrix.progress(), (0, 30));
        assert_eq!(table.status, Status::Done);
        // Going back and opening again shows the table computed.
        s.update(msg::Msg::Back);
        assert!(s.update(msg::Msg::Open(ViewId::Modes)).jobs().is_empty());
    }

    #[test]
    fn a_network_not_read_from_a_file_has_no_family_and_no_job() {
        let mut s = state(None);
        assert!(s.update(msg::Msg::Open(ViewId::Modes)).jobs().is_empty());
        assert!(s.modes().table().is_none());
    }
}
