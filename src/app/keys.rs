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
    // Esc is how one waves away a message such as "no image 999999": that must not quit.
    if state.notice().is_some() && key.code == KeyCode::Esc {
        return Some(Msg::Dismiss);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::test_state;
    use crate::dataset::Split;
    use ndarray::Array2;
    use ratatui::crossterm::event::{KeyEventState, MouseButton};

    fn state() -> AppState {
        let w = Array2::zeros((4, 10));
        test_state(vec![0; 40], (0..10).collect(), w, Split::Test, 100, 0).0
    }

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn main_keys() {
        let s = state();
        let k = |code| key_to_msg(&s, press(code));
        assert_eq!(k(KeyCode::Right), Some(Msg::Next));
        assert_eq!(k(KeyCode::Char('h')), Some(Msg::Prev));
        assert_eq!(k(KeyCode::PageDown), Some(Msg::Forward(PAGE)));
        assert_eq!(k(KeyCode::Char('N')), Some(Msg::PrevNorm));
        assert_eq!(k(KeyCode::Char('7')), Some(Msg::NextWithLabel(7)));
        assert_eq!(k(KeyCode::Esc), Some(Msg::Quit));
        assert_eq!(k(KeyCode::Char('z')), None);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(key_to_msg(&s, ctrl_c), Some(Msg::Quit));
        let release = KeyEvent {
            kind: KeyEventKind::Release,
            state: KeyEventState::NONE,
            ..press(KeyCode::Right)
        };
        assert_eq!(key_to_msg(&s, release), None);
    }

    #[test]
    fn prompt_and_help_take_the_keys_first() {
        let mut s = state();
        s.update(Msg::GotoStart);
        assert_eq!(
            key_to_msg(&s, press(KeyCode::Char('4'))),
            Some(Msg::GotoType('4'))
        );
        assert_eq!(key_to_msg(&s, press(KeyCode::Char('q'))), None);
        assert_eq!(key_to_msg(&s, press(KeyCode::Esc)), Some(Msg::GotoCancel));
        assert_eq!(
            key_to_msg(&s, press(KeyCode::Enter)),
            Some(Msg::GotoConfirm)
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(key_to_msg(&s, ctrl_c), Some(Msg::Quit));
        s.update(Msg::GotoCancel);
        s.update(Msg::ToggleHelp);
        assert_eq!(key_to_msg(&s, press(KeyCode::Esc)), Some(Msg::ToggleHelp));
        assert_eq!(key_to_msg(&s, press(KeyCode::Char('q'))), Some(Msg::Quit));
    }

    #[test]
    fn esc_closes_a_notice_before_it_quits() {
        let mut s = state();
        s.update(Msg::GotoStart);
        for c in "999999".chars() {
            s.update(Msg::GotoType(c));
        }
        s.update(Msg::GotoConfirm);
        assert!(s.notice().is_some_and(|n| n.is_error));
        let esc = key_to_msg(&s, press(KeyCode::Esc)).unwrap();
        assert_eq!(esc, Msg::Dismiss);
        s.update(esc);
        assert!(s.notice().is_none() && !s.should_quit);
        assert_eq!(key_to_msg(&s, press(KeyCode::Esc)), Some(Msg::Quit));
    }

    #[test]
    fn the_wheel_moves_through_images() {
        let mouse = |kind| MouseEvent {
            kind,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(
            mouse_to_msg(mouse(MouseEventKind::ScrollDown)),
            Some(Msg::Next)
        );
        assert_eq!(
            mouse_to_msg(mouse(MouseEventKind::ScrollUp)),
            Some(Msg::Prev)
        );
        assert_eq!(
            mouse_to_msg(mouse(MouseEventKind::Down(MouseButton::Left))),
            None
        );
    }
}
