//! The view: [`draw`] paints the whole screen from the state and nothing else.
//!
//! Compact layout (80x24, the digit at zoom 1):
//! ```text
//! ┌ image ──────┐┌ output ──┐┌ accuracy ──┐
//! │ 28x14 cells ││ 10 bars  ││ gauge      │
//! │             │├ norms ───┤│ per class  │
//! ├ prediction ─┤│          ││ modes      │
//! └─────────────┘└──────────┘└────────────┘
//!  status line with the main keys
//! ```
//! With room (e.g. 120x40) the digit is zoomed and the panels on the right stack:
//! ```text
//! ┌ image (zoom 2) ┐┌ output ─────────────┐
//! │                │├ norms ──────────────┤
//! ├ prediction ────┤├ accuracy ───────────┤
//! ```
//! Below [`MIN_WIDTH`]x[`MIN_HEIGHT`] it only says how much room it needs.

mod accuracy;
mod digit;
mod help;
mod norms;
mod output;
mod prediction;
mod status;

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::app::state::{AppState, Palette};

/// Narrowest terminal the layout fits.
pub const MIN_WIDTH: u16 = 80;
/// Shortest terminal the layout fits.
pub const MIN_HEIGHT: u16 = 24;
/// Largest digit zoom used.
const MAX_ZOOM: u16 = 4;
/// The prediction panel under the digit.
const PREDICTION_HEIGHT: u16 = 7;
/// The output panel: ten bars and a border.
const OUTPUT_HEIGHT: u16 = 12;
/// The norms panel: mode, header, five rows and a border.
const NORMS_HEIGHT: u16 = 9;
/// Least height of the accuracy panel when the right side is stacked.
const ACCURACY_STACKED_HEIGHT: u16 = 16;
/// Least width beside the digit: two columns of panels.
const RIGHT_MIN_WIDTH: u16 = 50;
/// Least width beside the digit for stacking the panels instead.
const RIGHT_STACKED_WIDTH: u16 = 56;
/// Longest bar of a class (output, per-class accuracy): on a wide terminal, longer bars put
/// a class's digit and its number so far apart that the eye loses the row.
const MAX_BAR_WIDTH: usize = 60;

/// Where each panel goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Areas {
    digit: Rect,
    zoom: u16,
    prediction: Rect,
    output: Rect,
    norms: Rect,
    accuracy: Rect,
    status: Rect,
}

/// Draws the whole screen.
pub fn draw(state: &AppState, frame: &mut Frame) {
    let area = frame.area();
    let (rows, cols) = (state.data.rows() as u16, state.data.cols() as u16);
    let Some(areas) = layout(area, rows, cols) else {
        too_small(frame, area, needed(rows, cols));
        return;
    };
    digit::draw(state, frame, areas.digit, areas.zoom);
    prediction::draw(state, frame, areas.prediction);
    output::draw(state, frame, areas.output);
    norms::draw(state, frame, areas.norms);
    accuracy::draw(state, frame, areas.accuracy);
    status::draw(state, frame, areas.status);
    if state.help_shown() {
        help::draw(frame, area);
    }
}

/// The digit panel's size at `zoom`: `cols*zoom` cells wide, two pixel rows per cell.
fn digit_size(rows: u16, cols: u16, zoom: u16) -> (u16, u16) {
    let w = cols.saturating_mul(zoom).saturating_add(2);
    let h = rows.saturating_mul(zoom).div_ceil(2).saturating_add(2);
    (w, h)
}

/// The smallest terminal the layout fits for images of `rows x cols`.
fn needed(rows: u16, cols: u16) -> (u16, u16) {
    let (w, h) = digit_size(rows, cols, 1);
    let width = MIN_WIDTH.max(w.saturating_add(RIGHT_MIN_WIDTH));
    let height = MIN_HEIGHT
        .max(h.saturating_add(PREDICTION_HEIGHT + 1))
        .max(OUTPUT_HEIGHT + NORMS_HEIGHT + 1);
    (width, height)
}

/// Whether `area` has room for the explorer (otherwise [`draw`] only says how much it needs).
pub fn fits(state: &AppState, area: Rect) -> bool {
    let (rows, cols) = (state.data.rows() as u16, state.data.cols() as u16);
    layout(area, rows, cols).is_some()
}

/// Splits the screen, or `None` when it is too small.
fn layout(area: Rect, rows: u16, cols: u16) -> Option<Areas> {
    let (need_w, need_h) = needed(rows, cols);
    if area.width < need_w || area.height < need_h {
        return None;
    }
    let body_h = area.height - 1;
    // The largest zoom that leaves room for the panels beside and below the digit.
    let zoom = (1..=MAX_ZOOM)
        .rev()
        .find(|&z| {
            let (w, h) = digit_size(rows, cols, z);
            area.width.saturating_sub(w) >= RIGHT_MIN_WIDTH
                && h.saturating_add(PREDICTION_HEIGHT) <= body_h
        })
        .unwrap_or(1);
    let (digit_w, digit_h) = digit_size(rows, cols, zoom);
    let (x, y) = (area.x, area.y);
    let digit = Rect::new(x, y, digit_w, digit_h);
    let prediction = Rect::new(x, y + digit_h, digit_w, body_h - digit_h);
    let right_x = x + digit_w;
    let right_w = area.width - digit_w;
    let stacked = right_w >= RIGHT_STACKED_WIDTH
        && body_h >= OUTPUT_HEIGHT + NORMS_HEIGHT + ACCURACY_STACKED_HEIGHT;
    let (output, norms, accuracy) = if stacked {
        (
            Rect::new(right_x, y, right_w, OUTPUT_HEIGHT),
            Rect::new(right_x, y + OUTPUT_HEIGHT, right_w, NORMS_HEIGHT),
            Rect::new(
                right_x,
                y + OUTPUT_HEIGHT + NORMS_HEIGHT,
                right_w,
                body_h - OUTPUT_HEIGHT - NORMS_HEIGHT,
            ),
        )
    } else {
        let mid_w = right_w / 2;
        (
            Rect::new(right_x, y, mid_w, OUTPUT_HEIGHT),
            Rect::new(right_x, y + OUTPUT_HEIGHT, mid_w, body_h - OUTPUT_HEIGHT),
            Rect::new(right_x + mid_w, y, right_w - mid_w, body_h),
        )
    };
    Some(Areas {
        digit,
        zoom,
        prediction,
        output,
        norms,
        accuracy,
        status: Rect::new(x, y + body_h, area.width, 1),
    })
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

/// A foreground color, or no color at all under [`Palette::Plain`].
fn fg(palette: Palette, color: Color) -> Style {
    match palette {
        Palette::Plain => Style::default(),
        _ => Style::default().fg(color),
    }
}

/// Bold, which is not a color and stays under `NO_COLOR`.
fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// Dimmed text for labels and hints.
fn dim(palette: Palette) -> Style {
    fg(palette, Color::DarkGray)
}

/// A horizontal bar of `width` cells filled to `fraction` (0..=1), in eighths of a cell.
fn bar(fraction: f64, width: usize) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (fraction * width as f64 * 8.0).round() as usize;
    let (full, part) = (eighths / 8, eighths % 8);
    let mut s = "█".repeat(full.min(width));
    if full < width {
        s.push(EIGHTHS[part]);
        s.extend(std::iter::repeat_n(' ', width - full - 1));
    }
    s
}

/// A number in at most about eight characters: fixed point sized to its magnitude.
fn num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 1e4 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

/// A percentage with two decimals, for accuracies.
fn pct(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_fits_the_classic_size_and_zooms_when_roomy() {
        let a = layout(Rect::new(0, 0, 80, 24), 28, 28).unwrap();
        assert_eq!(a.zoom, 1);
        assert_eq!((a.digit.width, a.digit.height), (30, 16));
        assert_eq!(a.status, Rect::new(0, 23, 80, 1));
        let b = layout(Rect::new(0, 0, 120, 40), 28, 28).unwrap();
        assert_eq!(b.zoom, 2);
        assert_eq!(
            b.output.width, 62,
            "stacked panels take the whole right side"
        );
        assert!(layout(Rect::new(0, 0, 79, 24), 28, 28).is_none());
        assert!(layout(Rect::new(0, 0, 80, 23), 28, 28).is_none());
    }

    #[test]
    fn no_panel_leaves_the_screen() {
        for (w, h) in [
            (80, 24),
            (81, 25),
            (100, 30),
            (120, 40),
            (250, 80),
            (300, 24),
        ] {
            let area = Rect::new(0, 0, w, h);
            let a = layout(area, 28, 28).unwrap();
            for r in [
                a.digit,
                a.prediction,
                a.output,
                a.norms,
                a.accuracy,
                a.status,
            ] {
                assert_eq!(area.intersection(r), r, "{w}x{h}: {r:?}");
                assert!(r.width > 0 && r.height > 0, "{w}x{h}: {r:?}");
            }
        }
    }

    #[test]
    fn bars_have_the_requested_width() {
        for f in [0.0, 0.01, 0.5, 0.999, 1.0, f64::NAN, 2.0] {
            assert_eq!(bar(f, 10).chars().count(), 10, "{f}");
        }
        assert_eq!(bar(1.0, 3), "███");
        assert_eq!(bar(0.5, 2), "█ ");
    }

    #[test]
    fn numbers_stay_short() {
        assert_eq!(num(199920.0), "199920");
        assert_eq!(num(255.0), "255.0");
        assert_eq!(num(0.1307), "0.1307");
        assert_eq!(num(-0.4242), "-0.4242");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.000_12), "1.20e-4");
    }
}
