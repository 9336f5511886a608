//! The norms panel: L1, L2 and max norms, mean and standard deviation of the input vector,
//! raw and after the current normalization, with the mode's formula.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::shared::Shared;
use crate::app::widgets::{bold, dim, num};
use crate::normalize::NormMode;

/// Draws the panel.
pub fn draw(shared: &Shared, frame: &mut Frame, area: Rect) {
    let view = shared.image();
    let mode = shared.norm();
    let inner_w = usize::from(area.width.saturating_sub(2));
    // Columns: a 5-wide row name, then two right-aligned values sharing what is left.
    let col = ((inner_w.saturating_sub(5)) / 2).clamp(8, 14);
    let key = dim(shared.palette);
    let row = |name: &str, raw: f64, after: f64| {
        Line::from(vec![
            Span::styled(format!("{name:<5}"), key),
            Span::raw(format!("{:>col$}{:>col$}", num(raw), num(after))),
        ])
    };
    let mut lines = formula_lines(mode, inner_w);
    lines.extend([
        Line::from(vec![
            Span::raw(" ".repeat(5)),
            Span::styled(format!("{:>col$}{:>col$}", "raw", mode.name()), key),
        ]),
        row("L1", view.raw.l1, view.after.l1),
        row("L2", view.raw.l2, view.after.l2),
        row("max", view.raw.max, view.after.max),
        row("mean", view.raw_mean_std.0, view.after_mean_std.0),
        row("std", view.raw_mean_std.1, view.after_mean_std.1),
    ]);
    let block = Block::bordered().title(" input norms ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `mode: formula` on one line when it fits in `width`; otherwise the formula goes on a line
/// of its own under the name (at 80x24 the panel is 23 wide and `zscore`'s formula alone is
/// 25), without its spaces if it still does not fit, so that it is never cut.
fn formula_lines(mode: NormMode, width: usize) -> Vec<Line<'static>> {
    let (name, formula) = (mode.name(), mode.formula());
    if name.chars().count() + 2 + formula.chars().count() <= width {
        return vec![Line::from(vec![
            Span::styled(name, bold()),
            Span::raw(": "),
            Span::raw(formula),
        ])];
    }
    let formula = if 2 + formula.chars().count() <= width {
        formula.to_string()
    } else {
        formula.chars().filter(|c| *c != ' ').collect()
    };
    if 2 + formula.chars().count() > width {
        // Still too long (the whitenings'): its words over as many lines as it takes.
        let mut lines = vec![Line::from(vec![Span::styled(name, bold()), Span::raw(":")])];
        let mut line = String::from(" ");
        for word in mode.formula().split(' ') {
            if line.chars().count() + 1 + word.chars().count() > width && line.len() > 1 {
                lines.push(Line::raw(std::mem::replace(&mut line, String::from(" "))));
            }
            line.push(' ');
            line.push_str(word);
        }
        lines.push(Line::raw(line));
        return lines;
    }
    vec![
        Line::from(vec![Span::styled(name, bold()), Span::raw(":")]),
        Line::raw(format!("  {formula}")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn a_formula_is_never_cut() {
        for mode in NormMode::ALL {
            for width in [23, 30, 60] {
                let lines = formula_lines(mode, width);
                for line in &lines {
                    assert!(line.width() <= width, "{mode:?} at {width}: {line}");
                }
                let joined: String = text(&lines).concat().replace(' ', "");
                let formula = mode.formula().replace(' ', "");
                assert!(joined.contains(&formula), "{mode:?} at {width}: {joined}");
            }
        }
        assert_eq!(
            text(&formula_lines(NormMode::Zscore, 23)),
            ["zscore:", "  (x/255-0.1307)/0.3081"]
        );
        assert_eq!(
            text(&formula_lines(NormMode::Raw, 23)),
            ["raw:", "  x, unchanged: 0..255"]
        );
        assert_eq!(
            text(&formula_lines(NormMode::Div255, 23)),
            ["div255: x / 255"]
        );
    }
}
