//! Keys and the mouse become [`Msg`]s. What a key means depends only on which prompt or
//! overlay is open, which the state tells.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};

use crate::app::state::{AppState, Msg, PAGE};

/// The message for a key press, if the key means anything now.
pub fn key_to_msg(state: &AppState, key: KeyEvent) -> Option<Msg> {
    // Release events (reported on some terminals) would act twice.
    if key.kind == KeyEventKind::Release {
        return None;
    }
    // Ctrl-C arrives as a key in raw mode: it always quits, whatever is open.
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Msg::Quit);
    }
    if state.goto_input().is_some() {
        return match key.code {
            KeyCode::Enter => Some(Msg::GotoConfirm),
            KeyCode::Esc => Some(Msg::GotoCancel),
            KeyCode::Backspace => Some(Msg::GotoBackspace),
            KeyCode::Char(c) if c.is_ascii_digit() => Some(Msg::GotoType(c)),
            _ => None,
        };
    }
    if state.help_shown() {
        // Any key closes the help; `q` still quits.
        return match key.code {
            KeyCode::Char('q') => Some(Msg::Quit),
            _ => Some(Msg::ToggleHelp),
        };
    }
    let msg = match key.code {
        KeyCode::Right | KeyCode::Char('l') => Msg::Next,
        KeyCode::Left | KeyCode::Char('h') => Msg::Prev,
        KeyCode::PageDown => Msg::Forward(PAGE),
        KeyCode::PageUp => Msg::Back(PAGE),
        KeyCode::Home => Msg::First,
        KeyCode::End => Msg::Last,
        KeyCode::Char('g') => Msg::GotoStart,
        KeyCode::Char('r') => Msg::Random,
        KeyCode::Char('n') => Msg::NextNorm,
        KeyCode::Char('N') => Msg::PrevNorm,
        KeyCode::Char('b') => Msg::NextBatch,
        KeyCode::Char('B') => Msg::PrevBatch,
        KeyCode::Char('o') => Msg::ToggleOutput,
        KeyCode::Char('e') => Msg::NextWrong,
        KeyCode::Char('E') => Msg::PrevWrong,
        KeyCode::Char(c @ '0'..='9') => Msg::NextWithLabel(c as u8 - b'0'),
        KeyCode::Char('?') => Msg::ToggleHelp,
        KeyCode::Char('q') | KeyCode::Esc => Msg::Quit,
        _ => return None,
    };
    Some(msg)
}

/// The message for a mouse event: the wheel moves through the images.
pub fn mouse_to_msg(mouse: MouseEvent) -> Option<Msg> {
    match mouse.kind {
        MouseEventKind::ScrollDown => Some(Msg::Next),
        MouseEventKind::ScrollUp => Some(Msg::Prev),
        _ => None,
    }
}
