//! The prediction panel under the digit: true label, prediction, its probability, right or
//! wrong, and the runner-up.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::shared::Shared;
use crate::app::widgets::{bold, dim, fg};

/// Draws the panel.
pub fn draw(shared: &Shared, frame: &mut Frame, area: Rect) {
    let view = shared.image();
    let label = usize::from(shared.data.label(shared.index()));
    let predicted = view.predicted;
    let p = |c: usize| view.probs.get(c).copied().unwrap_or(0.0) * 100.0;
    let verdict = if predicted == label {
        Span::styled("✓ right", fg(shared.palette, Color::Green).patch(bold()))
    } else {
        Span::styled("✗ WRONG", fg(shared.palette, Color::Red).patch(bold()))
    };
    // The runner-up shows how close the call was.
    let second = (0..view.probs.len())
        .filter(|&c| c != predicted)
        .max_by(|&a, &b| view.probs[a].total_cmp(&view.probs[b]));
    let key = dim(shared.palette);
    let mut lines = vec![
        Line::from(vec![
            Span::styled("true label   ", key),
            Span::styled(label.to_string(), bold()),
        ]),
        Line::from(vec![
            Span::styled("predicted    ", key),
            Span::styled(predicted.to_string(), bold()),
            Span::raw("  "),
            verdict,
        ]),
        Line::from(vec![
            Span::styled("probability  ", key),
            Span::raw(format!("{:.2}%", p(predicted))),
        ]),
    ];
    if let Some(s) = second {
        lines.push(Line::from(vec![
            Span::styled("runner-up    ", key),
            Span::raw(format!("{s} ({:.2}%)", p(s))),
        ]));
    }
    // The background evaluation's prediction for this image, made inside a whole batch: the
    // book's point that batching changes the speed, not the answer.
    if let Some(&Some(batched)) = shared.evaluation().predictions.get(shared.index()) {
        let agreement = if usize::from(batched) == predicted {
            Span::styled(" (same)", key)
        } else {
            Span::styled(" (differs)", fg(shared.palette, Color::Red).patch(bold()))
        };
        lines.push(Line::from(vec![
            Span::styled("in a batch   ", key),
            Span::raw(batched.to_string()),
            agreement,
        ]));
    }
    let block = Block::bordered().title(" prediction ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
