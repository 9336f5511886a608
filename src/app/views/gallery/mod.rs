//! The gallery: the images walked through (the filter in the order, the same list as the
//! browse view's moves) as thumbnails, a page at a time, each captioned with its index, true
//! label → prediction and confidence. The selected thumbnail is the current image: moving
//! here moves there, and Enter shows it in the browse view.
//!
//! ```text
//! ┌ gallery: 4→9 · by loss · 3 of 23 ───────────────────┐
//! │ ▄▄▀▀▄        ▄▀▀▄         …                         │
//! │ ▸ 247 4→9 97%  1226 4→9 88%                         │
//! └ index true→predicted confidence ────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, MouseEvent, MouseEventKind};
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::keymap::{Binding, Hint, Note};
use crate::app::msg::{self, Nav};
use crate::app::shared::Shared;
use crate::app::views::{ViewId, browse};
use crate::app::widgets::thumbnail::{self, Thumbnail};
use crate::app::widgets::{bold, dim, fg};

/// The gallery's own messages: moves by rows and pages, whose size depends on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// Down (positive) or up this many rows of thumbnails.
    Rows(isize),
    /// Forward (positive) or back this many pages.
    Pages(isize),
    /// Show the selected image in the browse view.
    Open,
}

/// The gallery's keys.
pub const KEYS: &[Binding] = &[
    browse::STEP,
    Binding {
        keys: &[
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Char('k'),
            KeyCode::Char('j'),
        ],
        label: "↑ ↓ k j",
        help: "the thumbnail above / below",
        hint: Some(Hint {
            rank: 1,
            keys: "↑↓",
            word: "row",
        }),
        action: |code| {
            let by = if matches!(code, KeyCode::Up | KeyCode::Char('k')) {
                -1
            } else {
                1
            };
            Some(msg::Msg::Gallery(Msg::Rows(by)))
        },
    },
    Binding {
        keys: &[KeyCode::PageUp, KeyCode::PageDown],
        label: "PgUp PgDn",
        help: "previous / next page",
        hint: Some(Hint {
            rank: 2,
            keys: "PgUp/Dn",
            word: "page",
        }),
        action: |code| {
            let by = if code == KeyCode::PageUp { -1 } else { 1 };
            Some(msg::Msg::Gallery(Msg::Pages(by)))
        },
    },
    browse::ENDS,
    Binding {
        keys: &[KeyCode::Enter],
        label: "Enter",
        help: "show the selected image in the browse view",
        hint: Some(Hint {
            rank: 3,
            keys: "Enter",
            word: "open",
        }),
        action: |_| Some(msg::Msg::Gallery(Msg::Open)),
    },
    browse::ERRORS,
    browse::ORDER,
    browse::FILTER,
    // As every other view's own key does: the key that opened the view closes it.
    Binding {
        keys: &[KeyCode::Char('G')],
        label: "G",
        help: "back to the view the gallery was opened from",
        hint: None,
        action: |_| Some(msg::Msg::Open(ViewId::Gallery)),
    },
];

/// Help lines for what is not a key.
pub const MOUSE: &[Note] = &[Note {
    label: "mouse wheel",
    help: "previous / next image",
}];

/// What the view shows, for the help.
pub const GUIDE: &[Note] = &[
    Note {
        label: "gallery",
        help: "the images walked (f: filter, s: order), a page at a time",
    },
    Note {
        label: "title",
        help: "the filter, the order, the selected image's place",
    },
    Note {
        label: "caption",
        help: "index, true label → prediction, confidence (softmax)",
    },
];

/// What the marks mean, for the help.
pub const MARKS: &[Note] = &[
    Note {
        label: "▸ reversed",
        help: "the selected image: the current one of the browse view",
    },
    Note {
        label: "red, green",
        help: "a wrong prediction, a right one",
    },
    Note {
        label: "4→?",
        help: "not predicted yet: the background pass has not reached it",
    },
    Note {
        label: "(after pass)",
        help: "in dataset order until the pass that ranks the images ends",
    },
];

/// The message for a mouse event: the wheel moves through the images.
pub fn mouse_to_msg(mouse: MouseEvent) -> Option<msg::Msg> {
    match mouse.kind {
        MouseEventKind::ScrollDown => Some(msg::Msg::Nav(Nav::Next)),
        MouseEventKind::ScrollUp => Some(msg::Msg::Nav(Nav::Prev)),
        _ => None,
    }
}

/// The smallest terminal (status line included) the view fits.
pub fn needed(_shared: &Shared) -> (u16, u16) {
    (80, 24)
}

/// How the thumbnails are laid out in a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Thumbnails across.
    pub cols: usize,
    /// Thumbnails down.
    pub rows: usize,
    /// A tile's width: a gap for the selection mark, then the image or its caption.
    tile_width: usize,
    /// A tile's height: the image, its caption, and a blank line where there is room.
    tile_height: usize,
    /// The image's cells.
    image: (usize, usize),
}

impl Grid {
    /// Thumbnails on a page.
    pub fn per_page(self) -> usize {
        self.cols * self.rows
    }
}

/// The grid of thumbnails that fits `body` (the screen but the status line).
pub fn grid(shared: &Shared, body: Rect) -> Grid {
    grid_inside(shared, Block::bordered().inner(body))
}

/// The grid of thumbnails that fits `area` (inside any border).
fn grid_inside(shared: &Shared, area: Rect) -> Grid {
    let (inner_w, inner_h) = (usize::from(area.width), usize::from(area.height));
    let image = thumbnail::size(shared.data.rows(), shared.data.cols());
    let caption = caption_width(shared.data.len());
    let tile_width = 1 + image.0.max(caption);
    let tight = image.1 + 1;
    let cols = (inner_w / tile_width).max(1);
    let rows = (inner_h / tight).max(1);
    // A blank line between rows where it costs no row.
    let tile_height = if inner_h / (tight + 1) == rows {
        tight + 1
    } else {
        tight
    };
    Grid {
        cols,
        rows,
        tile_width,
        tile_height,
        image,
    }
}

/// The longest caption: the last index, `4→9` and `100%`.
fn caption_width(images: usize) -> usize {
    images.saturating_sub(1).to_string().len() + " 4→9 100%".chars().count()
}

/// Draws the view into `body`.
pub fn draw(shared: &Shared, frame: &mut Frame, body: Rect) {
    let g = grid(shared, body);
    let selection = shared.selection();
    let place = selection.locate(shared.index());
    let at = place.unwrap_or_else(|gap| gap.min(selection.len().saturating_sub(1)));
    let page_start = at / g.per_page() * g.per_page();
    let block = Block::bordered()
        .title(title(
            shared,
            place,
            usize::from(body.width.saturating_sub(2)),
        ))
        .title_bottom(Line::styled(
            " index true→predicted confidence · Enter: browse it · Esc: back ",
            dim(shared.palette),
        ));
    let inner = block.inner(body);
    frame.render_widget(block, body);
    if selection.is_empty() {
        let text = format!("no {}", shared.filter().describe());
        let hint = "f changes the filter; the matrix (c) opens a cell";
        let y = inner.y + inner.height / 2;
        let lines = vec![Line::raw(text), Line::styled(hint, dim(shared.palette))];
        let area = Rect::new(
            inner.x,
            y.saturating_sub(1),
            inner.width,
            2.min(inner.height),
        );
        frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center), area);
        return;
    }
    let selected = place.ok().map(|at| at - page_start);
    tiles(shared, frame, inner, selection.from(page_start), selected);
}

/// Draws the images of `indices` as thumbnails in rows across `area`, as many as fit; the
/// `selected`-th of them (counting from 0) marked.
pub fn tiles(
    shared: &Shared,
    frame: &mut Frame,
    area: Rect,
    indices: impl Iterator<Item = usize>,
    selected: Option<usize>,
) {
    let g = grid_inside(shared, area);
    for (k, index) in indices.take(g.per_page()).enumerate() {
        let (col, row) = (k % g.cols, k / g.cols);
        let x = area.x + (col * g.tile_width) as u16;
        let y = area.y + (row * g.tile_height) as u16;
        let image = Rect::new(x + 1, y, g.image.0 as u16, g.image.1 as u16);
        frame.render_widget(
            Thumbnail {
                pixels: shared.data.image(index),
                cols: shared.data.cols(),
                palette: shared.palette,
            },
            image.intersection(area),
        );
        let caption = Rect::new(x, y + g.image.1 as u16, g.tile_width as u16, 1);
        frame.render_widget(
            Paragraph::new(caption_line(shared, index, selected == Some(k))),
            caption.intersection(area),
        );
    }
}

/// The caption of image `index`: `▸` when selected, then `index true→predicted confidence%`.
fn caption_line(shared: &Shared, index: usize, selected: bool) -> Line<'static> {
    let eval = shared.evaluation();
    let label = shared.data.label(index);
    let (verdict, style) = match (eval.predictions[index], eval.verdicts[index]) {
        (Some(p), Some(v)) => {
            let confidence = (f64::from(v.confidence) * 100.0).round();
            let color = if p == label { Color::Green } else { Color::Red };
            (
                format!("{label}→{p} {confidence:.0}%"),
                fg(shared.palette, color),
            )
        }
        _ => (format!("{label}→?"), dim(shared.palette)),
    };
    let mark = if selected { "▸" } else { " " };
    let text = Style::default();
    let (index_style, verdict_style) = if selected {
        let reversed = bold().add_modifier(Modifier::REVERSED);
        (reversed, style.patch(reversed))
    } else {
        (text, style)
    };
    Line::from(vec![
        Span::styled(mark, bold()),
        Span::styled(format!("{index} "), index_style),
        Span::styled(verdict, verdict_style),
    ])
}

/// The title: the filter, the order, and where the selected image is in the list, in the
/// longest form that fits `room`.
fn title(shared: &Shared, place: Result<usize, usize>, room: usize) -> String {
    let selection = shared.selection();
    let order = shared.order();
    let order_text = if selection.is_ordered() {
        format!("by {}", order.name())
    } else {
        format!("by {} (after pass)", order.name())
    };
    let len = selection.len();
    let position = match place {
        Ok(at) => format!("{} of {len}", at + 1),
        Err(_) => format!("{len} images"),
    };
    let filter = shared.filter().name();
    [
        format!(" gallery: {filter} · {order_text} · {position} "),
        format!(" {filter} · {order_text} · {position} "),
        format!(" {filter} · {position} "),
    ]
    .into_iter()
    .find(|t| t.chars().count() <= room)
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::test_state;
    use crate::dataset::Split;
    use ndarray::Array2;

    #[test]
    fn ten_thumbnails_fit_80x24_and_more_fit_120x40() {
        // 28x28 images: 14x7 cells each.
        let n = 12;
        let images = vec![0u8; n * 28 * 28];
        let (state, _) = {
            let data = crate::dataset::Dataset::from_parts(images, vec![0; n], 28, 28).unwrap();
            let w = Array2::zeros((784, 10));
            let net = crate::network::Network::new(vec![crate::layer::Layer {
                w,
                b: ndarray::Array1::zeros(10),
            }])
            .unwrap();
            crate::app::state::AppState::new(
                std::sync::Arc::new(data),
                std::sync::Arc::new(net),
                Split::Test,
                crate::app::shared::Palette::Plain,
                crate::app::evaluations::EvalKey {
                    norm: crate::normalize::NormMode::Div255,
                    batch_size: 100,
                    output: crate::layer::OutputLayer::Softmax,
                },
                0,
            )
        };
        let small = grid(state.shared(), Rect::new(0, 0, 80, 23));
        assert!(small.per_page() >= 10, "{small:?}");
        let big = grid(state.shared(), Rect::new(0, 0, 120, 39));
        assert!(big.per_page() > small.per_page(), "{big:?}");
        assert!(big.per_page() >= 20, "{big:?}");
    }

    #[test]
    fn the_title_shortens_to_fit() {
        let w = Array2::zeros((4, 10));
        let (state, _) = test_state(vec![0; 40], vec![0; 10], w, Split::Test, 10, 0);
        let shared = state.shared();
        assert_eq!(
            title(shared, Ok(0), 80),
            " gallery: all · by index · 1 of 10 "
        );
        assert_eq!(title(shared, Ok(0), 26), " all · by index · 1 of 10 ");
        assert_eq!(title(shared, Err(0), 17), " all · 10 images ");
    }
}
