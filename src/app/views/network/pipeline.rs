//! The pipeline panel: the forward pass of one batch as the book draws it, with the real
//! layer sizes of the loaded network (any depth) and the current batch size B:
//! `X B×784 · W1 784×50 + b1 → sigmoid → B×50 · … → softmax → Y B×10 → argmax → B labels`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::block;
use crate::app::shared::Shared;
use crate::app::widgets::{dim, wrap};

/// How the pipeline is spelled, longest first: the first that fits is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Every name, the batch size written out.
    Full,
    /// `B` for the batch size (given once in front), σ for sigmoid.
    Short,
    /// The shapes alone, without spaces.
    Tight,
}

/// The pipeline wrapped into lines of at most `width` characters, at most `max_lines` of them
/// when some form fits (else the tightest form, cut). `spaced` puts the form with every name
/// first.
pub fn lines(shared: &Shared, width: u16, max_lines: usize, spaced: bool) -> Vec<String> {
    let forms: &[Form] = if spaced {
        &[Form::Full, Form::Short, Form::Tight]
    } else {
        &[Form::Short, Form::Tight]
    };
    let width = usize::from(width);
    let wrapped = |form| wrap(&tokens(shared, form), width);
    forms
        .iter()
        .map(|&f| wrapped(f))
        .find(|l| l.len() <= max_lines)
        .unwrap_or_else(|| {
            let mut l = wrapped(Form::Tight);
            l.truncate(max_lines.max(1));
            l
        })
}

/// The pieces of the pipeline, kept whole when wrapping.
fn tokens(shared: &Shared, form: Form) -> Vec<String> {
    let b = shared.batch_size();
    let sizes = shared.net.sizes();
    let output = shared.output().name();
    let n = sizes.len() - 1;
    let (batch, hidden) = match form {
        Form::Full => (b.to_string(), "sigmoid"),
        Form::Short | Form::Tight => ("B".to_string(), "σ"),
    };
    let mut t = Vec::new();
    if form != Form::Full {
        t.push(format!("B={b}:"));
    }
    match form {
        Form::Tight => {
            let mut s = format!("{batch}×{}", sizes[0]);
            for k in 1..=n {
                let act = if k < n { hidden } else { output };
                s.push_str(&format!(
                    "·{}×{}→{act}→{batch}×{}",
                    sizes[k - 1],
                    sizes[k],
                    sizes[k]
                ));
            }
            s.push_str("→argmax");
            t.push(s);
        }
        Form::Full | Form::Short => {
            t.push(format!("X {batch}×{}", sizes[0]));
            for k in 1..=n {
                let act = if k < n { hidden } else { output };
                t.push(format!("·W{k} {}×{}", sizes[k - 1], sizes[k]));
                t.push(format!("+b{k}"));
                t.push(format!("→ {act} →"));
                let name = if k == n { "Y " } else { "" };
                t.push(format!("{name}{batch}×{}", sizes[k]));
            }
            t.push("→ argmax →".into());
            t.push(format!("{batch} labels"));
        }
    }
    t
}

/// Draws the panel: compact, the pipeline alone; roomy, in a frame with a line on batches.
pub fn draw(shared: &Shared, frame: &mut Frame, area: Rect, roomy: bool) {
    if !roomy {
        // The layout gave as many rows as the form it can fit needs.
        let text: Vec<Line> = lines(shared, area.width, usize::from(area.height), false)
            .into_iter()
            .map(Line::from)
            .collect();
        frame.render_widget(Paragraph::new(text), area);
        return;
    }
    let inner_w = area.width.saturating_sub(2);
    let rows = usize::from(area.height.saturating_sub(3)).max(1);
    let mut text: Vec<Line> = lines(shared, inner_w, rows, true)
        .into_iter()
        .map(Line::from)
        .collect();
    text.push(Line::styled(
        "each row of X is one image: one matrix product per layer serves the whole batch \
         (the speed changes, the answers do not)",
        dim(shared.palette),
    ));
    let title = format!(" forward pass of a batch of {} (b/B) ", shared.batch_size());
    frame.render_widget(Paragraph::new(text).block(block(title, None)), area);
}
