//! The prediction panel under the digit: true label, prediction, how sure it is (the
//! probability under softmax, the score under identity, which has no probability), right or
//! wrong, the runner-up, the background evaluation's answer for the same image, and the
//! second network's (`--compare`). With room to spare, it says what those lines mean.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::app::evaluations::EvalStatus;
use crate::app::shared::Shared;
use crate::app::widgets::{bold, dim, fg, num};
use crate::layer::OutputLayer;

/// What the lines mean, shown when the panel has rows to spare.
const EXPLAINED: [&str; 3] = [
    "probability: the softmax of the scores; identity shows the raw scores, whose largest \
     is the same class.",
    "runner-up: the second choice, a measure of how close the call was.",
    "in a batch: this image's prediction from the background pass over the whole split, made \
     among a whole batch: batching changes the speed, never the answer.",
];

/// Draws the panel.
pub fn draw(shared: &Shared, frame: &mut Frame, area: Rect) {
    let image = shared.image();
    let label = shared.label();
    let predicted = image.predicted;
    let palette = shared.palette;
    let key = dim(palette);
    let verdict = if predicted == label {
        Span::styled("✓ right", fg(palette, Color::Green).patch(bold()))
    } else {
        Span::styled("✗ WRONG", fg(palette, Color::Red).patch(bold()))
    };
    let identity = shared.output() == OutputLayer::Identity;
    // Under identity there is no probability: the numbers shown are the scores.
    let (values, show): (&[f32], fn(f32) -> String) = if identity {
        (&image.scores, |v| num(f64::from(v)))
    } else {
        (&image.probs, |v| format!("{:.2}%", v * 100.0))
    };
    let value = |c: usize| values.get(c).copied().unwrap_or(0.0);
    // The runner-up shows how close the call was.
    let second = (0..values.len())
        .filter(|&c| c != predicted)
        .max_by(|&a, &b| values[a].total_cmp(&values[b]));
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
            Span::styled(
                if identity {
                    "score        "
                } else {
                    "probability  "
                },
                key,
            ),
            Span::raw(show(value(predicted))),
        ]),
    ];
    if let Some(s) = second {
        lines.push(Line::from(vec![
            Span::styled("runner-up    ", key),
            Span::raw(format!("{s} ({})", show(value(s)))),
        ]));
    }
    // The background evaluation's prediction for this image, made inside a whole batch: the
    // book's point that batching changes the speed, not the answer.
    let eval = shared.evaluation();
    let batched = match (eval.predictions.get(shared.index()), &eval.status) {
        (Some(&Some(batched)), _) => {
            let agreement = if usize::from(batched) == predicted {
                Span::styled(" (same)", key)
            } else {
                Span::styled(" (differs)", fg(palette, Color::Red).patch(bold()))
            };
            vec![Span::raw(batched.to_string()), agreement]
        }
        (_, EvalStatus::Failed(_)) => vec![Span::styled("- (the pass failed)", key)],
        _ => vec![Span::styled("pending", key)],
    };
    let mut batch_line = vec![Span::styled("in a batch   ", key)];
    batch_line.extend(batched);
    lines.push(Line::from(batch_line));
    if let Some(other) = shared.other() {
        // The second network's call on the same image, under the same settings.
        let theirs = &other.image;
        let p = theirs.predicted;
        let values = if identity {
            &theirs.scores
        } else {
            &theirs.probs
        };
        let mark = if p == label {
            Span::styled(" ✓", fg(palette, Color::Green))
        } else {
            Span::styled(" ✗", fg(palette, Color::Red))
        };
        lines.push(Line::from(vec![
            Span::styled("other net    ", key),
            Span::styled(p.to_string(), bold()),
            mark,
            Span::raw(format!(
                " ({})",
                show(values.get(p).copied().unwrap_or(0.0))
            )),
        ]));
    }
    let inner_h = usize::from(area.height.saturating_sub(2));
    let inner_w = usize::from(area.width.saturating_sub(2)).max(1);
    // Each explanation takes as many rows as it wraps to, plus a blank line before them.
    let needed: usize = EXPLAINED
        .iter()
        .map(|t| t.chars().count().div_ceil(inner_w))
        .sum::<usize>()
        + 1;
    if inner_h >= lines.len() + needed {
        lines.push(Line::raw(""));
        lines.extend(EXPLAINED.iter().map(|t| Line::styled(*t, key)));
    }
    let mut block = Block::bordered().title(" prediction ");
    if identity {
        let note = if inner_w >= 30 {
            " o: softmax for probabilities "
        } else {
            " o: probabilities "
        };
        block = block.title_bottom(Line::styled(note, key));
    }
    let paragraph = Paragraph::new(lines).block(block).wrap(Wrap { trim: true });
    frame.render_widget(paragraph, area);
}
