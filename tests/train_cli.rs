//! `train` run as a user runs it: the built binary on small IDX fixtures written by each test
//! (and, for Ctrl-C, on the repository's MNIST files).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mnist-explorer");

/// Writes `{prefix}-images-idx3-ubyte` and `{prefix}-labels-idx1-ubyte` (uncompressed) with
/// `n` images of 4x4 pixels: the label decides which quarter of the image is lit, so a small
/// network can learn it.
fn write_split(dir: &Path, prefix: &str, n: usize) {
    let mut images = vec![0, 0, 8, 3];
    for d in [n as u32, 4, 4] {
        images.extend_from_slice(&d.to_be_bytes());
    }
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&(n as u32).to_be_bytes());
    for i in 0..n {
        let label = (i % 4) as u8;
        labels.push(label);
        for p in 0..16u8 {
            let quarter = (p / 4) / 2 * 2 + (p % 4) / 2;
            images.push(if quarter == label {
                200 + (i % 50) as u8
            } else {
                0
            });
        }
    }
    std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
    std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), "train", 40);
    write_split(dir.path(), "t10k", 12);
    dir
}

fn train(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .arg("train")
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a clean failure whose message contains `needle`.
fn fails_with(out: &Output, needle: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "should fail: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
}

fn out_path(dir: &Path) -> PathBuf {
    dir.join("w.npz")
}

#[test]
fn bad_options_are_refused_clearly_and_nothing_is_written() {
    let dir = fixture();
    let out = out_path(dir.path());
    let o = out.to_str().unwrap();
    // Exit status 2 for a bad command line; 1 for the batch size, which only the data can
    // refute.
    let cases: &[(&[&str], &str, i32)] = &[
        (&["--epochs", "0"], "must be at least 1", 2),
        (&["--batch-size", "0"], "must be at least 1", 2),
        (&["--batch-size", "41"], "between 1 and 40", 1),
        (&["--hidden", ""], "hidden layer sizes is empty", 2),
        (&["--hidden", "5,0"], "hidden layer 2 has size 0", 2),
        (&["--hidden", "5,x"], "`x` is not a layer size", 2),
        (&["--lr", "NaN"], "learning rate must be a finite number", 2),
        (&["--lr", "inf"], "learning rate must be a finite number", 2),
        (
            &["--lr", "-0.1"],
            "learning rate must be a finite number",
            2,
        ),
        (&["--lr", "0"], "learning rate must be a finite number", 2),
    ];
    for (args, needle, code) in cases {
        let mut all = vec!["--out", o];
        all.extend_from_slice(args);
        let run = train(dir.path(), &all);
        fails_with(&run, needle);
        assert_eq!(run.status.code(), Some(*code), "{args:?}");
        assert!(!out.exists(), "{args:?} wrote a file");
    }
}

#[test]
fn a_missing_training_split_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), "t10k", 12);
    let out = out_path(dir.path());
    let o = train(dir.path(), &["--out", out.to_str().unwrap()]);
    fails_with(&o, "train-images-idx3-ubyte");
    assert!(!out.exists());
}

#[test]
fn a_run_writes_weights_that_eval_reads_and_keeps_them_without_force() {
    let dir = fixture();
    let out = out_path(dir.path());
    let o = out.to_str().unwrap();
    let args = [
        "--out",
        o,
        "--hidden",
        "8,6",
        "--epochs",
        "30",
        "--batch-size",
        "5",
        "--lr",
        "0.02",
        "--optimizer",
        "adam",
        "--schedule",
        "constant",
        "--json",
    ];
    let run = train(dir.path(), &args);
    assert!(run.status.success(), "{}", stderr(&run));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    for key in [
        "epochs",
        "seconds",
        "seconds_per_epoch",
        "train_loss",
        "test_accuracy",
        "out",
    ] {
        assert!(!report[key].is_null(), "missing {key}: {report}");
    }
    assert_eq!(report["epochs"], 30);
    assert_eq!(report["out"], o);
    // The f32 rate as given, not its binary expansion (0.019999999552965164).
    assert_eq!(report["config"]["lr"].to_string(), "0.02", "{report}");
    // The quarters are easy: the fixture's test split must be learned.
    assert_eq!(report["test_accuracy"], 1.0, "{report}");
    // Epoch lines went to stderr, so stdout is one JSON object.
    assert!(stderr(&run).contains("epoch  30/30"));

    let eval = Command::new(BIN)
        .args(["--data-dir", dir.path().to_str().unwrap(), "--weights", o])
        .args(["eval", "--json"])
        .output()
        .unwrap();
    assert!(eval.status.success(), "{}", stderr(&eval));
    let eval: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(eval["accuracy"], 1.0);
    // The file records its training, which eval reads back as the mode to use.
    assert_eq!(eval["trained_on"], "div255");
    let record = mnist_explorer::weights::load(&out).unwrap().record.unwrap();
    assert_eq!(
        record.get("command").unwrap(),
        "mnist-explorer train --hidden 8,6 --epochs 30 --batch-size 5 --optimizer adam \
         --lr 0.02 --schedule constant --norm div255 --seed 1"
    );
    assert_eq!(record.get("test_accuracy").unwrap(), 1.0);
    assert_eq!(record.get("config").unwrap(), report["config"]);

    let before = std::fs::read(&out).unwrap();
    fails_with(&train(dir.path(), &args), "already exists; pass --force");
    assert_eq!(std::fs::read(&out).unwrap(), before, "kept without --force");
    let mut forced = args.to_vec();
    forced.extend(["--force", "--seed", "7"]);
    let again = train(dir.path(), &forced);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_ne!(
        std::fs::read(&out).unwrap(),
        before,
        "replaced with --force"
    );
    // No temporary file is left beside the output.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn the_kernel_variable_picks_the_trainers_path_and_the_fma_paths_agree_bit_for_bit() {
    let dir = fixture();
    let run = |kernel: &str| {
        let out = dir.path().join(format!("{kernel}.npz"));
        let o = out.to_str().unwrap();
        let run = Command::new(BIN)
            .args(["--data-dir", dir.path().to_str().unwrap(), "train"])
            .args(["--out", o, "--hidden", "20,9", "--epochs", "3"])
            .args(["--batch-size", "7", "--json"])
            .env("MNIST_EXPLORER_KERNEL", kernel)
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", stderr(&run));
        let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        (
            report["kernel"].as_str().unwrap().to_owned(),
            std::fs::read(out).unwrap(),
        )
    };
    let (name, _) = run("portable");
    assert_eq!(name, "portable");
    let (name, _) = run("no-such-kernel");
    assert_ne!(name, "no-such-kernel", "an unknown name is ignored");
    // Where the CPU has them, AVX-512 and AVX2+FMA train the same weights (20 and 9 hidden
    // units: an odd number of 8-float columns, so AVX-512 also runs its 8-float tail).
    let fma: Vec<_> = ["avx512f+bw", "avx2+fma"]
        .into_iter()
        .map(run)
        .filter(|(name, _)| name != "portable")
        .collect();
    if let [(a, wa), (b, wb)] = &fma[..]
        && a != b
    {
        assert_eq!(wa, wb, "{a} and {b} trained different weights");
    }
}

#[test]
fn the_same_seed_writes_the_same_file_with_any_thread_count() {
    let dir = fixture();
    let run = |name: &str, threads: &str| {
        let out = dir.path().join(name);
        let args = [
            "--out",
            out.to_str().unwrap(),
            "--hidden",
            "5",
            "--epochs",
            "3",
        ];
        let args = [
            &args[..],
            &["--batch-size", "4", "--threads", threads, "--json"],
        ]
        .concat();
        let run = train(dir.path(), &args);
        assert!(run.status.success(), "{}", stderr(&run));
        let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(report["threads"].to_string(), threads, "{report}");
        std::fs::read(out).unwrap()
    };
    let one = run("a.npz", "1");
    assert_eq!(one, run("b.npz", "1"));
    assert_eq!(one, run("c.npz", "3"));
}

#[test]
fn a_diverging_run_says_so_and_writes_nothing() {
    let dir = fixture();
    let out = out_path(dir.path());
    let args = [
        "--out",
        out.to_str().unwrap(),
        "--batch-size",
        "10",
        "--optimizer",
        "sgd",
        "--lr",
        "3e38",
        "--norm",
        "raw",
        "--force",
    ];
    let o = train(dir.path(), &args);
    fails_with(&o, "training diverged");
    let new = format!("nothing was written ({} was not created)", out.display());
    assert!(stderr(&o).contains(&new), "{}", stderr(&o));
    assert!(!out.exists());
    // Over an existing file (--force): the file is left as it was, and the message says so.
    std::fs::write(&out, b"earlier weights").unwrap();
    let o = train(dir.path(), &args);
    fails_with(&o, "training diverged");
    let kept = format!("nothing was written ({} is unchanged)", out.display());
    assert!(stderr(&o).contains(&kept), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"earlier weights");
}

#[test]
fn an_output_folder_that_does_not_exist_is_refused_before_training() {
    let dir = fixture();
    let out = dir.path().join("missing").join("w.npz");
    fails_with(
        &train(dir.path(), &["--out", out.to_str().unwrap()]),
        "does not exist",
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_between_batches_and_writes_nothing() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let dir = tempfile::tempdir().unwrap();
    let out = out_path(dir.path());
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["train", "--epochs", "1000", "--out", out.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until training is under way (the first epoch line), then interrupt.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("epoch"), "{first}");
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted at epoch"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(err.contains("was not created"), "{err}");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file"
    );
}

#[test]
fn weights_given_to_train_are_refused_not_ignored() {
    let dir = fixture();
    let out = out_path(dir.path());
    let o = out.to_str().unwrap();
    let after = train(dir.path(), &["--weights", "start.npz", "--out", o]);
    let before = Command::new(BIN)
        .args(["--weights", "start.npz", "--data-dir"])
        .arg(dir.path())
        .args(["train", "--out", o])
        .output()
        .unwrap();
    // After `train` it is no option of train's at all; before it, it is refused by name.
    assert_eq!(after.status.code(), Some(2), "{}", stderr(&after));
    fails_with(&after, "unexpected argument '--weights'");
    assert_eq!(before.status.code(), Some(2), "{}", stderr(&before));
    fails_with(&before, "`train` does not read --weights");
    assert!(!out.exists());
}

/// Runs `train` on `data` writing `out`, with the given standard output and error; a
/// closed pipe for stdout when `stdout` is `None`.
fn train_with_streams(
    data: &Path,
    out: &Path,
    extra: &[&str],
    stdout: Option<Stdio>,
    stderr: Stdio,
) -> Output {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(["train", "--epochs", "3", "--batch-size", "10", "--out"])
        .arg(out)
        .args(extra)
        .stdout(stdout.unwrap_or_else(Stdio::piped))
        .stderr(stderr)
        .spawn()
        .unwrap();
    // Closed before the first epoch line: every write to stdout finds no reader.
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

/// Asserts that `out` holds a network `eval` can read.
fn loads(out: &Path) {
    assert!(out.exists(), "{} was not written", out.display());
    assert!(mnist_explorer::weights::load(out).is_ok());
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly_and_the_weights_are_written() {
    let dir = fixture();
    let out = out_path(dir.path());
    let run = train_with_streams(dir.path(), &out, &[], None, Stdio::piped());
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    loads(&out);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_stdout_or_stderr_is_no_panic_and_the_weights_are_written() {
    let dir = fixture();
    let full = || Stdio::from(std::fs::File::create("/dev/full").unwrap());
    let out = out_path(dir.path());
    let run = train_with_streams(dir.path(), &out, &[], Some(full()), Stdio::piped());
    fails_with(&run, "w.npz was written, but standard output failed");
    fails_with(&run, "No space left on device");
    loads(&out);
    // --json sends the epoch lines to stderr; with nowhere to go, they are dropped.
    std::fs::remove_file(&out).unwrap();
    let run = train_with_streams(dir.path(), &out, &["--json"], Some(Stdio::piped()), full());
    assert_eq!(run.status.code(), Some(0));
    loads(&out);
}

#[test]
fn a_network_too_large_to_load_back_is_refused_before_training() {
    let dir = fixture();
    let out = out_path(dir.path());
    let run = train(
        dir.path(),
        &[
            "--hidden",
            "3000000",
            "--batch-size",
            "10",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    fails_with(
        &run,
        "a 16-3000000-10 network's weights take 324000040 bytes",
    );
    assert!(!out.exists());
}
