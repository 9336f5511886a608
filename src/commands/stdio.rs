//! Printing to standard output and error without panicking (`println!` panics when a write
//! fails): a reader that went away (`| head`) ends the output quietly, a failure such as a
//! full disk is an error the command reports, and a message for standard error that cannot
//! be written is dropped, since there is nowhere left to report it.

use std::io::{self, Write};

/// Standard output, written to until its reader goes away or a write fails.
#[derive(Debug, Default)]
pub(crate) struct Stdout {
    /// The reader closed the pipe: nothing more is written, and that is no error.
    closed: bool,
    /// The first write that failed for another reason; nothing more is written.
    failed: Option<io::Error>,
}

impl Stdout {
    /// Writes `text`, unless an earlier write failed or found the pipe closed. A failure is
    /// kept for [`Stdout::result`] rather than returned, so that the caller's work goes on.
    pub fn print(&mut self, text: &str) {
        if self.closed || self.failed.is_some() {
            return;
        }
        let mut out = io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => self.closed = true,
            Err(e) => self.failed = Some(e),
        }
    }

    /// Writes `text` and a line break.
    pub fn println(&mut self, text: &str) {
        self.print(&format!("{text}\n"));
    }

    /// Whether everything printed so far reached standard output or a reader that left.
    ///
    /// # Errors
    /// The first write that failed other than by a closed pipe (e.g. a full disk).
    pub fn result(&mut self) -> io::Result<()> {
        self.failed.take().map_or(Ok(()), Err)
    }
}

/// Writes all of `text` to standard output: a closed pipe is not an error.
///
/// # Errors
/// A write fails for another reason, such as a full disk.
pub(crate) fn print(text: &str) -> io::Result<()> {
    let mut out = Stdout::default();
    out.print(text);
    out.result()
}

/// Writes a line to standard error, dropping it if that fails.
pub(crate) fn note(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}
