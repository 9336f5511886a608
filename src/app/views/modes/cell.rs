//! The cell panel: the cursor's network fed the cursor's mode, its accuracy against its own
//! mode's, why the two differ, and the network's file.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::State;
use crate::app::shared::Shared;
use crate::app::widgets::{bold, dim, fg, pct, wrap_words};
use crate::mode_matrix::{RowFault, RowState, column};
use crate::trained_on;

/// Draws the panel.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect) {
    let (trained, fed) = view.cursor();
    let block = Block::bordered().title(format!(" the {trained} network fed {fed} "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(row) = view.table().and_then(|t| t.matrix.row(trained)) else {
        return;
    };
    let key = dim(shared.palette);
    let width = usize::from(inner.width);
    let mut lines = Vec::new();
    let file = row.member.path.display().to_string();
    match &row.state {
        RowState::Failed(RowFault::Missing) => {
            lines.push(Line::raw(format!(
                "no network trained on {trained}: {file} is missing"
            )));
        }
        RowState::Failed(RowFault::Invalid(message)) => {
            lines.extend(wrap_words(message, width).into_iter().map(Line::raw));
        }
        RowState::Pending | RowState::Read(_) => {
            let shown = |a: Option<f64>| a.map_or("…".to_string(), pct);
            let mut spans = vec![
                Span::styled("accuracy ", key),
                Span::styled(shown(row.accuracy[column(fed)]), bold()),
            ];
            if fed != trained {
                spans.push(Span::raw(format!(
                    " · on its own mode, {trained}: {}",
                    shown(row.accuracy[column(trained)])
                )));
            }
            lines.push(Line::from(spans));
            lines.push(Line::raw(""));
            let why = trained_on::reason(trained, fed).map_or_else(
                || format!("{fed} is the mode it was trained on: its inputs look as in training"),
                |reason| format!("≠ {reason}"),
            );
            let style = if fed == trained {
                Default::default()
            } else {
                fg(shared.palette, Color::Yellow)
            };
            lines.extend(
                wrap_words(&why, width)
                    .into_iter()
                    .map(|l| Line::styled(l, style)),
            );
            lines.push(Line::raw(""));
            let record = match row.state {
                RowState::Read(Some(mode)) if mode == trained => String::new(),
                RowState::Read(Some(mode)) => format!(" (its record says {mode})"),
                RowState::Read(None) => " (no record)".into(),
                _ => String::new(),
            };
            lines.push(Line::from(vec![
                Span::styled("file ", key),
                Span::raw(format!("{file}{record}")),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
