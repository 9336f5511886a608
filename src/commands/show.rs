//! `show`: one image as block characters, its label, the prediction, the softmax (or the raw
//! scores) and the norms; with `--layers` every hidden layer's activations too, and with
//! `--json` all of those numbers as one object.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, bail};
use mnist_explorer::glyphs::shade;
use mnist_explorer::inspect::{ImageReport, SATURATION_MARGIN, inspect};
use mnist_explorer::layer::OutputLayer;
use mnist_explorer::normalize::{NormMode, Norms};
use mnist_explorer::percent::pct;

use crate::cli::ShowArgs;

/// Width of a probability bar at 100%.
const BAR_WIDTH: usize = 40;
/// Width of a score bar on either side of the zero line, at the largest |score|.
const SCORE_BAR_WIDTH: usize = 20;
/// Activations printed per row under `--layers`.
const PER_ROW: usize = 10;

/// `show --json`: one object. Numbers are float32 and printed as such (the shortest form
/// that reads back to the same float32): the activations and logits of the pass accumulated
/// in f64, the softmax of those logits; the prediction is the kernels', as `eval` makes it.
#[derive(serde::Serialize)]
struct ShowJson<'a> {
    index: usize,
    label: usize,
    prediction: usize,
    norm: NormMode,
    /// The mode the weights file records it was trained with (`null`: no record).
    trained_on: Option<NormMode>,
    output: OutputJson<'a>,
    /// One array per hidden layer: the sigmoid outputs.
    activations: &'a [Vec<f32>],
}

/// The output layer's numbers in `show --json`.
#[derive(serde::Serialize)]
struct OutputJson<'a> {
    logits: &'a [f32],
    softmax: &'a [f32],
}

/// Runs `show` and prints the image and its numbers.
pub fn run(data_dir: &Path, weights: &Path, args: &ShowArgs) -> Result<()> {
    let (data, loaded) = super::load(data_dir, weights, args.split)?;
    let norm = super::norm_for(args.norm, &loaded, weights);
    super::ready_norm(
        norm,
        data_dir,
        (args.split == mnist_explorer::dataset::Split::Train).then_some(&data),
    )?;
    let trained_on = loaded.trained_on();
    let net = loaded.network;
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
    let report = inspect(&net, pixels, norm);
    let (probs, predicted) = (&report.probs, report.predicted);
    let label = usize::from(data.label(args.index));

    let stdout = std::io::stdout();
    if args.json {
        let softmax = report.softmax_of_logits();
        let object = ShowJson {
            index: args.index,
            label,
            prediction: predicted,
            norm,
            trained_on,
            output: OutputJson {
                logits: &report.logits,
                softmax: &softmax,
            },
            activations: &report.hidden,
        };
        let text = format!("{}\n", serde_json::to_string(&object)?);
        return super::stdio::print(&text).wrap_err("writing to standard output");
    }
    let mut s = String::new();
    draw_digit(&mut s, pixels, data.cols(), colors_on(&stdout));
    if norm.whitening().is_some() {
        draw_whitened(&mut s, norm, &report.input, data.cols());
    }
    let verdict = if predicted == label { "right" } else { "WRONG" };
    let how_sure = match args.output {
        OutputLayer::Softmax => pct(f64::from(probs[predicted])),
        OutputLayer::Identity => format!("score {:.4}", report.scores[predicted]),
    };
    let _ = writeln!(
        s,
        "\nimage {} of {} ({} split), {}x{}\nlabel {label}   prediction {predicted} ({how_sure})   {verdict}\n",
        args.index,
        data.len(),
        args.split,
        data.rows(),
        data.cols(),
    );
    let mark = |class: usize| match (class == predicted, class == label) {
        (true, true) => "<- predicted, true label",
        (true, false) => "<- predicted",
        (false, true) => "<- true label",
        _ => "",
    };
    match args.output {
        OutputLayer::Softmax => {
            let _ = writeln!(s, "softmax:");
            for (class, &p) in probs.iter().enumerate() {
                let filled = (f64::from(p) * BAR_WIDTH as f64).round() as usize;
                let _ = writeln!(
                    s,
                    "  {class} {:<BAR_WIDTH$} {:>7} {}",
                    "█".repeat(filled.min(BAR_WIDTH)),
                    pct(f64::from(p)),
                    mark(class)
                );
            }
        }
        OutputLayer::Identity => {
            let _ = writeln!(
                s,
                "scores (identity output: the raw scores, not probabilities; the largest is \
                 the prediction):"
            );
            let largest = report
                .scores
                .iter()
                .fold(0.0f32, |m, v| m.max(v.abs()))
                .max(f32::MIN_POSITIVE);
            for (class, &score) in report.scores.iter().enumerate() {
                let cells = ((score.abs() / largest) * SCORE_BAR_WIDTH as f32).round() as usize;
                let cells = cells.min(SCORE_BAR_WIDTH);
                let (left, right) = if score < 0.0 {
                    ("█".repeat(cells), String::new())
                } else {
                    (String::new(), "█".repeat(cells))
                };
                let _ = writeln!(
                    s,
                    "  {class} {left:>SCORE_BAR_WIDTH$}│{right:<SCORE_BAR_WIDTH$} {score:>9.4} {}",
                    mark(class)
                );
            }
        }
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
    if norm != NormMode::Raw {
        let _ = writeln!(s, "{}   = {}", row(norm.name(), &after), norm.formula());
    }
    let _ = writeln!(
        s,
        "(the network was trained on: {})",
        super::trained_on_name(trained_on)
    );
    if args.layers {
        write_layers(&mut s, &report, &net.sizes());
    }
    // Blank pixels and an empty mark would leave trailing spaces, which trip up diffs and
    // copy-paste.
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    super::stdio::print(&out).wrap_err("writing to standard output")?;
    Ok(())
}

/// The `--layers` section: each hidden layer's summary and activations, then the scores and
/// the softmax side by side.
fn write_layers(s: &mut String, report: &ImageReport, sizes: &[usize]) {
    let shape: Vec<String> = sizes.iter().map(ToString::to_string).collect();
    let _ = writeln!(s, "\nlayers ({}):", shape.join("-"));
    for (k, (values, stats)) in report.hidden.iter().zip(&report.hidden_stats).enumerate() {
        let _ = writeln!(
            s,
            "hidden layer {}: {} sigmoid outputs   min {:.4}  mean {:.4}  max {:.4}   \
             saturated {} of {} (within {SATURATION_MARGIN} of 0 or 1)",
            k + 1,
            values.len(),
            stats.min,
            stats.mean,
            stats.max,
            stats.saturated,
            values.len()
        );
        let strongest: Vec<String> = stats
            .strongest
            .iter()
            .map(|&u| format!("{u} ({:.4})", values[u]))
            .collect();
        let _ = writeln!(s, "  strongest: {}", strongest.join("  "));
        for (row, chunk) in values.chunks(PER_ROW).enumerate() {
            let _ = write!(s, "  {:>5} ", row * PER_ROW);
            for v in chunk {
                let _ = write!(s, " {v:.4}");
            }
            let _ = writeln!(s);
        }
    }
    let _ = writeln!(
        s,
        "output layer: {} scores (logits) and their softmax\n  class      score    softmax",
        report.logits.len()
    );
    let softmax = report.softmax_of_logits();
    for (class, (score, p)) in report.logits.iter().zip(&softmax).enumerate() {
        let _ = writeln!(s, "  {class:>5} {score:>10.4} {p:>10.6}");
    }
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

/// What the network is fed under a whitening, with a caption saying how to read it: signed
/// values, `█` shades above 0 and `·` below, scaled to the largest magnitude.
fn draw_whitened(s: &mut String, norm: NormMode, input: &[f32], cols: usize) {
    let largest = input.iter().fold(0f32, |m, v| m.max(v.abs()));
    // PCA's input is a list, not a picture: only the rows holding retained coordinates.
    let (layout, shown) = if norm == NormMode::Pca {
        let used = mnist_explorer::whiten::active().map_or(input.len(), |fit| fit.retained());
        (
            format!(
                "its {used} coordinates on the principal axes (the other {} inputs are 0),\nlargest variance first, {cols} a row",
                input.len().saturating_sub(used)
            ),
            used,
        )
    } else {
        (
            "an image again: mostly the strokes' edges".to_string(),
            input.len(),
        )
    };
    let _ = writeln!(
        s,
        "
the network's input under {norm}: {layout};
█ above 0, {} below 0, full at ±{largest:.2}",
        mnist_explorer::glyphs::NEGATIVE
    );
    let scale = if largest > 0.0 { largest } else { 1.0 };
    for row in input[..shown.min(input.len())].chunks(cols) {
        for &v in row {
            let c = mnist_explorer::glyphs::signed_shade(v / scale);
            s.push(c);
            s.push(c);
        }
        s.push('\n');
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
