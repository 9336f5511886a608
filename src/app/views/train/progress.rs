//! The progress panel of a run: its settings, the epoch and step, images per second and the
//! time left, a bar of the whole run, and which network every view shows now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::State;
use super::run::{Run, Status};
use crate::app::shared::Shared;
use crate::app::widgets::{bar, bold, dim, fg, thousands};

/// Longest the bar of the whole run gets.
const MAX_BAR: usize = 40;

/// Draws the panel.
pub fn draw(shared: &Shared, state: &State, run: &Run, frame: &mut Frame, area: Rect) {
    let palette = shared.palette;
    let key = dim(palette);
    let c = &run.config;
    let settings = format!(
        " {} · {} lr {} {} · batch {} · {} · seed {}",
        run.shape(),
        c.optimizer.name(),
        c.lr,
        c.schedule.name(),
        c.batch_size,
        c.norm,
        c.seed
    );
    let mut where_at = vec![Span::raw(" ")];
    match &run.status {
        Status::Reading => where_at.push(Span::styled("reading the splits …", key)),
        Status::Failed(message) => where_at.push(Span::styled(
            message.clone(),
            fg(palette, Color::Red).patch(bold()),
        )),
        _ => where_at.extend(figures(run)),
    }
    let width = usize::from(area.width.saturating_sub(2));
    let bar_w = width.saturating_sub(8).min(MAX_BAR);
    let done = run.done();
    let shown = match (shared.swapped(), state.trained()) {
        (true, _) => format!(
            "every view shows the {} (u: the loaded one)",
            shared.net_label()
        ),
        (false, Some(_)) => "every view shows the loaded network (u: the trained one)".into(),
        (false, None) => "u shows the trained network everywhere, from the first epoch".into(),
    };
    let lines = vec![
        Line::raw(settings),
        Line::from(where_at),
        Line::from(vec![
            Span::raw(" "),
            Span::styled(bar(done, bar_w), fg(palette, Color::Cyan)),
            Span::raw(format!(" {:>3.0}%", done * 100.0)),
        ]),
        Line::styled(format!(" {shown}"), key),
    ];
    let status = match &run.status {
        Status::Reading | Status::Running => "running".to_string(),
        Status::Finished => format!("finished in {}", seconds(run.elapsed.as_secs_f64())),
        Status::Stopped => "stopped".to_string(),
        Status::Failed(_) => "failed".to_string(),
    };
    let block = Block::bordered().title(format!(" training · {status} "));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Epoch and step, images per second and the time left.
fn figures(run: &Run) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let Some(b) = run.batch else {
        spans.push(Span::raw("starting …"));
        return spans;
    };
    spans.push(Span::styled(
        format!("epoch {}/{}", b.epoch, run.config.epochs),
        bold(),
    ));
    spans.push(Span::raw(format!(" · step {}/{}", b.batch, b.batches)));
    if let Some(rate) = run.images_per_second() {
        spans.push(Span::raw(format!(
            " · {} images/s",
            thousands(rate.round() as u64)
        )));
    }
    if let Some(left) = run.time_left() {
        spans.push(Span::raw(format!(
            " · {} left",
            seconds(left.as_secs_f64())
        )));
    }
    spans
}

/// Seconds as a person reads a duration: `0.4 s`, `45 s`, `6 min`, `2.5 h`.
pub fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(seconds(0.43), "0.4 s");
        assert_eq!(seconds(45.2), "45 s");
        assert_eq!(seconds(360.0), "6 min");
        assert_eq!(seconds(9000.0), "2.5 h");
    }
}
