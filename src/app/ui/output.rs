//! The output panel: one bar per class with its probability (softmax) or raw score
//! (identity); the predicted and the true class are marked.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{bar, bold, dim, fg};
use crate::app::state::AppState;
use crate::layer::OutputLayer;

/// Draws the panel.
pub fn draw(state: &AppState, frame: &mut Frame, area: Rect) {
    let view = state.image_view();
    let label = usize::from(state.data.label(state.index()));
    let (title, values) = match state.output() {
        OutputLayer::Softmax => (" softmax output ", &view.probs),
        OutputLayer::Identity => (" identity: raw scores ", &view.scores),
    };
    // Bars span the values' range: 0..1 for probabilities, min..max for raw scores.
    let (lo, hi) = match state.output() {
        OutputLayer::Softmax => (0.0, 1.0),
        OutputLayer::Identity => values
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            }),
    };
    let inner_w = usize::from(area.width.saturating_sub(2));
    let wide = inner_w >= 40;
    // "7 " + bar + " 99.87%" + mark
    let mark_w = if wide { 13 } else { 3 };
    let bar_w = inner_w
        .saturating_sub(2 + 8 + mark_w)
        .clamp(1, super::MAX_BAR_WIDTH);
    let palette = state.palette;
    let lines: Vec<Line> = values
        .iter()
        .enumerate()
        .map(|(class, &v)| {
            let fraction = if hi > lo {
                f64::from((v - lo) / (hi - lo))
            } else {
                0.0
            };
            let value = match state.output() {
                OutputLayer::Softmax => format!("{:>6.2}%", v * 100.0),
                OutputLayer::Identity => format!("{:>7}", super::num(f64::from(v))),
            };
            let (is_pred, is_true) = (class == view.predicted, class == label);
            let bar_style = match (is_pred, is_true) {
                (true, true) => fg(palette, Color::Green),
                (true, false) => fg(palette, Color::Red),
                (false, true) => fg(palette, Color::Cyan),
                _ => Style::default(),
            };
            let mark = match (is_pred, is_true, wide) {
                (true, true, true) => " ◀ pred=true",
                (true, false, true) => " ◀ predicted",
                (false, true, true) => " ◀ true",
                (true, true, false) => " PT",
                (true, false, false) => " P",
                (false, true, false) => " T",
                _ => "",
            };
            let text_style = if is_pred { bold() } else { Style::default() };
            Line::from(vec![
                Span::styled(format!("{class} "), text_style),
                Span::styled(bar(fraction, bar_w), bar_style),
                Span::styled(format!(" {value}"), text_style),
                Span::styled(mark, bold()),
            ])
        })
        .collect();
    let mut block = Block::bordered().title(title);
    if !wide {
        block = block.title_bottom(Line::styled(" P pred · T true ", dim(palette)));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
