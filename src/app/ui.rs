//! The screen: [`draw`] paints it from the state and nothing else. The active view takes all
//! but the last line, the status line takes that, and the help overlay, when open, goes over
//! the middle. Below the view's smallest size it only says how much room it needs.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::app::state::AppState;
use crate::app::{help, status};

/// Draws the whole screen.
pub fn draw(state: &AppState, frame: &mut Frame) {
    let area = frame.area();
    let view = state.view();
    if !fits(state, area) {
        too_small(frame, area, view.needed(state.shared()));
        return;
    }
    let [body, status_line] = split(area);
    view.draw(state, frame, body);
    status::draw(state, frame, status_line);
    status::draw_overflow(state, frame, area);
    if state.help_shown() {
        help::draw(state, frame, area);
    }
}

/// The screen's body (all but the status line) and the status line.
fn split(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area)
}

/// Where the active view is drawn on a screen of `area`: all but the status line.
pub fn body(area: Rect) -> Rect {
    split(area)[0]
}

/// Whether `area` has room for the active view (otherwise [`draw`] only says how much it
/// needs).
pub fn fits(state: &AppState, area: Rect) -> bool {
    let (need_w, need_h) = state.view().needed(state.shared());
    area.width >= need_w && area.height >= need_h
}

fn too_small(frame: &mut Frame, area: Rect, (need_w, need_h): (u16, u16)) {
    let (have_w, have_h) = (area.width, area.height);
    let one_line = format!("terminal too small: need {need_w}x{need_h}, have {have_w}x{have_h}");
    // A terminal too narrow for the sentence still gets both sizes, one per line.
    let lines: Vec<Line> = if one_line.chars().count() <= usize::from(area.width) {
        vec![Line::raw(one_line)]
    } else {
        vec![
            Line::raw("terminal too small:"),
            Line::raw(format!("need {need_w}x{need_h}")),
            Line::raw(format!("have {have_w}x{have_h}")),
        ]
    };
    let height = (lines.len() as u16).min(area.height);
    let y = area.y + (area.height - height) / 2;
    frame.render_widget(
        Paragraph::new(lines).alignment(Alignment::Center),
        Rect::new(area.x, y, area.width, height),
    );
}
