//! Fixtures shared by the integration tests: the built binary, small IDX files and weights
//! that the tests make themselves.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "../../src/weights/pickler.rs"]
pub mod pickler;

use flate2::{Compression, write::GzEncoder};
use mnist_explorer::app::state::AppState;
use mnist_explorer::app::ui;
use mnist_explorer::dataset::{Dataset, NUM_CLASSES, Split};
use mnist_explorer::idx::encode;
use mnist_explorer::layer::Layer;
use mnist_explorer::network::Network;
use mnist_explorer::normalize::NormMode;
use mnist_explorer::weights;
use ndarray::{Array1, Array2};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The shipped data folder.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The built binary with `args`, run from the crate root without colors or backtraces.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mnist-explorer"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    command
}

/// The built binary with `args`, its standard streams piped (stdin empty), started.
fn spawn_piped(args: &[&str]) -> std::process::Child {
    command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test binary starts")
}

/// Runs the built binary with `args` from the crate root.
pub fn run(args: &[&str]) -> Output {
    command(args).output().expect("the test binary runs")
}

/// Runs the built binary like [`run`], but kills it and fails the test if it has not ended
/// after `seconds` (for inputs that used to make it hang).
pub fn run_within(seconds: u64, args: &[&str]) -> Output {
    let mut child = spawn_piped(args);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while child.try_wait().expect("waiting works").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still running after {seconds} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the output is collected")
}

/// The test that, re-run with [`MEMORY_PROBE`] set, acts as the probe of
/// [`run_measuring_memory`]; every test binary that measures memory defines it.
pub const MEMORY_PROBE_TEST: &str = "peak_memory_counts_the_measured_program_alone";

/// Set to a folder, turns [`MEMORY_PROBE_TEST`] into the probe: it runs the arguments
/// found there and writes back the binary's output and peak memory.
pub const MEMORY_PROBE: &str = "MNIST_EXPLORER_MEMORY_PROBE";

/// Runs the built binary like [`run`] and also returns its peak resident memory in bytes.
///
/// Linux charges a program, when it is exec'd, with the peak memory of the process it was
/// spawned from, and a test process running many tests grows to tens of MB; so the binary is
/// spawned from a fresh, small copy of this test binary (the probe) instead.
#[cfg(target_os = "linux")]
pub fn run_measuring_memory(args: &[&str]) -> (Output, u64) {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(dir.path().join("args"), args.join("\0")).expect("the arguments are written");
    let probe = Command::new(std::env::current_exe().expect("this test binary"))
        .args([MEMORY_PROBE_TEST, "--exact", "--test-threads=1", "--quiet"])
        .env(MEMORY_PROBE, dir.path())
        .output()
        .expect("the memory probe runs");
    assert!(
        probe.status.success(),
        "the memory probe failed: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let read = |name: &str| std::fs::read(dir.path().join(name)).expect("the probe wrote it");
    let number = |name: &str| -> i64 {
        String::from_utf8(read(name))
            .expect("text")
            .parse()
            .expect("a number")
    };
    let output = Output {
        status: std::process::ExitStatus::from_raw(number("status") as i32),
        stdout: read("stdout"),
        stderr: read("stderr"),
    };
    (output, number("peak") as u64)
}

/// The probe's side of [`run_measuring_memory`]: when [`MEMORY_PROBE`] is set, runs the
/// binary with the arguments it names, writes what came of it there and returns true.
#[cfg(target_os = "linux")]
// The child is reaped by wait4, which std's Child does not know about.
#[allow(clippy::zombie_processes)]
pub fn act_as_memory_probe() -> bool {
    use std::io::Read;
    let Some(dir) = std::env::var_os(MEMORY_PROBE).map(PathBuf::from) else {
        return false;
    };
    let args = std::fs::read_to_string(dir.join("args")).expect("the arguments");
    let args: Vec<&str> = args.split('\0').filter(|a| !a.is_empty()).collect();
    let mut child = spawn_piped(&args);
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own unwaited child; status and usage are valid for writes.
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as libc::pid_t, "wait4 on the child");
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).expect("written");
    write("stdout", &stdout.join().expect("stdout read"));
    write("stderr", &stderr.join().expect("stderr read"));
    write("status", status.to_string().as_bytes());
    // Linux reports ru_maxrss in KiB.
    write(
        "peak",
        (usage.ru_maxrss as u64 * 1024).to_string().as_bytes(),
    );
    true
}

/// Makes a named pipe at `path` (Unix).
#[cfg(unix)]
pub fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", path.display());
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
    weights::save(&centroid_network(&data, data.len()), &path).unwrap();
    path
}

/// Writes `net` to `path` with a record saying it was trained on `norm`, as `train` does.
pub fn write_recorded(path: &Path, net: &Network, norm: NormMode) {
    let mut details = serde_json::Map::new();
    details.insert("command".into(), "written by a test".into());
    let record = weights::Record::new(norm, details);
    let file = std::fs::File::create(path).unwrap();
    weights::write_npz_recorded(net, &record, file).unwrap();
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

/// `net` pickled as the book's `sample_weight.pkl` is (a dict `W1, b1, …` of numpy arrays),
/// in `protocol`, its values in `width`, the matrices in Fortran order if `fortran`.
pub fn pickle_of(net: &Network, protocol: u8, width: pickler::Width, fortran: bool) -> Vec<u8> {
    let layers = net
        .layers()
        .iter()
        .map(|l| ((l.w.shape(), &l.w), (l.b.shape(), &l.b)));
    pickler::Pickler::new(protocol).layers(layers, width, fortran)
}

/// The shipped network.
pub fn shipped_network() -> Network {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mnist-784-50-100-10.npz");
    weights::load(&path)
        .expect("the shipped weights load")
        .network
}
