//! The pixels panel: which pixels matter. The occlusion map of the current image (a 4×4 blank
//! patch moved 2 pixels at a time, each occluded image normalized again), drawn over the
//! digit: red where hiding the pixels lowers the probability of the true label, blue where it
//! raises it. Computed on the worker; shown as soon as it arrives.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::measures::Measured;
use super::{Panel, State, block};
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::digit::Digit;
use crate::app::widgets::heat_digit::{AGAINST, HeatDigit, SOME, STRONG};
use crate::app::widgets::{bold, dim};

/// Draws the panel.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect, tabs: Option<Panel>) {
    let palette = shared.palette;
    let label = shared.label();
    let title = format!(" pixels that matter for p({label}) ");
    let legend = match palette {
        Palette::Plain => format!(" {STRONG}{SOME} lower p · {AGAINST} raise "),
        _ => " red: hiding lowers p · blue: raises ".to_string(),
    };
    let block = block(title, tabs).title_bottom(legend);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let cols = shared.data.cols().max(1);
    let (img_w, img_h) = (
        u16::try_from(cols).unwrap_or(u16::MAX),
        u16::try_from(shared.data.rows().div_ceil(2)).unwrap_or(u16::MAX),
    );
    let image = Rect::new(inner.x, inner.y, img_w, img_h).intersection(inner);
    let key = dim(palette);
    let mut notes: Vec<Line> = Vec::new();
    match view.measures().occlusion(shared.index(), shared.norm()) {
        Measured::Ready(map) => {
            let per_pixel = map.per_pixel();
            let largest = per_pixel.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let heat: Vec<f32> = if largest > 1e-6 {
                per_pixel.iter().map(|v| v / largest).collect()
            } else {
                vec![0.0; per_pixel.len()]
            };
            let digit = HeatDigit {
                pixels: shared.pixels(),
                heat: &heat,
                cols,
                zoom: 1,
                palette,
            };
            frame.render_widget(digit, image);
            notes.push(Line::from(vec![
                Span::styled(format!("p({label}) "), key),
                Span::styled(format!("{:.2}%", map.base * 100.0), bold()),
                Span::styled(" unhidden", key),
            ]));
            if let Some(((r, c), drop)) = map.largest() {
                notes.push(Line::from(vec![
                    Span::styled("worst ", key),
                    Span::raw(format!("−{:.2} pts", drop * 100.0)),
                    Span::styled(format!(" at {r},{c}"), key),
                ]));
            }
            notes.push(Line::from(Span::styled(
                format!(
                    "{}×{} patches, stride {}, {} positions",
                    map.patch,
                    map.patch,
                    map.stride,
                    map.drops.len()
                ),
                key,
            )));
        }
        Measured::Pending => {
            frame.render_widget(
                Digit {
                    pixels: shared.pixels(),
                    cols,
                    zoom: 1,
                    palette,
                },
                image,
            );
            notes.push(Line::from(Span::styled("occlusion map: computing…", key)));
        }
        Measured::Failed(message) => {
            notes.push(Line::from(format!("the occlusion map failed: {message}")));
        }
    }
    // Beside the digit when there is room (compact, full width), else below it.
    let beside = inner.width.saturating_sub(img_w + 2);
    let rect = if beside >= 20 {
        Rect::new(inner.x + img_w + 2, inner.y, beside, inner.height)
    } else {
        Rect::new(
            inner.x,
            inner.y + img_h,
            inner.width,
            inner.height.saturating_sub(img_h),
        )
    };
    frame.render_widget(Paragraph::new(notes).wrap(Wrap { trim: true }), rect);
}
