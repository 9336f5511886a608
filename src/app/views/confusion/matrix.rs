//! The matrix panel: counts (or row percentages) of every (true label, prediction) pair, with
//! row and column totals, each cell shaded by its size, the diagonal and the errors each
//! scaled to their own largest so that the errors are not washed out by the right answers.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{State, TOTAL};
use crate::app::evaluations::EvalStatus;
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::heat::{self, Tone};
use crate::app::widgets::{bold, dim};
use crate::dataset::NUM_CLASSES;
use crate::eval::Tally;

/// How wide the matrix's parts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// The row labels' column, its header `t\p` or `true\pred` included.
    label: usize,
    /// A cell: a mark (shade or cursor), the number, a gap.
    cell: usize,
    /// The totals' column.
    total: usize,
    /// Room between the rows, for a roomy screen.
    roomy: bool,
}

impl Geometry {
    /// The compact form (80x24: 4-character numbers, abbreviated past 9999) or the roomy one.
    pub fn new(shared: &Shared, roomy: bool) -> Self {
        let grand = shared.data.len().to_string().len();
        Self {
            label: if roomy { 10 } else { 4 },
            cell: if roomy { 7 } else { 6 },
            total: grand.max(3) + 1,
            roomy,
        }
    }

    /// Characters of a cell's number.
    fn number(self) -> usize {
        self.cell - 2
    }

    /// The panel's width, borders included.
    pub fn panel_width(self) -> u16 {
        (self.label + NUM_CLASSES * self.cell + 2 + self.total + 2) as u16
    }

    /// The panel's height, borders included: header, ten rows (a blank line after each when
    /// roomy), a rule and the totals.
    pub fn panel_height(self) -> u16 {
        let rows = if self.roomy {
            2 * NUM_CLASSES
        } else {
            NUM_CLASSES
        };
        (1 + rows + 2 + 2) as u16
    }
}

/// Draws the panel into `area`, in the roomy form when it is wide enough.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect) {
    let roomy = Geometry::new(shared, true);
    let g = if area.width >= roomy.panel_width() && area.height >= roomy.panel_height() {
        roomy
    } else {
        Geometry::new(shared, false)
    };
    let eval = shared.evaluation();
    let what = if view.percent {
        "% of each row"
    } else {
        "counts"
    };
    let title = if g.roomy {
        format!(" confusion matrix: {what} · rows true label, columns predicted ")
    } else {
        format!(" confusion matrix: {what} ")
    };
    let done = eval.tally.total;
    let state = match &eval.status {
        EvalStatus::Running => format!("running {done}/{}", shared.data.len()),
        EvalStatus::Finished => "done".into(),
        EvalStatus::Failed(_) => "failed".into(),
    };
    let foot = format!(
        " {} b{} {} · {state} ",
        eval.key.norm.name(),
        eval.key.batch_size,
        eval.key.output.name()
    );
    let block = Block::bordered().title(title).title_bottom(foot);
    let lines = lines(&eval.tally, view, g, shared.palette);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The matrix's lines.
fn lines(tally: &Tally, view: &State, g: Geometry, palette: Palette) -> Vec<Line<'static>> {
    let key = dim(palette);
    let rows = tally.class_totals();
    let columns: [u64; NUM_CLASSES] =
        std::array::from_fn(|p| tally.confusion.iter().map(|row| row[p]).sum());
    let value = |t: usize, p: usize| -> f64 {
        let count = tally.confusion[t][p] as f64;
        if view.percent {
            if rows[t] == 0 {
                0.0
            } else {
                100.0 * count / rows[t] as f64
            }
        } else {
            count
        }
    };
    // The diagonal and the errors shaded each to their own largest.
    let (mut max_right, mut max_wrong) = (0.0f64, 0.0f64);
    for t in 0..NUM_CLASSES {
        for p in 0..NUM_CLASSES {
            let v = value(t, p);
            if t == p {
                max_right = max_right.max(v);
            } else {
                max_wrong = max_wrong.max(v);
            }
        }
    }
    let (lw, n, tw) = (g.label, g.number(), g.total);
    let corner = if g.roomy { "true\\pred" } else { "t\\p" };
    let mut header = vec![Span::styled(format!("{corner:>w$}", w = lw - 1), key)];
    header.push(Span::raw(" "));
    for p in 0..NUM_CLASSES {
        let style = if usize::from(view.col) == p {
            bold()
        } else {
            key
        };
        header.push(Span::styled(format!(" {p:>n$} "), style));
    }
    header.push(Span::styled(format!(" │{:>tw$}", "all"), key));
    let mut out = vec![Line::from(header)];
    for (t, &row_total) in rows.iter().enumerate() {
        let on_row = usize::from(view.row) == t;
        let label_style = if on_row { bold() } else { key };
        let mut spans = vec![Span::styled(format!("{t:>w$} ", w = lw - 1), label_style)];
        for p in 0..NUM_CLASSES {
            let count = tally.confusion[t][p];
            let v = value(t, p);
            let (max, tone) = if t == p {
                (max_right, Tone::Good)
            } else {
                (max_wrong, Tone::Bad)
            };
            let level = if max > 0.0 { v / max } else { 0.0 };
            let cursor = on_row && usize::from(view.col) == p;
            let text = if view.percent {
                percent(count, row_total, n)
            } else {
                abbreviated(count, n)
            };
            let mut style = heat::style(palette, level, tone);
            if count == 0 {
                style = style.patch(key);
            } else if t == p && palette == Palette::Plain {
                // Without green and red, bold tells the right answers from the errors,
                // whose shades are scaled apart.
                style = style.patch(bold());
            }
            if cursor {
                style = style.patch(bold().add_modifier(Modifier::REVERSED));
            }
            let mark = if cursor {
                '▸'
            } else if palette == Palette::Plain {
                heat::glyph(level)
            } else {
                ' '
            };
            spans.push(Span::styled(format!("{mark}{text:>n$}"), style));
            spans.push(Span::raw(" "));
        }
        let total_cursor = on_row && view.col == TOTAL;
        spans.push(Span::styled(" │", key));
        let total = format!("{row_total:>tw$}");
        spans.push(if total_cursor {
            Span::styled(
                format!("▸{}", &total[1..]),
                bold().add_modifier(Modifier::REVERSED),
            )
        } else {
            Span::raw(total)
        });
        out.push(Line::from(spans));
        if g.roomy {
            out.push(Line::raw(""));
        }
    }
    let rule = "─".repeat(lw + NUM_CLASSES * g.cell);
    out.push(Line::styled(format!("{rule}─┼{}", "─".repeat(tw)), key));
    let mut spans = vec![Span::styled(format!("{:>w$} ", "all", w = lw - 1), key)];
    for count in columns {
        spans.push(Span::raw(format!(" {:>n$} ", abbreviated(count, n))));
    }
    spans.push(Span::styled(" │", key));
    spans.push(Span::styled(
        format!("{:>tw$}", tally.total),
        Style::default(),
    ));
    out.push(Line::from(spans));
    out
}

/// `count` in at most `width` characters: as is when it fits, else in thousands (`12k`) or
/// millions (`3M`), so that a big split still shows all 100 cells.
pub fn abbreviated(count: u64, width: usize) -> String {
    let plain = count.to_string();
    if plain.len() <= width {
        return plain;
    }
    let thousands = format!("{}k", count / 1000);
    if thousands.len() <= width {
        return thousands;
    }
    format!("{}M", count / 1_000_000)
}

/// `count` as a percentage of `of` in at most `width` (at least 4) characters: one decimal,
/// rounded, `100` for all, `<.1` for a nonzero share too small to show, `0` for none.
pub fn percent(count: u64, of: u64, width: usize) -> String {
    if of == 0 {
        return "-".into();
    }
    if count == 0 {
        return "0".into();
    }
    let p = 100.0 * count as f64 / of as f64;
    let text = if count == of {
        "100".to_string()
    } else if p < 0.05 {
        "<.1".to_string()
    } else {
        // Rounded as every other panel rounds; but 99.96% is not all of them: 99.9, not 100.
        format!("{:.1}", ((p * 10.0).round() / 10.0).min(99.9))
    };
    if text.len() <= width {
        text
    } else {
        format!("{p:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_fit_their_cells() {
        assert_eq!(abbreviated(1135, 4), "1135");
        assert_eq!(abbreviated(12345, 4), "12k");
        assert_eq!(abbreviated(1_234_567, 4), "1M");
        assert_eq!(abbreviated(0, 4), "0");
        assert_eq!(percent(982, 982, 4), "100");
        assert_eq!(percent(9815, 9819, 4), "99.9");
        // Rounded, as the per-class panel rounds: 956 of 982 is 97.35...%, 97.4.
        assert_eq!(percent(956, 982, 4), "97.4");
        assert_eq!(percent(3, 980, 4), "0.3");
        assert_eq!(percent(1, 10000, 4), "<.1");
        assert_eq!(percent(0, 10, 4), "0");
        assert_eq!(percent(0, 0, 4), "-");
    }

    #[test]
    fn every_line_has_the_geometry_s_width() {
        let mut tally = Tally::default();
        tally.push(&[4, 4, 4, 9], &[4, 9, 9, 9]);
        for roomy in [false, true] {
            let g = Geometry {
                label: if roomy { 10 } else { 4 },
                cell: if roomy { 7 } else { 6 },
                total: 6,
                roomy,
            };
            for percent in [false, true] {
                let view = State {
                    row: 4,
                    col: 9,
                    percent,
                };
                let lines = lines(&tally, &view, g, Palette::Plain);
                assert_eq!(lines.len(), usize::from(g.panel_height()) - 2);
                for line in lines.iter().filter(|l| l.width() > 0) {
                    assert_eq!(line.width(), usize::from(g.panel_width()) - 2, "{line}");
                }
                let row4 = lines[1 + if roomy { 8 } else { 4 }].to_string();
                let shown = if percent { "66.7" } else { "2" };
                let cursor = format!("▸{shown:>n$}", n = g.number());
                assert!(row4.contains(&cursor), "{row4}");
            }
        }
    }

    #[test]
    fn without_colors_the_diagonal_is_bold_and_the_errors_are_not() {
        let mut tally = Tally::default();
        tally.push(&[4, 4, 4, 9], &[4, 9, 9, 9]);
        let g = Geometry {
            label: 4,
            cell: 6,
            total: 6,
            roomy: false,
        };
        // The cursor elsewhere (row 0), so that its own bold is not what is seen.
        let view = State {
            row: 0,
            col: 0,
            percent: false,
        };
        let lines = lines(&tally, &view, g, Palette::Plain);
        let bold_of = |text: &str| {
            lines[1 + 4]
                .spans
                .iter()
                .find(|s| s.content.trim_start_matches(crate::glyphs::SHADES) == text)
                .map(|s| s.style.add_modifier.contains(Modifier::BOLD))
        };
        assert_eq!(bold_of("1"), Some(true), "4→4, right: {}", lines[5]);
        assert_eq!(bold_of("2"), Some(false), "4→9, wrong: {}", lines[5]);
    }
}
