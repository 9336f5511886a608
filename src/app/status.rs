//! The status line: a prompt (go to, second network), a notice, or the main keys of the active view (from
//! its key table and the global one), most useful first, as many whole hints as fit.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::keymap::{self, Binding};
use crate::app::router::{GLOBAL_KEYS, open_keys};
use crate::app::shared::{Notice, Palette};
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
        Line::styled(format!(" {}", notice.text), notice_style(notice, palette))
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

/// A notice too long for the status line, drawn whole: wrapped at words over the bottom rows
/// of `screen` (the status line's among them), under a rule. Errors name files and causes
/// that a cut line would lose.
pub fn draw_overflow(state: &AppState, frame: &mut Frame, screen: Rect) {
    let prompting = state.goto_input().is_some()
        || state.load_input().is_some()
        || state.train().prompt().is_some();
    let Some(notice) = state.notice().filter(|_| !prompting) else {
        return;
    };
    let width = usize::from(screen.width);
    if notice.text.chars().count() < width || width < 2 {
        return;
    }
    let palette = state.shared().palette;
    let style = notice_style(notice, palette);
    let rows = wrap(&notice.text, width - 1);
    let height = u16::try_from(rows.len() + 1)
        .unwrap_or(u16::MAX)
        .min(screen.height / 2);
    let rect = Rect::new(screen.x, screen.bottom() - height, screen.width, height);
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|row| Line::styled(format!(" {row}"), style))
        .collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::new()
                .borders(Borders::TOP)
                .border_style(dim(palette)),
        ),
        rect,
    );
}

/// How a notice is written: errors in bold red, the rest in yellow.
fn notice_style(notice: &Notice, palette: Palette) -> Style {
    if notice.is_error {
        fg(palette, Color::Red).patch(bold())
    } else {
        fg(palette, Color::Yellow)
    }
}

/// `text` in lines of at most `width` characters, broken between words (a word longer than
/// a line is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let line = lines.last_mut().expect("never empty");
            let used = line.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.extend(word);
                break;
            }
            if used == 0 {
                // Longer than a line: as much as fits, the rest on the next.
                let rest = word.split_off(width);
                line.extend(word);
                word = rest;
            }
            lines.push(String::new());
        }
    }
    lines
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

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_breaks_between_words_and_cuts_only_a_word_longer_than_a_line() {
        assert_eq!(
            wrap("writing failed: no such file", 12),
            ["writing", "failed: no", "such file"]
        );
        assert_eq!(wrap("abcdefghij xy", 4), ["abcd", "efgh", "ij", "xy"]);
        assert_eq!(wrap("short", 80), ["short"]);
    }
}
