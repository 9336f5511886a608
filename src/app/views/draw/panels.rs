//! The drawing view's panels but the kept list: the canvas with the keyboard's cursor, the
//! network's input, its ten outputs, and the prediction with how the drawing was prepared.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::{Pen, State};
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::digit::Digit;
use crate::app::widgets::{bar, bold, dim, fg, pct};
use crate::preprocess::{BOX, FIELD};

/// The cursor's mark without colors.
const PLAIN_CURSOR: char = '+';

/// The first of `candidates` (longest first) that fits in `room` cells, else the last.
fn fitting(room: u16, candidates: &[&'static str]) -> &'static str {
    candidates
        .iter()
        .copied()
        .find(|c| c.chars().count() <= usize::from(room))
        .or(candidates.last().copied())
        .unwrap_or("")
}

/// The canvas: the drawing at `zoom`, the cursor, and the pen and brush at the foot.
pub fn canvas(view: &State, palette: Palette, frame: &mut Frame, area: Rect, zoom: u16) {
    let room = area.width.saturating_sub(2);
    let pen = match view.pen() {
        Pen::Up => "pen up",
        Pen::Paint => "PAINTING",
        Pen::Erase => "ERASING",
    };
    let foot = format!(" brush {} · {pen} ", view.brush_size());
    let title = fitting(room, &[" canvas: draw here ", " canvas "]);
    let block = Block::bordered()
        .title(title)
        .title_bottom(Line::styled(foot, bold()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let pixels = view.canvas().bytes();
    frame.render_widget(
        Digit {
            pixels: &pixels,
            cols: FIELD,
            zoom: usize::from(zoom),
            palette,
        },
        inner,
    );
    // The cursor: the cells (or half cells) its pixel covers.
    let (cx, cy) = view.cursor();
    let zoom = usize::from(zoom.max(1));
    let buf = frame.buffer_mut();
    for half in cy * zoom..(cy + 1) * zoom {
        for col in cx * zoom..(cx + 1) * zoom {
            let (x, y) = (inner.x as usize + col, inner.y as usize + half / 2);
            let (Ok(x), Ok(y)) = (u16::try_from(x), u16::try_from(y)) else {
                continue;
            };
            let Some(cell) = buf.cell_mut((x, y)) else {
                continue;
            };
            match palette {
                Palette::Plain => {
                    cell.set_char(PLAIN_CURSOR);
                }
                _ if half % 2 == 0 => {
                    cell.set_fg(Color::Yellow);
                }
                _ => {
                    cell.set_bg(Color::Yellow);
                }
            }
        }
    }
}

/// The network's input: the prepared (or raw) 28x28 image.
pub fn input(view: &State, palette: Palette, frame: &mut Frame, area: Rect) {
    let room = area.width.saturating_sub(2);
    let (title, foot) = if view.raw() {
        (
            fitting(room, &[" network input: RAW ", " input: RAW "]),
            fitting(room, &[" p: prepare it as MNIST ", " p: prepare "]),
        )
    } else {
        (
            fitting(room, &[" network input: prepared ", " input: prepared "]),
            fitting(room, &[" p: the raw drawing ", " p: raw "]),
        )
    };
    let block = Block::bordered().title(title).title_bottom(foot);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(reading) = view.reading() {
        frame.render_widget(
            Digit {
                pixels: &reading.input,
                cols: FIELD,
                zoom: 1,
                palette,
            },
            inner,
        );
    }
}

/// The ten softmax outputs as bars, the predicted class marked.
pub fn output(view: &State, palette: Palette, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" softmax output ");
    let Some(reading) = view.reading() else {
        frame.render_widget(
            Paragraph::new(Line::styled("draw a digit", dim(palette))).block(block),
            area,
        );
        return;
    };
    let report = &reading.report;
    let inner_w = usize::from(area.width.saturating_sub(2));
    // "7 " + bar + " 100.00%" + " ◀"
    let bar_w = inner_w.saturating_sub(2 + 8 + 2).max(1);
    let lines: Vec<Line> = report
        .probs
        .iter()
        .enumerate()
        .map(|(class, &p)| {
            let predicted = class == report.predicted;
            let (text, bar_style) = if predicted {
                (bold(), fg(palette, Color::Green))
            } else {
                (Style::default(), Style::default())
            };
            Line::from(vec![
                Span::styled(format!("{class} "), text),
                Span::styled(bar(f64::from(p), bar_w), bar_style),
                Span::styled(format!(" {:>7}", pct(f64::from(p))), text),
                Span::styled(if predicted { " ◀" } else { "" }, bold()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The prediction, how sure, the runner-up, and how the drawing was prepared (or a word on
/// why the raw drawing misleads).
pub fn prediction(view: &State, shared: &Shared, frame: &mut Frame, area: Rect) {
    let palette = shared.palette;
    let key = dim(palette);
    // The mode the drawing is fed in (n/N change it here too), where the border has room.
    let with_norm = format!(" prediction · norm {} ", shared.norm().name());
    let title = if with_norm.chars().count() <= usize::from(area.width.saturating_sub(2)) {
        with_norm
    } else {
        " prediction ".to_string()
    };
    let block = Block::bordered().title(title);
    let Some(reading) = view.reading() else {
        let text = if shared.net.check_fits(FIELD * FIELD, 10).is_err() {
            "this network does not take 28x28 images: nothing to read a drawing with"
        } else {
            "nothing drawn yet: drag the mouse on the canvas, or move with the arrows and \
             press Space to put the pen down"
        };
        let paragraph = Paragraph::new(Line::styled(text, key))
            .block(block)
            .wrap(Wrap { trim: true });
        frame.render_widget(paragraph, area);
        return;
    };
    let report = &reading.report;
    let (p, probs) = (report.predicted, &report.probs);
    let second = (0..probs.len())
        .filter(|&c| c != p)
        .max_by(|&a, &b| probs[a].total_cmp(&probs[b]));
    let mut lines = vec![Line::from(vec![
        Span::styled("predicted ", key),
        Span::styled(p.to_string(), bold()),
        Span::styled(format!("  {:.2}%", probs[p] * 100.0), bold()),
    ])];
    if let Some(s) = second {
        lines.push(Line::from(vec![
            Span::styled("runner-up ", key),
            Span::raw(format!("{s}  {:.2}%", probs[s] * 100.0)),
        ]));
    }
    match &reading.prepared {
        Some(prepared) => {
            let ink = prepared.ink;
            lines.push(Line::from(vec![
                Span::styled("ink box ", key),
                Span::raw(format!(
                    "{}x{} ×{:.2} → {BOX} px",
                    ink.width, ink.height, prepared.scale
                )),
            ]));
            lines.push(Line::styled(
                "MNIST-style: 20 px box, centered by mass",
                key,
            ));
        }
        None => {
            lines.push(Line::styled(
                "RAW: the drawing as it is",
                fg(palette, Color::Yellow).patch(bold()),
            ));
            lines.push(Line::styled(
                "not scaled or centered, unlike MNIST's digits",
                key,
            ));
        }
    }
    let paragraph = Paragraph::new(lines).block(block).wrap(Wrap { trim: true });
    frame.render_widget(paragraph, area);
}
