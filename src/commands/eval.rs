//! `eval`: accuracy, per-class accuracy and confusion matrix over a whole split.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use color_eyre::eyre::{Result, WrapErr};
use mnist_explorer::analysis::{Verdict, verdicts};
use mnist_explorer::eval::{Tally, evaluate};
use mnist_explorer::normalize::NormMode;
use mnist_explorer::percent::pct;

use super::analysis::{Comparison, confusion_table, worst, worst_json, worst_text};
use super::{out_file, stdio};
use crate::cli::EvalArgs;

/// Runs `eval` and prints the report.
pub fn run(data_dir: &Path, weights: &Path, args: &EvalArgs) -> Result<()> {
    if args.matrix {
        return super::matrix::run(data_dir, weights, args);
    }
    // `-` is standard output, as for most tools; the report then goes to standard error.
    let predictions_to_stdout = args.predictions.as_deref() == Some(Path::new("-"));
    if let Some(path) = &args.predictions
        && !predictions_to_stdout
    {
        out_file::check_out(path, args.force, "--predictions")?;
    }
    let (data, loaded) = super::load(data_dir, weights, args.split)?;
    let norm = super::norm_for(args.norm, &loaded, weights);
    super::ready_norm(
        norm,
        data_dir,
        (args.split == mnist_explorer::dataset::Split::Train).then_some(&data),
    )?;
    let trained_on = loaded.trained_on();
    let net = loaded.network;
    let other = match &args.compare {
        Some(path) => {
            let loaded = super::load_network(
                path,
                data.rows(),
                data.cols(),
                "the network to compare with (--compare)",
            )?;
            // Both networks are fed `norm`: the second may have been trained on another.
            let what = format!("{} (--compare)", path.display());
            super::warn_other_mode(&what, loaded.trained_on(), norm);
            Some((path, loaded.trained_on(), loaded.network))
        }
        None => None,
    };
    // The per-image figures come from the first pass itself, the one whose predictions are
    // reported, and only when asked for.
    let mut per_image: Vec<Verdict> = Vec::new();
    let mut pass = |keep: bool| {
        let start = Instant::now();
        let result = evaluate(&net, &data, norm, args.batch_size, args.output, |b| {
            if keep {
                let labels = &data.labels()[b.range.clone()];
                per_image.extend(verdicts(b.outputs, labels, args.output));
            }
            true
        });
        (result, start.elapsed().as_secs_f64())
    };
    let ((tally, predictions), mut seconds) = pass(args.worst.is_some());
    let mut all_seconds = vec![seconds];
    if args.repeat > 1 {
        // The first pass was the warm-up (page faults, thread pool start, weight packing).
        all_seconds = (0..args.repeat).map(|_| pass(false).1).collect();
        all_seconds.sort_by(f64::total_cmp);
        let mid = all_seconds.len() / 2;
        seconds = if all_seconds.len() % 2 == 0 {
            (all_seconds[mid - 1] + all_seconds[mid]) / 2.0
        } else {
            all_seconds[mid]
        };
    }
    let images_per_second = tally.total as f64 / seconds.max(1e-12);
    let worst = args
        .worst
        .map(|n| worst(n, &per_image, &predictions, data.labels()));
    let comparison = other.map(|(path, other_trained_on, other)| {
        let (other_tally, other_predictions) =
            evaluate(&other, &data, norm, args.batch_size, args.output, |_| true);
        let mut c = Comparison::new(other_tally, &predictions, &other_predictions, data.labels());
        c.trained_on = other_trained_on;
        (path, c)
    });

    if let Some(path) = &args.predictions {
        let mut text = String::with_capacity(predictions.len() * 2);
        for p in &predictions {
            let _ = writeln!(text, "{p}");
        }
        if predictions_to_stdout {
            stdio::print(&text).wrap_err("writing the predictions to standard output")?;
        } else {
            out_file::write(path, args.force, |file| file.write_all(text.as_bytes()))
                .wrap_err("writing the predictions")?;
        }
    }

    let text = if args.json {
        let per_class: Vec<_> = tally
            .per_class_accuracy()
            .iter()
            .zip(tally.class_totals())
            .enumerate()
            .map(|(class, (acc, total))| {
                serde_json::json!({
                    "class": class,
                    "accuracy": acc,
                    "correct": tally.confusion[class][class],
                    "total": total,
                })
            })
            .collect();
        let mut report = serde_json::json!({
            "accuracy": tally.accuracy(),
            "correct": tally.correct,
            "total": tally.total,
            "norm": norm,
            "trained_on": trained_on,
            "output": args.output,
            "split": args.split,
            "batch_size": args.batch_size,
            "weights": weights.display().to_string(),
            "seconds": seconds,
            "images_per_second": images_per_second,
            "repeat": args.repeat,
            "seconds_all": all_seconds,
            "threads": rayon::current_num_threads(),
            "kernel": mnist_explorer::kernels::Path::current().name(),
            "per_class": per_class,
            "confusion": tally.confusion,
        });
        if let Some(worst) = &worst {
            report["worst"] = worst_json(worst);
        }
        if let Some((path, c)) = &comparison {
            report["compare"] = c.json(path);
        }
        format!(
            "{report}
"
        )
    } else {
        let mut text = human_report(&tally, args, (norm, trained_on), weights, seconds);
        if let Some((path, c)) = &comparison {
            let _ = write!(
                text,
                "
{}",
                c.text(&tally, path)
            );
        }
        if let Some(worst) = &worst {
            let _ = write!(
                text,
                "
{}",
                worst_text(worst)
            );
        }
        text
    };
    if predictions_to_stdout {
        stdio::note(text.trim_end());
    } else {
        stdio::print(&text).wrap_err("writing the report to standard output")?;
    }
    Ok(())
}

fn human_report(
    tally: &Tally,
    args: &EvalArgs,
    (norm, trained_on): (NormMode, Option<NormMode>),
    weights: &Path,
    seconds: f64,
) -> String {
    let mut s = String::new();
    let batch = if args.batch_size as u64 > tally.total {
        format!(
            "{} (more than the split holds: one batch of {})",
            args.batch_size, tally.total
        )
    } else {
        args.batch_size.to_string()
    };
    let _ = writeln!(
        s,
        "{} split, norm {} = {}, batch {batch}, output {}, weights {} (trained on: {})",
        args.split,
        norm,
        norm.formula(),
        args.output.name(),
        weights.display(),
        super::trained_on_name(trained_on)
    );
    let _ = writeln!(
        s,
        "accuracy {}  ({} / {} correct)",
        pct(tally.accuracy()),
        tally.correct,
        tally.total
    );
    let timed = if args.repeat > 1 {
        format!("; median of {} passes after a warm-up", args.repeat)
    } else {
        String::new()
    };
    let threads = rayon::current_num_threads();
    let _ = writeln!(
        s,
        "evaluated in {:.1} ms  ({:.0} images/s{timed})\nkernel {}, {threads} thread{}\n",
        seconds * 1e3,
        tally.total as f64 / seconds.max(1e-12),
        mnist_explorer::kernels::Path::current().name(),
        if threads == 1 { "" } else { "s" },
    );
    let _ = writeln!(s, "per class:");
    let totals = tally.class_totals();
    for (class, acc) in tally.per_class_accuracy().iter().enumerate() {
        let acc = acc.map_or("      -".to_string(), |a| format!("{:>7}", pct(a)));
        let _ = writeln!(
            s,
            "  {class}  {acc}  ({} / {})",
            tally.confusion[class][class], totals[class]
        );
    }
    let _ = writeln!(
        s,
        "\nconfusion matrix (rows: true label, columns: predicted):"
    );
    s.push_str(&confusion_table(tally));
    s
}
