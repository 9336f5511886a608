//! The digit panel: the image as upper-half blocks in gray levels (two pixel rows per cell,
//! top pixel as foreground, bottom as background), or as shade characters without colors.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::widgets::{Block, Widget};

use crate::app::state::{AppState, Palette};

/// Shades from background to full ink, for terminals without colors.
const SHADES: [char; 5] = [' ', '░', '▒', '▓', '█'];

/// Draws the panel with the image index in its title.
pub fn draw(state: &AppState, frame: &mut Frame, area: Rect, zoom: u16) {
    let (index, total, split) = (state.index(), state.data.len(), state.split);
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
    let title = title(style, index);
    let block = Block::bordered().title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(
        Digit {
            pixels: state.data.image(state.index()),
            cols: state.data.cols(),
            zoom: usize::from(zoom.max(1)),
            palette: state.palette,
        },
        inner,
    );
}

/// One image, `zoom` cells per pixel across and `zoom` half-cells per pixel down.
struct Digit<'a> {
    pixels: &'a [u8],
    cols: usize,
    zoom: usize,
    palette: Palette,
}

impl Widget for Digit<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let rows = self.pixels.len() / self.cols.max(1);
        // Pixel at half-row `h` (two per cell) and cell column `x`, black outside the image.
        let pixel = |h: usize, x: usize| -> u8 {
            let (r, c) = (h / self.zoom, x / self.zoom);
            if r < rows && c < self.cols {
                self.pixels[r * self.cols + c]
            } else {
                0
            }
        };
        for y in 0..area.height {
            for x in 0..area.width {
                let (top, bottom) = (
                    pixel(2 * usize::from(y), usize::from(x)),
                    pixel(2 * usize::from(y) + 1, usize::from(x)),
                );
                let Some(cell) = buf.cell_mut((area.x + x, area.y + y)) else {
                    continue;
                };
                match self.palette {
                    Palette::Plain => {
                        // One character for both pixels: shade their average.
                        let avg = (usize::from(top) + usize::from(bottom)) / 2;
                        cell.set_char(SHADES[(avg * SHADES.len() / 256).min(SHADES.len() - 1)]);
                    }
                    palette => {
                        cell.set_char('▀')
                            .set_fg(gray(palette, top))
                            .set_bg(gray(palette, bottom));
                    }
                }
            }
        }
    }
}

/// The terminal color closest to gray level `v` (0 black .. 255 white).
fn gray(palette: Palette, v: u8) -> Color {
    match palette {
        Palette::TrueColor | Palette::Plain => Color::Rgb(v, v, v),
        Palette::Gray256 => {
            // The 256-color palette has black (16), white (231) and a 24-step ramp 232..=255
            // running from gray 8 to gray 238 in steps of 10.
            match v {
                0..=3 => Color::Indexed(16),
                248..=255 => Color::Indexed(231),
                _ => Color::Indexed(232 + ((u16::from(v).saturating_sub(3)) / 10).min(23) as u8),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            state.update(crate::app::state::Msg::Last);
        }
        let mut terminal = Terminal::new(TestBackend::new(30, 3)).unwrap();
        terminal
            .draw(|frame| draw(&state, frame, Rect::new(0, 0, 30, 3), 1))
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

    #[test]
    fn two_pixel_rows_per_cell_and_zoom() {
        // 2x2 image: top row 255, 0; bottom row 0, 128.
        let pixels = [255, 0, 0, 128];
        let mut buf = Buffer::empty(Rect::new(0, 0, 4, 2));
        Digit {
            pixels: &pixels,
            cols: 2,
            zoom: 2,
            palette: Palette::TrueColor,
        }
        .render(buf.area, &mut buf);
        // Zoom 2: the first cell row holds pixel row 0 twice (top and bottom half).
        let c = &buf[(0, 0)];
        assert_eq!(
            (c.symbol(), c.fg, c.bg),
            ("▀", Color::Rgb(255, 255, 255), Color::Rgb(255, 255, 255))
        );
        let c = &buf[(3, 1)];
        assert_eq!(
            (c.fg, c.bg),
            (Color::Rgb(128, 128, 128), Color::Rgb(128, 128, 128))
        );
        let c = &buf[(2, 0)];
        assert_eq!(c.fg, Color::Rgb(0, 0, 0));
    }

    #[test]
    fn plain_rendering_uses_shades() {
        let pixels = [255, 0, 255, 0];
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        Digit {
            pixels: &pixels,
            cols: 2,
            zoom: 1,
            palette: Palette::Plain,
        }
        .render(buf.area, &mut buf);
        assert_eq!(buf[(0, 0)].symbol(), "█");
        assert_eq!(buf[(1, 0)].symbol(), " ");
    }

    #[test]
    fn gray_ramp_is_monotonic() {
        let idx = |v| match gray(Palette::Gray256, v) {
            Color::Indexed(i) => i,
            c => panic!("{c:?}"),
        };
        assert_eq!(idx(0), 16);
        assert_eq!(idx(255), 231);
        let ramp: Vec<u8> = (4..248).map(idx).collect();
        assert!(ramp.windows(2).all(|w| w[0] <= w[1]));
        assert!(ramp.iter().all(|&i| (232..=255).contains(&i)));
    }
}
