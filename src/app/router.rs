//! Keys and the mouse become [`Msg`]s. What comes first: Ctrl-C (quits) and Ctrl-Z (suspends),
//! whatever is open, then an open
//! prompt or overlay, then the global keys (help, quit, back), then the active view's own
//! keys. The global keys are listed here once, as a key table.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent};

use crate::app::keymap::{self, Binding, Hint};
use crate::app::msg::{Goto, Msg};
use crate::app::state::AppState;
use crate::app::views::{self, ViewId};

/// Keys that open the views, in every view that does not use the key itself. A view opens
/// over the current one; its key again (or Esc) goes back. Last, `u`, which every view
/// offers too: the trained network in all of them, or the loaded one.
pub const VIEW_KEYS: &[Binding] = &[
    Binding {
        keys: &[KeyCode::Char('c')],
        label: "c",
        help: "confusion matrix: which digits are taken for which",
        hint: Some(Hint {
            rank: 75,
            keys: "c",
            word: "matrix",
        }),
        action: |_| Some(Msg::Open(ViewId::Confusion)),
    },
    Binding {
        keys: &[KeyCode::Char('i')],
        label: "i",
        help: "inside the network: layers, units, softmax (i again: back)",
        // After quit: at 80 columns the line has no room left for it, and `?` lists it.
        hint: Some(Hint {
            rank: 65,
            keys: "i",
            word: "inside",
        }),
        action: |_| Some(Msg::Open(ViewId::Network)),
    },
    Binding {
        keys: &[KeyCode::Char('d')],
        label: "d",
        help: "the drawing view: draw a digit for the network (again: back)",
        hint: Some(Hint {
            rank: 66,
            keys: "d",
            word: "draw",
        }),
        action: |_| Some(Msg::Open(ViewId::Draw)),
    },
    Binding {
        keys: &[KeyCode::Char('t')],
        label: "t",
        help: "the training view: train a network and watch it learn",
        // After the matrix and the gallery, which browse had first.
        hint: Some(Hint {
            rank: 77,
            keys: "t",
            word: "train",
        }),
        action: |_| Some(Msg::Open(ViewId::Train)),
    },
    Binding {
        keys: &[KeyCode::Char('M')],
        label: "M",
        help: "train × test: each mode's network fed every mode",
        // Last: where the line has room left (the drawing view, the matrix at 120 columns);
        // `?` lists it everywhere.
        hint: Some(Hint {
            rank: 82,
            keys: "M",
            word: "modes",
        }),
        action: |_| Some(Msg::Open(ViewId::Modes)),
    },
    // Not a view, but a key every view offers: which network they all show.
    Binding {
        hint: None,
        ..views::train::USE
    },
];

/// Keys that mean the same in every view.
pub const GLOBAL_KEYS: &[Binding] = &[
    Binding {
        keys: &[KeyCode::Char('?')],
        label: "?",
        help: "this help",
        hint: Some(Hint {
            rank: 60,
            keys: "?",
            word: "help",
        }),
        action: |_| Some(Msg::ToggleHelp),
    },
    Binding {
        keys: &[KeyCode::Char('q'), KeyCode::Esc],
        // Ctrl-C and Ctrl-Z are handled before any table, whatever is open (`key_to_msg`).
        label: "q Esc ^C ^Z",
        help: "quit · ^Z suspends · Esc: close a message, else go back",
        hint: Some(Hint {
            rank: 61,
            keys: "q",
            word: "quit",
        }),
        action: |code| {
            Some(if code == KeyCode::Esc {
                Msg::Back
            } else {
                Msg::Quit
            })
        },
    },
];

/// The keys of [`VIEW_KEYS`] that open another view from `view`: all but those `view` takes
/// for itself.
pub fn open_keys(view: ViewId) -> Vec<&'static Binding> {
    let own = |b: &Binding| {
        b.keys
            .iter()
            .any(|k| view.keys().iter().any(|v| v.keys.contains(k)))
    };
    VIEW_KEYS.iter().filter(|b| !own(b)).collect()
}

/// The message for a key press, if the key means anything now.
pub fn key_to_msg(state: &AppState, key: KeyEvent) -> Option<Msg> {
    // Release events (reported on some terminals) would act twice.
    if key.kind == KeyEventKind::Release {
        return None;
    }
    // Ctrl-C and Ctrl-Z arrive as keys in raw mode (no signal): they act whatever is open,
    // as they would in a shell.
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        match key.code {
            KeyCode::Char('c') => return Some(Msg::Quit),
            KeyCode::Char('z') => return Some(Msg::Suspend),
            _ => {}
        }
    }
    if state.goto_input().is_some() {
        return edit(key.code, |c| c.is_ascii_digit()).map(Msg::Goto);
    }
    if state.load_input().is_some() {
        return edit(key.code, |c| !c.is_control()).map(Msg::LoadPrompt);
    }
    if let Some(msg) = views::prompt_key(state, key.code) {
        return msg;
    }
    if state.help_shown() {
        // Where it scrolls the arrows, pages, Home and End move it; `q` still quits; any other
        // key closes it (any key at all when it fits, as its footer then says).
        if !state.help_scrolls() {
            return Some(match key.code {
                KeyCode::Char('q') => Msg::Quit,
                _ => Msg::ToggleHelp,
            });
        }
        return Some(match key.code {
            KeyCode::Char('q') => Msg::Quit,
            KeyCode::Up | KeyCode::Char('k') => Msg::ScrollHelp(-1),
            KeyCode::Down | KeyCode::Char('j') => Msg::ScrollHelp(1),
            KeyCode::PageUp => Msg::PageHelp(-1),
            KeyCode::PageDown | KeyCode::Char(' ') => Msg::PageHelp(1),
            KeyCode::Home | KeyCode::Char('g') => Msg::ScrollHelp(isize::MIN),
            KeyCode::End | KeyCode::Char('G') => Msg::ScrollHelp(isize::MAX),
            _ => Msg::ToggleHelp,
        });
    }
    keymap::lookup(GLOBAL_KEYS, key.code)
        .or_else(|| keymap::lookup(state.view().keys(), key.code))
        .or_else(|| keymap::lookup(VIEW_KEYS, key.code))
}

/// What a key does in a prompt that takes the characters `accepts` lets through.
fn edit(code: KeyCode, accepts: impl Fn(char) -> bool) -> Option<Goto> {
    Some(match code {
        KeyCode::Enter => Goto::Confirm,
        KeyCode::Esc => Goto::Cancel,
        KeyCode::Backspace => Goto::Backspace,
        KeyCode::Char(c) if accepts(c) => Goto::Type(c),
        _ => return None,
    })
}

/// The message for a mouse event, from the active view.
pub fn mouse_to_msg(state: &AppState, mouse: MouseEvent) -> Option<Msg> {
    views::mouse_to_msg(state.view(), mouse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::tests::{assert_every_key_acts, assert_no_key_twice};
    use crate::app::msg::Nav;
    use crate::app::state::test_state;
    use crate::dataset::Split;
    use ndarray::Array2;
    use ratatui::crossterm::event::{KeyEventState, MouseButton, MouseEventKind};

    fn state() -> AppState {
        let w = Array2::zeros((4, 10));
        test_state(vec![0; 40], (0..10).collect(), w, Split::Test, 100, 0).0
    }

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn no_view_takes_a_global_key_and_every_key_acts() {
        assert_every_key_acts(GLOBAL_KEYS);
        assert_every_key_acts(VIEW_KEYS);
        assert_no_key_twice(&[GLOBAL_KEYS, VIEW_KEYS]);
        for view in ViewId::ALL {
            assert_no_key_twice(&[GLOBAL_KEYS, view.keys()]);
            assert_every_key_acts(view.keys());
        }
    }

    #[test]
    fn main_keys() {
        let s = state();
        let k = |code| key_to_msg(&s, press(code));
        assert_eq!(k(KeyCode::Right), Some(Msg::Nav(Nav::Next)));
        assert_eq!(k(KeyCode::Char('h')), Some(Msg::Nav(Nav::Prev)));
        assert_eq!(k(KeyCode::Char('7')), Some(Msg::Nav(Nav::NextWithLabel(7))));
        assert_eq!(k(KeyCode::Esc), Some(Msg::Back));
        assert_eq!(k(KeyCode::Char('q')), Some(Msg::Quit));
        assert_eq!(k(KeyCode::Char('z')), None);
        assert_eq!(k(KeyCode::Char('c')), Some(Msg::Open(ViewId::Confusion)));
        assert_eq!(k(KeyCode::Char('G')), Some(Msg::Open(ViewId::Gallery)));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(key_to_msg(&s, ctrl_c), Some(Msg::Quit));
        let ctrl_z = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert_eq!(key_to_msg(&s, ctrl_z), Some(Msg::Suspend));
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
        s.update(Msg::Goto(Goto::Start));
        assert_eq!(
            key_to_msg(&s, press(KeyCode::Char('4'))),
            Some(Msg::Goto(Goto::Type('4')))
        );
        assert_eq!(key_to_msg(&s, press(KeyCode::Char('q'))), None);
        assert_eq!(
            key_to_msg(&s, press(KeyCode::Esc)),
            Some(Msg::Goto(Goto::Cancel))
        );
        assert_eq!(
            key_to_msg(&s, press(KeyCode::Enter)),
            Some(Msg::Goto(Goto::Confirm))
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(key_to_msg(&s, ctrl_c), Some(Msg::Quit));
        s.update(Msg::Goto(Goto::Cancel));
        s.update(Msg::LoadPrompt(Goto::Start));
        for (code, msg) in [
            (KeyCode::Char('q'), Goto::Type('q')),
            (KeyCode::Char('/'), Goto::Type('/')),
            (KeyCode::Backspace, Goto::Backspace),
            (KeyCode::Esc, Goto::Cancel),
        ] {
            assert_eq!(key_to_msg(&s, press(code)), Some(Msg::LoadPrompt(msg)));
        }
        s.update(Msg::LoadPrompt(Goto::Cancel));
        s.update(Msg::ToggleHelp);
        assert_eq!(key_to_msg(&s, press(KeyCode::Esc)), Some(Msg::ToggleHelp));
        assert_eq!(key_to_msg(&s, press(KeyCode::Char('q'))), Some(Msg::Quit));
    }

    #[test]
    fn esc_closes_a_notice_before_it_quits() {
        let mut s = state();
        s.update(Msg::Nav(Nav::To(999_999)));
        assert!(s.notice().is_some_and(|n| n.is_error));
        let esc = key_to_msg(&s, press(KeyCode::Esc)).unwrap();
        s.update(esc);
        assert!(s.notice().is_none() && !s.should_quit());
        let esc = key_to_msg(&s, press(KeyCode::Esc)).unwrap();
        s.update(esc);
        assert!(s.should_quit());
    }

    #[test]
    fn the_wheel_moves_through_images() {
        let s = state();
        let mouse = |kind| MouseEvent {
            kind,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(
            mouse_to_msg(&s, mouse(MouseEventKind::ScrollDown)),
            Some(Msg::Nav(Nav::Next))
        );
        assert_eq!(
            mouse_to_msg(&s, mouse(MouseEventKind::ScrollUp)),
            Some(Msg::Nav(Nav::Prev))
        );
        assert_eq!(
            mouse_to_msg(&s, mouse(MouseEventKind::Down(MouseButton::Left))),
            None
        );
    }
}
