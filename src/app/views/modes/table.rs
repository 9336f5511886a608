//! The table panel: a row per training mode, a column per fed mode, each cell's accuracy
//! shaded by its size, the own mode in brackets, the cursor reversed; under it how far the
//! job has come and what the finished table says.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{State, Status};
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::heat::{self, Tone};
use crate::app::widgets::{bold, dim};
use crate::mode_matrix::{Matrix, Row, RowFault, RowState};
use crate::normalize::NormMode;

/// Width of the first column: a mode's name and the mark of the shown network.
const NAME_WIDTH: usize = 9;
/// Width of a cell: a shade, `[` and `]` around `100.00`, and a space.
const CELL_WIDTH: usize = 10;

/// Draws the panel.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect) {
    let palette = shared.palette;
    let title = format!(
        " train × test: accuracy (%) on the {} {} images ",
        shared.data.len(),
        shared.split
    );
    // Without colors the shade characters carry the level.
    let legend = if palette == Palette::Plain {
        " ░▒▓█: higher · [ ] own mode · * shown elsewhere "
    } else {
        " green: higher · [ ] own mode · * shown elsewhere "
    };
    let block = Block::bordered().title(title).title_bottom(legend);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(table) = view.table() else {
        let text = vec![
            Line::raw("The network was not read from a file, so there is no family of"),
            Line::raw("networks beside it to look for (<weights>-<mode>.npz)."),
        ];
        frame.render_widget(Paragraph::new(text), inner);
        return;
    };
    let key = dim(palette);
    let mut lines = vec![
        Line::styled(
            "rows: the mode a network was trained on · columns: the mode fed",
            key,
        ),
        heading(view, key),
    ];
    // A trained network shown in place of the loaded one is none of the family's.
    let shown = shared
        .origin()
        .path
        .as_deref()
        .filter(|_| !shared.swapped());
    for (r, row) in table.matrix.rows.iter().enumerate() {
        let is_shown = shown == Some(row.member.path.as_path());
        let name = format!(
            "{:<w$}",
            format!(
                "{}{}",
                row.member.trained.name(),
                if is_shown { "*" } else { "" }
            ),
            w = NAME_WIDTH
        );
        let mut spans = vec![Span::styled(name, if r == view.row { bold() } else { key })];
        spans.extend(cells(row, view, r, palette, usize::from(inner.width)));
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    lines.push(status_line(&table.matrix, &table.status));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The column headings, the cursor's in bold.
fn heading(view: &State, key: Style) -> Line<'static> {
    let mut spans = vec![Span::raw(" ".repeat(NAME_WIDTH))];
    for (c, mode) in NormMode::PER_IMAGE.iter().enumerate() {
        // Right-aligned over the numbers, which end one space before the cell's end.
        let text = format!("{:>w$} ", mode.name(), w = CELL_WIDTH - 1);
        spans.push(Span::styled(text, if c == view.col { bold() } else { key }));
    }
    Line::from(spans)
}

/// A row's cells, or why it has none.
fn cells(row: &Row, view: &State, r: usize, palette: Palette, width: usize) -> Vec<Span<'static>> {
    match &row.state {
        RowState::Failed(fault) => {
            let text = match fault {
                RowFault::Missing => format!(
                    "missing: {}",
                    row.member
                        .path
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                ),
                RowFault::Invalid(message) => format!("unreadable: {message}"),
            };
            let room = width.saturating_sub(NAME_WIDTH);
            vec![Span::styled(
                text.chars().take(room).collect::<String>(),
                dim(palette),
            )]
        }
        RowState::Pending | RowState::Read(_) => NormMode::PER_IMAGE
            .iter()
            .zip(row.accuracy)
            .enumerate()
            .map(|(c, (&mode, accuracy))| {
                let own = mode == row.member.trained;
                let number = accuracy.map_or("…".to_string(), |a| format!("{:.2}", a * 100.0));
                let number = if own {
                    format!("[{number}]")
                } else {
                    format!("{number} ")
                };
                let level = accuracy.unwrap_or(0.0);
                let shade = if palette == Palette::Plain {
                    heat::glyph(level)
                } else {
                    ' '
                };
                let text = format!("{shade}{number:>w$} ", w = CELL_WIDTH - 2);
                let mut style = heat::style(palette, level, Tone::Good);
                if (r, c) == (view.row, view.col) {
                    style = style.add_modifier(Modifier::REVERSED);
                }
                Span::styled(text, style)
            })
            .collect(),
    }
}

/// How far the job has come, or what the finished table says.
fn status_line(matrix: &Matrix, status: &Status) -> Line<'static> {
    let (filled, wanted) = matrix.progress();
    match status {
        Status::Failed(message) => Line::raw(format!("failed: {message}")),
        Status::Running => Line::raw(format!(
            "reading the networks and evaluating them: {filled}/{wanted} passes"
        )),
        Status::Done => {
            let complete: Vec<&Row> = matrix
                .rows
                .iter()
                .filter(|r| r.accuracy.iter().all(Option::is_some))
                .collect();
            // Said only when the numbers say it.
            let lesson = if complete.is_empty() {
                "no network of the family was found"
            } else if complete.iter().all(|r| best_on_own(r)) {
                "every network does best on the mode it was trained on"
            } else {
                "not every network does best on its own mode"
            };
            Line::raw(format!("{filled} passes · {lesson}"))
        }
    }
}

/// Whether no mode feeds the row's network better than the one it was trained on.
fn best_on_own(row: &Row) -> bool {
    let own = row.accuracy[crate::mode_matrix::column(row.member.trained)].unwrap_or(0.0);
    row.accuracy.iter().flatten().all(|&a| a <= own)
}
