//! The drawing view (`d`): the learner draws a digit, with the mouse or the keyboard, and
//! sees at every stroke what the network receives (the drawing prepared as MNIST's digits
//! were, or with `p` the raw drawing), its ten outputs and its prediction; `Enter` keeps a
//! drawing in "my digits" with a label, `s` saves it as a PGM file.
//!
//! Compact layout (80x24):
//! ```text
//! ┌ canvas ────┐┌ network input ┐┌ output ┐
//! │ 28x14 cells││ 28x14 cells   ││10 bars │
//! ├ prediction ┤├ my digits ─────────────┤
//! └────────────┘└────────────────────────┘
//! ```
//! With room (e.g. 120x40) the canvas is zoomed; the panels keep their places.
//!
//! The network's reading of the drawing is computed in `update`, at every change, and kept
//! in the state: one image through the network costs microseconds, and drawing only reads.

mod canvas;
mod kept;
mod panels;

use std::path::Path;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use crate::app::keymap::{Binding, Hint, Note};
use crate::app::msg::{self, Setting};
use crate::app::shared::{Notice, Shared};
use crate::dataset::NUM_CLASSES;
use crate::image_file::save_pgm;
use crate::inspect::{ImageReport, inspect};
use crate::preprocess::{FIELD, PrepareError, Prepared, prepare};
pub use canvas::{BRUSHES, Canvas, DEFAULT_BRUSH};

/// Where saved drawings go: the folder the explorer was started in.
const SAVE_FOLDER: &str = ".";
/// The start of a saved drawing's name: `digit-001.pgm`, `digit-002.pgm`, ...
const SAVE_STEM: &str = "digit";

/// What the keyboard's pen does as the cursor moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pen {
    /// Nothing: the cursor moves over the sheet.
    #[default]
    Up,
    /// Paints where the cursor goes.
    Paint,
    /// Erases where the cursor goes.
    Erase,
}

/// What the network makes of a drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The 28x28 image the network received.
    pub input: Vec<u8>,
    /// How the drawing was prepared, unless the raw drawing went in.
    pub prepared: Option<Prepared>,
    /// The network's outputs for it.
    pub report: ImageReport,
}

/// A drawing kept in "my digits", with the label the user gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// The drawing.
    pub canvas: Canvas,
    /// What the user says it is.
    pub label: u8,
    /// The network's prediction under the current settings, and its probability.
    pub predicted: Option<(usize, f32)>,
}

/// The drawing view's own state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    canvas: Canvas,
    /// The keyboard's cursor, (column, row) in pixels.
    cursor: (usize, usize),
    /// Index into [`BRUSHES`].
    brush: usize,
    pen: Pen,
    /// The last point of the mouse stroke under way, in pixels.
    stroke: Option<(f32, f32)>,
    /// The raw drawing goes to the network, not the prepared one.
    raw: bool,
    reading: Option<Reading>,
    kept: Vec<Kept>,
    /// The kept drawing last brought back onto the canvas.
    selected: Option<usize>,
    /// The label prompt is open (after `Enter`).
    labeling: bool,
}

impl Default for State {
    fn default() -> Self {
        Self {
            canvas: Canvas::default(),
            cursor: (FIELD / 2, FIELD / 2),
            brush: DEFAULT_BRUSH,
            pen: Pen::Up,
            stroke: None,
            raw: false,
            reading: None,
            kept: Vec::new(),
            selected: None,
            labeling: false,
        }
    }
}

/// A move of the keyboard's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// One pixel up.
    Up,
    /// One pixel down.
    Down,
    /// One pixel left.
    Left,
    /// One pixel right.
    Right,
}

/// What a mouse event does on the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stroke {
    /// Paint (left button).
    Paint,
    /// Erase (right button, or left with Ctrl or Alt).
    Erase,
    /// The button went up: the stroke ends.
    Lift,
}

/// A mouse event in screen cells, mapped to the canvas in `update` (where the layout of the
/// last frame drawn is known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pointer {
    /// What it does.
    pub stroke: Stroke,
    /// A button press (a new stroke) rather than a drag (the stroke goes on).
    pub pressed: bool,
    /// Screen column.
    pub column: u16,
    /// Screen row.
    pub row: u16,
}

/// The drawing view's own messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// Move the cursor (painting or erasing on the way while the pen is down).
    Move(Dir),
    /// Pen down (paints at once) or up.
    TogglePen,
    /// Eraser down (erases at once) or up.
    ToggleEraser,
    /// Rub the canvas out.
    Clear,
    /// A larger (true) or smaller brush.
    Brush(bool),
    /// The prepared or the raw drawing to the network.
    ToggleRaw,
    /// Open the label prompt to keep the drawing.
    StartKeep,
    /// Keep the drawing with this label.
    Label(u8),
    /// Close the label prompt without keeping.
    CancelKeep,
    /// Bring the next (true) or previous kept drawing back onto the canvas.
    Recall(bool),
    /// Save what the network receives as a PGM file.
    Save,
    /// The mouse on the screen.
    Pointer(Pointer),
}

impl State {
    /// The drawing.
    pub fn canvas(&self) -> &Canvas {
        &self.canvas
    }

    /// The keyboard's cursor, (column, row) in pixels.
    pub fn cursor(&self) -> (usize, usize) {
        self.cursor
    }

    /// The brush's radius in pixels.
    pub fn brush_radius(&self) -> f32 {
        BRUSHES[self.brush]
    }

    /// The brush's size, 1 to 5.
    pub fn brush_size(&self) -> usize {
        self.brush + 1
    }

    /// The keyboard's pen.
    pub fn pen(&self) -> Pen {
        self.pen
    }

    /// Whether the raw drawing goes to the network instead of the prepared one.
    pub fn raw(&self) -> bool {
        self.raw
    }

    /// What the network makes of the drawing; `None` while nothing is drawn.
    pub fn reading(&self) -> Option<&Reading> {
        self.reading.as_ref()
    }

    /// The kept drawings, oldest first.
    pub fn kept(&self) -> &[Kept] {
        &self.kept
    }

    /// The kept drawing last brought back onto the canvas.
    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    /// Whether the label prompt is open.
    pub fn labeling(&self) -> bool {
        self.labeling
    }

    /// Applies one of the view's messages; `screen` is the last frame's area, which places
    /// the canvas for the mouse. Returns what the status line should say, if anything.
    pub fn update(&mut self, msg: Msg, shared: &Shared, screen: Rect) -> Option<Notice> {
        match msg {
            Msg::Move(dir) => {
                let from = centre(self.cursor);
                let (c, r) = self.cursor;
                self.cursor = match dir {
                    Dir::Up => (c, r.saturating_sub(1)),
                    Dir::Down => (c, (r + 1).min(FIELD - 1)),
                    Dir::Left => (c.saturating_sub(1), r),
                    Dir::Right => ((c + 1).min(FIELD - 1), r),
                };
                if self.pen == Pen::Up {
                    return None;
                }
                let radius = self.brush_radius();
                self.canvas
                    .line(from, centre(self.cursor), radius, self.pen == Pen::Erase);
            }
            Msg::TogglePen | Msg::ToggleEraser => {
                let pen = if msg == Msg::TogglePen {
                    Pen::Paint
                } else {
                    Pen::Erase
                };
                self.pen = if self.pen == pen { Pen::Up } else { pen };
                if self.pen == Pen::Up {
                    return None;
                }
                let radius = self.brush_radius();
                self.canvas
                    .dab(centre(self.cursor), radius, self.pen == Pen::Erase);
            }
            Msg::Clear => {
                self.canvas.clear();
                self.selected = None;
            }
            Msg::Brush(larger) => {
                self.brush = if larger {
                    (self.brush + 1).min(BRUSHES.len() - 1)
                } else {
                    self.brush.saturating_sub(1)
                };
                return None;
            }
            Msg::ToggleRaw => self.raw = !self.raw,
            Msg::StartKeep => {
                if self.reading.is_none() {
                    return Some(Notice::error("nothing drawn to keep".into()));
                }
                self.labeling = true;
                return None;
            }
            Msg::CancelKeep => {
                self.labeling = false;
                return None;
            }
            Msg::Label(label) => return self.keep(label),
            Msg::Recall(next) => return self.recall(next, shared),
            Msg::Save => return Some(self.save()),
            Msg::Pointer(pointer) => {
                if !self.pointer(pointer, screen) {
                    return None;
                }
            }
        }
        self.reading = read(&self.canvas, self.raw, shared);
        if msg == Msg::ToggleRaw {
            self.refresh_kept(shared);
        }
        None
    }

    /// Reads the drawing and the kept ones again: the settings they were read under changed.
    pub fn refresh(&mut self, shared: &Shared) {
        self.reading = read(&self.canvas, self.raw, shared);
        self.refresh_kept(shared);
    }

    fn refresh_kept(&mut self, shared: &Shared) {
        let raw = self.raw;
        for kept in &mut self.kept {
            kept.predicted = read(&kept.canvas, raw, shared)
                .map(|r| (r.report.predicted, r.report.probs[r.report.predicted]));
        }
    }

    fn keep(&mut self, label: u8) -> Option<Notice> {
        self.labeling = false;
        let reading = self.reading.as_ref()?;
        let predicted = reading.report.predicted;
        self.kept.push(Kept {
            canvas: self.canvas.clone(),
            label,
            predicted: Some((predicted, reading.report.probs[predicted])),
        });
        self.selected = Some(self.kept.len() - 1);
        let verdict = if usize::from(label) == predicted {
            "right"
        } else {
            "wrong"
        };
        Some(Notice::info(format!(
            "kept as #{} (label {label}, predicted {predicted}: {verdict}); c clears for the next",
            self.kept.len()
        )))
    }

    fn recall(&mut self, next: bool, shared: &Shared) -> Option<Notice> {
        let n = self.kept.len();
        if n == 0 {
            return Some(Notice::info(
                "no kept drawing yet: Enter keeps the one on the canvas".into(),
            ));
        }
        let at = match (self.selected, next) {
            (None, true) => 0,
            (None, false) => n - 1,
            (Some(i), true) => (i + 1) % n,
            (Some(i), false) => (i + n - 1) % n,
        };
        self.selected = Some(at);
        self.canvas = self.kept[at].canvas.clone();
        self.reading = read(&self.canvas, self.raw, shared);
        Some(Notice::info(format!(
            "#{} of {n} on the canvas (label {})",
            at + 1,
            self.kept[at].label
        )))
    }

    fn save(&self) -> Notice {
        let Some(reading) = &self.reading else {
            return Notice::error("nothing drawn to save".into());
        };
        match save_pgm(
            Path::new(SAVE_FOLDER),
            SAVE_STEM,
            &reading.input,
            FIELD,
            FIELD,
        ) {
            Ok(path) => Notice::info(format!(
                "saved {}: the 28x28 the network receives",
                path.display()
            )),
            Err(e) => Notice::error(format!("cannot save in the current folder: {e}")),
        }
    }

    /// Paints, erases or lifts for a mouse event; false when it changed nothing.
    fn pointer(&mut self, pointer: Pointer, screen: Rect) -> bool {
        let at = layout(crate::app::ui::body(screen)).and_then(|a| a.pixel_at(pointer));
        let (Some(point), false) = (at, pointer.stroke == Stroke::Lift) else {
            // Off the canvas, or the button let go: the next press starts a new stroke.
            self.stroke = None;
            return false;
        };
        let erase = pointer.stroke == Stroke::Erase;
        let radius = self.brush_radius();
        match self.stroke.filter(|_| !pointer.pressed) {
            Some(last) => self.canvas.line(last, point, radius, erase),
            None => self.canvas.dab(point, radius, erase),
        }
        self.stroke = Some(point);
        true
    }
}

/// The center of pixel `(column, row)`, in pixels.
fn centre((c, r): (usize, usize)) -> (f32, f32) {
    (c as f32 + 0.5, r as f32 + 0.5)
}

/// What the network makes of `canvas`, prepared as MNIST's digits were unless `raw`; `None`
/// when nothing is drawn, or when the network does not take 28x28 images.
fn read(canvas: &Canvas, raw: bool, shared: &Shared) -> Option<Reading> {
    if canvas.is_blank() || shared.net.check_fits(FIELD * FIELD, NUM_CLASSES).is_err() {
        return None;
    }
    let (input, prepared) = if raw {
        (canvas.bytes(), None)
    } else {
        match prepare(canvas.levels(), FIELD, FIELD) {
            Ok(p) => (p.pixels.clone(), Some(p)),
            Err(PrepareError::Empty | PrepareError::Shape { .. }) => return None,
        }
    };
    let report = inspect(&shared.net, &input, shared.norm());
    Some(Reading {
        input,
        prepared,
        report,
    })
}

/// While the label prompt is open every key goes to it: a digit keeps the drawing with that
/// label, Esc closes it, the rest do nothing. `None` when it is closed.
pub fn prompt_key(state: &State, code: KeyCode) -> Option<Option<msg::Msg>> {
    if !state.labeling {
        return None;
    }
    Some(match code {
        KeyCode::Char(c @ '0'..='9') => Some(msg::Msg::Draw(Msg::Label(c as u8 - b'0'))),
        KeyCode::Esc => Some(msg::Msg::Draw(Msg::CancelKeep)),
        _ => None,
    })
}

/// The drawing view's keys.
pub const KEYS: &[Binding] = &[
    Binding {
        keys: &[
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Char('h'),
            KeyCode::Char('j'),
            KeyCode::Char('k'),
            KeyCode::Char('l'),
        ],
        label: "←↑→↓ h j k l",
        help: "move the cursor (paints or erases while the pen is down)",
        hint: Some(Hint {
            rank: 0,
            keys: "←↑→↓",
            word: "move",
        }),
        action: |code| {
            let dir = match code {
                KeyCode::Left | KeyCode::Char('h') => Dir::Left,
                KeyCode::Right | KeyCode::Char('l') => Dir::Right,
                KeyCode::Up | KeyCode::Char('k') => Dir::Up,
                _ => Dir::Down,
            };
            Some(msg::Msg::Draw(Msg::Move(dir)))
        },
    },
    Binding {
        keys: &[KeyCode::Char(' ')],
        label: "Space",
        help: "pen down (paints at the cursor and wherever it goes) / up",
        hint: Some(Hint {
            rank: 1,
            keys: "Space",
            word: "pen",
        }),
        action: |_| Some(msg::Msg::Draw(Msg::TogglePen)),
    },
    Binding {
        keys: &[KeyCode::Char('x')],
        label: "x",
        help: "eraser down (erases wherever the cursor goes) / up",
        hint: Some(Hint {
            rank: 2,
            keys: "x",
            word: "erase",
        }),
        action: |_| Some(msg::Msg::Draw(Msg::ToggleEraser)),
    },
    Binding {
        keys: &[KeyCode::Char('c')],
        label: "c",
        help: "clear the canvas",
        hint: Some(Hint {
            rank: 3,
            keys: "c",
            word: "clear",
        }),
        action: |_| Some(msg::Msg::Draw(Msg::Clear)),
    },
    Binding {
        keys: &[
            KeyCode::Char('+'),
            KeyCode::Char('='),
            KeyCode::Char('-'),
            KeyCode::Char('_'),
        ],
        label: "+ -",
        help: "a larger / smaller brush (five sizes)",
        hint: Some(Hint {
            rank: 7,
            keys: "+-",
            word: "brush",
        }),
        action: |code| {
            Some(msg::Msg::Draw(Msg::Brush(matches!(
                code,
                KeyCode::Char('+' | '=')
            ))))
        },
    },
    Binding {
        keys: &[KeyCode::Char('p')],
        label: "p",
        help: "network input: prepared as MNIST's were ↔ the raw drawing",
        hint: Some(Hint {
            rank: 4,
            keys: "p",
            word: "raw",
        }),
        action: |_| Some(msg::Msg::Draw(Msg::ToggleRaw)),
    },
    Binding {
        keys: &[KeyCode::Enter],
        label: "Enter",
        help: "keep the drawing in my digits, then type its label 0 … 9",
        hint: Some(Hint {
            rank: 5,
            keys: "Enter",
            word: "keep",
        }),
        action: |_| Some(msg::Msg::Draw(Msg::StartKeep)),
    },
    Binding {
        keys: &[KeyCode::Char('['), KeyCode::Char(']')],
        label: "[ ]",
        help: "previous / next kept drawing back onto the canvas",
        hint: None,
        action: |code| Some(msg::Msg::Draw(Msg::Recall(code == KeyCode::Char(']')))),
    },
    Binding {
        keys: &[KeyCode::Char('s')],
        label: "s",
        help: "save the network's input as ./digit-NNN.pgm (no overwrite)",
        hint: Some(Hint {
            rank: 6,
            keys: "s",
            word: "save",
        }),
        action: |_| Some(msg::Msg::Draw(Msg::Save)),
    },
    Binding {
        keys: &[KeyCode::Char('n'), KeyCode::Char('N')],
        label: "n N",
        help: "next / previous normalization mode",
        hint: None,
        action: |code| {
            Some(msg::Msg::Set(if code == KeyCode::Char('n') {
                Setting::NextNorm
            } else {
                Setting::PrevNorm
            }))
        },
    },
];

/// Help lines for the mouse.
pub const MOUSE: &[Note] = &[
    Note {
        label: "left drag",
        help: "paint on the canvas",
    },
    Note {
        label: "right drag",
        help: "erase (or left drag with Ctrl or Alt)",
    },
    Note {
        label: "mouse wheel",
        help: "a larger / smaller brush",
    },
];

/// What each panel shows, for the help.
pub const GUIDE: &[Note] = &[
    Note {
        label: "canvas",
        help: "your drawing, 28x28 pixels, soft-edged strokes as MNIST's",
    },
    Note {
        label: "input",
        help: "what the network receives: the drawing prepared as MNIST's",
    },
    Note {
        label: "",
        help: "(ink box scaled to 20 px, centered by mass), or raw (p)",
    },
    Note {
        label: "output",
        help: "the ten softmax probabilities; the prediction is the largest",
    },
    Note {
        label: "prediction",
        help: "the class, how sure, the runner-up, how it was prepared",
    },
    Note {
        label: "my digits",
        help: "drawings kept with Enter: label, and the prediction now",
    },
];

/// What the marks on the screen mean, for the help.
pub const MARKS: &[Note] = &[
    Note {
        label: "yellow, +",
        help: "the keyboard's cursor on the canvas (+ without colors)",
    },
    Note {
        label: "◀",
        help: "the predicted class",
    },
    Note {
        label: "✓ ✗",
        help: "a kept drawing's prediction agrees with its label, or not",
    },
    Note {
        label: "▸",
        help: "the kept drawing last brought back onto the canvas",
    },
];

/// The message for a mouse event: buttons paint and erase, the wheel sizes the brush.
pub fn mouse_to_msg(mouse: MouseEvent) -> Option<msg::Msg> {
    let erase_mod = mouse
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    let (stroke, pressed) = match mouse.kind {
        MouseEventKind::Down(MouseButton::Left) if erase_mod => (Stroke::Erase, true),
        MouseEventKind::Drag(MouseButton::Left) if erase_mod => (Stroke::Erase, false),
        MouseEventKind::Down(MouseButton::Left) => (Stroke::Paint, true),
        MouseEventKind::Drag(MouseButton::Left) => (Stroke::Paint, false),
        MouseEventKind::Down(MouseButton::Right) => (Stroke::Erase, true),
        MouseEventKind::Drag(MouseButton::Right) => (Stroke::Erase, false),
        MouseEventKind::Up(_) => (Stroke::Lift, false),
        MouseEventKind::ScrollUp => return Some(msg::Msg::Draw(Msg::Brush(true))),
        MouseEventKind::ScrollDown => return Some(msg::Msg::Draw(Msg::Brush(false))),
        _ => return None,
    };
    Some(msg::Msg::Draw(Msg::Pointer(Pointer {
        stroke,
        pressed,
        column: mouse.column,
        row: mouse.row,
    })))
}

/// Narrowest terminal the layout fits.
const MIN_WIDTH: u16 = 80;
/// Shortest terminal the layout fits (the status line included).
const MIN_HEIGHT: u16 = 24;
/// Largest canvas zoom used.
const MAX_ZOOM: u16 = 3;
/// The network input panel: the image at zoom 1 and a border.
const INPUT_WIDTH: u16 = FIELD as u16 + 2;
/// The row of small panels at the top right: a 28x28 image in half blocks and a border.
const TOP_HEIGHT: u16 = FIELD as u16 / 2 + 2;
/// Least width of the output panel: a class, a short bar and a percentage.
const OUTPUT_MIN_WIDTH: u16 = 20;
/// Least height of the prediction panel under the canvas.
const PREDICTION_MIN_HEIGHT: u16 = 7;

/// Where each panel goes, and the canvas's zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Areas {
    canvas: Rect,
    zoom: u16,
    prediction: Rect,
    input: Rect,
    output: Rect,
    kept: Rect,
}

impl Areas {
    /// The canvas point under screen cell `(column, row)`, in pixels: the cell's center. A
    /// cell holds `1/zoom` pixels across and `2/zoom` down.
    fn pixel_at(&self, pointer: Pointer) -> Option<(f32, f32)> {
        let inner = self.canvas.inner(ratatui::layout::Margin::new(1, 1));
        let (x, y) = (pointer.column, pointer.row);
        if !(inner.x..inner.x + inner.width).contains(&x)
            || !(inner.y..inner.y + inner.height).contains(&y)
        {
            return None;
        }
        let zoom = f32::from(self.zoom);
        let (px, py) = (
            (f32::from(x - inner.x) + 0.5) / zoom,
            (2.0 * f32::from(y - inner.y) + 1.0) / zoom,
        );
        let size = FIELD as f32;
        (px < size && py < size).then_some((px, py))
    }
}

/// The canvas panel's size at `zoom`.
fn canvas_size(zoom: u16) -> (u16, u16) {
    let side = FIELD as u16 * zoom;
    (side + 2, side.div_ceil(2) + 2)
}

/// The smallest terminal (status line included) the view fits.
pub fn needed() -> (u16, u16) {
    (MIN_WIDTH, MIN_HEIGHT)
}

/// Splits the body (the screen but the status line), or `None` when it is too small.
fn layout(body: Rect) -> Option<Areas> {
    if body.width < MIN_WIDTH || body.height.saturating_add(1) < MIN_HEIGHT {
        return None;
    }
    let fits = |zoom: u16| {
        let (w, h) = canvas_size(zoom);
        body.width.saturating_sub(w) >= INPUT_WIDTH + OUTPUT_MIN_WIDTH
            && h + PREDICTION_MIN_HEIGHT <= body.height
    };
    let zoom = (1..=MAX_ZOOM).rev().find(|&z| fits(z))?;
    let (w, h) = canvas_size(zoom);
    let (x, y) = (body.x, body.y);
    let right_x = x + w;
    let right_w = body.width - w;
    Some(Areas {
        canvas: Rect::new(x, y, w, h),
        zoom,
        prediction: Rect::new(x, y + h, w, body.height - h),
        input: Rect::new(right_x, y, INPUT_WIDTH, TOP_HEIGHT),
        output: Rect::new(right_x + INPUT_WIDTH, y, right_w - INPUT_WIDTH, TOP_HEIGHT),
        kept: Rect::new(right_x, y + TOP_HEIGHT, right_w, body.height - TOP_HEIGHT),
    })
}

/// Draws the view into `body` (the screen but the status line).
pub fn draw(shared: &Shared, view: &State, frame: &mut Frame, body: Rect) {
    let Some(areas) = layout(body) else {
        return;
    };
    let palette = shared.palette;
    panels::canvas(view, palette, frame, areas.canvas, areas.zoom);
    panels::input(view, palette, frame, areas.input);
    panels::output(view, palette, frame, areas.output);
    panels::prediction(view, shared, frame, areas.prediction);
    kept::draw(view, palette, frame, areas.kept);
}

/// Each panel's name and place in `body`, for tests that check how the room is used.
#[doc(hidden)]
pub fn panels(body: Rect) -> Vec<(&'static str, Rect)> {
    layout(body).map_or_else(Vec::new, |a| {
        vec![
            ("canvas", a.canvas),
            ("prediction", a.prediction),
            ("network input", a.input),
            ("output", a.output),
            ("my digits", a.kept),
        ]
    })
}

#[cfg(test)]
mod tests;
