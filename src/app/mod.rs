//! The interactive explorer: the run loop, and its parts: the state and its one update step
//! (`state`, `shared`, `evaluations`, `msg`), keys (`keymap`, `router`), the views (`views`,
//! drawn through `ui` with `widgets`), the background `worker` (its training jobs in
//! `training`), and the `terminal`.
//!
//! One channel feeds the loop: terminal input (from a thread blocked in
//! `crossterm::event::read`), worker reports and signals. The loop applies every pending
//! event through [`state::AppState::update`] before drawing once, so a held key or a resize
//! storm never queues up frames; with nothing pending it sleeps in `recv`, drawing nothing.
//! Worker progress alone redraws at most [`FRAME_INTERVAL`] apart; input redraws at once.

pub mod evaluations;
pub mod fitting;
pub mod help;
pub mod keymap;
pub mod msg;
pub mod router;
pub mod selection;
pub mod shared;
pub mod state;
mod status;
mod terminal;
pub mod training;
pub mod ui;
pub mod views;
pub mod widgets;
pub mod worker;

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use color_eyre::eyre::{Result, WrapErr, eyre};
use ratatui::crossterm::event;

use crate::dataset::{Dataset, Split};
use crate::network::Network;
use crate::normalize::NormMode;
use evaluations::EvalKey;
use msg::{Cmd, Msg};
use shared::{Origin, Palette};
use state::AppState;
use terminal::{TerminalGuard, signals, spawn_input_thread};
use worker::{Worker, WorkerMsg};

/// Least time between two frames drawn for worker progress alone (about 30 per second).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// Most events applied before a frame is drawn, so a flood cannot hold the screen back.
const MAX_EVENTS_PER_FRAME: usize = 4096;
/// How often an idle loop checks the terminal's size itself: a resize whose signal never
/// became an event (seen once, in a test on a heavily loaded machine) is drawn within this.
const SIZE_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Everything that reaches the run loop.
#[derive(Debug)]
pub enum Event {
    /// A terminal event: key, mouse, resize, focus or paste.
    Input(event::Event),
    /// Reading terminal input failed; the loop ends with this error.
    InputFailed(String),
    /// A report from the worker.
    Worker(WorkerMsg),
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT arrived: leave cleanly.
    Signal(i32),
    /// SIGTSTP arrived: give the terminal back and stop, as Ctrl-Z does.
    Suspend,
    /// SIGCONT arrived: the process was stopped and is running again; take the terminal
    /// again and redraw everything.
    Continue,
}

/// How the explorer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The user quit.
    Quit,
    /// A signal asked the process to end; the caller should exit with `128 + signal`.
    Signal(i32),
}

/// Runs the explorer on `data` with `net` (called `label`, read from `origin`; and `other`,
/// a second network and its name, to compare with) until the user quits, then restores the
/// terminal. The training view reads its splits from `data_dir`. Every way out (quit, error,
/// signal, panic) restores the terminal, stopping a training first; a panic in the worker is
/// shown in the UI instead.
///
/// # Errors
/// The terminal cannot be set up, drawn to or read from, or a thread cannot be started.
pub fn run(
    data: Dataset,
    (net, label): (Network, String),
    origin: Origin,
    other: Option<(Network, String, Option<NormMode>)>,
    split: Split,
    start: EvalKey,
    data_dir: &Path,
) -> Result<Exit> {
    let palette = Palette::from_env(
        std::env::var("NO_COLOR").ok().as_deref(),
        std::env::var("TERM").ok().as_deref(),
        std::env::var("COLORTERM").ok().as_deref(),
    );
    let (data, net) = (Arc::new(data), Arc::new(net));
    let (tx, rx) = channel();
    let mut worker = Worker::new({
        let tx = tx.clone();
        move |msg| tx.send(Event::Worker(msg)).is_ok()
    });
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let (state, cmd) = AppState::new(data, net, split, palette, start, seed);
    let mut state = state
        .with_data_dir(data_dir.to_path_buf())
        .with_label(label)
        .with_origin(origin);
    let other = other
        .map(|(net, name, trained_on)| state.update(Msg::Compare(Arc::new(net), name, trained_on)));
    let signals = signals::spawn(tx.clone()).wrap_err("installing signal handlers")?;

    let mut guard = TerminalGuard::init().wrap_err("setting up the terminal")?;
    spawn_input_thread(tx).wrap_err("starting the input thread")?;
    apply(cmd, &worker, &mut guard)?;
    if let Some(cmd) = other {
        apply(cmd, &worker, &mut guard)?;
    }
    let result = event_loop(&mut guard, &mut state, &rx, &worker);
    // The worker stops before the terminal is handed back.
    worker.shutdown();
    drop(guard);
    signals.close();
    result
}

/// Carries out what an update asked for; true when the screen must be drawn anew.
fn apply(cmd: Cmd, worker: &Worker, guard: &mut TerminalGuard) -> Result<bool> {
    match cmd {
        Cmd::None => Ok(false),
        Cmd::Submit(job) => {
            worker.submit(job);
            Ok(false)
        }
        Cmd::SubmitAll(jobs) => {
            for job in jobs {
                worker.submit(job);
            }
            Ok(false)
        }
        Cmd::Suspend => {
            guard.suspend().wrap_err("suspending")?;
            Ok(true)
        }
    }
}

/// What one event asks of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redraw {
    /// Nothing changed.
    No,
    /// Draw when the frame interval allows.
    Soon,
    /// Draw now: the user is waiting.
    Now,
}

fn event_loop(
    guard: &mut TerminalGuard,
    state: &mut AppState,
    rx: &Receiver<Event>,
    worker: &Worker,
) -> Result<Exit> {
    // The area of the last frame drawn: what the user saw when pressing a key.
    let mut shown = guard
        .terminal()
        .draw(|frame| ui::draw(state, frame))
        .wrap_err("drawing")?
        .area;
    apply(state.update(Msg::Screen(shown)), worker, guard)?;
    let mut last_draw = Instant::now();
    let mut pending = Redraw::No;
    loop {
        // Sleep until an event comes, or until a deferred frame is due.
        let first = if pending == Redraw::No {
            match rx.recv_timeout(SIZE_CHECK_INTERVAL) {
                Ok(ev) => Some(ev),
                Err(RecvTimeoutError::Timeout) => {
                    let size = guard
                        .terminal()
                        .size()
                        .wrap_err("reading the terminal's size")?;
                    if (size.width, size.height) != (shown.width, shown.height) {
                        apply(state.update(Msg::Resized), worker, guard)?;
                        pending = Redraw::Now;
                    }
                    None
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(Exit::Quit),
            }
        } else {
            match rx.recv_timeout(FRAME_INTERVAL.saturating_sub(last_draw.elapsed())) {
                Ok(ev) => Some(ev),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return Ok(Exit::Quit),
            }
        };
        let queued = std::iter::from_fn(|| rx.try_recv().ok());
        for ev in first.into_iter().chain(queued).take(MAX_EVENTS_PER_FRAME) {
            match ev {
                Event::Signal(sig) => return Ok(Exit::Signal(sig)),
                Event::Suspend => {
                    apply(Cmd::Suspend, worker, guard)?;
                    pending = Redraw::Now;
                }
                Event::Continue => {
                    guard.resume().wrap_err("taking the terminal again")?;
                    pending = Redraw::Now;
                }
                Event::InputFailed(e) => return Err(eyre!("reading terminal input: {e}")),
                Event::Worker(report) => {
                    let redraw = apply(state.update(Msg::Worker(report)), worker, guard)?;
                    pending = pending.max_with(if redraw { Redraw::Now } else { Redraw::Soon });
                }
                Event::Input(input) => {
                    let msg = match input {
                        event::Event::Key(key) => router::key_to_msg(state, key),
                        event::Event::Mouse(mouse) => router::mouse_to_msg(state, mouse),
                        event::Event::Resize(..) => Some(Msg::Resized),
                        _ => None,
                    };
                    // With only the size notice on screen, keys pressed blind must not move
                    // the user somewhere unseen: just quitting and resizing act.
                    let acts = |msg: &Msg| {
                        matches!(msg, Msg::Quit | Msg::Suspend | Msg::Resized)
                            || ui::fits(state, shown)
                    };
                    if let Some(msg) = msg.filter(acts) {
                        apply(state.update(msg), worker, guard)?;
                        pending = Redraw::Now;
                    }
                }
            }
            if state.should_quit() {
                return Ok(Exit::Quit);
            }
        }
        let due = match pending {
            Redraw::No => false,
            Redraw::Soon => last_draw.elapsed() >= FRAME_INTERVAL,
            Redraw::Now => true,
        };
        if due {
            let area = guard
                .terminal()
                .draw(|frame| ui::draw(state, frame))
                .wrap_err("drawing")?
                .area;
            if area != shown {
                apply(state.update(Msg::Screen(area)), worker, guard)?;
            }
            shown = area;
            last_draw = Instant::now();
            pending = Redraw::No;
        }
    }
}

impl Redraw {
    fn max_with(self, other: Redraw) -> Redraw {
        match (self, other) {
            (Redraw::Now, _) | (_, Redraw::Now) => Redraw::Now,
            (Redraw::Soon, _) | (_, Redraw::Soon) => Redraw::Soon,
            _ => Redraw::No,
        }
    }
}
