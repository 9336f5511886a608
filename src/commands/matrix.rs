//! `eval --matrix`: the train × test table of the family of `--weights` (one network per
//! normalization mode), as text or as one JSON object.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use color_eyre::eyre::{Result, WrapErr, bail};
use mnist_explorer::mode_matrix::{self, Matrix, RowFault, RowState};
use mnist_explorer::normalize::NormMode;
use mnist_explorer::weights;
use serde_json::{Map, Value, json};

use super::stdio;
use crate::cli::EvalArgs;

/// Runs `eval --matrix` and prints the table.
pub fn run(data_dir: &Path, weights: &Path, args: &EvalArgs) -> Result<()> {
    let data = super::load_split(data_dir, args.split)?;
    // The file's record places it in the table; a file that cannot be read is reported in
    // its row like any other member.
    let trained_on = weights::load(weights).ok().and_then(|l| l.trained_on());
    let members = mode_matrix::members(weights, trained_on);
    let mut matrix = Matrix::new(&members);
    let start = Instant::now();
    mode_matrix::run(&members, &data, args.batch_size, &|| true, &mut |event| {
        matrix.apply(&event);
        true
    });
    let seconds = start.elapsed().as_secs_f64();
    if matrix
        .rows
        .iter()
        .all(|r| matches!(r.state, RowState::Failed(_)))
    {
        let looked: Vec<String> = members
            .iter()
            .map(|m| m.path.display().to_string())
            .collect();
        bail!(
            "no network of the family of {} could be read; looked for {}",
            weights.display(),
            looked.join(", ")
        );
    }
    let text = if args.json {
        format!("{}\n", json_report(&matrix, args, seconds))
    } else {
        text_report(&matrix, args, seconds)
    };
    stdio::print(&text).wrap_err("writing the table to standard output")?;
    let invalid: Vec<&str> = matrix
        .rows
        .iter()
        .filter_map(|r| match &r.state {
            RowState::Failed(RowFault::Invalid(message)) => Some(message.as_str()),
            _ => None,
        })
        .collect();
    if !invalid.is_empty() {
        bail!(
            "{} of the family's files could not be read:\n  {}",
            invalid.len(),
            invalid.join("\n  ")
        );
    }
    Ok(())
}

/// The table: a row per training mode, a column per evaluation mode, the diagonal in
/// brackets; then where each row's network came from.
fn text_report(matrix: &Matrix, args: &EvalArgs, seconds: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "train × test: {} split accuracy (%) of the network trained on each mode (rows)\n\
         when fed each mode (columns); [ ] marks the mode it was trained on\n",
        args.split
    );
    let _ = write!(s, "{:<11}", "trained on");
    for mode in NormMode::PER_IMAGE {
        let _ = write!(s, "{:>9}", format!("{} ", mode.name()));
    }
    s.push('\n');
    for row in &matrix.rows {
        let _ = write!(s, "{:<11}", row.member.trained.name());
        match &row.state {
            RowState::Failed(fault) => {
                let why = match fault {
                    RowFault::Missing => "missing",
                    RowFault::Invalid(_) => "unreadable",
                };
                let _ = write!(s, "  {why}: {}", row.member.path.display());
            }
            RowState::Pending | RowState::Read(_) => {
                for (mode, accuracy) in NormMode::PER_IMAGE.iter().zip(row.accuracy) {
                    let value = accuracy.map_or("-".to_string(), |a| format!("{:.2}", a * 100.0));
                    let cell = if *mode == row.member.trained {
                        format!("[{value}]")
                    } else {
                        format!("{value} ")
                    };
                    let _ = write!(s, "{cell:>9}");
                }
            }
        }
        s.push('\n');
    }
    let _ = writeln!(s, "\nnetworks ({:.1} s for all the passes):", seconds);
    for row in &matrix.rows {
        if let RowState::Read(recorded) = row.state {
            let note = match recorded {
                Some(mode) if mode == row.member.trained => String::new(),
                Some(mode) => format!(" (its record says {mode})"),
                None => " (no record)".to_string(),
            };
            let _ = writeln!(
                s,
                "  {:<7} {}{note}",
                row.member.trained.name(),
                row.member.path.display()
            );
        }
    }
    // The cells' alignment leaves spaces at the ends of lines, which trip up diffs.
    s.lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect()
}

/// One object: `matrix` keyed by training mode, then by evaluation mode (`null` for a
/// network that could not be read), each row's file, its recorded mode, and what is missing
/// or unreadable.
fn json_report(matrix: &Matrix, args: &EvalArgs, seconds: f64) -> Value {
    let (mut table, mut files, mut recorded) = (Map::new(), Map::new(), Map::new());
    let (mut missing, mut errors) = (Vec::new(), Map::new());
    for row in &matrix.rows {
        let name = row.member.trained.name().to_string();
        files.insert(name.clone(), row.member.path.display().to_string().into());
        let cells = match &row.state {
            RowState::Failed(fault) => {
                match fault {
                    RowFault::Missing => missing.push(Value::from(name.clone())),
                    RowFault::Invalid(message) => {
                        errors.insert(name.clone(), message.clone().into());
                    }
                }
                Value::Null
            }
            RowState::Pending | RowState::Read(_) => {
                if let RowState::Read(mode) = row.state {
                    recorded.insert(name.clone(), json!(mode));
                }
                NormMode::PER_IMAGE
                    .iter()
                    .zip(row.accuracy)
                    .map(|(mode, accuracy)| (mode.name().to_string(), json!(accuracy)))
                    .collect::<Map<_, _>>()
                    .into()
            }
        };
        table.insert(name, cells);
    }
    json!({
        "matrix": table,
        "files": files,
        "recorded": recorded,
        "missing": missing,
        "errors": errors,
        "split": args.split,
        "batch_size": args.batch_size,
        "seconds": seconds,
    })
}
