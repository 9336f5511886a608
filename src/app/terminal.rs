//! The terminal while the explorer owns it: raw mode, the alternate screen and mouse
//! capture set up and always undone ([`TerminalGuard`], also on panic), the thread that
//! reads terminal input, and the signals that end the explorer the way `q` does.

use std::io::stdout;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::ThreadId;

use color_eyre::eyre::Result;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

use super::Event;

/// Reads terminal events forever and forwards them; ends when the loop is gone.
pub fn spawn_input_thread(tx: Sender<Event>) -> std::io::Result<()> {
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

/// Set once the terminal is restored. Leaving the alternate screen twice is not harmless:
/// the second time, terminals restore the cursor saved on entering it, so that whatever is
/// printed next (a panic report, the shell prompt) lands over earlier output.
static RESTORED: AtomicBool = AtomicBool::new(false);

/// The thread that draws: its panics are the ones that must restore the terminal.
static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Owns the terminal while the explorer runs: raw mode, the alternate screen and mouse
/// capture are undone when it is dropped, and by the panic hook if a panic comes first.
pub struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// Takes the terminal over.
    pub fn init() -> Result<Self> {
        // `try_init` installs ratatui's panic hook (restore, then color-eyre's report) on top
        // of color-eyre's, which main installed first; ours goes on top of both.
        let terminal = ratatui::try_init()?;
        RESTORED.store(false, Ordering::SeqCst);
        let _ = UI_THREAD.set(std::thread::current().id());
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Only the thread that draws owns the terminal. A panic elsewhere (a job on the
            // worker, or a forward pass on one of rayon's threads for it) is caught by the
            // worker and shown in the UI: the terminal must stay as it is, and the report
            // must not be printed over the screen.
            if UI_THREAD.get() != Some(&std::thread::current().id()) {
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

    /// The terminal to draw on.
    pub fn terminal(&mut self) -> &mut DefaultTerminal {
        &mut self.terminal
    }

    /// Ctrl-Z: hands the terminal back as it was found and stops the process, as a shell's
    /// job control expects; returns once the process is continued (`fg`), with the terminal
    /// taken over again and cleared for a full redraw.
    ///
    /// # Errors
    /// The terminal cannot be given back or taken again.
    pub fn suspend(&mut self) -> Result<()> {
        execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen)?;
        self.terminal.show_cursor()?;
        disable_raw_mode()?;
        stop_until_continued()?;
        self.resume()
    }

    /// Takes the terminal again after the process was stopped and continued (by [`suspend`]
    /// or by a SIGSTOP from elsewhere, after which the shell may have changed the terminal's
    /// modes): raw mode, the alternate screen and the mouse, cleared for a full redraw.
    /// Harmless when nothing was lost.
    ///
    /// [`suspend`]: Self::suspend
    ///
    /// # Errors
    /// The terminal cannot be set up.
    pub fn resume(&mut self) -> Result<()> {
        // crossterm skips enabling raw mode when it believes it is on already; after a stop,
        // the shell may have put the terminal back in cooked mode behind its back.
        disable_raw_mode()?;
        enable_raw_mode()?;
        execute!(
            stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            Clear(ClearType::All)
        )?;
        self.terminal.hide_cursor()?;
        // `Terminal::clear` would do, but it asks the terminal where the cursor is, and the
        // answer races the input thread's reads (seen timing out after `fg`). An empty frame
        // makes ratatui forget the last one, so the next draw paints every cell.
        self.terminal.draw(|_| {})?;
        Ok(())
    }
}

/// Stops the process the way SIGTSTP's default action would; returns when it is continued.
#[cfg(unix)]
fn stop_until_continued() -> std::io::Result<()> {
    signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGTSTP)
}

/// Without job control there is nothing to stop.
#[cfg(not(unix))]
fn stop_until_continued() -> std::io::Result<()> {
    Ok(())
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
/// way `q` does and the terminal is restored; SIGTSTP (`kill -TSTP`, or Ctrl-Z outside raw
/// mode) becomes [`Event::Suspend`], and SIGCONT [`Event::Continue`].
#[cfg(unix)]
pub mod signals {
    use std::sync::mpsc::Sender;

    use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP};
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
        let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGCONT])?;
        let handle = signals.handle();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    let event = match sig {
                        SIGTSTP => Event::Suspend,
                        SIGCONT => Event::Continue,
                        sig => Event::Signal(sig),
                    };
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Forwarder(handle))
    }
}

/// Without unix signals there is nothing to forward.
#[cfg(not(unix))]
pub mod signals {
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
