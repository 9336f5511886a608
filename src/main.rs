//! mnist-explorer: install error reporting, parse the command line and dispatch.

mod cli;
mod commands;

use std::io::IsTerminal;

fn main() -> color_eyre::Result<()> {
    install_error_hooks()?;
    let cli = cli::Cli::parse_checked();
    commands::run(cli)
}

/// Errors a user can cause (a bad file, a bad index) print as a short chain of causes; the
/// backtrace and source location are for panics, which are our bugs.
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
