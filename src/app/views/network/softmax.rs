//! The softmax panel: the current image's scores laid open in float32, at the scale `x`
//! chooses (×1 … ×1000): a, a − max(a), exp(a − max(a)), their sum and y, the stable softmax;
//! beside it the naive exp(a) and exp(a) / Σ exp(a), which overflow to inf and NaN as soon as
//! a scaled score passes about 88.7, while the stable one stays correct.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Panel, State, block};
use crate::app::shared::{LOGIT_SCALES, Shared};
use crate::app::widgets::{bold, dim, fg, num};

/// Width of a number column: a space and [`num`]'s longest form.
const COL: usize = 9;

/// Draws the panel.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect, tabs: Option<Panel>) {
    let palette = shared.palette;
    let steps = shared.softmax_steps(view.scale());
    let scale = LOGIT_SCALES[view.scale().min(LOGIT_SCALES.len() - 1)];
    let predicted = shared.image().predicted;
    let key = dim(palette);
    let bad = fg(palette, Color::Red).patch(bold());
    let cell = |v: f32| {
        let style = if v.is_finite() { Style::default() } else { bad };
        Span::styled(format!("{:>COL$}", num(f64::from(v))), style)
    };
    let inner_w = usize::from(
        area.width
            .saturating_sub(if tabs.is_some() { 0 } else { 2 }),
    );
    // Five columns of the stable softmax, two of the naive one, where they fit.
    let naive_cols = if 2 + 7 * COL <= inner_w {
        2
    } else if 2 + 6 * COL <= inner_w {
        1
    } else {
        0
    };
    let mut header = vec![Span::styled(
        format!(
            " c{:>COL$}{:>COL$}{:>COL$}{:>COL$}",
            "a", "a−m", "exp(a−m)", "y"
        ),
        key,
    )];
    if naive_cols == 2 {
        header.push(Span::styled(format!("{:>COL$}", "exp(a)"), key));
    }
    if naive_cols > 0 {
        header.push(Span::styled(format!("{:>COL$}", "naive y"), key));
    }
    let mut lines = vec![Line::from(header)];
    for c in 0..steps.logits.len() {
        let mark = if c == predicted {
            bold()
        } else {
            Style::default()
        };
        let mut spans = vec![
            Span::styled(
                format!("{}{c}", if c == predicted { "▸" } else { " " }),
                mark,
            ),
            cell(steps.logits[c]),
            cell(steps.shifted[c]),
            cell(steps.exps[c]),
            cell(steps.stable[c]),
        ];
        if naive_cols == 2 {
            spans.push(cell(steps.naive_exps[c]));
        }
        if naive_cols > 0 {
            spans.push(cell(steps.naive[c]));
        }
        lines.push(Line::from(spans));
    }
    let stable_total: f32 = steps.stable.iter().sum();
    let naive_total: f32 = steps.naive.iter().sum();
    let mut sums = vec![
        Span::styled(format!(" Σ{:>w$}", "", w = 2 * COL), key),
        cell(steps.sum),
        cell(stable_total),
    ];
    if naive_cols == 2 {
        sums.push(cell(steps.naive_sum));
    }
    if naive_cols > 0 {
        sums.push(cell(naive_total));
    }
    lines.push(Line::from(sums));
    let verdict = if steps.overflowed() {
        Line::from(vec![
            Span::styled("naive: exp(a) overflows to inf, inf/inf = NaN", bad),
            Span::styled(" · stable fine", key),
        ])
    } else if steps.underflowed() {
        Line::from(Span::styled(
            "naive: every exp(a) underflows to 0: 0/0 = NaN",
            bad,
        ))
    } else {
        Line::from(Span::styled(
            "both agree: no exp(a) overflows (all a < 88.7); x scales a",
            key,
        ))
    };
    lines.push(verdict);
    // The compact panel shares its title line with the names of the other panels.
    let title = if tabs.is_some() {
        format!(" softmax · scores ×{scale} (x) · m = max(a) · f32 ")
    } else {
        format!(" softmax laid open · scores ×{scale} (x) · m = max(a) · float32 ")
    };
    let text = Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false });
    frame.render_widget(text.block(block(title, tabs)), area);
}
