//! The output panel: one bar per class with its probability (softmax, linear or log scale)
//! or raw score (identity, drawn from a zero line so that negative scores point left); the
//! predicted and the true class are marked, and the marks and colors explained at the foot.
//! With a second network (`--compare`), its bars stand beside the first's.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::State;
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::{MAX_BAR_WIDTH, bar, bold, dim, fg, num};
use crate::inspect::ImageReport;
use crate::layer::OutputLayer;

/// Smallest probability the log scale shows: 1e-8, eight decades below certainty.
const LOG_DECADES: f64 = 8.0;

/// Draws the panel: the network's bars, and the second network's beside them (with
/// `--compare`), each colored by its own prediction.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect) {
    let label = shared.label();
    let palette = shared.palette;
    let inner_w = usize::from(area.width.saturating_sub(2));
    let wide = inner_w >= 40;
    let mut images = vec![shared.image()];
    images.extend(shared.other().map(|o| &o.image));
    let columns: Vec<(&ImageReport, Scale)> = images
        .iter()
        .map(|&image| {
            let scale = match shared.output() {
                OutputLayer::Softmax if view.log_scale => Scale::Log,
                OutputLayer::Softmax => Scale::Linear,
                OutputLayer::Identity => Scale::Zero(range(&image.scores)),
            };
            (image, scale)
        })
        .collect();
    let two = columns.len() > 1;
    let scale = columns[0].1;
    // "7 " + (bar + value) per network + mark; two networks side by side take shorter values
    // where the panel is narrow.
    let short = two && !wide;
    let value_w = scale.value_width(short);
    let mark_w = if wide { 13 } else { 3 };
    let gap = usize::from(two);
    let bars = inner_w.saturating_sub(2 + mark_w + columns.len() * value_w + gap);
    let bar_w = (bars / columns.len()).clamp(1, MAX_BAR_WIDTH);
    let main = shared.image();
    let lines: Vec<Line> = (0..main.probs.len())
        .map(|class| {
            let (is_pred, is_true) = (class == main.predicted, class == label);
            let mark = match (is_pred, is_true, wide) {
                (true, true, true) => " ◀ right",
                (true, false, true) => " ◀ predicted",
                (false, true, true) => " ◀ true",
                (true, true, false) => " PT",
                (true, false, false) => " P",
                (false, true, false) => " T",
                _ => "",
            };
            let text_style = if is_pred { bold() } else { Style::default() };
            let mut spans = vec![Span::styled(format!("{class} "), text_style)];
            for (k, (image, scale)) in columns.iter().enumerate() {
                let values = match shared.output() {
                    OutputLayer::Softmax => &image.probs,
                    OutputLayer::Identity => &image.scores,
                };
                let v = f64::from(values.get(class).copied().unwrap_or(0.0));
                let is_pred = class == image.predicted;
                let bar_style = match (is_pred, is_true) {
                    (true, true) => fg(palette, Color::Green),
                    (true, false) => fg(palette, Color::Red),
                    (false, true) => fg(palette, Color::Cyan),
                    _ => Style::default(),
                };
                let value_style = if is_pred { bold() } else { Style::default() };
                if k > 0 {
                    spans.push(Span::styled("▕", dim(palette)));
                }
                spans.extend(scale.bar(v, bar_w, bar_style, palette));
                spans.push(Span::styled(scale.value(v, short), value_style));
            }
            spans.push(Span::styled(mark, bold()));
            Line::from(spans)
        })
        .collect();
    let title = match (scale, wide) {
        (Scale::Linear, true) => " softmax output: probabilities ",
        (Scale::Linear, false) => " softmax output ",
        (Scale::Log, true) => " softmax, log scale: 1e-8 … 1 ",
        (Scale::Log, false) => " softmax (log) ",
        (Scale::Zero(_), true) => " identity output: raw scores ",
        (Scale::Zero(_), false) => " identity: scores ",
    };
    let title = match shared.other() {
        Some(other) => compared_title(scale, &other.name, inner_w),
        None => title.to_string(),
    };
    let block = Block::bordered().title(title).title_bottom(legend(
        palette,
        wide,
        matches!(scale, Scale::Zero(_)),
    ));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The title with a second network: what the bars are, this network's and the other's (by
/// name where it fits).
fn compared_title(scale: Scale, other: &str, room: usize) -> String {
    // The scale's name in full, then short: a log scale must still say so at 80x24.
    let (what, short) = match scale {
        Scale::Linear => ("softmax", "softmax"),
        Scale::Log => ("softmax (log)", "log"),
        Scale::Zero(_) => ("identity", "scores"),
    };
    [
        format!(" {what}: this ▕ {other} "),
        format!(" {what}: this ▕ other "),
        format!(" {short}: this ▕ other "),
        " this ▕ other ".to_string(),
    ]
    .into_iter()
    .find(|t| t.chars().count() <= room)
    .unwrap_or_default()
}

/// The foot of the panel: what the marks, the colors and the axis mean.
fn legend(palette: Palette, wide: bool, axis: bool) -> Line<'static> {
    let key = dim(palette);
    let mut spans = vec![Span::raw(" ")];
    let marks: [(&str, &str, Color); 3] = if wide {
        [
            ("◀ predicted", " ", Color::Red),
            ("◀ true", " ", Color::Cyan),
            ("◀ right", "", Color::Green),
        ]
    } else {
        [
            ("P", " pred ", Color::Red),
            ("T", " true ", Color::Cyan),
            ("PT", " right", Color::Green),
        ]
    };
    for (mark, after, color) in marks {
        spans.push(Span::styled(mark, fg(palette, color).patch(bold())));
        spans.push(Span::styled(after, key));
    }
    if axis {
        spans.push(Span::styled(" │ = 0", key));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// How values become bars.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    /// Probabilities, 0 to 1.
    Linear,
    /// Probabilities, 1e-8 to 1 in decades.
    Log,
    /// Scores of any sign, from a zero line; the range covers 0 and every score.
    Zero((f64, f64)),
}

impl Scale {
    /// The bar of `v` in `width` cells.
    fn bar(self, v: f64, width: usize, style: Style, palette: Palette) -> Vec<Span<'static>> {
        match self {
            Scale::Linear => vec![Span::styled(bar(v, width), style)],
            Scale::Log => {
                let fraction = if v > 0.0 {
                    (v.log10() + LOG_DECADES) / LOG_DECADES
                } else {
                    0.0
                };
                vec![Span::styled(bar(fraction, width), style)]
            }
            Scale::Zero((lo, hi)) => {
                // The axis takes one cell; the rest is shared in proportion to the range
                // on either side of zero.
                let cells = width.saturating_sub(1).max(2);
                let neg_w = ((cells as f64) * -lo / (hi - lo)).round() as usize;
                let pos_w = cells - neg_w;
                let (left, right) = if v < 0.0 {
                    (left_bar(v / lo, neg_w), " ".repeat(pos_w))
                } else {
                    (
                        " ".repeat(neg_w),
                        bar(if hi > 0.0 { v / hi } else { 0.0 }, pos_w),
                    )
                };
                vec![
                    Span::styled(left, style),
                    Span::styled("│", dim(palette)),
                    Span::styled(right, style),
                ]
            }
        }
    }

    /// The value printed after the bar; `short` (two networks in a narrow panel) in whole
    /// percents, or a score in fewer digits.
    fn value(self, v: f64, short: bool) -> String {
        match (self, short) {
            (Scale::Linear | Scale::Log, true) => format!(" {:>3.0}%", v * 100.0),
            (Scale::Linear, false) => format!(" {:>6.2}%", v * 100.0),
            (Scale::Log, false) if v * 100.0 >= 0.01 => format!(" {:>8.4}%", v * 100.0),
            (Scale::Log, false) => format!(" {:>8.1e}%", v * 100.0),
            (Scale::Zero(_), true) => format!(" {:>5.1}", v),
            (Scale::Zero(_), false) => format!(" {:>7}", num(v)),
        }
    }

    /// The width of [`Scale::value`]'s text.
    fn value_width(self, short: bool) -> usize {
        match (self, short) {
            (Scale::Linear | Scale::Log, true) => 5,
            (Scale::Zero(_), true) => 6,
            (Scale::Log, false) => 10,
            (_, false) => 8,
        }
    }
}

/// The smallest range that holds 0 and every value (so the zero line is always drawn).
fn range(values: &[f32]) -> (f64, f64) {
    let (lo, hi) = values.iter().fold((0.0f64, 0.0f64), |(lo, hi), &v| {
        (lo.min(f64::from(v)), hi.max(f64::from(v)))
    });
    if lo == hi {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    }
}

/// A bar of `width` cells filled to `fraction` from the right, in halves of a cell (the right
/// half block is the only partial block that grows leftwards in every font).
fn left_bar(fraction: f64, width: usize) -> String {
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let halves = (fraction * width as f64 * 2.0).round() as usize;
    let (full, half) = ((halves / 2).min(width), halves % 2 == 1);
    let blank = width - full - usize::from(half && full < width);
    let mut s = " ".repeat(blank);
    if half && full < width {
        s.push('▐');
    }
    s.push_str(&"█".repeat(full));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(spans: &[Span]) -> String {
        spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn scores_grow_from_a_zero_line_both_ways() {
        let scale = Scale::Zero(range(&[-4.0, 2.0, 0.5]));
        let bar = |v| text(&scale.bar(v, 13, Style::default(), Palette::Plain));
        // 12 cells beside the axis: 8 for -4..0, 4 for 0..2.
        assert_eq!(bar(-4.0), "████████│    ");
        assert_eq!(bar(-1.0), "      ██│    ");
        assert_eq!(bar(2.0), "        │████");
        assert_eq!(bar(0.0), "        │    ");
        // A negative score never draws to the right of the axis, however it compares with
        // the lowest score (the old bars started at the minimum: -0.8 looked like +0.6).
        assert!(!bar(-0.8).split('│').nth(1).unwrap().contains('█'));
        for v in [-4.0, -1.3, 0.0, 0.7, 2.0] {
            assert_eq!(bar(v).chars().count(), 13, "{v}");
        }
    }

    #[test]
    fn all_positive_scores_keep_a_visible_axis() {
        let scale = Scale::Zero(range(&[1.0, 3.0]));
        let bar = text(&scale.bar(3.0, 11, Style::default(), Palette::Plain));
        assert_eq!(bar, "│██████████");
    }

    #[test]
    fn a_compared_title_keeps_the_scale_in_a_narrow_panel() {
        assert_eq!(
            compared_title(Scale::Log, "net.npz", 40),
            " softmax (log): this ▕ net.npz "
        );
        assert_eq!(
            compared_title(Scale::Log, "net.npz", 23),
            " log: this ▕ other "
        );
        assert_eq!(
            compared_title(Scale::Linear, "net.npz", 23),
            " softmax: this ▕ other "
        );
        assert_eq!(compared_title(Scale::Log, "net.npz", 15), " this ▕ other ");
    }

    #[test]
    fn the_log_scale_separates_what_the_linear_one_rounds_away() {
        let lin = |p| text(&Scale::Linear.bar(p, 16, Style::default(), Palette::Plain));
        let log = |p| text(&Scale::Log.bar(p, 16, Style::default(), Palette::Plain));
        assert_eq!(lin(1e-5), lin(1e-3), "both look empty on a linear scale");
        assert_ne!(log(1e-5), log(1e-3));
        assert_eq!(log(1.0), "█".repeat(16));
        assert_eq!(log(1e-8).trim(), "");
        assert_eq!(Scale::Log.value(0.99999, false), "  99.9990%");
        assert_eq!(Scale::Log.value(1.2e-7, false), "   1.2e-5%");
        for scale in [Scale::Linear, Scale::Log, Scale::Zero((-1.0, 1.0))] {
            for short in [false, true] {
                let width = scale.value(0.5, short).chars().count();
                assert_eq!(width, scale.value_width(short), "{scale:?} {short}");
            }
        }
    }

    #[test]
    fn left_bars_fill_from_the_right_in_halves() {
        assert_eq!(left_bar(1.0, 4), "████");
        assert_eq!(left_bar(0.5, 4), "  ██");
        assert_eq!(left_bar(0.125, 4), "   ▐");
        assert_eq!(left_bar(0.0, 4), "    ");
        assert_eq!(left_bar(f64::NAN, 3), "   ");
    }
}
