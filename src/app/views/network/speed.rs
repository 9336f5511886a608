//! The speed panel: what the passes cost, measured on the worker. Why inference skips the
//! softmax: a whole-split pass with softmax against one with identity (same predictions; the
//! difference is the exponentials' time). The batch lesson: images per second against batch
//! size, through our kernels and through ndarray's matrix product (which works as numpy
//! does), as a bar chart where there is room and a table otherwise.

use ratatui::Frame;
use ratatui::layout::{Direction, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Paragraph, Wrap};

use super::measures::{BatchChart, LESSON_NORM, Measured};
use super::{Panel, State, block};
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::{bold, dim, fg};
use crate::timing::{LESSON_BATCHES, LESSON_IMAGES, PassPath};

/// Rows the chart needs: one bar per path and batch size.
const CHART_ROWS: u16 = (LESSON_BATCHES.len() * PassPath::ALL.len()) as u16;

/// Inner width below which the panel takes its short lines.
const NARROW: u16 = 64;

/// Draws the panel.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect, tabs: Option<Panel>) {
    let palette = shared.palette;
    let key = dim(palette);
    let block = block(" speed (m: measure again) ".to_string(), tabs);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let narrow = inner.width < NARROW;
    let measures = view.measures();
    // Every line here fits its width (the short forms are at most 30 characters), so that
    // the chart or table below starts where the lines end.
    let mut lines = output_lines(shared, view, palette, narrow);
    let images = shared.data.len().min(LESSON_IMAGES);
    let running = if measures.chart_running() { " …" } else { "" };
    lines.push(if narrow {
        Line::from(vec![
            Span::styled("images/s", bold()),
            Span::styled(format!(", first {images}, {LESSON_NORM}{running}"), key),
        ])
    } else {
        Line::from(vec![
            Span::styled("images/s by batch size", bold()),
            Span::styled(
                format!(", first {images} images, {LESSON_NORM}{running}"),
                key,
            ),
        ])
    });
    let chart = measures.batch_chart();
    let explain = match chart {
        Measured::Ready(chart) => lesson(chart),
        Measured::Pending => "measuring in the background…".to_string(),
        Measured::Failed(message) => format!("the measurement failed: {message}"),
    };
    let top = lines.len() as u16;
    // A chart in the roomy layout, a table in the compact one (no chart at 80x24).
    let chart_rows = if tabs.is_none() && inner.height >= top + CHART_ROWS {
        CHART_ROWS
    } else {
        0
    };
    if chart_rows == 0
        && let Measured::Ready(chart) = chart
    {
        lines.extend(table(chart, palette));
    }
    let text_rows = (lines.len() as u16).min(inner.height);
    frame.render_widget(
        Paragraph::new(lines),
        Rect::new(inner.x, inner.y, inner.width, text_rows),
    );
    let mut y = inner.y + text_rows;
    if chart_rows > 0 {
        if let Measured::Ready(chart) = chart {
            frame.render_widget(
                bar_chart(chart, palette),
                Rect::new(inner.x, y, inner.width, chart_rows),
            );
        }
        y += chart_rows;
    }
    let rest = Rect::new(inner.x, y, inner.width, inner.bottom().saturating_sub(y));
    frame.render_widget(
        Paragraph::new(Span::styled(explain, key)).wrap(Wrap { trim: true }),
        rest,
    );
}

/// The softmax-against-identity lines.
fn output_lines(
    shared: &Shared,
    view: &State,
    palette: Palette,
    narrow: bool,
) -> Vec<Line<'static>> {
    let key = dim(palette);
    let (norm, batch) = (shared.norm(), shared.batch_size());
    let head = if narrow {
        Line::from(vec![
            Span::styled("softmax vs identity", bold()),
            Span::styled(format!(", b{batch}"), key),
        ])
    } else {
        Line::from(vec![
            Span::styled("softmax vs identity", bold()),
            Span::styled(format!(", whole split, batch {batch}, {norm}"), key),
        ])
    };
    let mut lines = vec![head];
    let note = if narrow {
        "softmax: +10 exp per image, same argmax"
    } else {
        "softmax adds 10 exp per image, argmax is unchanged: inference can skip it"
    };
    match view.measures().output_timing(norm, batch) {
        Measured::Ready(t) => {
            let (s, i) = (t.softmax.seconds * 1e3, t.identity.seconds * 1e3);
            // The softmax adds ten exponentials and divisions per image, a sliver of a pass:
            // the difference is often below the machine's noise, and may come out negative.
            let (diff, pct) = (s - i, (s - i) / i.max(1e-9) * 100.0);
            let same = match (t.same_predictions, narrow) {
                (true, true) => "same preds",
                (true, false) => "same predictions",
                (false, _) => "predictions DIFFER",
            };
            lines.push(if narrow {
                Line::from(vec![
                    Span::raw(format!("{s:.2} vs {i:.2} ms")),
                    Span::styled(format!(" ({diff:+.2}), {same}"), key),
                ])
            } else {
                Line::from(vec![
                    Span::raw(format!("{s:.2} ms vs {i:.2} ms")),
                    Span::styled(format!(" · diff {diff:+.2} ms ({pct:+.1}%) · {same}"), key),
                ])
            });
        }
        Measured::Pending => lines.push(Line::from(Span::styled("timing both passes…", key))),
        Measured::Failed(message) => lines.push(Line::from(format!("failed: {message}"))),
    }
    lines.push(Line::from(Span::styled(note, key)));
    lines
}

/// Images per second in a few characters: 950, 12.3k, 1.05M.
fn rate(ips: f64) -> String {
    if ips >= 1e6 {
        format!("{:.2}M", ips / 1e6)
    } else if ips >= 1e3 {
        format!("{:.1}k", ips / 1e3)
    } else {
        format!("{ips:.0}")
    }
}

/// The path's short name in the chart and the table.
fn short(path: PassPath) -> &'static str {
    match path {
        PassPath::Fast => "fast",
        PassPath::Reference => "matrix",
    }
}

/// The path's color (a name in its label says the same without colors).
fn color(path: PassPath, palette: Palette) -> Style {
    match path {
        PassPath::Fast => fg(palette, Color::Green),
        PassPath::Reference => fg(palette, Color::Blue),
    }
}

/// The lesson as a table: a row per path, a column per batch size.
fn table(chart: &BatchChart, palette: Palette) -> Vec<Line<'static>> {
    let mut head = format!("{:<8}", "batch");
    for b in LESSON_BATCHES {
        head.push_str(&format!("{b:>8}"));
    }
    let mut lines = vec![Line::from(Span::styled(head, dim(palette)))];
    for path in PassPath::ALL {
        let mut spans = vec![Span::styled(
            format!("{:<8}", short(path)),
            color(path, palette),
        )];
        for b in LESSON_BATCHES {
            let cell = chart
                .point(path, b)
                .map_or_else(|| "…".to_string(), |p| rate(p.time.images_per_second()));
            spans.push(Span::raw(format!("{cell:>8}")));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// The lesson as horizontal bars, a pair per batch size.
fn bar_chart(chart: &BatchChart, palette: Palette) -> BarChart<'static> {
    let groups: Vec<BarGroup> = LESSON_BATCHES
        .iter()
        .map(|&b| {
            let bars: Vec<Bar> = PassPath::ALL
                .iter()
                .map(|&path| {
                    let ips = chart
                        .point(path, b)
                        .map_or(0.0, |p| p.time.images_per_second());
                    let text = if ips > 0.0 {
                        rate(ips)
                    } else {
                        "…".to_string()
                    };
                    Bar::default()
                        .value(ips.round() as u64)
                        .label(Line::from(format!("{b:>5} {}", short(path))))
                        .text_value(text)
                        .style(color(path, palette))
                        .value_style(bold())
                })
                .collect();
            BarGroup::default().bars(&bars)
        })
        .collect();
    let mut c = BarChart::default()
        .direction(Direction::Horizontal)
        .bar_width(1)
        .bar_gap(0)
        .group_gap(0);
    for g in groups {
        c = c.data(g);
    }
    c
}

/// One sentence on what the numbers say, with the factors measured.
fn lesson(chart: &BatchChart) -> String {
    let gain = |path| {
        let ips = |b| chart.point(path, b).map(|p| p.time.images_per_second());
        match (ips(1), ips(100)) {
            (Some(one), Some(hundred)) if one > 0.0 => Some(hundred / one),
            _ => None,
        }
    };
    match (gain(PassPath::Reference), gain(PassPath::Fast)) {
        (Some(matrix), Some(fast)) => format!(
            "batch 1→100: matrix ×{matrix:.1}, fast ×{fast:.1}. Each matrix product call \
             repacks W and allocates, so batches spread that cost; the kernels pack W once \
             and skip blank pixels, so batching gains them less."
        ),
        _ => "the matrix product speeds up with the batch (each call repacks W); the kernels \
              pack W once and skip blank pixels."
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_stay_short() {
        assert_eq!(rate(950.0), "950");
        assert_eq!(rate(12_345.0), "12.3k");
        assert_eq!(rate(1_054_000.0), "1.05M");
    }
}
