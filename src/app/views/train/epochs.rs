//! The epochs table: each finished epoch's mean loss, its accuracy on the training images
//! seen, the test accuracy after it and its seconds, the latest at the bottom; the best test
//! accuracy is marked.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::run::Run;
use crate::app::shared::Shared;
use crate::app::widgets::{bold, dim, pct};

/// Draws the table into `area`, as many of the latest epochs as fit.
pub fn draw(shared: &Shared, run: &Run, frame: &mut Frame, area: Rect) {
    let key = dim(shared.palette);
    let block = Block::bordered().title(" epochs ");
    let rows = usize::from(block.inner(area).height).saturating_sub(1);
    let best = run
        .epochs
        .iter()
        .filter_map(|e| e.test_accuracy)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut lines = vec![Line::styled(
        " epoch   train loss   train acc   test acc    seconds",
        bold(),
    )];
    if run.epochs.is_empty() {
        lines.push(Line::styled(
            " none finished yet: each comes with its test accuracy",
            key,
        ));
    }
    let skip = run.epochs.len().saturating_sub(rows);
    for e in &run.epochs[skip..] {
        let test = e.test_accuracy.map_or_else(|| "-".to_string(), pct);
        let mark = if e.test_accuracy == Some(best) {
            " ◂ best"
        } else {
            ""
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                " {:>5}   {:>10.4}   {:>9}   {:>8}   {:>8.2}",
                e.epoch,
                e.train_loss,
                pct(e.train_accuracy),
                test,
                e.seconds
            )),
            Span::styled(mark, key),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
