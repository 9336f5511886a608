//! Every file the program reads may be missing, truncated, corrupt or lying: each case must
//! exit non-zero with a message naming the file and the fault, and never panic.

mod common;

use std::fs;
use std::path::Path;

use common::{gzip, run, stderr, write_split};
use mnist_explorer::idx::encode;
use ndarray::{Array1, Array2};
use ndarray_npy::NpzWriter;

/// Runs `eval` on `data` with `weights` and returns stderr, asserting a clean failure.
fn fails(data: &Path, weights: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "--data-dir",
        data.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
    ];
    args.extend_from_slice(if extra.is_empty() { &["eval"] } else { extra });
    let out = run(&args);
    let err = stderr(&out);
    assert!(!out.status.success(), "should fail: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert!(
        !err.contains("RUST_BACKTRACE"),
        "no backtrace hints for user errors: {err}"
    );
    err
}

/// A valid data dir with 20 4x4 images and a matching 16-8-10 network.
fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), 20, 4, 4);
    let weights = dir.path().join("w.npz");
    common::small_random_network(16).save(&weights).unwrap();
    (dir, weights)
}

#[test]
fn the_setup_itself_is_valid() {
    let (dir, weights) = setup();
    let out = run(&[
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "eval",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(common::stdout(&out).contains("/ 20 correct"));
}

#[test]
fn an_empty_split_or_a_folder_in_place_of_a_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), 0, 4, 4);
    let weights = dir.path().join("w.npz");
    common::small_random_network(16).save(&weights).unwrap();
    for cmd in [&["eval"][..], &["show", "0"]] {
        let err = fails(dir.path(), &weights, cmd);
        assert!(
            err.contains("test split in") && err.contains("holds no image"),
            "{cmd:?}: {err}"
        );
    }
    for kind in ["images-idx3", "labels-idx1"] {
        let from = dir.path().join(format!("t10k-{kind}-ubyte.gz"));
        fs::copy(from, dir.path().join(format!("train-{kind}-ubyte.gz"))).unwrap();
    }
    let out = dir.path().join("x.npz");
    let data = dir.path().to_str().unwrap();
    let run_train = run(&["--data-dir", data, "train", "--out", out.to_str().unwrap()]);
    let err = stderr(&run_train);
    assert!(
        !run_train.status.success() && !err.contains("panicked"),
        "{err}"
    );
    assert!(
        err.contains("train split in") && err.contains("holds no image"),
        "{err}"
    );
    assert!(!out.exists());
    let labels = dir.path().join("t10k-labels-idx1-ubyte.gz");
    fs::remove_file(&labels).unwrap();
    fs::create_dir(&labels).unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(
        err.contains("t10k-labels-idx1-ubyte.gz is a directory"),
        "{err}"
    );
}

#[test]
fn missing_data_dir_and_files() {
    let (dir, weights) = setup();
    let err = fails(&dir.path().join("nope"), &weights, &[]);
    assert!(
        err.contains("nope") && err.contains("does not exist"),
        "{err}"
    );
    fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("t10k-labels-idx1-ubyte.gz not found"), "{err}");
    let err = fails(dir.path(), &weights, &["eval", "--split", "train"]);
    assert!(
        err.contains("train-images-idx3-ubyte.gz not found"),
        "{err}"
    );
}

#[test]
fn truncated_and_corrupt_gzip() {
    let (dir, weights) = setup();
    let path = dir.path().join("t10k-images-idx3-ubyte.gz");
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("t10k-images-idx3-ubyte.gz"), "{err}");
    assert!(err.contains("gzip"), "{err}");
    let mut corrupt = bytes.clone();
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[12..mid] {
        *b = !*b;
    }
    fs::write(&path, &corrupt).unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("corrupt or truncated gzip"), "{err}");
}

#[test]
fn wrong_magic_and_dtype() {
    let (dir, weights) = setup();
    let path = dir.path().join("t10k-images-idx3-ubyte.gz");
    let mut idx = encode(&[20, 4, 4], &[0; 320]);
    idx[0] = 0x50; // "PK": a zip, say, not an IDX file
    fs::write(&path, gzip(&idx)).unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("not an IDX file"), "{err}");
    let mut idx = encode(&[20, 4, 4], &[0; 320]);
    idx[2] = 0x0d; // float32
    fs::write(&path, gzip(&idx)).unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("dtype 0x0d"), "{err}");
}

#[test]
fn header_claiming_2_pow_31_images_in_a_100_byte_file() {
    let (dir, weights) = setup();
    let mut idx = encode(&[1 << 31, 28, 28], &[]);
    idx.resize(100, 0);
    // Uncompressed on purpose: the reader tells formats apart by content, not by name.
    fs::write(dir.path().join("t10k-images-idx3-ubyte.gz"), &idx).unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("header promises"), "{err}");
    assert!(err.contains("2147483648x28x28"), "{err}");
}

#[test]
fn images_and_labels_disagree_in_count() {
    let (dir, weights) = setup();
    fs::write(
        dir.path().join("t10k-labels-idx1-ubyte.gz"),
        gzip(&encode(&[19], &[1; 19])),
    )
    .unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("20 images but"), "{err}");
    assert!(err.contains("19 labels"), "{err}");
}

#[test]
fn label_out_of_range() {
    let (dir, weights) = setup();
    let mut labels = vec![3u8; 20];
    labels[7] = 12;
    fs::write(
        dir.path().join("t10k-labels-idx1-ubyte"),
        encode(&[20], &labels),
    )
    .unwrap();
    fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("label 12 at index 7"), "{err}");
    assert!(err.contains("t10k-labels-idx1-ubyte"), "{err}");
}

fn write_npz(path: &Path, arrays: &[(&str, Array2<f32>)], biases: &[(&str, Array1<f32>)]) {
    let mut npz = NpzWriter::new(fs::File::create(path).unwrap());
    for (name, a) in arrays {
        npz.add_array(*name, a).unwrap();
    }
    for (name, b) in biases {
        npz.add_array(*name, b).unwrap();
    }
    npz.finish().unwrap();
}

#[test]
fn weights_missing_or_not_npz() {
    let (dir, weights) = setup();
    let err = fails(dir.path(), &dir.path().join("absent.npz"), &[]);
    assert!(
        err.contains("absent.npz") && err.contains("No such file"),
        "{err}"
    );
    fs::write(&weights, b"this is not a zip archive at all").unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(
        err.contains("w.npz") && err.contains("not a valid .npz"),
        "{err}"
    );
}

#[test]
fn weights_lacking_a_key_or_with_wrong_shapes() {
    let (dir, weights) = setup();
    write_npz(
        &weights,
        &[
            ("W1", Array2::zeros((16, 8))),
            ("W2", Array2::zeros((8, 10))),
        ],
        &[("b1", Array1::zeros(8))],
    );
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("missing array b2"), "{err}");
    write_npz(
        &weights,
        &[
            ("W1", Array2::zeros((16, 8))),
            ("W2", Array2::zeros((7, 10))),
        ],
        &[("b1", Array1::zeros(8)), ("b2", Array1::zeros(10))],
    );
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("W2 has shape"), "{err}");
    // Fine on its own, but built for 28x28 images and 10 classes, not this 4x4 data.
    write_npz(
        &weights,
        &[("W1", Array2::zeros((784, 10)))],
        &[("b1", Array1::zeros(10))],
    );
    let err = fails(dir.path(), &weights, &[]);
    assert!(
        err.contains("W1 has shape") && err.contains("16 pixels"),
        "{err}"
    );
    // float64 instead of float32.
    let mut npz = NpzWriter::new(fs::File::create(&weights).unwrap());
    npz.add_array("W1", &Array2::<f64>::zeros((16, 10)))
        .unwrap();
    npz.add_array("b1", &Array1::<f32>::zeros(10)).unwrap();
    npz.finish().unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("array W1") && err.contains("float32"), "{err}");
}

#[test]
fn weights_holding_nan() {
    let (dir, weights) = setup();
    let mut w2 = Array2::zeros((8, 10));
    w2[[3, 4]] = f32::NAN;
    write_npz(
        &weights,
        &[("W1", Array2::zeros((16, 8))), ("W2", w2)],
        &[("b1", Array1::zeros(8)), ("b2", Array1::zeros(10))],
    );
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("W2") && err.contains("non-finite"), "{err}");
}

#[test]
fn show_index_out_of_range_and_batch_size_zero() {
    let (dir, weights) = setup();
    let err = fails(dir.path(), &weights, &["show", "20"]);
    assert!(
        err.contains("index 20 is out of range") && err.contains("20 images"),
        "{err}"
    );
    let err = fails(dir.path(), &weights, &["eval", "--batch-size", "0"]);
    assert!(
        err.contains("--batch-size") && err.contains("at least 1"),
        "{err}"
    );
    let err = fails(dir.path(), &weights, &["show", "-1"]);
    assert!(err.contains("-1"), "{err}");
}

#[test]
fn rust_backtrace_in_the_environment_does_not_dump_a_stack_on_user_errors() {
    let (dir, _) = setup();
    let missing = dir.path().join("missing.npz");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mnist-explorer"))
        .args(["--weights", missing.to_str().unwrap(), "eval"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "1")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("missing.npz"), "{err}");
    assert!(
        !err.contains("BACKTRACE"),
        "a stack for a missing file: {err}"
    );
    assert!(err.lines().count() <= 5, "{err}");
}

#[test]
fn a_second_network_that_is_missing_corrupt_or_does_not_fit_is_named() {
    let (dir, weights) = setup();
    let other = dir.path().join("other.npz");
    let other_arg = other.to_str().unwrap();
    let err = fails(dir.path(), &weights, &["eval", "--compare", other_arg]);
    assert!(
        err.contains("other.npz") && err.contains("No such file") && err.contains("--compare"),
        "{err}"
    );
    fs::write(&other, b"not a zip").unwrap();
    let err = fails(dir.path(), &weights, &["eval", "--compare", other_arg]);
    assert!(
        err.contains("other.npz") && err.contains("not a valid .npz"),
        "{err}"
    );
    // Built for 28x28 images, not this 4x4 data.
    write_npz(
        &other,
        &[("W1", Array2::zeros((784, 10)))],
        &[("b1", Array1::zeros(10))],
    );
    let err = fails(dir.path(), &weights, &["eval", "--compare", other_arg]);
    assert!(
        err.contains("other.npz") && err.contains("16 pixels"),
        "{err}"
    );
}
