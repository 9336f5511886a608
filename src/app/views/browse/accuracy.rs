//! The accuracy panel: the background evaluation of the whole split for the current
//! settings (progress, running accuracy, speed, per-class accuracy) and a table of every
//! normalization mode's accuracy once computed, with the mode the network was trained on in
//! the panel's bottom border, the other modes marked, and why the current one does worse
//! when it is not the trained one.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::evaluations::{EvalStatus, Evaluation};
use crate::app::shared::Shared;
use crate::app::widgets::{bar, bold, dim, fg, pct, thousands, wrap_words};
use crate::layer::OutputLayer;
use crate::normalize::NormMode;
use crate::trained_on;

/// Inner width from which the modes table goes beside the progress instead of below it.
const SIDE_BY_SIDE_WIDTH: u16 = 58;
/// Widest progress column beside the table: per-class bars of the longest length and their
/// numbers.
const PROGRESS_MAX_WIDTH: u16 = crate::app::widgets::MAX_BAR_WIDTH as u16 + 10;

/// Draws the panel.
pub fn draw(shared: &Shared, frame: &mut Frame, area: Rect) {
    let trained = match shared.trained_on() {
        Some(mode) => format!(" trained on {mode} "),
        None => " trained on: unknown ".to_string(),
    };
    let block = Block::bordered()
        .title(title(shared, area.width))
        .title_bottom(trained);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (mut wide_table, narrow_table) = (modes_lines(shared, true), modes_lines(shared, false));
    // Tall enough for everything one above the other (e.g. 200x60): the table goes under the
    // per-class bars rather than beside them, so that the panel's height is used.
    let stacked = usize::from(inner.height) >= PROGRESS_LINES + 10 + 1 + wide_table.len();
    if inner.width >= SIDE_BY_SIDE_WIDTH && !stacked {
        // The gap keeps the gauge's count from reading on into the table's first mode; the
        // progress column stops growing with the bars, so the table stays near it.
        let left_w = inner.width.saturating_sub(2 + 34).min(PROGRESS_MAX_WIDTH);
        let [left, _, right, _] = Layout::horizontal([
            Constraint::Length(left_w),
            Constraint::Length(2),
            Constraint::Length(34),
            Constraint::Fill(1),
        ])
        .areas(inner);
        let lines = progress_lines(shared, left.width, left.height);
        frame.render_widget(Paragraph::new(lines), left);
        let room = usize::from(right.height).saturating_sub(wide_table.len() + 1);
        let why = reason_lines(shared, right.width, room);
        if !why.is_empty() {
            wide_table.push(Line::raw(""));
            wide_table.extend(why);
        }
        frame.render_widget(Paragraph::new(wide_table), right);
    } else {
        let mut modes = if inner.width >= 34 {
            wide_table
        } else {
            narrow_table
        };
        modes.extend(reason_lines(shared, inner.width, REASON_MAX_LINES));
        // Per-class bars when the table still fits below them (e.g. at 100x30), text at 80x24.
        let room = inner.height.saturating_sub(modes.len() as u16 + 1);
        let width = inner.width.min(PROGRESS_MAX_WIDTH);
        let mut lines = progress_lines(shared, width, room);
        lines.push(Line::raw(""));
        lines.extend(modes);
        // No wrapping: every line is sized to fit, and a rare overlong note is cut.
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// Most lines the reason for a mode other than the trained one takes below the table when
/// the panel is narrow (80x24): the short form fits in two.
const REASON_MAX_LINES: usize = 3;

/// Why the current mode does worse than the one the network was trained on, wrapped to
/// `width` in at most `max_lines` lines (the long reason if it fits, else the short one);
/// nothing when they are the same or the training mode is unknown.
fn reason_lines(shared: &Shared, width: u16, max_lines: usize) -> Vec<Line<'static>> {
    let Some(trained) = shared.trained_on() else {
        return Vec::new();
    };
    let style = fg(shared.palette, Color::Yellow);
    let wrapped = |text: Option<String>| {
        text.map(|t| wrap_words(&format!("≠ {t}"), usize::from(width)))
            .unwrap_or_default()
    };
    let long = wrapped(trained_on::reason(trained, shared.norm()));
    let lines = if long.len() <= max_lines {
        long
    } else {
        wrapped(trained_on::short_reason(trained, shared.norm()))
    };
    lines
        .into_iter()
        .take(max_lines)
        .map(|l| Line::styled(l, style))
        .collect()
}

/// The panel's title, as long as it fits a panel `width` wide; once a trained network was
/// shown, it names the network shown (`trained network · epoch 3/10`, or in short
/// `trained`).
fn title(shared: &Shared, width: u16) -> String {
    let plain = if width >= 34 {
        " accuracy on the whole split "
    } else {
        " accuracy "
    };
    if !shared.named() {
        return plain.to_string();
    }
    let room = usize::from(width.saturating_sub(2));
    let label = shared.net_label();
    let short = label.split(' ').next().unwrap_or(label);
    [
        format!(" accuracy on the whole split · {label} "),
        format!(" accuracy · {label} "),
        format!(" accuracy · {short} "),
    ]
    .into_iter()
    .find(|t| t.chars().count() <= room)
    .unwrap_or_else(|| plain.to_string())
}

/// Lines of [`progress_lines`] above the per-class accuracy: settings, gauge, accuracy,
/// speed and the per-class heading.
const PROGRESS_LINES: usize = 5;

/// The settings line, gauge, accuracy, speed and per-class accuracy of the current run;
/// per-class accuracy gets one bar per line when `height` allows.
fn progress_lines(shared: &Shared, width: u16, height: u16) -> Vec<Line<'static>> {
    let eval = shared.evaluation();
    let palette = shared.palette;
    let key = dim(palette);
    let total = shared.data.len();
    let done = eval.tally.total as usize;
    let w = usize::from(width);
    let settings = if w >= 30 {
        format!(
            " · batch {} · {}",
            eval.key.batch_size,
            eval.key.output.name()
        )
    } else {
        format!(" b{} {}", eval.key.batch_size, eval.key.output.name())
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(eval.key.norm.name(), bold()),
        Span::raw(settings),
    ])];
    let count = format!(" {done}/{total}");
    let fraction = if total == 0 {
        0.0
    } else {
        done as f64 / total as f64
    };
    let gauge_style = match eval.status {
        EvalStatus::Finished => fg(palette, Color::Green),
        EvalStatus::Failed(_) => fg(palette, Color::Red),
        EvalStatus::Running => fg(palette, Color::Yellow),
    };
    lines.push(Line::from(vec![
        Span::styled(
            bar(fraction, w.saturating_sub(count.len()).max(1)),
            gauge_style,
        ),
        Span::raw(count),
    ]));
    let state_word = match &eval.status {
        EvalStatus::Running => "running",
        EvalStatus::Finished => "done",
        EvalStatus::Failed(_) => "failed",
    };
    lines.push(Line::from(vec![
        Span::styled("accuracy ", key),
        Span::styled(
            if done == 0 {
                "-".into()
            } else {
                pct(eval.tally.accuracy())
            },
            bold(),
        ),
        Span::raw(format!(" {state_word}")),
    ]));
    let speed = match eval.images_per_second() {
        Some(ips) => format!(
            "{} img/s {:.2} s",
            thousands(ips.round() as u64),
            eval.elapsed.as_secs_f64()
        ),
        // Labelled even in the compact form, where the line has no key.
        None => "- img/s".into(),
    };
    let speed_key = if w >= 30 { "speed    " } else { "" };
    lines.push(Line::from(vec![
        Span::styled(speed_key, key),
        Span::raw(speed),
    ]));
    if let EvalStatus::Failed(message) = &eval.status {
        lines.push(Line::styled(
            format!("error: {message}"),
            fg(palette, Color::Red),
        ));
    }
    lines.push(Line::styled("per class (true label)", key));
    let per_class = eval.tally.per_class_accuracy();
    if usize::from(height) >= lines.len() + per_class.len() {
        // Room for one bar per class.
        let bar_w = w
            .saturating_sub(10)
            .clamp(1, crate::app::widgets::MAX_BAR_WIDTH);
        for (class, acc) in per_class.iter().enumerate() {
            lines.push(Line::from(vec![
                Span::styled(format!("{class} "), key),
                Span::styled(bar(acc.unwrap_or(0.0), bar_w), gauge_style),
                Span::raw(match acc {
                    Some(a) => format!(" {:>6.2}", a * 100.0),
                    None => "      -".into(),
                }),
            ]));
        }
        return lines;
    }
    // Each entry is "d:nnn.n" with a separating space; the colon ties a class to its value
    // where no color sets the class apart (NO_COLOR), so that "98.5 1  98.8" is not misread.
    let per_line = ((w + 1) / 8).clamp(1, 10);
    for chunk in per_class.chunks(per_line).enumerate() {
        let (row, accs) = chunk;
        let mut spans = Vec::new();
        for (i, acc) in accs.iter().enumerate() {
            let class = row * per_line + i;
            if i > 0 {
                spans.push(Span::raw(" "));
            }
            spans.push(Span::styled(format!("{class}:"), key));
            spans.push(Span::raw(match acc {
                Some(a) => format!("{:>5.1}", a * 100.0),
                None => "    -".into(),
            }));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// The modes table: each normalization's accuracy, marked when computed with other settings,
/// and a line saying what the marks mean (all of them in the `?` help).
fn modes_lines(shared: &Shared, wide: bool) -> Vec<Line<'static>> {
    let palette = shared.palette;
    let key = dim(palette);
    let other = shared.other();
    // Two networks in a narrow panel (80x24): percentages without the sign, to fit.
    let tight = other.is_some() && !wide;
    let heading = match (other.is_some(), tight) {
        (false, _) => "mode     accuracy",
        (true, false) => "mode     accuracy   other",
        (true, true) => "mode      this  other",
    };
    let mut lines = vec![Line::styled(heading, key)];
    let untrained = fg(palette, Color::Yellow);
    for mode in NormMode::ALL {
        let current = mode == shared.norm();
        // The whitened modes take rows once they are in play: the per-image ones fill a
        // compact panel already, and the reason for a ≠ must stay in view.
        let in_play =
            current || shared.fitting().wanted() == Some(mode) || shared.result_for(mode).is_some();
        if mode.whitening().is_some() && !in_play {
            continue;
        }
        let name_style = if current { bold() } else { Style::default() };
        // Names take at most 6 of the column's 7 characters: the 7th marks a mode the
        // network was not trained on.
        let other_than_trained = shared.trained_on().is_some_and(|t| t != mode);
        let mut spans = vec![
            Span::styled(
                format!("{}{:<6}", if current { "▸" } else { " " }, mode.name()),
                name_style,
            ),
            Span::styled(if other_than_trained { "≠" } else { " " }, untrained),
        ];
        let ours = shared.result_for(mode);
        let cell =
            |done, running| accuracy_cell(shared, (done, running), current, tight, name_style);
        spans.push(cell(ours, shared.evaluation()));
        if let Some(other) = other {
            let evals = &other.evals;
            let theirs = evals.result_for(mode, shared.batch_size(), shared.output());
            spans.push(cell(theirs, other.evals.current()));
            // Its own ≠ after its figure: it may have been trained on another mode.
            if other.trained_on.is_some_and(|t| t != mode) {
                spans.push(Span::styled("≠", untrained));
            }
        }
        if let Some(done) = ours {
            spans.push(Span::styled(other_settings(shared, done, wide), key));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::styled(
        if wide {
            "(▸ now · - not run · bN: batch N)"
        } else {
            "(▸ now, - not run yet)"
        },
        key,
    ));
    lines
}

/// One network's accuracy in the modes table: its finished result, how far the current
/// pass has come, or `-`; in 8 characters, or 6 without the percent sign when `tight`. A
/// result takes `style` (the current mode's is bold).
fn accuracy_cell(
    shared: &Shared,
    (done, running): (Option<&Evaluation>, &Evaluation),
    current: bool,
    tight: bool,
    style: Style,
) -> Span<'static> {
    let key = dim(shared.palette);
    let w = if tight { 6 } else { 8 };
    match done {
        Some(done) if tight => {
            Span::styled(format!(" {:>5.2}", done.tally.accuracy() * 100.0), style)
        }
        Some(done) => Span::styled(format!("{:>8}", pct(done.tally.accuracy())), style),
        None if current && running.status == EvalStatus::Running => {
            let done = running.tally.total as f64 / shared.data.len().max(1) as f64;
            Span::styled(format!("{:>w$}", format!("…{:>3.0}%", done * 100.0)), key)
        }
        None => Span::styled(format!("{:>w$}", "-"), key),
    }
}

/// Notes where a cached result's batch size or output layer differ from the current ones.
fn other_settings(shared: &Shared, done: &Evaluation, wide: bool) -> String {
    let mut note = String::new();
    if done.key.batch_size != shared.batch_size() {
        note.push_str(&format!(" b{}", done.key.batch_size));
    }
    if done.key.output != shared.output() {
        note.push_str(match (done.key.output, wide) {
            (OutputLayer::Identity, true) => " identity",
            (OutputLayer::Softmax, true) => " softmax",
            (OutputLayer::Identity, false) => " id",
            (OutputLayer::Softmax, false) => " sm",
        });
    }
    note
}
