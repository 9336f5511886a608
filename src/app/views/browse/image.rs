//! The image panel: the current digit, zoomed to fit, with its index in the title (and,
//! when moves walk a filter or an order, those and the image's place in the list); or, with
//! `v`, what the network really receives: the input after the normalization mode, whose
//! values may be tiny (l1) or negative (zscore), with their range in the caption.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Block;

use super::State;
use crate::analysis::Order;
use crate::app::selection::Filter;
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::digit::{Digit, InputDigit};
use crate::app::widgets::num;

/// Draws the panel.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect, zoom: u16) {
    let (index, last, split) = (
        shared.index(),
        shared.data.len().saturating_sub(1),
        shared.split,
    );
    // Indices start at 0, so "image 0 / 10000" read as the first of 1..10000: the range is
    // spelled out instead.
    let title = |style: usize, i: usize| match style {
        0 => format!(" image {i} (of 0–{last}) · {split} "),
        1 => format!(" image {i} (0–{last}) · {split} "),
        2 => format!(" {i} (0–{last}) · {split} "),
        _ => format!(" {i} (0–{last}) "),
    };
    let room = usize::from(area.width.saturating_sub(2));
    // The form is chosen for the longest index, so that it does not change while browsing.
    let style = (0..3)
        .find(|&s| title(s, last).chars().count() <= room)
        .unwrap_or(3);
    let heading = walked(shared, room).unwrap_or_else(|| title(style, index));
    let (cols, zoom) = (shared.data.cols(), usize::from(zoom.max(1)));
    let input = &shared.image().input;
    let caption = if view.input_view {
        let (lo, hi) = input
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let (lo_text, hi_text) = (num(f64::from(lo)), num(f64::from(hi)));
        let mode = shared.norm().name();
        // Only where there is something below zero to explain.
        let negative = match (lo < 0.0, shared.palette) {
            (false, _) => "",
            (true, Palette::Plain) => " · \"·\" < 0",
            (true, _) => " · blue < 0",
        };
        fitting(
            room,
            &[
                format!(" input ({mode}) {lo_text} … {hi_text}{negative} "),
                format!(" {mode} {lo_text} … {hi_text}{negative} "),
                format!(" {mode} {lo_text} … {hi_text} "),
                format!(" {lo_text} … {hi_text} "),
            ],
        )
    } else {
        fitting(
            room,
            &[
                " pixels 0 … 255 · v: network input ".to_string(),
                " pixels 0 … 255 · v: input ".to_string(),
                " pixels ".to_string(),
            ],
        )
    };
    let block = Block::bordered()
        .title(Line::from(heading))
        .title_bottom(Line::from(caption));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if view.input_view {
        let digit = InputDigit {
            values: input,
            cols,
            zoom,
            palette: shared.palette,
            symmetric: false,
        };
        frame.render_widget(digit, inner);
    } else {
        let digit = Digit {
            pixels: shared.pixels(),
            cols,
            zoom,
            palette: shared.palette,
        };
        frame.render_widget(digit, inner);
    }
}

/// The title when moves walk a filter or an order other than all images by index: the
/// image, the filter, the order and the image's place in the list (`-` when outside it), in
/// the longest form that fits `room`; `None` for all images by index.
fn walked(shared: &Shared, room: usize) -> Option<String> {
    let (filter, order) = (shared.filter(), shared.order());
    if filter == Filter::All && order == Order::Index {
        return None;
    }
    let selection = shared.selection();
    let place = match selection.locate(shared.index()) {
        Ok(at) => (at + 1).to_string(),
        Err(_) => "-".into(),
    };
    let (i, f, o, len) = (shared.index(), filter.name(), order.name(), selection.len());
    let pending = if selection.is_ordered() {
        ""
    } else {
        " (after pass)"
    };
    Some(fitting(
        room,
        &[
            format!(" image {i} · {f} by {o}{pending} · {place} of {len} "),
            format!(" {i} · {f} by {o}{pending} · {place}/{len} "),
            format!(" {i} · {f} by {o} · {place}/{len} "),
            format!(" {i} · {f} {o} {place}/{len} "),
            format!(" {i} · {f} {} {place}/{len} ", short(order)),
            format!(" {i} · {place}/{len} "),
        ],
    ))
}

/// An order's name in at most four letters, for the narrowest title.
fn short(order: Order) -> &'static str {
    match order {
        Order::Index => "idx",
        Order::Confidence => "conf",
        Order::Loss => "loss",
        Order::Margin => "marg",
    }
}

/// The first of `candidates` (longest first) that fits in `room` cells, else nothing.
fn fitting(room: usize, candidates: &[String]) -> String {
    candidates
        .iter()
        .find(|c| c.chars().count() <= room)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::{Msg, Nav};
    use crate::app::state::test_state;
    use crate::app::views::browse::State;
    use crate::dataset::Split;
    use ndarray::Array2;
    use ratatui::{Terminal, backend::TestBackend};

    /// The title and caption rows of the panel drawn 30 cells wide (zoom 1 for 28x28) on
    /// `images` images of 2x2 pixels.
    fn rows(images: usize, go_last: bool, view: State) -> (String, String) {
        let w = Array2::zeros((4, 10));
        let (mut state, _) = test_state(
            vec![0; images * 4],
            vec![0; images],
            w,
            Split::Train,
            100,
            0,
        );
        if go_last {
            state.update(Msg::Nav(Nav::Last));
        }
        let mut terminal = Terminal::new(TestBackend::new(30, 3)).unwrap();
        terminal
            .draw(|frame| draw(state.shared(), &view, frame, Rect::new(0, 0, 30, 3), 1))
            .unwrap();
        let buf = terminal.backend().buffer();
        let row = |y| (0..30).map(|x| buf[(x, y)].symbol().to_string()).collect();
        (row(0), row(2))
    }

    fn title_row(images: usize, go_last: bool) -> String {
        rows(images, go_last, State::default()).0
    }

    #[test]
    fn the_title_fits_the_panel_and_keeps_its_form_while_browsing() {
        // "image 9999 (0–9999) · train" is one too many: the word goes, for every index.
        assert_eq!(title_row(10000, true), "┌ 9999 (0–9999) · train ─────┐");
        assert_eq!(title_row(60000, true), "┌ 59999 (0–59999) · train ───┐");
        assert_eq!(title_row(60000, false), "┌ 0 (0–59999) · train ───────┐");
    }

    #[test]
    fn the_caption_says_what_is_drawn_and_its_range() {
        let (_, pixels) = rows(10, false, State::default());
        assert_eq!(pixels, "└ pixels 0 … 255 · v: input ─┘");
        let input = State {
            input_view: true,
            ..State::default()
        };
        // Image 0 of the fixture is all zeros: its div255 input is 0 everywhere.
        let (_, caption) = rows(10, false, input);
        assert_eq!(caption, "└ input (div255) 0 … 0 ──────┘");
    }
}
