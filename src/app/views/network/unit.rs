//! The unit panel: what flows into the unit under the cursor for the current image. For a
//! first-layer unit, its incoming weights drawn as an image (blue negative, white positive,
//! one scale for both) and beside it their product with the input: what this unit sees in
//! this digit. For a later unit (an output unit is a class), its largest contributions:
//! input unit, weight, activation and product.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Panel, State, block};
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::digit::InputDigit;
use crate::app::widgets::{bold, dim, num};
use crate::inspect::Incoming;
use crate::layer::sigmoid;

/// Columns between the two images.
const GAP: u16 = 1;

/// Draws the panel.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect, tabs: Option<Panel>) {
    let layers = shared.net.layers().len();
    let Some(inc) = view.focus() else {
        frame.render_widget(block(" unit ".into(), tabs), area);
        return;
    };
    let is_output = inc.layer + 1 == layers;
    let n = inc.weights.len();
    let negative = if shared.palette == Palette::Plain {
        "·"
    } else {
        "blue"
    };
    let name = if inc.layer == 0 {
        // The two images need naming wherever the panel is drawn; their colors only where
        // the captions, which name them too, find no room (at 80 columns the title shares
        // its line with the Tab hint).
        let what = if is_output { "class" } else { "unit" };
        let inner = block(String::new(), tabs).inner(area);
        let legend = if captions_fit(shared, inner) {
            String::new()
        } else {
            format!("· {negative} < 0 ")
        };
        format!(
            " {what} {} of layer 1 · left w, right w × input {legend}",
            inc.unit
        )
    } else if is_output {
        format!(" class {} (output unit) · its {n} inputs ", inc.unit)
    } else {
        format!(
            " unit {} of layer {} ({} units) · its {n} inputs ",
            inc.unit,
            inc.layer + 1,
            shared.net.layers()[inc.layer].w.ncols()
        )
    };
    let summary = summary(inc, is_output, shared.output().name(), shared.palette);
    let mut block = block(name, tabs);
    if tabs.is_none() {
        // The roomy panel is as tall as the images: the sum goes on its bottom line.
        let mut line = vec![Span::raw(" ")];
        line.extend(summary.iter().cloned());
        line.push(Span::raw(" "));
        block = block.title_bottom(Line::from(line));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inc.layer == 0 {
        draw_images(shared, inc, summary, frame, inner);
    } else {
        // The roomy panel has the sum on its bottom line already.
        let summary = tabs.is_some().then_some(summary);
        draw_table(shared, inc, summary, frame, inner);
    }
}

/// The sum that makes the unit's value: `Σ w·x + b = a → σ → h`.
fn summary(inc: &Incoming, is_output: bool, output: &str, palette: Palette) -> Vec<Span<'static>> {
    let key = dim(palette);
    let mut spans = vec![
        Span::styled("Σ w·x ", key),
        Span::raw(num(f64::from(inc.total - inc.bias))),
        Span::styled(" + b ", key),
        Span::raw(num(f64::from(inc.bias))),
        Span::styled(" = ", key),
        Span::styled(num(f64::from(inc.total)), bold()),
    ];
    if is_output {
        spans.push(Span::styled(format!(" (score; {output} next)"), key));
    } else {
        spans.push(Span::styled(" → σ → ", key));
        spans.push(Span::styled(num(f64::from(sigmoid(inc.total))), bold()));
    }
    spans
}

/// The two images' size in cells.
fn image_size(shared: &Shared) -> (u16, u16) {
    (
        u16::try_from(shared.data.cols().max(1)).unwrap_or(u16::MAX),
        u16::try_from(shared.data.rows().div_ceil(2)).unwrap_or(u16::MAX),
    )
}

/// Whether [`draw_images`] finds room in `area` for its captions (beside or below).
fn captions_fit(shared: &Shared, area: Rect) -> bool {
    let (img_w, img_h) = image_size(shared);
    area.width.saturating_sub(2 * img_w + 2 * GAP) >= CAPTION_WIDTH || area.height > img_h
}

/// Narrowest column of captions beside the images.
const CAPTION_WIDTH: u16 = 18;

/// The weights and the products as two images side by side, captions beside or below.
fn draw_images(
    shared: &Shared,
    inc: &Incoming,
    summary: Vec<Span<'static>>,
    frame: &mut Frame,
    area: Rect,
) {
    let cols = shared.data.cols().max(1);
    let (img_w, img_h) = image_size(shared);
    let palette = shared.palette;
    let mut image = |values, x| {
        let digit = InputDigit {
            values,
            cols,
            zoom: 1,
            palette,
            symmetric: true,
        };
        let rect = Rect::new(x, area.y, img_w, img_h.min(area.height)).intersection(area);
        frame.render_widget(digit, rect);
    };
    image(&inc.weights, area.x);
    image(&inc.products, area.x + img_w + GAP);
    let range = |v: &[f32]| {
        let (lo, hi) = v
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        format!("{} … {}", num(f64::from(lo)), num(f64::from(hi)))
    };
    let key = dim(palette);
    let (negative, positive) = if palette == Palette::Plain {
        ("·", "░▒▓█")
    } else {
        ("blue", "white")
    };
    let notes = vec![
        Line::from(vec![
            Span::styled("left: ", key),
            Span::raw("the weights w"),
        ]),
        Line::from(Span::raw(range(&inc.weights))),
        Line::from(vec![
            Span::styled("right: ", key),
            Span::raw("w × this input"),
        ]),
        Line::from(Span::raw(range(&inc.products))),
        Line::from(Span::styled(format!("{negative} < 0 < {positive}"), key)),
        Line::from(""),
        Line::from(summary.clone()),
    ];
    let beside = area.width.saturating_sub(2 * img_w + 2 * GAP);
    if beside >= CAPTION_WIDTH {
        let x = area.x + 2 * img_w + 2 * GAP;
        let rect = Rect::new(x, area.y, beside, area.height);
        frame.render_widget(
            Paragraph::new(notes).wrap(ratatui::widgets::Wrap { trim: true }),
            rect,
        );
    } else if area.height > img_h {
        // Below the images: the sum, then what each image is and its range.
        let lines = vec![
            Line::from(summary),
            Line::from(vec![
                Span::styled("left w ", key),
                Span::raw(range(&inc.weights)),
                Span::styled(" · right w×x ", key),
                Span::raw(range(&inc.products)),
                Span::styled(format!(" · {negative} < 0"), key),
            ]),
        ];
        let rect = Rect::new(area.x, area.y + img_h, area.width, area.height - img_h);
        frame.render_widget(Paragraph::new(lines), rect);
    }
}

/// The largest contributions as a table, as many as fit.
fn draw_table(
    shared: &Shared,
    inc: &Incoming,
    summary: Option<Vec<Span<'static>>>,
    frame: &mut Frame,
    area: Rect,
) {
    let key = dim(shared.palette);
    let source = format!("h{}", inc.layer);
    let mut lines: Vec<Line> = summary.into_iter().map(Line::from).collect();
    lines.extend([Line::from(Span::styled(
        format!(
            "{:<8}{:>10}{:>12}{:>10}",
            "input", "weight w", "activation", "w × x"
        ),
        key,
    ))]);
    let room = usize::from(area.height).saturating_sub(lines.len());
    for &i in inc.order.iter().take(room) {
        lines.push(Line::from(format!(
            "{:<8}{:>10}{:>12}{:>10}",
            format!("{source}:{i}"),
            num(f64::from(inc.weights[i])),
            num(f64::from(inc.inputs[i])),
            num(f64::from(inc.products[i]))
        )));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
