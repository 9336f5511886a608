//! The norms panel: L1, L2 and max norms, mean and standard deviation of the input vector,
//! raw and after the current normalization, with the mode's formula.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{bold, dim, num};
use crate::app::state::AppState;

/// Draws the panel.
pub fn draw(state: &AppState, frame: &mut Frame, area: Rect) {
    let view = state.image_view();
    let mode = state.norm();
    let inner_w = usize::from(area.width.saturating_sub(2));
    // Columns: a 5-wide row name, then two right-aligned values sharing what is left.
    let col = ((inner_w.saturating_sub(5)) / 2).clamp(8, 14);
    let key = dim(state.palette);
    let row = |name: &str, raw: f64, after: f64| {
        Line::from(vec![
            Span::styled(format!("{name:<5}"), key),
            Span::raw(format!("{:>col$}{:>col$}", num(raw), num(after))),
        ])
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(mode.name(), bold()),
            Span::raw(": "),
            Span::raw(mode.formula()),
        ]),
        Line::from(vec![
            Span::raw(" ".repeat(5)),
            Span::styled(format!("{:>col$}{:>col$}", "raw", mode.name()), key),
        ]),
        row("L1", view.raw.l1, view.after.l1),
        row("L2", view.raw.l2, view.after.l2),
        row("max", view.raw.max, view.after.max),
        row("mean", view.raw_mean_std.0, view.after_mean_std.0),
        row("std", view.raw_mean_std.1, view.after_mean_std.1),
    ];
    let block = Block::bordered().title(" input norms ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
