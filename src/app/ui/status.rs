//! The status line: the go-to prompt, a notice, or the main keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{bold, dim, fg};
use crate::app::state::AppState;

/// The main keys, most useful first (the line is cut at the screen's edge).
const HINTS: [(&str, &str); 8] = [
    ("←→", "image"),
    ("n/N", "norm"),
    ("b/B", "batch"),
    ("o", "output"),
    ("e/E", "errors"),
    ("g", "go to"),
    ("?", "help"),
    ("q", "quit"),
];

/// Draws the line.
pub fn draw(state: &AppState, frame: &mut Frame, area: Rect) {
    let palette = state.palette;
    let line = if let Some(typed) = state.goto_input() {
        Line::from(vec![
            Span::styled(" go to image: ", bold()),
            Span::raw(typed.to_string()),
            Span::styled("█", Style::default().add_modifier(Modifier::SLOW_BLINK)),
            Span::styled(
                format!(
                    "   (0-{}, Enter go, Esc cancel)",
                    state.data.len().saturating_sub(1)
                ),
                dim(palette),
            ),
        ])
    } else if let Some(notice) = state.notice() {
        let style = if notice.is_error {
            fg(palette, Color::Red).patch(bold())
        } else {
            fg(palette, Color::Yellow)
        };
        Line::styled(format!(" {}", notice.text), style)
    } else {
        let mut spans = Vec::new();
        for (key, what) in HINTS {
            spans.push(Span::styled(format!(" {key}"), bold()));
            spans.push(Span::styled(format!(" {what} "), dim(palette)));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}
