//! The form panel: the run's settings, one field a line, the selected one marked (and its
//! text with a cursor while it is typed into), what that field decides or why its text was
//! refused, the network the settings make, and the keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::State;
use super::form::Field;
use super::run::Status;
use crate::app::shared::{Palette, Shared};
use crate::app::widgets::{bold, dim, fg, pct, thousands};

/// Widest the panel gets: wider, the names and their values drift apart.
const MAX_WIDTH: u16 = 78;
/// Width of the field names' column.
const NAME_WIDTH: usize = 15;

/// Draws the form into the top left of `body`.
pub fn draw(shared: &Shared, state: &State, frame: &mut Frame, body: Rect) {
    let palette = shared.palette;
    let form = state.form();
    let key = dim(palette);
    let mut lines = vec![Line::raw("")];
    for field in Field::ALL {
        lines.push(field_line(state, field, palette));
    }
    lines.push(Line::raw(""));
    let selected = form.selected();
    let width = body.width.min(MAX_WIDTH);
    // Inside the border, a space each side.
    let room = usize::from(width.saturating_sub(4));
    let (head, text, style) = match form.editing().and_then(|e| e.error.as_deref()) {
        Some(error) => ("refused: ".to_string(), error, fg(palette, Color::Red)),
        None => (
            format!("{}: ", selected.name()),
            selected.about(),
            Style::default(),
        ),
    };
    // The reason for a refusal can be long (a network too large); it is wrapped, not cut.
    for (i, line) in wrap(&format!("{head}{text}"), room).into_iter().enumerate() {
        let line = match line.strip_prefix(&head).filter(|_| i == 0) {
            Some(rest) => Line::from(vec![
                Span::raw(" "),
                Span::styled(head.clone(), style.patch(bold())),
                Span::styled(rest.to_string(), style),
            ]),
            None => Line::from(vec![Span::raw(" "), Span::styled(line, style)]),
        };
        lines.push(line);
    }
    lines.push(Line::from(vec![
        Span::raw(" "),
        Span::raw(network_line(shared, state)),
    ]));
    if let Some(last) = last_run(state) {
        lines.push(Line::styled(format!(" {last}"), key));
    }
    lines.push(Line::raw(""));
    let keys = if form.editing().is_some() {
        " Enter takes the value · Esc leaves it as it was · ↑↓ take it and move"
    } else {
        " Enter starts · ↑↓ field · ←→ choice · type a value · r: defaults"
    };
    lines.push(Line::styled(keys, key));
    let height = (lines.len() as u16 + 2).min(body.height);
    let area = Rect::new(body.x, body.y, width, height);
    let block = Block::bordered().title(" train a network from random weights ");
    // No wrapping: a line too long for the panel is cut, never pushing the keys out.
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// One field: a mark when selected, its name, and its value (`◂ ▸` around a choice; the
/// text and a cursor while typed into).
fn field_line(state: &State, field: Field, palette: Palette) -> Line<'static> {
    let form = state.form();
    let selected = form.selected() == field;
    let mark = if selected { " ▸ " } else { "   " };
    let name_style = if selected {
        fg(palette, Color::Yellow).patch(bold())
    } else {
        Style::default()
    };
    let mut spans = vec![
        Span::styled(mark, bold()),
        Span::styled(format!("{:<NAME_WIDTH$}", field.name()), name_style),
    ];
    match form.editing().filter(|_| selected) {
        Some(edit) => {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(
                edit.text.clone(),
                Style::default().add_modifier(Modifier::UNDERLINED),
            ));
            spans.push(Span::styled(
                "█",
                Style::default().add_modifier(Modifier::SLOW_BLINK),
            ));
        }
        None if field.is_choice() => {
            spans.push(Span::styled("◂ ", dim(palette)));
            spans.push(Span::styled(form.value(field), bold()));
            spans.push(Span::styled(" ▸", dim(palette)));
        }
        None => {
            spans.push(Span::raw("  "));
            spans.push(Span::raw(form.value(field)));
        }
    }
    Line::from(spans)
}

/// The network the settings make: its shape and number of weights and biases.
fn network_line(shared: &Shared, state: &State) -> String {
    let config = state.form().config();
    let sizes = config.sizes(shared.data.pixels_per_image(), crate::dataset::NUM_CLASSES);
    let parameters: usize = sizes.windows(2).map(|w| (w[0] + 1) * w[1]).sum();
    let shape: Vec<String> = sizes.iter().map(ToString::to_string).collect();
    format!(
        "{}: {} weights and biases, random at first (Glorot)",
        shape.join("-"),
        thousands(parameters as u64)
    )
}

/// The previous run in a line, if there was one.
fn last_run(state: &State) -> Option<String> {
    let run = state.run()?;
    let status = match &run.status {
        Status::Reading | Status::Running => "running",
        Status::Finished => "finished",
        Status::Stopped => "stopped",
        Status::Failed(_) => "failed",
    };
    let accuracy = run
        .test_accuracy()
        .map_or_else(String::new, |a| format!(", test accuracy {}", pct(a)));
    Some(format!(
        "last run: {}, {status} after {} of {} epochs{accuracy}",
        run.shape(),
        run.epochs.len(),
        run.config.epochs
    ))
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if needed > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let rest: String = line.chars().skip(width).collect();
            line = line.chars().take(width).collect();
            lines.push(std::mem::replace(&mut line, rest));
        }
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_at_spaces_within_the_width() {
        assert_eq!(wrap("refused: a b", 40), ["refused: a b"]);
        let lines = wrap("the batch size must be between 1 and 60000 images", 20);
        assert_eq!(
            lines,
            ["the batch size must", "be between 1 and", "60000 images"]
        );
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        for text in ["", "x", "a very long sentence with words"] {
            assert!(wrap(text, 7).iter().all(|l| l.chars().count() <= 7));
        }
    }
}
