//! The preview under the matrix: the first images behind the cursor's cell, in the current
//! order, as thumbnails; Enter shows them all in the gallery.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{State, cursor_filter};
use crate::analysis::Order;
use crate::app::selection::first;
use crate::app::shared::Shared;
use crate::app::views::gallery;
use crate::app::widgets::dim;

/// Draws the panel.
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, area: Rect) {
    let filter = cursor_filter(view);
    let order = shared.order();
    let room = gallery::grid(shared, area).per_page();
    let images = first(order, filter, &shared.sources(), room);
    let ranked = order == Order::Index || shared.evaluation().rankings.is_some();
    let by = if ranked {
        order.name()
    } else {
        "index (until the pass ends)"
    };
    let title = format!(" {}: the first, by {by} ", filter.name());
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if images.is_empty() {
        let none = Line::styled(format!("no {} yet", filter.describe()), dim(shared.palette));
        frame.render_widget(Paragraph::new(none), inner);
    } else {
        gallery::tiles(shared, frame, inner, images.into_iter(), None);
    }
}
