//! Fixtures shared by the integration tests: the built binary, small IDX files and weights
//! that the tests make themselves.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flate2::{Compression, write::GzEncoder};
use mnist_explorer::app::state::AppState;
use mnist_explorer::app::ui;
use mnist_explorer::dataset::{Dataset, NUM_CLASSES, Split};
use mnist_explorer::idx::encode;
use mnist_explorer::layer::Layer;
use mnist_explorer::network::Network;
use ndarray::{Array1, Array2};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The shipped data folder.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// Runs the built binary with `args` from the crate root.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mnist-explorer"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("the test binary runs")
}

/// Standard error of a run as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Standard output of a run as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Gzip-compresses `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Writes a small valid test split (`n` images of `rows x cols`) into `dir`, gzipped.
pub fn write_split(dir: &Path, n: u32, rows: u32, cols: u32) {
    let pixels: Vec<u8> = (0..n * rows * cols).map(|i| (i * 37 % 256) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte.gz"),
        gzip(&encode(&[n, rows, cols], &pixels)),
    )
    .unwrap();
    std::fs::write(
        dir.join("t10k-labels-idx1-ubyte.gz"),
        gzip(&encode(&[n], &labels)),
    )
    .unwrap();
}

/// The shipped MNIST test split.
pub fn test_split() -> Dataset {
    Dataset::load(&data_dir(), Split::Test).expect("the shipped data/ test split loads")
}

/// A one-layer nearest-centroid classifier: column `c` of W is the mean x/255 image of class
/// `c` over the first `n` images, and `b[c] = -|mean|^2 / 2`, so the largest score
/// `x·mean - |mean|^2/2` belongs to the closest mean. It reaches roughly 80% on MNIST, and
/// differently normalized inputs give it visibly different accuracies.
pub fn centroid_network(data: &Dataset, n: usize) -> Network {
    let pixels = data.pixels_per_image();
    let mut sums = Array2::<f32>::zeros((pixels, NUM_CLASSES));
    let mut counts = [0f32; NUM_CLASSES];
    for i in 0..n.min(data.len()) {
        let c = usize::from(data.label(i));
        counts[c] += 1.0;
        for (p, &v) in data.image(i).iter().enumerate() {
            sums[[p, c]] += f32::from(v) / 255.0;
        }
    }
    for (c, &count) in counts.iter().enumerate() {
        sums.column_mut(c).mapv_inplace(|v| v / count.max(1.0));
    }
    let b = Array1::from_shape_fn(NUM_CLASSES, |c| {
        -sums.column(c).iter().map(|v| v * v).sum::<f32>() / 2.0
    });
    Network::new(vec![Layer { w: sums, b }]).expect("finite, chained shapes")
}

/// A 784-8-10 network with fixed pseudo-random weights (two layers, sigmoid hidden).
pub fn small_random_network(inputs: usize) -> Network {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
    };
    let w1 = Array2::from_shape_fn((inputs, 8), |_| next());
    let b1 = Array1::from_shape_fn(8, |_| next());
    let w2 = Array2::from_shape_fn((8, NUM_CLASSES), |_| next());
    let b2 = Array1::from_shape_fn(NUM_CLASSES, |_| next());
    Network::new(vec![Layer { w: w1, b: b1 }, Layer { w: w2, b: b2 }]).unwrap()
}

/// Writes the nearest-centroid network for the shipped test set into `dir`.
pub fn write_centroid_weights(dir: &Path) -> PathBuf {
    let data = test_split();
    let path = dir.join("centroid.npz");
    centroid_network(&data, data.len()).save(&path).unwrap();
    path
}

/// The explorer's screen for `state`, drawn into a `width` x `height` test backend.
pub fn render(state: &AppState, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::draw(state, frame)).unwrap();
    terminal
}

/// The screen's rows as text.
pub fn rows(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buf = terminal.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

/// Whether some row of the screen contains `needle`.
pub fn shows(terminal: &Terminal<TestBackend>, needle: &str) -> bool {
    rows(terminal).iter().any(|r| r.contains(needle))
}
