//! The forms the book's readers have their files in give exactly the results of ours: the
//! weights as a Python pickle (`sample_weight.pkl`), MNIST as OpenML's ARFF and as CSV; each
//! fixture written by the test itself, the data from the shipped IDX files.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use common::pickler::Width;
use common::{gzip, pickle_of, run, shipped_network, stderr, stdout};
use mnist_explorer::dataset::arff::{self, Layout};
use mnist_explorer::dataset::{Dataset, Split};
use mnist_explorer::eval::evaluate;
use mnist_explorer::idx::encode;
use mnist_explorer::layer::OutputLayer;
use mnist_explorer::normalize::NormMode;

/// Images taken from each shipped split: enough for every class, quick to write as text.
const SUBSET: usize = 1000;

/// `eval --predictions -` of the shipped test split with `weights`: the predictions, and
/// what the run said on standard error.
fn predictions(weights: &std::path::Path) -> (String, String) {
    let out = run(&[
        "--weights",
        weights.to_str().unwrap(),
        "eval",
        "--predictions",
        "-",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    (stdout(&out), stderr(&out))
}

#[test]
fn a_pickle_of_the_shipped_network_predicts_exactly_as_its_npz() {
    let dir = tempfile::tempdir().unwrap();
    let net = shipped_network();
    let npz = dir.path().join("net.npz");
    mnist_explorer::weights::save(&net, &npz).unwrap();
    let (want, _) = predictions(&npz);
    assert_eq!(want.lines().count(), 10_000);
    // As the book's file: protocol 3, float32, the matrices column-major; then Python 2's
    // protocol and protocol 4, row-major and float64.
    for (protocol, width, fortran) in [
        (3, Width::F32, true),
        (2, Width::F64, false),
        (4, Width::F64, true),
    ] {
        // Named .npz on purpose: the format is told by content, not by the extension.
        let path = dir
            .path()
            .join(format!("p{protocol}-{width:?}-{fortran}.npz"));
        std::fs::write(&path, pickle_of(&net, protocol, width, fortran)).unwrap();
        let (got, notes) = predictions(&path);
        assert!(got == want, "{} predicts differently", path.display());
        let note = format!(
            "{}: W1 … b3: float64 values converted to float32",
            path.display()
        );
        assert_eq!(notes.contains(&note), width == Width::F64, "{notes}");
    }
}

/// The first [`SUBSET`] images of the shipped `split`.
fn shipped_subset(split: Split) -> Dataset {
    let data = Dataset::load(&common::data_dir(), split).unwrap();
    Dataset::from_parts(
        data.images(0..SUBSET).to_vec(),
        data.labels()[..SUBSET].to_vec(),
        data.rows(),
        data.cols(),
    )
    .unwrap()
}

/// The rows of `data` as text: its pixels comma-separated, the label first or last.
fn text_rows(data: &Dataset, label_first: bool) -> String {
    let mut text = String::new();
    for i in 0..data.len() {
        let pixels: Vec<String> = data.image(i).iter().map(u8::to_string).collect();
        let (pixels, label) = (pixels.join(","), data.label(i));
        if label_first {
            writeln!(text, "{label},{pixels}").unwrap();
        } else {
            writeln!(text, "{pixels},{label}").unwrap();
        }
    }
    text
}

#[test]
fn arff_made_from_the_shipped_idx_reads_and_evaluates_the_same() {
    let (train, test) = (shipped_subset(Split::Train), shipped_subset(Split::Test));
    // As OpenML writes mnist_784: upper-case keywords, the class last; training rows first.
    let mut text = "% MNIST\n@RELATION mnist_784\n".to_string();
    for i in 1..=784 {
        writeln!(text, "@ATTRIBUTE pixel{i} NUMERIC").unwrap();
    }
    text += "@ATTRIBUTE class {0,1,2,3,4,5,6,7,8,9}\n@DATA\n";
    text += &text_rows(&train, false);
    text += &text_rows(&test, false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mnist_784.arff.gz");
    std::fs::write(&path, gzip(text.as_bytes())).unwrap();
    let layout = Layout {
        train: SUBSET,
        test: SUBSET,
    };
    let net = shipped_network();
    for (split, want) in [(Split::Train, train), (Split::Test, test)] {
        let got = arff::read(&path, split, layout).unwrap();
        assert_eq!((got.rows(), got.cols()), (28, 28));
        assert_eq!(got.labels(), want.labels(), "{split}");
        assert!(got.images(0..SUBSET) == want.images(0..SUBSET), "{split}");
        let pass = |data: &Dataset| {
            evaluate(
                &net,
                data,
                NormMode::Div255,
                100,
                OutputLayer::Softmax,
                |_| true,
            )
        };
        let ((got_tally, got_predictions), (want_tally, want_predictions)) =
            (pass(&got), pass(&want));
        assert_eq!(got_predictions, want_predictions, "{split}");
        assert_eq!(got_tally.correct, want_tally.correct, "{split}");
    }
}

/// `eval --json` of `data_dir` with `args`, without the figures that time the run.
fn eval_json(data_dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--data-dir", data_dir.to_str().unwrap(), "eval", "--json"];
    all.extend(args);
    let out = run(&all);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let object = json.as_object_mut().unwrap();
    for timing in ["seconds", "seconds_all", "images_per_second"] {
        assert!(object.remove(timing).is_some(), "{timing}");
    }
    json
}

#[test]
fn csv_made_from_the_shipped_idx_gives_the_same_eval_report() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let (idx, csv, csv_gz) = (dirs[0].path(), dirs[1].path(), dirs[2].path());
    for split in [Split::Test, Split::Train] {
        let data = shipped_subset(split);
        let n = SUBSET as u32;
        let prefix = split.prefix();
        let images = encode(&[n, 28, 28], data.images(0..SUBSET));
        std::fs::write(idx.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        let labels = encode(&[n], data.labels());
        std::fs::write(idx.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
        // Kaggle's header row in one, none (and gzip) in the other.
        let names: Vec<String> = (0..784).map(|i| format!("pixel{i}")).collect();
        let rows = text_rows(&data, true);
        let csv_file = csv.join(format!("mnist_{split}.csv"));
        std::fs::write(csv_file, format!("label,{}\n{rows}", names.join(","))).unwrap();
        let gz_file = csv_gz.join(format!("mnist_{split}.csv.gz"));
        std::fs::write(gz_file, gzip(rows.as_bytes())).unwrap();
    }
    for args in [
        &["--split", "test"][..],
        &["--split", "train", "--norm", "zscore"],
    ] {
        let want = eval_json(idx, args);
        assert_eq!(want["total"], SUBSET);
        assert_eq!(eval_json(csv, args), want, "{args:?}");
        assert_eq!(eval_json(csv_gz, args), want, "{args:?}");
    }
}
