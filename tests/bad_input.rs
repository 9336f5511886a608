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
    mnist_explorer::weights::save(&common::small_random_network(16), &weights).unwrap();
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
    mnist_explorer::weights::save(&common::small_random_network(16), &weights).unwrap();
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
    // No training split in any form: every name looked for is listed.
    let err = fails(dir.path(), &weights, &["eval", "--split", "train"]);
    assert!(
        err.contains(
            "no train split in {}: none of train-images-idx3-ubyte.gz, train-images-idx3-ubyte, \
             train-labels-idx1-ubyte.gz, train-labels-idx1-ubyte, mnist_784.arff, \
             mnist_784.arff.gz, mnist_train.csv, mnist_train.csv.gz is there"
                .replace("{}", &dir.path().display().to_string())
                .as_str()
        ),
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
        err.contains("w.npz") && err.contains("not a weights file we know"),
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
    assert!(err.contains("array b2 is missing"), "{err}");
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

/// Names of the test split's two files in a folder made by `setup`.
const IMAGES_GZ: &str = "t10k-images-idx3-ubyte.gz";
const LABELS_GZ: &str = "t10k-labels-idx1-ubyte.gz";

/// The arguments of `eval` on `data` with `weights`.
fn eval_args<'a>(data: &'a Path, weights: &'a Path) -> [&'a str; 5] {
    let (data, weights) = (data.to_str().unwrap(), weights.to_str().unwrap());
    ["--data-dir", data, "--weights", weights, "eval"]
}

/// Standard error of a run that must have failed cleanly.
fn failure(out: &std::process::Output) -> String {
    let err = stderr(out);
    assert!(!out.status.success() && !err.contains("panicked"), "{err}");
    err
}

/// Runs `eval`, which must fail within 20 s, and returns stderr.
fn fails_soon(data: &Path, weights: &Path) -> String {
    failure(&common::run_within(20, &eval_args(data, weights)))
}

#[cfg(unix)]
#[test]
fn weights_that_are_not_regular_files_are_refused_at_once() {
    let (dir, _) = setup();
    let fifo = dir.path().join("w.fifo");
    common::mkfifo(&fifo);
    let err = fails_soon(dir.path(), &fifo);
    assert!(
        err.contains("w.fifo: a named pipe (FIFO), not a regular file"),
        "{err}"
    );
    let err = fails_soon(dir.path(), Path::new("/dev/null"));
    assert!(
        err.contains("/dev/null: a character device, not a regular file"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn data_files_that_are_not_regular_files_are_named_for_what_they_are() {
    use std::os::unix::fs::symlink;
    let (dir, weights) = setup();
    let images = dir.path().join(IMAGES_GZ);
    let image_bytes = fs::read(&images).unwrap();
    fs::remove_file(&images).unwrap();
    symlink("/dev/null", &images).unwrap();
    let err = fails_soon(dir.path(), &weights);
    assert!(
        err.contains(&format!(
            "{IMAGES_GZ} is a character device, not an IDX file"
        )),
        "{err}"
    );
    fs::remove_file(&images).unwrap();
    symlink(IMAGES_GZ, &images).unwrap();
    let err = fails_soon(dir.path(), &weights);
    assert!(
        err.contains(IMAGES_GZ) && err.contains("Too many levels of symbolic links"),
        "{err}"
    );
    fs::remove_file(&images).unwrap();
    fs::write(&images, image_bytes).unwrap();
    let labels = dir.path().join(LABELS_GZ);
    fs::remove_file(&labels).unwrap();
    common::mkfifo(&labels);
    let err = fails_soon(dir.path(), &weights);
    assert!(
        err.contains(&format!(
            "{LABELS_GZ} is a named pipe (FIFO), not an IDX file"
        )),
        "{err}"
    );
    fs::remove_file(&labels).unwrap();
    symlink("no-such-file", &labels).unwrap();
    let err = fails_soon(dir.path(), &weights);
    assert!(
        err.contains("a symbolic link to a file that does not exist"),
        "{err}"
    );
}

#[test]
fn a_data_dir_that_is_a_file_says_so() {
    let (dir, weights) = setup();
    let err = fails(&dir.path().join(IMAGES_GZ), &weights, &[]);
    assert!(
        err.contains(&format!("{IMAGES_GZ} is a file, not a folder")),
        "{err}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn peak_memory_counts_the_measured_program_alone() {
    if common::act_as_memory_probe() {
        return;
    }
    // 256 MiB written in this test process must not be charged to the program it measures.
    let ballast = std::hint::black_box(vec![1u8; 256 << 20]);
    let (out, peak) = common::run_measuring_memory(&["--version"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("mnist-explorer"));
    assert!(
        peak > 0 && peak < 64 << 20,
        "peak memory {peak} bytes for --version"
    );
    drop(ballast);
}

/// Peak memory allowed to reject a damaged test split of 20,000 28x28 images (15.7 MB):
/// twice the data, plus what the program takes before it reads any (about 10 MB).
#[cfg(target_os = "linux")]
const MEMORY_FOR_A_DAMAGED_SPLIT: u64 = 48 << 20;

/// Gives the images in `dir` 20,000 labels, runs `eval`, and checks that it fails saying
/// `wanted` within [`MEMORY_FOR_A_DAMAGED_SPLIT`].
#[cfg(target_os = "linux")]
fn damaged_split_fails_lean(dir: &Path, weights: &Path, wanted: &str) {
    fs::write(dir.join(LABELS_GZ), gzip(&encode(&[20_000], &[1; 20_000]))).unwrap();
    let (out, peak) = common::run_measuring_memory(&eval_args(dir, weights));
    let err = failure(&out);
    assert!(err.contains(wanted), "{err}");
    assert!(
        peak < MEMORY_FOR_A_DAMAGED_SPLIT,
        "peak memory {peak} bytes for a 15.7 MB split"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_gzip_file_inflating_far_past_its_header_fails_within_twice_the_data() {
    let (dir, weights) = setup();
    // 20,000 images promised, then 2 GiB of zeros: one 64 MiB gzip member, repeated.
    let header = encode(&[20_000, 28, 28], &[]);
    let zeros = gzip(&vec![0; 64 << 20]);
    let mut bomb = gzip(&header);
    for _ in 0..32 {
        bomb.extend_from_slice(&zeros);
    }
    fs::write(dir.path().join(IMAGES_GZ), &bomb).unwrap();
    damaged_split_fails_lean(
        dir.path(),
        &weights,
        "t10k-images-idx3-ubyte.gz: more data than the header promises",
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_raw_file_far_longer_than_its_header_is_refused_before_it_is_read() {
    let (dir, weights) = setup();
    fs::remove_file(dir.path().join(IMAGES_GZ)).unwrap();
    let path = dir.path().join("t10k-images-idx3-ubyte");
    fs::write(&path, encode(&[20_000, 28, 28], &[])).unwrap();
    // 1 GiB, sparse: only the header takes room on disk.
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    damaged_split_fails_lean(
        dir.path(),
        &weights,
        "header promises 15680000 bytes of data (20000x28x28), the file holds 1073741808",
    );
}

/// A float32 `.npy` header of `shape` (`(4096, 4096)`, `(4096,)`), padded with spaces to
/// a multiple of 64 bytes as numpy pads it.
fn npy_header(shape: &str) -> Vec<u8> {
    let mut text = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(' ');
    }
    text.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((text.len() as u16).to_le_bytes());
    out.extend(text.as_bytes());
    out
}

#[cfg(target_os = "linux")]
#[test]
fn deflated_arrays_whose_shapes_do_not_chain_are_refused_before_they_are_inflated() {
    use std::io::Write;
    let (dir, weights) = setup();
    // 64 MiB and 62.5 MiB of zeros that deflate to a few hundred KB: W2 cannot follow W1.
    let mut zip = zip::ZipWriter::new(fs::File::create(&weights).unwrap());
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    let zeros = vec![0u8; 1 << 20];
    for (name, shape, floats) in [
        ("W1.npy", "(4096, 4096)", 4096 * 4096),
        ("b1.npy", "(4096,)", 4096),
        ("W2.npy", "(4000, 4096)", 4000 * 4096),
        ("b2.npy", "(4096,)", 4096),
    ] {
        zip.start_file(name, deflated).unwrap();
        zip.write_all(&npy_header(shape)).unwrap();
        let mut left = 4 * floats;
        while left > 0 {
            let n = left.min(zeros.len());
            zip.write_all(&zeros[..n]).unwrap();
            left -= n;
        }
    }
    zip.finish().unwrap();
    let (out, peak) = common::run_measuring_memory(&eval_args(dir.path(), &weights));
    let err = failure(&out);
    assert!(
        err.contains("array W2 has shape (4000, 4096), expected (4096, 4096) to follow W1"),
        "{err}"
    );
    assert!(peak < 32 << 20, "peak memory {peak} bytes");
}

/// A stored (uncompressed) zip of `entries`, written to `path`.
fn write_zip(path: &Path, entries: &[(&str, Vec<u8>)]) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn a_duplicate_or_missing_w1_and_a_monstrous_header_are_named_briefly() {
    let (dir, weights) = setup();
    let array = |shape: &str, floats: usize| {
        let mut bytes = npy_header(shape);
        bytes.resize(bytes.len() + 4 * floats, 0);
        bytes
    };
    // The zip writer refuses a second W1.npy, so X1.npy is renamed in the bytes.
    write_zip(
        &weights,
        &[
            ("W1.npy", array("(16, 10)", 160)),
            ("b1.npy", array("(10,)", 10)),
            ("X1.npy", array("(3, 10)", 30)),
        ],
    );
    let bytes = fs::read(&weights).unwrap();
    let mut renamed = bytes.clone();
    for at in 0..bytes.len() - 6 {
        if &bytes[at..at + 6] == b"X1.npy" {
            renamed[at] = b'W';
        }
    }
    fs::write(&weights, renamed).unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("duplicate array W1"), "{err}");

    write_zip(
        &weights,
        &[
            ("W2.npy", array("(16, 10)", 160)),
            ("b2.npy", array("(10,)", 10)),
        ],
    );
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("array W1 is missing"), "{err}");

    // Half a million nested parentheses once made a 1 MB error message.
    let text = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': {}{}, }}\n",
        "(".repeat(500_000),
        ")".repeat(500_000)
    );
    let mut header = b"\x93NUMPY\x02\x00".to_vec();
    header.extend((text.len() as u32).to_le_bytes());
    header.extend(text.as_bytes());
    write_zip(
        &weights,
        &[("W1.npy", header), ("b1.npy", array("(10,)", 10))],
    );
    let err = fails(dir.path(), &weights, &[]);
    assert!(err.contains("array W1"), "{err}");
    assert!(err.len() < 400, "{} bytes of error", err.len());
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
        err.contains("other.npz") && err.contains("not a weights file we know"),
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

#[test]
fn a_pickle_that_calls_anything_but_numpy_is_refused_naming_the_file_and_the_global() {
    let (dir, _) = setup();
    let weights = dir.path().join("sample_weight.pkl");
    // What a malicious pickle does: os.system('touch owned'), refused before any call.
    let marker = dir.path().join("owned");
    let mut p = common::pickler::Pickler::new(2);
    p.op(b"cos\nsystem\n")
        .text(&format!("touch {}", marker.display()))
        .op(&[0x85, b'R', b'.']);
    fs::write(&weights, &p.out).unwrap();
    let err = fails(dir.path(), &weights, &[]);
    assert!(
        err.contains("sample_weight.pkl: pickle global os.system at byte 2 is not accepted"),
        "{err}"
    );
    assert!(!marker.exists());
}

#[cfg(target_os = "linux")]
#[test]
fn a_pickle_whose_shapes_promise_more_than_its_data_fails_lean() {
    use common::pickler::{Array, Pickler, Width};
    let (dir, _) = setup();
    let weights = dir.path().join("lying.pkl");
    // Shapes of 64 MiB of float32, and 16 bytes of data for each array.
    let array = |name, shape: Vec<usize>| Array {
        name,
        shape,
        values: vec![0.5; 4],
    };
    let arrays = [
        array("W1", vec![4096, 4096]),
        array("b1", vec![4096]),
        array("W2", vec![4096, 10]),
        array("b2", vec![10]),
    ];
    fs::write(
        &weights,
        Pickler::new(3).dict(&arrays, |_| (Width::F32, false)),
    )
    .unwrap();
    let (out, peak) = common::run_measuring_memory(&eval_args(dir.path(), &weights));
    let err = failure(&out);
    assert!(
        err.contains(
            "array W1: holds 16 bytes of data; its shape (4096, 4096) of float32 needs 67108864"
        ),
        "{err}"
    );
    assert!(peak < 32 << 20, "peak memory {peak} bytes");
}

/// The header of OpenML's `mnist_784.arff`.
fn arff_header() -> String {
    let pixels: String = (1..=784)
        .map(|i| format!("@ATTRIBUTE pixel{i} NUMERIC\n"))
        .collect();
    format!("@RELATION mnist_784\n{pixels}@ATTRIBUTE class {{0,1,2,3,4,5,6,7,8,9}}\n@DATA\n")
}

/// A data folder holding only `name` with `bytes`.
fn text_data_dir(name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(name), bytes).unwrap();
    dir
}

#[test]
fn an_arff_that_is_not_mnist_784s_70000_rows_is_named_with_its_line() {
    let (_, weights) = setup();
    let row = format!("{}5\n", "0,".repeat(784));
    let dir = text_data_dir(
        "mnist_784.arff",
        (arff_header() + &row.repeat(3)).as_bytes(),
    );
    let err = fails(dir.path(), &weights, &[]);
    assert!(
        err.contains(
            "mnist_784.arff: line 791: the file ends after 3 data rows; it should hold 70000 \
             data rows: 60000 training rows, then 10000 test rows"
        ),
        "{err}"
    );
    let bad = row.replacen("0,", "0,0,", 1);
    let dir = text_data_dir("mnist_784.arff", (arff_header() + &row + &bad).as_bytes());
    let err = fails(dir.path(), &weights, &[]);
    assert!(
        err.contains(
            "mnist_784.arff: line 789: the row has more columns; a label and 784 pixels make 785"
        ),
        "{err}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn text_data_running_past_its_rows_or_its_line_fails_lean() {
    let (_, weights) = setup();
    // 80,000 blank images where mnist_784 has 70,000: a 1,000-row gzip member, repeated.
    let rows = format!("{}5\n", "0,".repeat(784)).repeat(1000);
    let mut arff = gzip(arff_header().as_bytes());
    let member = gzip(rows.as_bytes());
    for _ in 0..80 {
        arff.extend_from_slice(&member);
    }
    let dir = text_data_dir("mnist_784.arff.gz", &arff);
    let (out, peak) = common::run_measuring_memory(&eval_args(dir.path(), &weights));
    let err = failure(&out);
    assert!(
        err.contains("mnist_784.arff.gz: line 70788: a data row past the last"),
        "{err}"
    );
    assert!(peak < 32 << 20, "peak memory {peak} bytes");
    // One line of a gigabyte (a 1 MiB gzip member, repeated): read no further than a row
    // could reach.
    let member = gzip(&vec![b'7'; 1 << 20]);
    let line = member.repeat(1024);
    let dir = text_data_dir("mnist_test.csv.gz", &line);
    let (out, peak) = common::run_measuring_memory(&eval_args(dir.path(), &weights));
    let err = failure(&out);
    assert!(
        err.contains("mnist_test.csv.gz: line 1: the line is longer than 65536 bytes"),
        "{err}"
    );
    assert!(peak < 32 << 20, "peak memory {peak} bytes");
}
