//! mnist-explorer: install error reporting, parse the command line and dispatch.

mod cli;
mod commands;

use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let result = install_error_hooks().and_then(|()| commands::run(cli::Cli::parse_checked()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(report) => {
            commands::note(&error_text(&report));
            ExitCode::FAILURE
        }
    }
}

/// An error as the user reads it: one line, `error: …`, then one line per cause when the
/// error has a chain of them.
fn error_text(report: &color_eyre::Report) -> String {
    let mut text = format!("error: {report}");
    for cause in report.chain().skip(1) {
        text.push_str(&format!("\n  caused by: {cause}"));
    }
    text
}

/// Errors a user can cause (a bad file, a bad index) print as plain lines (see
/// [`error_text`]); the backtrace and source location are for panics, which are our bugs.
fn install_error_hooks() -> color_eyre::Result<()> {
    // color-eyre captures a backtrace for every error report when RUST_BACKTRACE is set,
    // which many shells set for good: a missing file would then print 30 lines of our stack.
    // RUST_LIB_BACKTRACE takes precedence for errors only; set it to 1 to see them anyway.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: first thing in `main`, before any other thread exists.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let colors = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let theme = if colors {
        color_eyre::config::Theme::dark()
    } else {
        color_eyre::config::Theme::new()
    };
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default()
        .theme(theme)
        .display_location_section(false)
        .display_env_section(false)
        .capture_span_trace_by_default(false)
        .into_hooks();
    eyre_hook.install()?;
    panic_hook.install();
    Ok(())
}
