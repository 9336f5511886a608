//! `train`: trains a network from scratch, shows progress, and writes the weights atomically.
//!
//! What Ctrl-C does: the handler only raises a flag; training checks it between batches and
//! stops, nothing is written (an existing `--out` is untouched) and the exit status is 130.
//! A Ctrl-C that arrives after the last batch but before the file is written counts too.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use indicatif::{HumanCount, ProgressBar, ProgressStyle};
use mnist_explorer::dataset::{NUM_CLASSES, Split};
use mnist_explorer::percent::pct;
use mnist_explorer::train::{BatchProgress, EpochReport, Event, TrainError, train};
use mnist_explorer::weights;

use super::out_file::{self, check_out};
use super::stdio::{self, Stdout};
use crate::cli::TrainArgs;

/// Exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: i32 = 130;
/// Batches between progress-bar updates: enough to look live, few enough to cost nothing.
const BAR_EVERY: usize = 10;
/// Longest wait between progress-bar updates, in seconds, for batches too slow for
/// [`BAR_EVERY`] (a 784-65536-10 network takes 0.6 s a batch here).
const BAR_SECONDS: f64 = 0.5;
/// Without a bar, an epoch projected to take longer than this many seconds gets progress
/// lines on stderr, from its first batch on; the epoch line alone would come minutes later.
const SLOW_EPOCH_SECONDS: f64 = 10.0;
/// Seconds between those progress lines.
const LINE_SECONDS: f64 = 30.0;

/// Runs `train`.
pub fn run(data_dir: &Path, args: &TrainArgs) -> Result<()> {
    let config = args.config();
    // Refuse what can be refused before the slow part: an output that exists or cannot be
    // written (bad numbers were refused with the command line, `Cli::parse_checked`; the
    // batch size is checked once the split is known).
    check_out(&args.out, args.force, "--out")?;
    // What a failed run says of `--out`: an old file is left as it was, a new one never made.
    let untouched = if args.out.exists() {
        format!("{} is unchanged", args.out.display())
    } else {
        format!("{} was not created", args.out.display())
    };

    let data = super::load_split(data_dir, Split::Train)?;
    let test = super::load_split(data_dir, Split::Test)?;
    super::ready_norm(config.norm, data_dir, Some(&data))?;
    // A network eval and the explorer could not load back is not worth minutes of training.
    let sizes = config.sizes(data.pixels_per_image(), NUM_CLASSES);
    let bytes = weights::data_bytes(&sizes);
    if bytes > u128::from(weights::MAX_DATA_BYTES) {
        let sizes: Vec<String> = sizes.iter().map(ToString::to_string).collect();
        bail!(
            "a {} network's weights take {bytes} bytes, and weights files of at most {} bytes \
             are read back: use smaller hidden layers",
            sizes.join("-"),
            weights::MAX_DATA_BYTES
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .wrap_err("installing the Ctrl-C handler")?;
    }

    // Epoch lines go to stdout, or to stderr when stdout carries the JSON report.
    let bar_wanted = !args.json && std::io::stdout().is_terminal();
    let mut progress = Progress::new(bar_wanted, config.epochs, data.len(), args.json);
    let started = Instant::now();
    let result = train(&data, Some(&test), &config, |event| {
        progress.show(event);
        if stop.load(Ordering::SeqCst) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    progress.finish();
    let trained = match result {
        Ok(trained) if !stop.load(Ordering::SeqCst) => trained,
        Ok(_) | Err(TrainError::Stopped { .. }) => {
            let at = match result {
                Err(TrainError::Stopped { epoch, batch }) => {
                    format!(" at epoch {epoch}, batch {batch}")
                }
                _ => " after the last batch".into(),
            };
            stdio::note(&format!(
                "interrupted{at}: nothing was written ({untouched})"
            ));
            std::process::exit(EXIT_INTERRUPTED);
        }
        Err(e @ TrainError::Diverged { .. }) => {
            bail!("{e}; nothing was written ({untouched})")
        }
        Err(e) => return Err(eyre!("{e}")).wrap_err("training failed; nothing was written"),
    };
    let seconds = started.elapsed().as_secs_f64();

    let last: EpochReport = trained
        .epochs
        .last()
        .copied()
        .ok_or_else(|| eyre!("training ran no epoch"))?;
    check_out(&args.out, args.force, "--out")?;
    // The file records how it was made, so that every command feeds the network the inputs
    // it was trained on.
    let record = config.record(last.test_accuracy);
    out_file::write(&args.out, args.force, |file| {
        weights::write_npz_recorded(&trained.network, &record, file)
    })?;

    let epoch_seconds: Vec<f64> = trained.epochs.iter().map(|e| e.seconds).collect();
    let seconds_per_epoch = epoch_seconds.iter().sum::<f64>() / epoch_seconds.len() as f64;
    let out = &mut progress.stdout;
    if args.json {
        let report = serde_json::json!({
            "epochs": config.epochs,
            "seconds": seconds,
            "seconds_per_epoch": seconds_per_epoch,
            "images_per_second": data.len() as f64 / seconds_per_epoch,
            "prepare_seconds": trained.prepare_seconds,
            "train_loss": last.train_loss,
            "train_accuracy": last.train_accuracy,
            "test_accuracy": last.test_accuracy,
            "out": args.out.display().to_string(),
            "kernel": trained.kernel.name(),
            "threads": trained.threads,
            "config": config,
            "per_epoch": trained.epochs,
        });
        out.println(&report.to_string());
    } else {
        // Two lines, each within 80 columns for the shipped file's path: how the run went,
        // then what came of it.
        out.println(&format!(
            "{} epoch{} in {:.1} s: {:.3} s/epoch, {:.0} images/s ({} kernel, {} thread{})",
            config.epochs,
            if config.epochs == 1 { "" } else { "s" },
            seconds,
            seconds_per_epoch,
            data.len() as f64 / seconds_per_epoch,
            trained.kernel.name(),
            trained.threads,
            if trained.threads == 1 { "" } else { "s" },
        ));
        out.println(&format!(
            "wrote {}: test accuracy {} ({})",
            args.out.display(),
            last.test_accuracy.map_or("-".to_string(), pct),
            config.norm,
        ));
    }
    // Epoch lines that failed did not stop the training: the weights are written first.
    out.result().wrap_err_with(|| {
        format!(
            "{} was written, but standard output failed",
            args.out.display()
        )
    })?;
    Ok(())
}

/// The progress display: a bar per epoch on a terminal, epoch lines always.
struct Progress {
    bar: Option<ProgressBar>,
    /// Where epoch lines go unless `to_stderr`, and the final line always.
    stdout: Stdout,
    want_bar: bool,
    /// When in the epoch (seconds) progress was last shown.
    shown_at: Option<f64>,
    epochs: usize,
    images: usize,
    to_stderr: bool,
}

impl Progress {
    fn new(want_bar: bool, epochs: usize, images: usize, to_stderr: bool) -> Self {
        Self {
            bar: None,
            stdout: Stdout::default(),
            want_bar,
            shown_at: None,
            epochs,
            images,
            to_stderr,
        }
    }

    fn show(&mut self, event: &Event) {
        match event {
            Event::Batch(b) => {
                let since = b.seconds - self.shown_at.filter(|_| b.batch > 1).unwrap_or(0.0);
                if !self.want_bar {
                    if let Some(line) = slow_epoch_line(b, self.epochs, since) {
                        stdio::note(&line);
                        self.shown_at = Some(b.seconds);
                    }
                    return;
                }
                let due = b.batch == 1
                    || b.batch % BAR_EVERY == 0
                    || b.batch == b.batches
                    || since >= BAR_SECONDS;
                if !due {
                    return;
                }
                self.shown_at = Some(b.seconds);
                let bar = self.bar.get_or_insert_with(|| {
                    let bar = ProgressBar::new(self.images as u64);
                    // Fits 80 columns. The rate goes in the message: indicatif's {per_sec}
                    // prints a float with some fifteen decimals.
                    let style = ProgressStyle::with_template(
                        "epoch {prefix} [{bar:18}] {human_pos}/{human_len}  {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
                    bar.set_style(style);
                    bar.set_prefix(format!("{}/{}", b.epoch, self.epochs));
                    bar
                });
                bar.set_position(b.images as u64);
                let rate = b.images as f64 / b.seconds.max(1e-9);
                bar.set_message(format!(
                    "{:>7} img/s  loss {:.4}",
                    HumanCount(rate as u64),
                    b.loss
                ));
            }
            Event::Epoch(e, _) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let line = format!(
                    "epoch {:>3}/{}  train loss {:.4}  train acc {:>7}  test acc {:>7}  {:.2} s",
                    e.epoch,
                    self.epochs,
                    e.train_loss,
                    pct(e.train_accuracy),
                    e.test_accuracy.map_or("-".to_string(), pct),
                    e.seconds
                );
                if self.to_stderr {
                    stdio::note(&line);
                } else {
                    self.stdout.println(&line);
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A progress line for an epoch too slow to wait for in silence: after its first batch, and
/// then once `since` (seconds since the last line) reaches [`LINE_SECONDS`]; `None` for an
/// epoch projected to end within [`SLOW_EPOCH_SECONDS`].
fn slow_epoch_line(b: &BatchProgress, epochs: usize, since: f64) -> Option<String> {
    let projected = b.seconds / b.batch as f64 * b.batches as f64;
    let due = b.batch == 1 || since >= LINE_SECONDS;
    if projected <= SLOW_EPOCH_SECONDS || !due || b.batch == b.batches {
        return None;
    }
    Some(format!(
        "epoch {}/{epochs}: batch {}/{} after {:.1} s, loss {:.4}; the epoch will take about {}",
        b.epoch,
        b.batch,
        b.batches,
        b.seconds,
        b.loss,
        duration(projected)
    ))
}

/// Seconds as a person reads a duration: "45 s", "6 min", "2.5 h".
fn duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(batch: usize, seconds: f64) -> BatchProgress {
        BatchProgress {
            epoch: 1,
            batch,
            batches: 600,
            images: 100 * batch,
            loss: 2.5,
            batch_loss: 2.5,
            seconds,
        }
    }

    #[test]
    fn a_slow_epoch_says_so_after_its_first_batch_and_then_every_half_minute() {
        // 0.6 s a batch: 6 minutes an epoch (a 784-65536-10 network here).
        let first = slow_epoch_line(&batch(1, 0.6), 40, 0.6);
        assert_eq!(
            first.as_deref(),
            Some(
                "epoch 1/40: batch 1/600 after 0.6 s, loss 2.5000; the epoch will take about 6 min"
            )
        );
        assert_eq!(slow_epoch_line(&batch(2, 1.2), 40, 0.6), None);
        assert!(slow_epoch_line(&batch(51, 30.6), 40, 30.0).is_some());
        // The book's network: 0.25 ms a batch, no line at all.
        assert_eq!(slow_epoch_line(&batch(1, 0.000_25), 40, 0.000_25), None);
        assert_eq!(duration(45.0), "45 s");
        assert_eq!(duration(9000.0), "2.5 h");
    }
}
