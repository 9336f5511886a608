//! The interactive explorer: the terminal set-up, the run loop, and its parts (state and
//! update, key map, background worker, view).
//!
//! One channel feeds the loop: terminal input (from a thread blocked in
//! `crossterm::event::read`), worker reports and signals. The loop applies every pending
//! event through [`state::AppState::update`] before drawing once, so a held key or a resize
//! storm never queues up frames; with nothing pending it sleeps in `recv`, drawing nothing.
//! Worker progress alone redraws at most [`FRAME_INTERVAL`] apart; input redraws at once.

pub mod keys;
pub mod state;
pub mod ui;
pub mod worker;

use std::io::stdout;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use color_eyre::eyre::{Result, WrapErr, eyre};
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;

use crate::dataset::{Dataset, Split};
use crate::network::Network;
use state::{AppState, Cmd, EvalKey, Msg, Palette};
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
    /// A report from the evaluation worker.
    Worker(WorkerMsg),
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT arrived: leave cleanly.
    Signal(i32),
}

/// How the explorer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The user quit.
    Quit,
    /// A signal asked the process to end; the caller should exit with `128 + signal`.
    Signal(i32),
}

/// Runs the explorer on `data` with `net` until the user quits, then restores the terminal.
/// Every way out (quit, error, signal, panic) restores it; a panic in the worker is shown
/// in the UI instead.
///
/// # Errors
/// The terminal cannot be set up, drawn to or read from, or a thread cannot be started.
pub fn run(data: Dataset, net: Network, split: Split, start: EvalKey) -> Result<Exit> {
    let palette = Palette::from_env(
        std::env::var("NO_COLOR").ok().as_deref(),
        std::env::var("TERM").ok().as_deref(),
        std::env::var("COLORTERM").ok().as_deref(),
    );
    let (data, net) = (Arc::new(data), Arc::new(net));
    let (tx, rx) = channel();
    let mut worker = Worker::spawn(Arc::clone(&data), Arc::clone(&net), {
        let tx = tx.clone();
        move |msg| tx.send(Event::Worker(msg)).is_ok()
    })
    .wrap_err("starting the evaluation thread")?;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let (mut state, cmd) = AppState::new(data, net, split, palette, start, seed);
    let signals = signals::spawn(tx.clone()).wrap_err("installing signal handlers")?;

    let mut guard = TerminalGuard::init().wrap_err("setting up the terminal")?;
    spawn_input_thread(tx).wrap_err("starting the input thread")?;
    apply(cmd, &worker);
    let result = event_loop(guard.terminal(), &mut state, &rx, &worker);
    // The worker stops before the terminal is handed back.
    worker.shutdown();
    drop(guard);
    signals.close();
    result
}

/// Carries out what an update asked for.
fn apply(cmd: Cmd, worker: &Worker) {
    match cmd {
        Cmd::None => {}
        Cmd::Evaluate(job) => worker.submit(job),
    }
}

/// Reads terminal events forever and forwards them; ends when the loop is gone.
fn spawn_input_thread(tx: Sender<Event>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            loop {
                let sent = match event::read() {
                    Ok(ev) => tx.send(Event::Input(ev)),
                    Err(e) => {
                        let _ = tx.send(Event::InputFailed(e.to_string()));
                        return;
                    }
                };
                if sent.is_err() {
                    return;
                }
            }
        })
        .map(|_| ())
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
    terminal: &mut DefaultTerminal,
    state: &mut AppState,
    rx: &Receiver<Event>,
    worker: &Worker,
) -> Result<Exit> {
    // The area of the last frame drawn: what the user saw when pressing a key.
    let mut shown = terminal
        .draw(|frame| ui::draw(state, frame))
        .wrap_err("drawing")?
        .area;
    let mut last_draw = Instant::now();
    let mut pending = Redraw::No;
    loop {
        // Sleep until an event comes, or until a deferred frame is due.
        let first = if pending == Redraw::No {
            match rx.recv_timeout(SIZE_CHECK_INTERVAL) {
                Ok(ev) => Some(ev),
                Err(RecvTimeoutError::Timeout) => {
                    let size = terminal.size().wrap_err("reading the terminal's size")?;
                    if (size.width, size.height) != (shown.width, shown.height) {
                        apply(state.update(Msg::Resized), worker);
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
                Event::InputFailed(e) => return Err(eyre!("reading terminal input: {e}")),
                Event::Worker(report) => {
                    apply(state.update(Msg::Worker(report)), worker);
                    pending = pending.max_with(Redraw::Soon);
                }
                Event::Input(input) => {
                    let msg = match input {
                        event::Event::Key(key) => keys::key_to_msg(state, key),
                        event::Event::Mouse(mouse) => keys::mouse_to_msg(mouse),
                        event::Event::Resize(..) => Some(Msg::Resized),
                        _ => None,
                    };
                    // With only the size notice on screen, keys pressed blind must not move
                    // the user somewhere unseen: just quitting and resizing act.
                    let acts = |msg: &Msg| {
                        matches!(msg, Msg::Quit | Msg::Resized) || ui::fits(state, shown)
                    };
                    if let Some(msg) = msg.filter(acts) {
                        apply(state.update(msg), worker);
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
            shown = terminal
                .draw(|frame| ui::draw(state, frame))
                .wrap_err("drawing")?
                .area;
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

/// Set once the terminal is restored. Leaving the alternate screen twice is not harmless:
/// the second time, terminals restore the cursor saved on entering it, so that whatever is
/// printed next (a panic report, the shell prompt) lands over earlier output.
static RESTORED: AtomicBool = AtomicBool::new(false);

/// Owns the terminal while the explorer runs: raw mode, the alternate screen and mouse
/// capture are undone when it is dropped, and by the panic hook if a panic comes first.
struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    fn init() -> Result<Self> {
        // `try_init` installs ratatui's panic hook (restore, then color-eyre's report) on top
        // of color-eyre's, which main installed first; ours goes on top of both.
        let terminal = ratatui::try_init()?;
        RESTORED.store(false, Ordering::SeqCst);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A worker panic is caught and shown in the UI: the terminal must stay as is.
            if std::thread::current().name() == Some(worker::THREAD_NAME) {
                return;
            }
            // ratatui's hook (next in the chain) restores the terminal; the guard's drop
            // during unwinding must not do it again (see `RESTORED`).
            RESTORED.store(true, Ordering::SeqCst);
            let _ = execute!(stdout(), DisableMouseCapture);
            previous(info);
        }));
        // From here on, dropping the guard undoes everything, even if the next step fails.
        let guard = Self { terminal };
        execute!(stdout(), EnableMouseCapture)?;
        Ok(guard)
    }

    fn terminal(&mut self) -> &mut DefaultTerminal {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if RESTORED.swap(true, Ordering::SeqCst) {
            return;
        }
        // Errors here cannot be acted on: the terminal is being given up either way.
        let _ = execute!(stdout(), DisableMouseCapture);
        let _ = self.terminal.show_cursor();
        ratatui::restore();
    }
}

/// SIGTERM, SIGHUP, SIGINT and SIGQUIT become [`Event::Signal`] so that the loop ends the
/// way `q` does and the terminal is restored.
#[cfg(unix)]
mod signals {
    use std::sync::mpsc::Sender;

    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    use signal_hook::iterator::{Handle, Signals};

    use super::Event;

    /// Stops the forwarding thread.
    pub struct Forwarder(Handle);

    impl Forwarder {
        /// Unregisters the handlers; the thread then ends.
        pub fn close(self) {
            self.0.close();
        }
    }

    /// Registers the handlers and starts the thread that forwards signals to `tx`.
    pub fn spawn(tx: Sender<Event>) -> std::io::Result<Forwarder> {
        let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])?;
        let handle = signals.handle();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if tx.send(Event::Signal(sig)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Forwarder(handle))
    }
}

/// Without unix signals there is nothing to forward.
#[cfg(not(unix))]
mod signals {
    use std::sync::mpsc::Sender;

    use super::Event;

    /// Nothing to stop.
    pub struct Forwarder;

    impl Forwarder {
        /// Does nothing.
        pub fn close(self) {}
    }

    /// Does nothing.
    pub fn spawn(_tx: Sender<Event>) -> std::io::Result<Forwarder> {
        Ok(Forwarder)
    }
}
