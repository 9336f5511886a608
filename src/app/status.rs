//! The status line: a prompt (go to, second network), a notice, or the main keys of the active view (from
//! its key table and the global one), most useful first, as many whole hints as fit.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::keymap::{self, Binding};
use crate::app::router::{GLOBAL_KEYS, open_keys};
use crate::app::shared::Palette;
use crate::app::state::AppState;
use crate::app::views::train::WritePrompt;
use crate::app::widgets::{bold, dim, fg};

/// Draws the line.
pub fn draw(state: &AppState, frame: &mut Frame, area: Rect) {
    let palette = state.shared().palette;
    let line = if let Some(typed) = state.goto_input() {
        let last = state.shared().data.len().saturating_sub(1);
        let note = format!("   (0-{last}, Enter go, Esc cancel)");
        prompt(" go to image: ", typed, note, palette)
    } else if let Some(typed) = state.load_input() {
        let note = "   (a .npz to compare with; Enter read, Esc cancel)".to_string();
        prompt(" second network: ", typed, note, palette)
    } else if let Some(ask) = state.train().prompt() {
        match ask {
            WritePrompt::Path(typed) => {
                let note = "   (.npz; Enter write, Esc cancel)".to_string();
                prompt(" write the trained network to: ", typed, note, palette)
            }
            WritePrompt::Replace(path) => Line::from(vec![
                Span::styled(format!(" {} exists: replace it?", path.display()), bold()),
                Span::styled("   y: replace, any other key: keep it", dim(palette)),
            ]),
        }
    } else if let Some(notice) = state.notice() {
        let style = if notice.is_error {
            fg(palette, Color::Red).patch(bold())
        } else {
            fg(palette, Color::Yellow)
        };
        Line::styled(format!(" {}", notice.text), style)
    } else if let Some(progress) = state.shared().fitting().progress_line() {
        Line::from(vec![
            Span::styled(format!(" {progress}"), fg(palette, Color::Yellow)),
            Span::styled("   (n/N: another mode)", dim(palette)),
        ])
    } else {
        let mut spans = Vec::new();
        let view = state.view();
        let opens: Vec<Binding> = open_keys(view).into_iter().copied().collect();
        // Whole hints only, most useful first: a key without its word would puzzle. The help's
        // (`?`, which lists every key) keeps its room whatever has to go.
        let hints = keymap::hints(&[view.keys(), &opens, GLOBAL_KEYS]);
        let width = |h: &keymap::Hint| 2 + h.keys.chars().count() + h.word.chars().count();
        let is_help = |h: &keymap::Hint| h.keys == "?";
        let mut reserved = hints
            .iter()
            .find(|h| is_help(h))
            .map_or(0, |h| width(h) + 1);
        let mut room = usize::from(area.width);
        let mut full = false;
        for hint in &hints {
            // A hint needs its width, and a space before the help's if that is still to come.
            let need = width(hint) + if reserved > 0 { 1 + reserved } else { 0 };
            if is_help(hint) {
                reserved = 0;
            } else if full || need > room {
                full = true;
                continue;
            }
            if width(hint) > room {
                break;
            }
            room = room.saturating_sub(width(hint) + 1);
            spans.push(Span::styled(format!(" {}", hint.keys), bold()));
            spans.push(Span::styled(format!(" {} ", hint.word), dim(palette)));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// A prompt's line: what it asks, what was typed, a cursor and a note on the keys.
fn prompt(asks: &'static str, typed: &str, note: String, palette: Palette) -> Line<'static> {
    Line::from(vec![
        Span::styled(asks, bold()),
        Span::raw(typed.to_string()),
        Span::styled("█", Style::default().add_modifier(Modifier::SLOW_BLINK)),
        Span::styled(note, dim(palette)),
    ])
}
