//! `show`: one image as block characters, its label, the prediction, the softmax and the norms.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::Path;

use color_eyre::eyre::{Result, bail};
use mnist_explorer::glyphs::shade;
use mnist_explorer::inspect::inspect;
use mnist_explorer::normalize::{NormMode, Norms};

use crate::cli::ShowArgs;

/// Width of a probability bar at 100%.
const BAR_WIDTH: usize = 40;

/// Runs `show` and prints the image and its numbers.
pub fn run(data_dir: &Path, weights: &Path, args: &ShowArgs) -> Result<()> {
    let (data, net) = super::load(data_dir, weights, args.split)?;
    if args.index >= data.len() {
        bail!(
            "index {} is out of range: the {} split has {} images (0..={})",
            args.index,
            args.split,
            data.len(),
            data.len().saturating_sub(1)
        );
    }
    let pixels = data.image(args.index);
    let report = inspect(&net, pixels, args.norm);
    let (probs, predicted) = (&report.probs, report.predicted);
    let label = usize::from(data.label(args.index));

    let stdout = std::io::stdout();
    let mut s = String::new();
    draw_digit(&mut s, pixels, data.cols(), colors_on(&stdout));
    let verdict = if predicted == label { "right" } else { "WRONG" };
    let _ = writeln!(
        s,
        "\nimage {} of {} ({} split), {}x{}\nlabel {label}   prediction {predicted} ({:.1}%)   {verdict}\n",
        args.index,
        data.len(),
        args.split,
        data.rows(),
        data.cols(),
        probs[predicted] * 100.0
    );
    let _ = writeln!(s, "softmax:");
    for (class, &p) in probs.iter().enumerate() {
        let filled = (f64::from(p) * BAR_WIDTH as f64).round() as usize;
        let mark = match (class == predicted, class == label) {
            (true, true) => "<- predicted, true label",
            (true, false) => "<- predicted",
            (false, true) => "<- true label",
            _ => "",
        };
        let _ = writeln!(
            s,
            "  {class} {:<BAR_WIDTH$} {:>6.2}% {mark}",
            "█".repeat(filled.min(BAR_WIDTH)),
            p * 100.0
        );
    }
    let (before, after) = (report.raw, report.after);
    let row = |name: &str, n: &Norms| {
        format!(
            "  {name:<7} {:>12.4}  {:>12.4}  {:>12.4}",
            n.l1, n.l2, n.max
        )
    };
    let _ = writeln!(
        s,
        "\n{:<10}{:>12}  {:>12}  {:>12}",
        "norms", "L1", "L2", "max"
    );
    let _ = writeln!(s, "{}", row("raw", &before));
    // Raw input is its own normalization: a second, identical row would only puzzle.
    if args.norm != NormMode::Raw {
        let _ = writeln!(
            s,
            "{}   ({})",
            row(args.norm.name(), &after),
            args.norm.formula()
        );
    }
    // Blank pixels and an empty mark would leave trailing spaces, which trip up diffs and
    // copy-paste.
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    stdout.lock().write_all(out.as_bytes())?;
    Ok(())
}

/// Whether `out` takes colors: a terminal, and `NO_COLOR` unset or empty.
pub(crate) fn colors_on(out: &std::io::Stdout) -> bool {
    out.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The image as text: gray half blocks with `color`, shade characters without.
pub(crate) fn draw_digit(s: &mut String, pixels: &[u8], cols: usize, color: bool) {
    if color {
        draw_half_blocks(s, pixels, cols);
    } else {
        draw_shades(s, pixels, cols);
    }
}

/// Two pixels per cell: the upper half block takes the top pixel as foreground gray and the
/// bottom pixel as background gray (ANSI 24-bit colors).
fn draw_half_blocks(s: &mut String, pixels: &[u8], cols: usize) {
    let rows: Vec<&[u8]> = pixels.chunks(cols).collect();
    for pair in rows.chunks(2) {
        for x in 0..cols {
            let top = pair[0][x];
            let bottom = pair.get(1).map_or(0, |r| r[x]);
            let _ = write!(
                s,
                "\x1b[38;2;{top};{top};{top}m\x1b[48;2;{bottom};{bottom};{bottom}m▀"
            );
        }
        let _ = writeln!(s, "\x1b[0m");
    }
}

/// One pixel per two characters (cells are about twice as tall as wide), shaded ` ░▒▓█`.
fn draw_shades(s: &mut String, pixels: &[u8], cols: usize) {
    for row in pixels.chunks(cols) {
        for &p in row {
            let c = shade(p);
            s.push(c);
            s.push(c);
        }
        s.push('\n');
    }
}
