//! The help overlay, over the middle of the screen: a short guide to the active view (what
//! each panel shows), its keys and the global ones, then what its marks mean, all from the
//! tables the view and the router use. Where it does not fit, it scrolls.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::keymap::{Binding, Note};
use crate::app::router::{GLOBAL_KEYS, open_keys};
use crate::app::state::AppState;
use crate::app::views::ViewId;
use crate::app::widgets::{bold, dim};

/// Width of the first column.
const KEY_COLUMN: usize = 13;
/// Widest the overlay gets.
const MAX_WIDTH: u16 = 76;

/// One row of the help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A section's heading.
    Heading(&'static str),
    /// Keys (or a panel, or a mark) and what they do.
    Entry(&'static str, &'static str),
}

/// The help's rows for `view`.
pub fn rows(view: ViewId) -> Vec<Row> {
    let keys = |table: &'static [Binding]| table.iter().map(|b| Row::Entry(b.label, b.help));
    let notes = |notes: &'static [Note]| notes.iter().map(|n| Row::Entry(n.label, n.help));
    let mut rows = vec![Row::Heading("what you see")];
    rows.extend(notes(view.guide()));
    rows.push(Row::Heading("keys"));
    rows.extend(keys(view.keys()));
    rows.extend(notes(view.mouse_help()));
    rows.extend(
        open_keys(view)
            .into_iter()
            .map(|b| Row::Entry(b.label, b.help)),
    );
    rows.extend(keys(GLOBAL_KEYS));
    rows.push(Row::Heading("marks"));
    rows.extend(notes(view.marks()));
    rows
}

/// The overlay's height in `area` for `rows` rows (its border included).
fn height(rows: usize, area: Rect) -> u16 {
    u16::try_from(rows + 2).unwrap_or(u16::MAX).min(area.height)
}

/// How many of `view`'s help rows the overlay shows at once in `area`.
pub fn visible_rows(view: ViewId, area: Rect) -> usize {
    usize::from(height(rows(view).len(), area).saturating_sub(2))
}

/// The offset that shows `view`'s last help row at the bottom of the overlay in `area`.
pub fn last_offset(view: ViewId, area: Rect) -> usize {
    rows(view).len().saturating_sub(visible_rows(view, area))
}

/// Draws the overlay centered in `area`, scrolled down by the state's offset.
pub fn draw(state: &AppState, frame: &mut Frame, area: Rect) {
    let rows = rows(state.view());
    let width = MAX_WIDTH.min(area.width);
    let height = height(rows.len(), area);
    let visible = usize::from(height.saturating_sub(2));
    let offset = state.help_offset().min(rows.len().saturating_sub(visible));
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let key = dim(state.shared().palette);
    let lines: Vec<Line> = rows
        .iter()
        .skip(offset)
        .map(|row| match row {
            Row::Heading(text) => Line::styled(format!(" {text}"), key),
            Row::Entry(label, what) => Line::from(vec![
                Span::styled(format!(" {label:<KEY_COLUMN$}"), bold()),
                Span::raw(*what),
            ]),
        })
        .collect();
    let footer = if rows.len() > visible {
        let last = (offset + visible).min(rows.len());
        format!(
            " ↑↓ PgUp PgDn Home End: {}–{last} of {} · other keys close ",
            offset + 1,
            rows.len()
        )
    } else {
        " any key closes · q quits ".to_string()
    };
    let block = Block::bordered().title(" help ").title_bottom(footer);
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_every_view_fits_the_overlay_at_80_columns() {
        // Inside the border: a space, the key column, the text.
        let room = usize::from(MAX_WIDTH) - 2 - 1 - KEY_COLUMN;
        for view in ViewId::ALL {
            for row in rows(view) {
                if let Row::Entry(label, what) = row {
                    let label_w = label.chars().count();
                    assert!(label_w < KEY_COLUMN, "{view:?}: `{label}` leaves no gap");
                    assert!(what.chars().count() <= room, "{view:?}: `{what}` is cut");
                }
            }
        }
    }
}
