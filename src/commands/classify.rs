//! `classify`: digits in image files, prepared as MNIST's were, through the network: per file
//! the prediction, its probability and the runner-up (or one JSON object), and with `--show`
//! the 28x28 image the network received.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use color_eyre::eyre::{Result, bail};
use mnist_explorer::image_file::{self, FileDigit};
use mnist_explorer::inspect::{ImageReport, inspect};
use mnist_explorer::preprocess::FIELD;

use crate::cli::ClassifyArgs;

/// Runs `classify`: every file is tried, each failure is reported with its file's name, and
/// the command fails at the end if any file did.
pub fn run(data_dir: &Path, weights: &Path, args: &ClassifyArgs) -> Result<()> {
    let loaded = super::load_network(weights, FIELD, FIELD, "the network weights")?;
    let norm = super::norm_for(args.norm, &loaded, weights);
    super::ready_norm(norm, data_dir, None)?;
    let net = loaded.network;
    let stdout = std::io::stdout();
    let color = super::show::colors_on(&stdout);
    let mut out = stdout.lock();
    let mut failed = 0;
    for path in &args.files {
        match image_file::read(path) {
            Ok(digit) => {
                let report = inspect(&net, &digit.prepared.pixels, norm);
                let text = if args.json {
                    json_line(path, &report)
                } else {
                    human(path, &digit, &report, args.show, color)
                };
                out.write_all(text.as_bytes())?;
            }
            Err(fault) => {
                failed += 1;
                // Flushed first, so that the error stands after the results before it.
                out.flush()?;
                eprintln!("mnist-explorer: {}: {fault}", path.display());
                if args.json {
                    let object = serde_json::json!({
                        "file": path.display().to_string(),
                        "error": fault.to_string(),
                    });
                    writeln!(out, "{object}")?;
                }
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        bail!(
            "{failed} of {} file{} could not be classified (named above)",
            args.files.len(),
            if args.files.len() == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// The class after the predicted one: how close the call was.
fn runner_up(report: &ImageReport) -> usize {
    (0..report.probs.len())
        .filter(|&c| c != report.predicted)
        .max_by(|&a, &b| report.probs[a].total_cmp(&report.probs[b]))
        .unwrap_or(report.predicted)
}

/// One JSON object and a newline.
fn json_line(path: &Path, report: &ImageReport) -> String {
    let object = serde_json::json!({
        "file": path.display().to_string(),
        "prediction": report.predicted,
        "probabilities": report.probs,
    });
    format!("{object}\n")
}

/// The human report of one file: a line, and the prepared image with `show`.
fn human(path: &Path, digit: &FileDigit, report: &ImageReport, show: bool, color: bool) -> String {
    let (p, r) = (report.predicted, runner_up(report));
    let pct = |c: usize| report.probs.get(c).map_or(0.0, |v| v * 100.0);
    let mut s = format!(
        "{}: {p} ({:.2}%), runner-up {r} ({:.2}%)\n",
        path.display(),
        pct(p),
        pct(r)
    );
    if show {
        let ink = digit.prepared.ink;
        let _ = writeln!(
            s,
            "  {}x{} pixels{}; ink box {}x{} at ({}, {}), scaled x{:.3} to fit 20x20, centered by mass:",
            digit.ink.width,
            digit.ink.height,
            if digit.ink.inverted {
                ", light background inverted"
            } else {
                ""
            },
            ink.width,
            ink.height,
            ink.x,
            ink.y,
            digit.prepared.scale,
        );
        let mut picture = String::new();
        super::show::draw_digit(&mut picture, &digit.prepared.pixels, FIELD, color);
        // Blank pixels would leave trailing spaces, which trip up diffs and copy-paste.
        for line in picture.lines() {
            let _ = writeln!(s, "{}", line.trim_end());
        }
    }
    s
}
