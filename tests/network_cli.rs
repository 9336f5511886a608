//! The built binary's `show --json`, `show --layers`, `show --output identity` and
//! `softmax`, checked against numbers the tests compute themselves: a float64 forward pass
//! on the shipped weights and data, and the book's softmax example.

mod common;

use common::{run, stderr, stdout};
use mnist_explorer::dataset::{Dataset, Split};
use mnist_explorer::network::Network;
use mnist_explorer::normalize::NormMode;
use serde_json::Value;

/// The shipped network.
fn shipped() -> Network {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mnist-784-50-100-10.npz");
    mnist_explorer::weights::load(&path)
        .expect("the shipped weights load")
        .network
}

fn json_of(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    serde_json::from_str(&text).expect("one JSON object")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// The forward pass in float64, written here from the book's formulas: every hidden layer's
/// sigmoid outputs, then the scores.
fn reference(net: &Network, input: &[f32]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut x: Vec<f64> = input.iter().map(|&v| f64::from(v)).collect();
    let mut hidden = Vec::new();
    let layers = net.layers();
    for (k, layer) in layers.iter().enumerate() {
        let a: Vec<f64> = (0..layer.w.ncols())
            .map(|j| {
                f64::from(layer.b[j])
                    + x.iter()
                        .enumerate()
                        .map(|(i, xi)| xi * f64::from(layer.w[[i, j]]))
                        .sum::<f64>()
            })
            .collect();
        if k + 1 == layers.len() {
            return (hidden, a);
        }
        x = a.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
        hidden.push(x.clone());
    }
    unreachable!("a network has at least one layer")
}

#[test]
fn show_json_is_the_forward_pass_to_1e_5_in_every_mode() {
    let net = shipped();
    let data = common::test_split();
    // The same fit the binary makes, so the whitened modes are checked too.
    let train = Dataset::load(&common::data_dir(), Split::Train).expect("training split");
    mnist_explorer::whiten::prepare(&train).expect("whitening fit");
    for index in [0usize, 1, 8, 247, 4444, 9999] {
        for norm in NormMode::ALL {
            let i = index.to_string();
            let v = json_of(&["show", &i, "--json", "--norm", norm.name()]);
            let mut input = vec![0.0f32; data.pixels_per_image()];
            norm.apply(data.image(index), &mut input);
            let (hidden, logits) = reference(&net, &input);
            let at = format!("image {index}, {norm}");
            assert_eq!(v["index"], index, "{at}");
            assert_eq!(v["label"], data.label(index), "{at}");
            assert_eq!(v["norm"], norm.name(), "{at}");
            let acts = v["activations"].as_array().expect("activations");
            assert_eq!(acts.len(), 2, "{at}: one array per hidden layer");
            for (k, (got, want)) in acts.iter().zip(&hidden).enumerate() {
                let got = floats(got);
                assert_eq!(got.len(), want.len(), "{at}, layer {k}");
                for (u, (g, w)) in got.iter().zip(want).enumerate() {
                    assert!((g - w).abs() <= 1e-5, "{at}, h{}[{u}]: {g} vs {w}", k + 1);
                }
            }
            let got = floats(&v["output"]["logits"]);
            assert_eq!(got.len(), 10);
            for (c, (g, w)) in got.iter().zip(&logits).enumerate() {
                assert!((g - w).abs() <= 1e-5, "{at}, logit {c}: {g} vs {w}");
            }
            let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logits.iter().map(|a| (a - max).exp()).sum();
            let softmax = floats(&v["output"]["softmax"]);
            for (c, (p, a)) in softmax.iter().zip(&logits).enumerate() {
                let want = (a - max).exp() / sum;
                assert!((p - want).abs() <= 1e-6, "{at}, p{c}: {p} vs {want}");
            }
            let best = (0..10).max_by(|&a, &b| logits[a].total_cmp(&logits[b]));
            assert_eq!(v["prediction"].as_u64().map(|p| p as usize), best, "{at}");
        }
    }
}

#[test]
fn show_layers_prints_the_same_numbers_readably() {
    let v = json_of(&["show", "3", "--json"]);
    let out = run(&["show", "3", "--layers"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("layers (784-50-100-10):"), "{text}");
    for (k, n) in [(1, 50), (2, 100)] {
        let head = format!("hidden layer {k}: {n} sigmoid outputs");
        assert!(text.contains(&head), "{head}\n{text}");
    }
    assert!(text.contains("output layer: 10 scores (logits) and their softmax"));
    // The rows of layer 1: ten values after each row's first index, 4 decimals.
    let section: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("hidden layer 1"))
        .skip(2)
        .take(5)
        .collect();
    let printed: Vec<f64> = section
        .iter()
        .flat_map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(|x| x.parse::<f64>().unwrap())
        })
        .collect();
    let json = floats(&v["activations"][0]);
    assert_eq!(printed.len(), json.len(), "{section:?}");
    for (p, j) in printed.iter().zip(&json) {
        assert!((p - j).abs() <= 5e-5, "{p} vs {j}");
    }
    let saturated = json
        .iter()
        .filter(|&&a| !(0.01..=0.99).contains(&a))
        .count();
    assert!(
        text.contains(&format!("saturated {saturated} of 50")),
        "{text}"
    );
}

#[test]
fn show_identity_prints_scores_labelled_as_scores() {
    let v = json_of(&["show", "0", "--json"]);
    let out = run(&["show", "0", "--output", "identity"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("scores (identity output: the raw scores, not probabilities"),
        "{text}"
    );
    assert!(!text.contains("softmax:"), "{text}");
    let logits = floats(&v["output"]["logits"]);
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("scores"))
        .skip(1)
        .take(10)
        .collect();
    for (class, row) in rows.iter().enumerate() {
        assert!(!row.contains('%'), "a score is no percentage: {row}");
        let score: f64 = row
            .split_whitespace()
            .find_map(|w| w.parse::<f64>().ok().filter(|_| w.contains('.')))
            .unwrap_or_else(|| panic!("no score in {row}"));
        assert!(
            (score - logits[class]).abs() < 1e-3,
            "{row} vs {}",
            logits[class]
        );
    }
    let predicted = v["prediction"].as_u64().unwrap() as usize;
    assert!(rows[predicted].contains("<- predicted"), "{rows:?}");
    assert!(
        text.contains(&format!("(score {:.4})", logits[predicted])),
        "{text}"
    );
}

#[test]
fn show_json_takes_neither_layers_nor_output() {
    for extra in ["--layers", "--output=identity"] {
        let out = run(&["show", "0", "--json", extra]);
        assert_eq!(out.status.code(), Some(2), "{extra}");
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn softmax_shows_the_naive_one_failing_on_the_books_example() {
    let out = run(&["softmax", "1010", "1000", "990"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "0.99995",
        "4.54e-05",
        "2.06e-09",
        "inf",
        "NaN",
        "the naive softmax fails",
    ] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    let v = json_of(&["softmax", "--json", "1010", "1000", "990"]);
    assert_eq!(v["overflowed"], true);
    assert!(
        v["naive"].as_array().unwrap().iter().all(Value::is_null),
        "{v}"
    );
    let stable = floats(&v["stable"]);
    for (got, want) in stable.iter().zip([0.999_954_6, 4.539_787e-5, 2.061_06e-9]) {
        assert!((got / want - 1.0).abs() < 1e-5, "{got} vs {want}");
    }
    assert!((v["stable_sum"].as_f64().unwrap() - 1.0).abs() < 1e-6);
    assert!(v["naive_sum"].is_null());
}

#[test]
fn softmax_of_small_scores_agrees_both_ways() {
    let v = json_of(&["softmax", "--json", "0.3", "2.9", "-4"]);
    assert_eq!(v["overflowed"], false);
    let (naive, stable) = (floats(&v["naive"]), floats(&v["stable"]));
    for (n, s) in naive.iter().zip(&stable) {
        assert!((n - s).abs() < 1e-6);
    }
    let text = stdout(&run(&["softmax", "0.3", "2.9", "-4"]));
    assert!(text.contains("both agree"), "{text}");
}

#[test]
fn softmax_refuses_what_is_not_a_finite_float32() {
    for (bad, says) in [
        ("inf", "not a finite float32"),
        ("1e39", "not a finite float32"),
        ("seven", "is not a number"),
    ] {
        let out = run(&["softmax", "1", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = stderr(&out);
        assert!(err.contains(says) && err.contains(bad), "{bad}: {err}");
    }
    let out = run(&["softmax"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("<SCORES>"), "{}", stderr(&out));
}

#[test]
fn show_json_needs_no_terminal_and_splits_work() {
    let v = json_of(&["show", "59999", "--json", "--split", "train"]);
    assert_eq!(v["index"], 59999);
    let data = mnist_explorer::dataset::Dataset::load(&common::data_dir(), Split::Train).unwrap();
    assert_eq!(v["label"], data.label(59999));
}
