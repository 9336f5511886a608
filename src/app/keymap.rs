//! Key tables: each view (and the router, for the global keys) lists its keys once as
//! [`Binding`]s, and the same list turns key presses into messages, writes the `?` help and
//! the status line's hints, so that what the help says and what the keys do cannot drift
//! apart.

use ratatui::crossterm::event::KeyCode;

use crate::app::msg::Msg;

/// The arrow keys and vi's `h j k l`, which move the cell cursor of the views with a table.
pub const CURSOR_KEYS: &[KeyCode] = &[
    KeyCode::Left,
    KeyCode::Right,
    KeyCode::Up,
    KeyCode::Down,
    KeyCode::Char('h'),
    KeyCode::Char('l'),
    KeyCode::Char('k'),
    KeyCode::Char('j'),
];

/// The (rows, columns) a key of [`CURSOR_KEYS`] moves a cursor by: `←` `h` left, `→` `l`
/// right, `↑` `k` up, anything else down.
pub fn cursor_step(code: KeyCode) -> (i8, i8) {
    match code {
        KeyCode::Left | KeyCode::Char('h') => (0, -1),
        KeyCode::Right | KeyCode::Char('l') => (0, 1),
        KeyCode::Up | KeyCode::Char('k') => (-1, 0),
        _ => (1, 0),
    }
}

/// One action and the keys that trigger it.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys (modifiers are ignored: `N` is Shift+n).
    pub keys: &'static [KeyCode],
    /// How the help names the keys, e.g. `← → h l`.
    pub label: &'static str,
    /// What the action does, for the help.
    pub help: &'static str,
    /// Its short form on the status line, if it has one.
    pub hint: Option<Hint>,
    /// The message for the key pressed (one of `keys`).
    pub action: fn(KeyCode) -> Option<Msg>,
}

/// A binding's entry on the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    /// Position on the line, lowest first: the line is cut at the screen's edge, so the most
    /// useful keys come first.
    pub rank: u8,
    /// The keys, in a few characters, e.g. `←→`.
    pub keys: &'static str,
    /// What they do, in a word.
    pub word: &'static str,
}

/// A line of the help that is not a key: the mouse, or a remark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Note {
    /// What to do (`mouse wheel`), or empty for a remark.
    pub label: &'static str,
    /// What it does.
    pub help: &'static str,
}

/// The message `table` has for `code`, if any.
pub fn lookup(table: &[Binding], code: KeyCode) -> Option<Msg> {
    table
        .iter()
        .find(|b| b.keys.contains(&code))
        .and_then(|b| (b.action)(code))
}

/// The status line's hints of `tables`, in rank order.
pub fn hints(tables: &[&[Binding]]) -> Vec<Hint> {
    let mut hints: Vec<Hint> = tables
        .iter()
        .flat_map(|t| t.iter().filter_map(|b| b.hint))
        .collect();
    hints.sort_by_key(|h| h.rank);
    hints
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Fails if two bindings of `tables` share a key: one of them could never act.
    pub(crate) fn assert_no_key_twice(tables: &[&[Binding]]) {
        let keys: Vec<(KeyCode, &str)> = tables
            .iter()
            .flat_map(|t| t.iter())
            .flat_map(|b| b.keys.iter().map(move |k| (*k, b.label)))
            .collect();
        for (i, (key, label)) in keys.iter().enumerate() {
            if let Some((_, other)) = keys[i + 1..].iter().find(|(k, _)| k == key) {
                panic!("{key:?} is bound twice: `{label}` and `{other}`");
            }
        }
    }

    /// Fails unless every key of every binding of `table` yields a message.
    pub(crate) fn assert_every_key_acts(table: &[Binding]) {
        for b in table {
            assert!(!b.keys.is_empty(), "`{}` has no key", b.label);
            for &k in b.keys {
                assert!(
                    (b.action)(k).is_some(),
                    "{k:?} of `{}` does nothing",
                    b.label
                );
            }
        }
    }

    #[test]
    fn lookup_and_hints_follow_the_table() {
        const T: &[Binding] = &[
            Binding {
                keys: &[KeyCode::Char('x')],
                label: "x",
                help: "quit",
                hint: Some(Hint {
                    rank: 2,
                    keys: "x",
                    word: "quit",
                }),
                action: |_| Some(Msg::Quit),
            },
            Binding {
                keys: &[KeyCode::Char('y'), KeyCode::Enter],
                label: "y",
                help: "help",
                hint: Some(Hint {
                    rank: 1,
                    keys: "y",
                    word: "help",
                }),
                action: |_| Some(Msg::ToggleHelp),
            },
        ];
        assert_eq!(lookup(T, KeyCode::Enter), Some(Msg::ToggleHelp));
        assert_eq!(lookup(T, KeyCode::Char('x')), Some(Msg::Quit));
        assert_eq!(lookup(T, KeyCode::Char('z')), None);
        let words: Vec<&str> = hints(&[T]).iter().map(|h| h.word).collect();
        assert_eq!(words, ["help", "quit"]);
        assert_every_key_acts(T);
        assert_no_key_twice(&[T]);
        let caught = std::panic::catch_unwind(|| assert_no_key_twice(&[T, T]));
        assert!(caught.is_err(), "a key bound twice must be caught");
    }
}
