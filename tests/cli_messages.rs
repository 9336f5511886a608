//! How the commands speak: help that lists only what a command reads, one percentage style,
//! mode descriptions without doubled parentheses, errors as plain lines, short last lines.

mod common;

use common::{run, stderr, stdout, write_centroid_weights};

#[test]
fn train_help_does_not_offer_weights_it_never_reads() {
    let help = stdout(&run(&["train", "--help"]));
    assert!(help.contains("--out"), "{help}");
    assert!(!help.contains("--weights"), "{help}");
    // The commands that read a network take it after their name too.
    for command in ["eval", "show", "classify"] {
        let help = stdout(&run(&[command, "--help"]));
        assert!(help.contains("--weights <FILE>"), "{command}: {help}");
    }
    let out = run(&["train", "--weights", "x.npz"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn eval_takes_weights_before_or_after_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let weights = write_centroid_weights(dir.path());
    let weights = weights.to_str().unwrap();
    let before = stdout(&run(&["--weights", weights, "eval", "--json"]));
    let after = stdout(&run(&["eval", "--weights", weights, "--json"]));
    let correct =
        |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()["correct"].clone();
    assert_eq!(correct(&before), correct(&after));
    let shipped = stdout(&run(&["eval", "--json"]));
    assert_ne!(
        correct(&shipped),
        correct(&after),
        "the fixture is not the shipped network"
    );
}

/// Whether `text` holds a percentage written as the explorer writes them (`97.69%`).
fn has_explorer_percent(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .any(|word| {
            word.strip_suffix('%').is_some_and(|n| {
                n.split_once('.')
                    .is_some_and(|(i, d)| !i.is_empty() && d.len() == 2 && n.parse::<f64>().is_ok())
            })
        })
}

#[test]
fn eval_show_and_train_write_percentages_alike() {
    let dir = tempfile::tempdir().unwrap();
    let weights = write_centroid_weights(dir.path());
    let weights = weights.to_str().unwrap();
    let eval = stdout(&run(&["eval", "--weights", weights]));
    let line = eval.lines().find(|l| l.starts_with("accuracy")).unwrap();
    assert!(has_explorer_percent(line), "{line}");
    let show = stdout(&run(&["show", "0", "--weights", weights]));
    let line = show.lines().find(|l| l.contains("prediction")).unwrap();
    assert!(has_explorer_percent(line), "{line}");
    let out = dir.path().join("t.npz");
    let train = run(&[
        "train",
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(train.status.success(), "{}", stderr(&train));
    let text = stdout(&train);
    let epoch = text.lines().find(|l| l.starts_with("epoch")).unwrap();
    assert!(has_explorer_percent(epoch), "{epoch}");
    // Its last line fits an 80-column terminal.
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("wrote ") && has_explorer_percent(last),
        "{text}"
    );
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

#[test]
fn mode_descriptions_never_nest_parentheses() {
    let dir = tempfile::tempdir().unwrap();
    let weights = write_centroid_weights(dir.path());
    for mode in ["raw", "div255", "l1", "l2", "max", "zscore"] {
        let text = stdout(&run(&[
            "eval",
            "--weights",
            weights.to_str().unwrap(),
            "--norm",
            mode,
        ]));
        let header = text.lines().next().unwrap();
        // An aside inside an aside, "(x (0..255, unchanged))", reads badly; a function's
        // parentheses, "sqrt(sum x^2)", are part of the formula.
        let mut depth = 0i32;
        let mut prev = ' ';
        for c in header.chars() {
            match c {
                '(' if depth >= 1 && !prev.is_alphanumeric() => {
                    panic!("{mode}: an aside within an aside: {header}")
                }
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "{mode}: {header}");
            prev = c;
        }
        assert!(header.contains(&format!("norm {mode} = ")), "{header}");
    }
}

#[test]
fn a_single_error_is_one_plain_line_and_a_chain_one_line_per_cause() {
    let out = run(&["show", "99999"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err,
        "error: index 99999 is out of range: the test split has 10000 images (0..=9999)\n"
    );
    let out = run(&["eval", "--weights", "no-such.npz"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_eq!(lines[0], "error: loading the network weights");
    assert!(
        lines[1].starts_with("  caused by: no-such.npz: ") && lines[1].contains("No such file"),
        "{err}"
    );
}

#[test]
fn a_batch_larger_than_the_split_is_run_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let weights = write_centroid_weights(dir.path());
    let text = stdout(&run(&[
        "eval",
        "--weights",
        weights.to_str().unwrap(),
        "--batch-size",
        "20000",
    ]));
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("batch 20000 (more than the split holds: one batch of 10000)"),
        "{header}"
    );
    let text = stdout(&run(&[
        "eval",
        "--weights",
        weights.to_str().unwrap(),
        "--batch-size",
        "10000",
    ]));
    assert!(
        text.lines().next().unwrap().contains("batch 10000, "),
        "{text}"
    );
}
