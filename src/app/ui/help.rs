//! The help overlay: every key, over the middle of the screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::bold;

/// Every key and what it does.
const KEYS: [(&str, &str); 15] = [
    ("← → h l", "previous / next image"),
    ("PgUp PgDn", "back / forward 100 images"),
    ("Home End", "first / last image"),
    ("g", "go to an index: type it, Enter (Esc cancels)"),
    ("r", "a random image"),
    ("0 … 9", "next image with that true label"),
    ("e E", "next / previous misclassified image"),
    ("n N", "next / previous normalization mode"),
    ("b B", "next / previous batch size (1 … 10000)"),
    ("o", "output layer: softmax ↔ identity (raw scores)"),
    ("mouse wheel", "previous / next image"),
    // The app captures the mouse for the wheel, which hides the terminal's own selection.
    ("Shift+drag", "select text (in most terminals)"),
    ("?", "this help"),
    ("q Esc Ctrl-C", "quit (Esc first closes a message)"),
    ("", "e/E use the background evaluation's predictions"),
];

/// Draws the overlay centered in `area`.
pub fn draw(frame: &mut Frame, area: Rect) {
    let width = 64.min(area.width);
    let height = (KEYS.len() as u16 + 3).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<13}"), bold()),
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
