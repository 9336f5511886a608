//! The image panel: the current digit, zoomed to fit, with its index in the title.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Block;

use crate::app::shared::Shared;
use crate::app::widgets::digit::Digit;

/// Draws the panel.
pub fn draw(shared: &Shared, frame: &mut Frame, area: Rect, zoom: u16) {
    let (index, total, split) = (shared.index(), shared.data.len(), shared.split);
    let title = |style: usize, i: usize| match style {
        0 => format!(" image {i} / {total} · {split} "),
        1 => format!(" {i} / {total} · {split} "),
        _ => format!(" {i}/{total} "),
    };
    // At zoom 1 the panel is 28 wide inside: "image 59999 / 60000 · train" is not. The form
    // is chosen for the longest index, so that it does not change while browsing.
    let style = (0..2)
        .find(|&s| {
            title(s, total.saturating_sub(1)).chars().count()
                <= usize::from(area.width.saturating_sub(2))
        })
        .unwrap_or(2);
    let block = Block::bordered().title(Line::from(title(style, index)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(
        Digit {
            pixels: shared.pixels(),
            cols: shared.data.cols(),
            zoom: usize::from(zoom.max(1)),
            palette: shared.palette,
        },
        inner,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::{Msg, Nav};
    use crate::app::state::test_state;
    use crate::dataset::Split;
    use ndarray::Array2;
    use ratatui::{Terminal, backend::TestBackend};

    /// The title row of the panel drawn 30 cells wide (zoom 1 for 28x28) on `images` images.
    fn title_row(images: usize, go_last: bool) -> String {
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
            .draw(|frame| draw(state.shared(), frame, Rect::new(0, 0, 30, 3), 1))
            .unwrap();
        let buf = terminal.backend().buffer();
        (0..30).map(|x| buf[(x, 0)].symbol().to_string()).collect()
    }

    #[test]
    fn the_title_fits_the_panel_and_keeps_its_form_while_browsing() {
        assert_eq!(title_row(10000, true), "┌ image 9999 / 10000 · train ┐");
        // "image 59999 / 60000 · train" would touch the corner: the word goes, for every index.
        assert_eq!(title_row(60000, true), "┌ 59999 / 60000 · train ─────┐");
        assert_eq!(title_row(60000, false), "┌ 0 / 60000 · train ─────────┐");
    }
}
