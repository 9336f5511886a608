//! The "my digits" panel: the drawings kept with `Enter`, each with the label the user typed
//! and what the network says of it under the current settings, and how many it gets right;
//! while the label prompt is open, the prompt.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::State;
use crate::app::shared::Palette;
use crate::app::widgets::{bold, dim, fg, pct};

/// Draws the panel.
pub fn draw(view: &State, palette: Palette, frame: &mut Frame, area: Rect) {
    let kept = view.kept();
    let right = kept
        .iter()
        .filter(|k| k.predicted.is_some_and(|(p, _)| p == usize::from(k.label)))
        .count();
    let title = if kept.is_empty() {
        " my digits ".to_string()
    } else {
        format!(" my digits: {} kept, {right} right ", kept.len())
    };
    let key = dim(palette);
    let mut lines = Vec::new();
    if view.labeling() {
        lines.push(Line::styled(
            "label for this drawing? type 0 … 9 (Esc cancels)",
            fg(palette, Color::Yellow).patch(bold()),
        ));
    }
    if kept.is_empty() {
        lines.push(Line::styled(
            "Enter keeps the drawing here with the label you type; [ ] bring kept ones back",
            key,
        ));
    }
    let rows = usize::from(area.height.saturating_sub(2)).saturating_sub(lines.len());
    // The latest ones, or those around the one on the canvas, when they do not all fit.
    let last = view.selected().map_or(kept.len(), |s| (s + 1).max(rows));
    let first = last.min(kept.len()).saturating_sub(rows);
    for (i, k) in kept.iter().enumerate().take(last).skip(first) {
        let mark = if view.selected() == Some(i) {
            "▸"
        } else {
            " "
        };
        let mut spans = vec![
            Span::styled(mark, bold()),
            Span::raw(format!("#{:<3} label ", i + 1)),
            Span::styled(k.label.to_string(), bold()),
        ];
        match k.predicted {
            Some((p, prob)) => {
                let verdict = if p == usize::from(k.label) {
                    Span::styled(" ✓", fg(palette, Color::Green).patch(bold()))
                } else {
                    Span::styled(" ✗", fg(palette, Color::Red).patch(bold()))
                };
                spans.push(Span::styled("  predicted ", key));
                spans.push(Span::styled(p.to_string(), bold()));
                spans.push(verdict);
                spans.push(Span::styled(format!(" {}", pct(f64::from(prob))), key));
            }
            None => spans.push(Span::styled("  (no reading)", key)),
        }
        lines.push(Line::from(spans));
    }
    let block = Block::bordered().title(title);
    let paragraph = Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false });
    frame.render_widget(paragraph, area);
}
