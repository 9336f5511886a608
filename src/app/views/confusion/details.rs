//! The cell panel beside (or under) the matrix: what the cursor's cell counts, as a share of
//! its row and column, and the split's most frequent confusions.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::{State, TOTAL};
use crate::app::shared::Shared;
use crate::app::widgets::{bold, dim};
use crate::dataset::NUM_CLASSES;
use crate::eval::Tally;

/// How many of the most frequent confusions are listed, at most.
const MOST_CONFUSED: usize = 10;

/// Draws the panel.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect) {
    let tally = &shared.evaluation().tally;
    let key = dim(shared.palette);
    let (t, p) = (usize::from(view.row), usize::from(view.col));
    let rows = tally.class_totals();
    let share = |count: u64, of: u64| {
        if of == 0 {
            "-".to_string()
        } else {
            format!("{:.1}%", 100.0 * count as f64 / of as f64)
        }
    };
    let mut lines = Vec::new();
    if view.col == TOTAL {
        let right = tally.confusion[t][t];
        lines.push(Line::styled(format!("every image labelled {t}"), bold()));
        lines.push(Line::raw(format!(
            "{} images: {right} right ({}), {} wrong",
            rows[t],
            share(right, rows[t]),
            rows[t] - right
        )));
    } else {
        let count = tally.confusion[t][p];
        let column: u64 = tally.confusion.iter().map(|row| row[p]).sum();
        let verdict = if t == p { "right" } else { "wrong" };
        lines.push(Line::from(vec![
            Span::styled(format!("true {t} → predicted {p}"), bold()),
            Span::styled(format!(" ({verdict})"), key),
        ]));
        lines.push(Line::raw(format!(
            "{count} image{}: {} of the {} labelled {t}, {} of the {column} predicted {p}",
            if count == 1 { "" } else { "s" },
            share(count, rows[t]),
            rows[t],
            share(count, column),
        )));
    }
    lines.push(Line::styled("Enter: see them in the gallery", key));
    lines.push(Line::raw(""));
    let confused = most_confused(tally);
    if confused.is_empty() {
        lines.push(Line::styled("no error counted yet", key));
    } else {
        let mut spans = vec![Span::styled("most confused ", key)];
        for (i, (t, p, count)) in confused.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" · ", key));
            }
            spans.push(Span::styled(format!("{t}→{p}"), bold()));
            spans.push(Span::raw(format!(" {count}")));
        }
        lines.push(Line::from(spans));
    }
    let block = Block::bordered().title(" cell ");
    let paragraph = Paragraph::new(lines).block(block).wrap(Wrap { trim: true });
    frame.render_widget(paragraph, area);
}

/// The off-diagonal cells with the most images, most first (ties: lower true label, then
/// lower prediction), at most [`MOST_CONFUSED`], none empty.
fn most_confused(tally: &Tally) -> Vec<(usize, usize, u64)> {
    let mut cells: Vec<(usize, usize, u64)> = (0..NUM_CLASSES)
        .flat_map(|t| (0..NUM_CLASSES).map(move |p| (t, p)))
        .filter(|&(t, p)| t != p && tally.confusion[t][p] > 0)
        .map(|(t, p)| (t, p, tally.confusion[t][p]))
        .collect();
    cells.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    cells.truncate(MOST_CONFUSED);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_confused_pairs_come_first_ties_in_order() {
        let mut tally = Tally::default();
        tally.push(&[4, 4, 4, 7, 7, 2, 2, 1], &[9, 9, 4, 2, 2, 7, 7, 1]);
        assert_eq!(most_confused(&tally), [(2, 7, 2), (4, 9, 2), (7, 2, 2)]);
        assert!(most_confused(&Tally::default()).is_empty());
    }
}
