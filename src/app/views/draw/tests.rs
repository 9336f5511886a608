//! The drawing view through the one update step: keyboard and mouse strokes, what the
//! network reads, the prepared and the raw drawing, keeping, bringing back, and the keys.

use std::sync::Arc;

use ndarray::{Array1, Array2};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent};

use super::*;
use crate::app::evaluations::EvalKey;
use crate::app::msg::{Cmd, Msg as AppMsg};
use crate::app::router::key_to_msg;
use crate::app::shared::Palette;
use crate::app::state::AppState;
use crate::app::views::ViewId;
use crate::dataset::{Dataset, Split};
use crate::layer::{Layer, OutputLayer};
use crate::network::Network;
use crate::normalize::NormMode;

/// A 784-10 network whose class is the column band the ink is in: class `c` sums the pixels
/// of columns `c*28/10 ..`, so a stroke at column 3 is a 1 and one at the center a 5.
fn band_network() -> Network {
    let w = Array2::from_shape_fn((FIELD * FIELD, 10), |(i, c)| {
        f32::from(u8::from((i % FIELD) * 10 / FIELD == c))
    });
    Network::new(vec![Layer {
        w,
        b: Array1::zeros(10),
    }])
    .unwrap()
}

/// The explorer on two blank 28x28 images with the band network, in the drawing view.
fn state() -> AppState {
    let data = Dataset::from_parts(vec![0; FIELD * FIELD * 2], vec![0, 1], 28, 28).unwrap();
    let key = EvalKey {
        norm: NormMode::Div255,
        batch_size: 100,
        output: OutputLayer::Softmax,
    };
    let (mut s, _) = AppState::new(
        Arc::new(data),
        Arc::new(band_network()),
        Split::Test,
        Palette::Plain,
        key,
        0,
    );
    s.update(AppMsg::Open(ViewId::Draw));
    s
}

fn send(s: &mut AppState, msg: Msg) -> Cmd {
    s.update(AppMsg::Draw(msg))
}

fn level(s: &AppState, (c, r): (usize, usize)) -> f32 {
    s.draw().canvas().levels()[r * FIELD + c]
}

/// Moves the cursor from the middle to column 3, row 6, and draws down to row 20.
fn vertical_stroke(s: &mut AppState) {
    for _ in 0..11 {
        send(s, Msg::Move(Dir::Left));
    }
    for _ in 0..8 {
        send(s, Msg::Move(Dir::Up));
    }
    assert_eq!(s.draw().cursor(), (3, 6));
    send(s, Msg::TogglePen);
    for _ in 0..14 {
        send(s, Msg::Move(Dir::Down));
    }
    send(s, Msg::TogglePen);
}

#[test]
fn a_keyboard_stroke_is_read_prepared_and_raw() {
    let mut s = state();
    assert!(s.draw().reading().is_none(), "nothing drawn, nothing read");
    vertical_stroke(&mut s);
    assert_eq!(s.draw().pen(), Pen::Up);
    for r in 6..=20 {
        assert_eq!(level(&s, (3, r)), 1.0, "row {r}");
    }
    assert_eq!(level(&s, (3, 23)), 0.0);
    assert_eq!(level(&s, (10, 12)), 0.0);
    let reading = s.draw().reading().expect("a stroke is read");
    let prepared = reading.prepared.as_ref().expect("prepared by default");
    // Soft edges make the box a little larger than the 15 rows painted in full.
    assert!(
        (15..=19).contains(&prepared.ink.height),
        "{:?}",
        prepared.ink
    );
    assert_eq!(reading.input, prepared.pixels);
    assert_eq!(reading.report.predicted, 5, "centered: the middle band");
    assert_eq!(
        reading.report,
        inspect(&band_network(), &reading.input, NormMode::Div255)
    );

    send(&mut s, Msg::ToggleRaw);
    let raw = s.draw().reading().unwrap();
    assert!(raw.prepared.is_none());
    assert_eq!(raw.input, s.draw().canvas().bytes());
    assert_eq!(raw.report.predicted, 1, "where it was drawn: column 3");
}

#[test]
fn the_eraser_and_clear_take_ink_away() {
    let mut s = state();
    vertical_stroke(&mut s);
    send(&mut s, Msg::ToggleEraser);
    for _ in 0..3 {
        send(&mut s, Msg::Move(Dir::Up));
    }
    send(&mut s, Msg::ToggleEraser);
    assert_eq!(level(&s, (3, 19)), 0.0);
    assert_eq!(level(&s, (3, 8)), 1.0);
    send(&mut s, Msg::Clear);
    assert!(s.draw().canvas().is_blank());
    assert!(s.draw().reading().is_none());
}

#[test]
fn the_brush_has_five_sizes() {
    let mut s = state();
    for _ in 0..9 {
        send(&mut s, Msg::Brush(true));
    }
    assert_eq!(s.draw().brush_size(), 5);
    for _ in 0..9 {
        send(&mut s, Msg::Brush(false));
    }
    assert_eq!(s.draw().brush_radius(), BRUSHES[0]);
}

#[test]
fn nothing_drawn_cannot_be_kept_or_saved() {
    let mut s = state();
    send(&mut s, Msg::StartKeep);
    assert!(!s.draw().labeling());
    assert!(
        s.notice()
            .is_some_and(|n| n.is_error && n.text.contains("nothing drawn"))
    );
    send(&mut s, Msg::Save);
    assert!(
        s.notice()
            .is_some_and(|n| n.is_error && n.text.contains("nothing drawn"))
    );
}

#[test]
fn kept_drawings_carry_their_label_and_come_back() {
    let mut s = state();
    vertical_stroke(&mut s);
    let first = s.draw().canvas().clone();
    let enter = key_to_msg(&s, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)).unwrap();
    s.update(enter);
    assert!(s.draw().labeling());
    // The prompt takes every key: a letter does nothing, `q` does not quit, a digit keeps.
    let press = |s: &AppState, c| key_to_msg(s, KeyEvent::new(c, KeyModifiers::NONE));
    assert_eq!(press(&s, KeyCode::Char('c')), None);
    assert_eq!(press(&s, KeyCode::Char('q')), None);
    let one = press(&s, KeyCode::Char('1')).unwrap();
    s.update(one);
    assert!(!s.draw().labeling());
    let kept = &s.draw().kept()[0];
    assert_eq!((kept.label, kept.predicted.map(|p| p.0)), (1, Some(5)));
    assert!(s.notice().is_some_and(|n| n.text.contains("wrong")));

    // A second drawing, kept, then the first brought back.
    send(&mut s, Msg::Clear);
    send(&mut s, Msg::TogglePen);
    send(&mut s, Msg::Move(Dir::Right));
    send(&mut s, Msg::TogglePen);
    send(&mut s, Msg::StartKeep);
    send(&mut s, Msg::Label(5));
    assert_eq!(s.draw().kept().len(), 2);
    assert_eq!(s.draw().selected(), Some(1));
    send(&mut s, Msg::Recall(true));
    assert_eq!(s.draw().selected(), Some(0));
    assert_eq!(*s.draw().canvas(), first);
    assert_eq!(s.draw().reading().unwrap().report.predicted, 5);
    // Esc closes the prompt without keeping.
    send(&mut s, Msg::StartKeep);
    let esc = press(&s, KeyCode::Esc).unwrap();
    s.update(esc);
    assert!(!s.draw().labeling());
    assert_eq!(s.draw().kept().len(), 2);
    assert_eq!(
        s.view(),
        ViewId::Draw,
        "Esc closed the prompt, not the view"
    );
    // In raw mode the kept ones are read raw too.
    send(&mut s, Msg::ToggleRaw);
    assert_eq!(s.draw().kept()[0].predicted.map(|p| p.0), Some(1));
}

#[test]
fn a_setting_change_reads_the_drawing_again() {
    let mut s = state();
    vertical_stroke(&mut s);
    s.update(AppMsg::Set(crate::app::msg::Setting::NextNorm));
    assert_eq!(s.shared().norm(), NormMode::L1);
    let reading = s.draw().reading().unwrap();
    assert_eq!(
        reading.report,
        inspect(&band_network(), &reading.input, NormMode::L1)
    );
}

/// A mouse event at screen cell `(column, row)`.
fn mouse(kind: MouseEventKind, column: u16, row: u16, modifiers: KeyModifiers) -> AppMsg {
    mouse_to_msg(MouseEvent {
        kind,
        column,
        row,
        modifiers,
    })
    .expect("the drawing view takes buttons")
}

#[test]
fn the_mouse_paints_where_the_canvas_is_on_the_last_frame() {
    let mut s = state();
    let left = MouseButton::Left;
    // Before any frame, the view cannot know where its canvas is.
    s.update(mouse(MouseEventKind::Down(left), 11, 6, KeyModifiers::NONE));
    assert!(s.draw().canvas().is_blank());

    // 80x24: zoom 1, the canvas's inside starts at (1, 1); cell (11, 6) is pixel column 10,
    // pixel rows 10 and 11.
    s.update(AppMsg::Screen(Rect::new(0, 0, 80, 24)));
    s.update(mouse(MouseEventKind::Down(left), 11, 6, KeyModifiers::NONE));
    assert_eq!(level(&s, (10, 10)), 1.0);
    assert_eq!(level(&s, (10, 11)), 1.0);
    s.update(mouse(
        MouseEventKind::Drag(left),
        11,
        12,
        KeyModifiers::NONE,
    ));
    for r in 10..=23 {
        assert_eq!(level(&s, (10, r)), 1.0, "the drag is a line: row {r}");
    }
    s.update(mouse(MouseEventKind::Up(left), 11, 12, KeyModifiers::NONE));
    assert!(s.draw().reading().is_some());
    // Ctrl+left erases; a press off the canvas does nothing.
    s.update(mouse(
        MouseEventKind::Down(left),
        11,
        9,
        KeyModifiers::CONTROL,
    ));
    assert_eq!(level(&s, (10, 17)), 0.0);
    let before = s.draw().canvas().clone();
    s.update(mouse(
        MouseEventKind::Down(left),
        60,
        20,
        KeyModifiers::NONE,
    ));
    assert_eq!(*s.draw().canvas(), before);

    // 120x40: zoom 2, half a pixel across and one down per cell.
    let mut s = state();
    s.update(AppMsg::Screen(Rect::new(0, 0, 120, 40)));
    s.update(mouse(
        MouseEventKind::Down(MouseButton::Right),
        21,
        6,
        KeyModifiers::NONE,
    ));
    assert!(
        s.draw().canvas().is_blank(),
        "right erases: nothing to erase"
    );
    for _ in 0..BRUSHES.len() {
        send(&mut s, Msg::Brush(false));
    }
    s.update(mouse(MouseEventKind::Down(left), 21, 6, KeyModifiers::NONE));
    // Cell (20, 5) inside is at pixel (10.25, 5.5): pixel (10, 5) takes the most ink.
    let levels = s.draw().canvas().levels();
    let darkest = (0..levels.len()).max_by(|&a, &b| levels[a].total_cmp(&levels[b]));
    assert_eq!(darkest, Some(5 * FIELD + 10));
    assert_eq!(level(&s, (14, 5)), 0.0);
    assert_eq!(level(&s, (10, 10)), 0.0);
}

#[test]
fn the_keys_of_the_view_and_the_way_back() {
    let mut s = state();
    let press = |s: &AppState, c| key_to_msg(s, KeyEvent::new(c, KeyModifiers::NONE));
    assert_eq!(
        press(&s, KeyCode::Char('c')),
        Some(AppMsg::Draw(Msg::Clear))
    );
    assert_eq!(
        press(&s, KeyCode::Char(' ')),
        Some(AppMsg::Draw(Msg::TogglePen))
    );
    assert_eq!(
        press(&s, KeyCode::Left),
        Some(AppMsg::Draw(Msg::Move(Dir::Left)))
    );
    // `d` again goes back to where the view was opened from, as Esc does.
    let d = press(&s, KeyCode::Char('d')).unwrap();
    assert_eq!(d, AppMsg::Open(ViewId::Draw));
    s.update(d);
    assert_eq!(s.view(), ViewId::Browse);
    let d = press(&s, KeyCode::Char('d')).unwrap();
    s.update(d);
    assert_eq!(s.view(), ViewId::Draw);
    s.update(press(&s, KeyCode::Esc).unwrap());
    assert_eq!(s.view(), ViewId::Browse);
}

#[test]
fn a_network_for_other_images_reads_nothing_and_does_not_panic() {
    let w = Array2::zeros((4, 10));
    let (mut s, _) =
        crate::app::state::test_state(vec![0; 40], (0..10).collect(), w, Split::Test, 100, 0);
    s.update(AppMsg::Open(ViewId::Draw));
    send(&mut s, Msg::TogglePen);
    assert!(!s.draw().canvas().is_blank());
    assert!(s.draw().reading().is_none());
}

#[test]
fn layouts_fit_and_zoom_when_roomy() {
    let body = |w: u16, h: u16| Rect::new(0, 0, w, h - 1);
    let compact = layout(body(80, 24)).unwrap();
    assert_eq!((compact.zoom, compact.canvas.width), (1, 30));
    assert_eq!(layout(body(120, 40)).unwrap().zoom, 2);
    assert_eq!(layout(body(200, 60)).unwrap().zoom, 3);
    assert!(layout(body(79, 24)).is_none() && layout(body(80, 23)).is_none());
    for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 60), (300, 24)] {
        let area = body(w, h);
        for (name, r) in panels(area) {
            assert_eq!(area.intersection(r), r, "{w}x{h} {name}: {r:?}");
            assert!(r.width > 2 && r.height > 2, "{w}x{h} {name}: {r:?}");
        }
    }
}
