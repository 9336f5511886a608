//! The activations panel: every layer's units for the current image, one cell each, shaded by
//! value (0..1), with min / mean / max, the number of saturated units (within 0.01 of 0 or 1)
//! and the strongest units; the output layer last, shaded by its softmax. The unit under the
//! cursor is marked ◆. Under `raw` most hidden units saturate at once: the sigmoid's inputs
//! are hundreds of times too large.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{State, block};
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::digit::gray;
use crate::app::widgets::{bold, dim, fg};
use crate::glyphs::shade;
use crate::inspect::LayerStats;

/// The cursor's mark.
pub const CURSOR: char = '◆';
/// Gray level of an activation of 0, so that the cells of a silent layer still show.
const FLOOR: f32 = 40.0;

/// Draws the panel.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect, roomy: bool) {
    let image = shared.image();
    let palette = shared.palette;
    let inner_w = usize::from(area.width.saturating_sub(if roomy { 2 } else { 0 })).max(1);
    let inner_h = usize::from(area.height.saturating_sub(if roomy { 2 } else { 1 }));
    // Each layer's rows: a heading (and, roomy, the strongest units), then its cells.
    let mut layers: Vec<Vec<Line>> = Vec::new();
    for (k, (values, stats)) in image.hidden.iter().zip(&image.hidden_stats).enumerate() {
        let cursor = (view.layer() == k).then_some(view.unit());
        let mut rows = heading(k, values.len(), stats, palette, inner_w);
        if roomy && inner_w >= WIDE {
            rows.push(strongest(values, stats, palette));
        }
        rows.extend(cells(values, cursor, inner_w, palette));
        layers.push(rows);
    }
    let out = image.hidden.len();
    let probs = &image.probs;
    let cursor = (view.layer() == out).then_some(view.unit());
    let mut heading = Line::from(vec![
        Span::styled(format!("out {} ", probs.len()), bold()),
        Span::styled("softmax ", dim(palette)),
        Span::raw(format!(
            "p({}) = {:.2}% ",
            image.predicted,
            probs.get(image.predicted).copied().unwrap_or(0.0) * 100.0
        )),
    ]);
    // The ten classes fit beside their heading: one row for the output layer.
    if heading.width() + probs.len() <= inner_w {
        let row = cells(probs, cursor, inner_w, palette).into_iter().next();
        heading
            .spans
            .extend(row.map(|r| r.spans).unwrap_or_default());
        layers.push(vec![heading]);
    } else {
        let mut rows = vec![heading];
        rows.extend(cells(probs, cursor, inner_w, palette));
        layers.push(rows);
    }
    // When everything does not fit (deep networks), start at a layer that keeps the
    // cursor's in view.
    let mut first = 0;
    let height = |from: usize| layers[from..].iter().map(Vec::len).sum::<usize>();
    while first < view.layer() && height(first) > inner_h {
        first += 1;
    }
    let text: Vec<Line> = layers.into_iter().skip(first).flatten().collect();
    let title = if inner_w >= WIDE {
        format!(
            " activations of image {} ({}) · shade = value 0…1 ",
            shared.index(),
            shared.norm()
        )
    } else {
        format!(" activations ({}) 0…1 ", shared.norm())
    };
    let block = if roomy {
        block(title, None)
    } else {
        ratatui::widgets::Block::new()
            .borders(ratatui::widgets::Borders::TOP)
            .title(title)
    };
    frame.render_widget(Paragraph::new(text).block(block), area);
}

/// Inner width from which a layer's heading takes one line (and the roomy layout adds the
/// strongest units' values).
const WIDE: usize = 60;

/// A hidden layer's heading: its size, min, mean, max, saturated units and (on one line) the
/// strongest units' indices; on two lines where the panel is narrow.
fn heading(
    k: usize,
    n: usize,
    s: &LayerStats,
    palette: Palette,
    width: usize,
) -> Vec<Line<'static>> {
    let key = dim(palette);
    if width < WIDE {
        return vec![
            Line::from(vec![
                Span::styled(format!("h{} {n} ", k + 1), bold()),
                Span::styled("σ sat ", key),
                Span::styled(
                    format!("{}/{n}", s.saturated),
                    saturation_style(s.saturated, n, palette),
                ),
                Span::styled(" top ", key),
                Span::raw(format!("{}", s.strongest.first().copied().unwrap_or(0))),
            ]),
            Line::from(vec![
                Span::styled("min ", key),
                Span::raw(format!("{:.2} ", s.min)),
                Span::styled("mean ", key),
                Span::raw(format!("{:.2} ", s.mean)),
                Span::styled("max ", key),
                Span::raw(format!("{:.2}", s.max)),
            ]),
        ];
    }
    let mut spans = vec![
        Span::styled(format!("h{} {n} ", k + 1), bold()),
        Span::styled("σ ", key),
        Span::styled("min ", key),
        Span::raw(format!("{:.3} ", s.min)),
        Span::styled("mean ", key),
        Span::raw(format!("{:.3} ", s.mean)),
        Span::styled("max ", key),
        Span::raw(format!("{:.3} ", s.max)),
        Span::styled("sat ", key),
        Span::styled(
            format!("{}/{n}", s.saturated),
            saturation_style(s.saturated, n, palette),
        ),
    ];
    let top: Vec<String> = s
        .strongest
        .iter()
        .take(4)
        .map(ToString::to_string)
        .collect();
    spans.push(Span::styled(" top ", key));
    spans.push(Span::raw(top.join(" ")));
    vec![Line::from(spans)]
}

/// Red when most units are saturated: the layer has stopped telling images apart.
fn saturation_style(saturated: usize, n: usize, palette: Palette) -> Style {
    if saturated * 2 > n {
        fg(palette, Color::Red).patch(bold())
    } else {
        Style::default()
    }
}

/// The strongest units with their values.
fn strongest(values: &[f32], s: &LayerStats, palette: Palette) -> Line<'static> {
    let mut spans = vec![Span::styled("  strongest ", dim(palette))];
    for &u in s.strongest.iter().take(6) {
        spans.push(Span::raw(format!("{u}:{:.2} ", values[u])));
    }
    Line::from(spans)
}

/// The layer's units, one cell each, `width` to a row; the cursor's unit marked.
fn cells(
    values: &[f32],
    cursor: Option<usize>,
    width: usize,
    palette: Palette,
) -> Vec<Line<'static>> {
    values
        .chunks(width)
        .enumerate()
        .map(|(row, chunk)| {
            let spans: Vec<Span> = chunk
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let unit = row * width + i;
                    if cursor == Some(unit) {
                        return Span::styled(
                            CURSOR.to_string(),
                            fg(palette, Color::Yellow).patch(bold()),
                        );
                    }
                    let v = if v.is_finite() {
                        v.clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    match palette {
                        Palette::Plain => Span::raw(shade((v * 255.0).round() as u8).to_string()),
                        _ => {
                            let level = (FLOOR + v * (255.0 - FLOOR)).round() as u8;
                            Span::styled("█", Style::default().fg(gray(palette, level)))
                        }
                    }
                })
                .collect();
            Line::from(spans)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn cells_wrap_at_the_width_and_mark_the_cursor() {
        let values: Vec<f32> = (0..10).map(|i| i as f32 / 9.0).collect();
        let rows = cells(&values, Some(6), 4, Palette::Plain);
        assert_eq!(rows.len(), 3);
        assert_eq!(text(&rows[0]), "  ░░");
        assert_eq!(text(&rows[1]), "▒▒◆▓");
        assert_eq!(text(&rows[2]), "██");
    }
}
