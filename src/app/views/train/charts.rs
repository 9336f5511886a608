//! The run's charts: the loss (the smoothed loss per batch and the mean loss of each epoch)
//! and the accuracy per epoch (on the training images seen, and on the test set). Each line
//! has its own mark, so that without colors (`NO_COLOR`) they still read apart, and the
//! legend under the chart shows the marks; no Braille is needed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph};

use super::run::Run;
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::{dim, fg};

/// One line of a chart: its points, name, color and marks.
struct Series {
    points: Vec<(f64, f64)>,
    name: &'static str,
    color: Color,
    /// The mark with colors, and the character without.
    marker: (Marker, char),
    graph: GraphType,
}

/// The smoothed loss per batch.
const BATCH_MARK: (Marker, char) = (Marker::Dot, '.');
/// The loss and the test accuracy per epoch.
const EPOCH_MARK: (Marker, char) = (Marker::Block, '#');
/// The accuracy on the training images per epoch.
const TRAIN_MARK: (Marker, char) = (Marker::Bar, '+');

/// The loss chart, on a log scale: the loss falls from ln 10 = 2.3 to a few hundredths,
/// most of the way in the first epoch; on a straight scale every later epoch would lie on
/// the bottom row.
pub fn loss(shared: &Shared, run: &Run, frame: &mut Frame, area: Rect) {
    let batch = Series {
        points: run.curve.iter().map(|p| (p.epochs, log(p.loss))).collect(),
        name: "per batch, smoothed",
        color: Color::Cyan,
        marker: BATCH_MARK,
        graph: GraphType::Line,
    };
    let epoch = Series {
        points: run
            .epochs
            .iter()
            .map(|e| (e.epoch as f64, log(e.train_loss)))
            .collect(),
        name: "per epoch (its mean)",
        color: Color::Yellow,
        marker: EPOCH_MARK,
        graph: GraphType::Scatter,
    };
    let ys = || batch.points.iter().chain(&epoch.points).map(|p| p.1);
    let low = ys().fold(f64::INFINITY, f64::min);
    let high = ys().fold(f64::NEG_INFINITY, f64::max);
    // From the decade below the lowest loss to a tenth of a decade above the highest.
    let bottom = if low.is_finite() { low.floor() } else { -1.0 };
    let top = if high.is_finite() {
        ((high * 10.0).ceil() / 10.0).max(bottom + 1.0)
    } else {
        bottom + 1.0
    };
    // The labels sit at even heights, so each names the loss at its own height.
    let labels = (0..3)
        .map(|i| short(10f64.powf(bottom + (top - bottom) * f64::from(i) / 2.0)))
        .collect();
    let empty = run
        .curve
        .is_empty()
        .then_some("the curve starts with the first steps");
    chart(
        shared.palette,
        " loss (cross-entropy, log scale) ",
        &[batch, epoch],
        run.config.epochs,
        ([bottom, top], labels),
        empty,
        frame,
        area,
    );
}

/// The chart's height for a loss: its decimal logarithm (a loss of 0, never seen in
/// practice, is drawn at 1e-6).
fn log(loss: f64) -> f64 {
    loss.max(1e-6).log10()
}

/// A loss in two significant digits: `2.3`, `0.25`, `0.012`.
fn short(value: f64) -> String {
    let decimals = (1.0 - value.log10().floor()).clamp(0.0, 8.0) as usize;
    format!("{value:.decimals$}")
}

/// The accuracy chart.
pub fn accuracy(shared: &Shared, run: &Run, frame: &mut Frame, area: Rect) {
    let train = Series {
        points: run
            .epochs
            .iter()
            .map(|e| (e.epoch as f64, e.train_accuracy))
            .collect(),
        name: "train",
        color: Color::Yellow,
        marker: TRAIN_MARK,
        graph: GraphType::Line,
    };
    let test = Series {
        points: run
            .epochs
            .iter()
            .filter_map(|e| Some((e.epoch as f64, e.test_accuracy?)))
            .collect(),
        name: "test",
        color: Color::Green,
        marker: EPOCH_MARK,
        graph: GraphType::Line,
    };
    let low = train
        .points
        .iter()
        .chain(&test.points)
        .map(|p| p.1)
        .fold(1.0f64, f64::min);
    // Down to a tenth below the lowest: 90% to 100% when the network is good, so that the
    // last percents, where the epochs differ, are not squeezed into a row.
    let bottom = ((low * 10.0).floor() / 10.0).clamp(0.0, 0.9);
    let y = ([bottom, 1.0], vec![pct0(bottom), pct0(1.0)]);
    let empty = run
        .epochs
        .is_empty()
        .then_some("the accuracies come at each epoch's end");
    chart(
        shared.palette,
        " accuracy per epoch ",
        &[train, test],
        run.config.epochs,
        y,
        empty,
        frame,
        area,
    );
}

/// A percentage without decimals, for an axis.
fn pct0(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// Draws `series` against epochs 0 to `epochs` and `y` (bounds and labels), with their
/// legend at the bottom of the border, or `empty` inside while there is nothing to draw.
#[allow(clippy::too_many_arguments)]
fn chart(
    palette: Palette,
    title: &str,
    series: &[Series],
    epochs: usize,
    (y_bounds, y_labels): ([f64; 2], Vec<String>),
    empty: Option<&str>,
    frame: &mut Frame,
    area: Rect,
) {
    let plain = palette == Palette::Plain;
    let mut legend = vec![Span::raw(" ")];
    for s in series {
        let mark = if plain {
            s.marker.1.to_string()
        } else {
            marker_char(s.marker.0).to_string()
        };
        legend.push(Span::styled(format!("{mark} "), fg(palette, s.color)));
        legend.push(Span::raw(format!("{}  ", s.name)));
    }
    let block = Block::bordered()
        .title(title.to_string())
        .title_bottom(Line::from(legend));
    if let Some(note) = empty {
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(Paragraph::new(Line::styled(note, dim(palette))), inner);
        return;
    }
    let datasets = series
        .iter()
        .map(|s| {
            let marker = if plain {
                Marker::Custom(s.marker.1)
            } else {
                s.marker.0
            };
            Dataset::default()
                .data(&s.points)
                .marker(marker)
                .graph_type(s.graph)
                .style(fg(palette, s.color))
        })
        .collect();
    let last = epochs.max(1) as f64;
    let x_labels = vec!["0".to_string(), format!("epoch {epochs}")];
    let chart = Chart::new(datasets)
        .block(block)
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds([0.0, last])
                .labels(x_labels)
                .style(dim(palette)),
        )
        .y_axis(
            Axis::default()
                .bounds(y_bounds)
                .labels(y_labels)
                .style(dim(palette)),
        )
        .style(Style::default());
    frame.render_widget(chart, area);
}

/// The character a marker draws a point with.
fn marker_char(marker: Marker) -> char {
    match marker {
        Marker::Dot => '•',
        Marker::Bar => '▄',
        Marker::Custom(c) => c,
        _ => '█',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_labels_keep_two_significant_digits() {
        assert_eq!(short(2.31), "2.3");
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(0.0123), "0.012");
        assert_eq!(short(12.0), "12");
        assert_eq!(log(0.01), -2.0);
        assert_eq!(log(0.0), -6.0);
    }
}
