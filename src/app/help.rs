//! The help overlay, over the middle of the screen: the active view's keys and mouse, then
//! the global keys, then the view's remarks, all from the same tables the keys are read with.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::router::GLOBAL_KEYS;
use crate::app::state::AppState;
use crate::app::widgets::bold;

/// Width of the keys' column.
const KEY_COLUMN: usize = 13;

/// The help's rows: (keys, what they do).
pub fn rows(state: &AppState) -> Vec<(&'static str, &'static str)> {
    let view = state.view();
    let keys = |table: &'static [crate::app::keymap::Binding]| {
        table.iter().map(|b| (b.label, b.help)).collect::<Vec<_>>()
    };
    let notes = |notes: &'static [crate::app::keymap::Note]| {
        notes.iter().map(|n| (n.label, n.help)).collect::<Vec<_>>()
    };
    let mut rows = keys(view.keys());
    rows.extend(notes(view.mouse_help()));
    rows.extend(keys(GLOBAL_KEYS));
    rows.extend(notes(view.notes()));
    rows
}

/// Draws the overlay centered in `area`.
pub fn draw(state: &AppState, frame: &mut Frame, area: Rect) {
    let rows = rows(state);
    let width = 64.min(area.width);
    let height = (rows.len() as u16 + 3).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let lines: Vec<Line> = rows
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<KEY_COLUMN$}"), bold()),
                Span::raw(*what),
            ])
        })
        .collect();
    let block = Block::bordered()
        .title(" keys ")
        .title_bottom(" any key closes · q quits ");
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
