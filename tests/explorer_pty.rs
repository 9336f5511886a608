//! End to end: the real binary in a pseudo-terminal, driven by keys and signals, its screen
//! read back through a vt100 emulator. Runs headless (no display, no tmux).

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use std::ops::ControlFlow;

use mnist_explorer::dataset::{Dataset, Split};
use mnist_explorer::eval::evaluate;
use mnist_explorer::layer::OutputLayer;
use mnist_explorer::normalize::NormMode;
use mnist_explorer::train::{TrainConfig, train};
use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// Generous: CI has two cores, shared with the other tests.
const TIMEOUT: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_mnist-explorer");

/// A running explorer and the emulated screen it draws on.
struct Session {
    parser: vt100::Parser,
    output: Receiver<Vec<u8>>,
    writer: Box<dyn Write + Send>,
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn Child + Send + Sync>,
    /// The last bytes seen, so that a query split across two reads is still recognized.
    tail: Vec<u8>,
    /// Every byte the program wrote.
    raw: Vec<u8>,
    closed: bool,
    started: Instant,
}

impl Session {
    fn spawn(weights: &Path, cols: u16, rows: u16) -> Self {
        let mut cmd = CommandBuilder::new(BIN);
        cmd.arg("--data-dir");
        cmd.arg(common::data_dir());
        cmd.arg("--weights");
        cmd.arg(weights);
        Self::start(cmd, cols, rows)
    }

    /// Runs `cmd` (the explorer, or something that becomes it) in a new terminal.
    fn start(mut cmd: CommandBuilder, cols: u16, rows: u16) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        cmd.env("TERM", "xterm-256color");
        cmd.env("NO_COLOR", "1");
        cmd.env("RUST_BACKTRACE", "0");
        let started = Instant::now();
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let (tx, output) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            // Ends at EOF, or EIO once the child and every copy of the slave side are gone.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        Self {
            parser: vt100::Parser::new(nonzero(rows), nonzero(cols), 0),
            output,
            writer,
            master: pair.master,
            child,
            tail: Vec::new(),
            raw: Vec::new(),
            closed: false,
            started,
        }
    }

    /// Feeds the emulator whatever arrives within `wait`; returns false once output ended.
    fn pump(&mut self, wait: Duration) -> bool {
        match self.output.recv_timeout(wait) {
            Ok(bytes) => {
                self.parser.process(&bytes);
                self.raw.extend_from_slice(&bytes);
                // Answer a cursor-position query as a terminal would.
                let mut seen = std::mem::take(&mut self.tail);
                seen.extend_from_slice(&bytes);
                if seen.windows(4).any(|w| w == b"\x1b[6n") {
                    let (row, col) = self.parser.screen().cursor_position();
                    let answer = format!("\x1b[{};{}R", row + 1, col + 1);
                    self.send(&answer);
                    seen.clear();
                }
                self.tail = seen[seen.len().saturating_sub(3)..].to_vec();
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                false
            }
        }
    }

    /// Pumps until `cond` holds on the screen's text; panics with the screen after TIMEOUT.
    fn wait_for(&mut self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = self.parser.screen().contents();
            if cond(&text) {
                return text;
            }
            if Instant::now() > deadline || (self.closed && !cond(&text)) {
                panic!("waiting for {what}; the screen shows:\n{text}");
            }
            self.pump(Duration::from_millis(50));
        }
    }

    fn wait_for_text(&mut self, needle: &str) -> String {
        self.wait_for(needle, |s| s.contains(needle))
    }

    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn resize(&mut self, cols: u16, rows: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        self.parser
            .screen_mut()
            .set_size(nonzero(rows), nonzero(cols));
    }

    /// Waits for the process to end and for its last output.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the explorer did not exit");
            self.pump(Duration::from_millis(20));
        };
        while !self.closed && Instant::now() < deadline {
            self.pump(Duration::from_millis(100));
        }
        status
    }

    /// Checks that the terminal is handed back as it was found.
    fn assert_restored(&self) {
        let screen = self.parser.screen();
        assert!(!screen.alternate_screen(), "still on the alternate screen");
        assert!(!screen.hide_cursor(), "the cursor is still hidden");
        assert_eq!(
            screen.mouse_protocol_mode(),
            vt100::MouseProtocolMode::None,
            "mouse capture is still on"
        );
    }
}

fn nonzero(n: u16) -> std::num::NonZero<u16> {
    std::num::NonZero::new(n).unwrap()
}

/// Writes the test network and returns its path (inside `dir`).
fn weights_in(dir: &Path) -> std::path::PathBuf {
    let data = common::test_split();
    let path = dir.join("centroids.npz");
    mnist_explorer::weights::save(&common::centroid_network(&data, 2000), &path).unwrap();
    path
}

/// The accuracy the explorer must show for `norm` at its default settings, as text.
fn expected_accuracy(norm: NormMode) -> String {
    let data = common::test_split();
    let net = common::centroid_network(&data, 2000);
    let (tally, _) = evaluate(&net, &data, norm, 100, OutputLayer::Softmax, |_| true);
    format!("{:.2}%", tally.accuracy() * 100.0)
}

/// True when some screen line names `mode` in the modes table and shows `accuracy`.
fn table_shows(screen: &str, mode: &str, accuracy: &str) -> bool {
    screen.lines().any(|l| {
        let words: Vec<&str> = l
            .split(|c: char| c == '│' || c.is_whitespace() || c == '▸')
            .filter(|w| !w.is_empty())
            .collect();
        words.windows(2).any(|w| w[0] == mode && w[1] == accuracy)
    })
}

#[test]
fn browse_switch_mode_resize_and_quit() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights_in(dir.path());
    let (div255, l1) = (
        expected_accuracy(NormMode::Div255),
        expected_accuracy(NormMode::L1),
    );
    assert_ne!(div255, l1, "the fixture should tell the modes apart");

    let mut s = Session::spawn(&weights, 80, 24);
    s.wait_for_text("image 0 (");
    eprintln!("first frame after {:?}", s.started.elapsed());
    s.wait_for("the div255 accuracy", |t| table_shows(t, "div255", &div255));

    s.send("\x1b[C"); // Right arrow
    s.wait_for_text("image 1 (");
    s.send("l");
    s.wait_for_text("image 2 (");
    s.send("\x1b[D"); // Left arrow
    s.wait_for_text("image 1 (");

    s.send("n");
    s.wait_for_text("l1 b100 softmax");
    let screen = s.wait_for("the l1 accuracy", |t| table_shows(t, "l1", &l1));
    assert!(
        table_shows(&screen, "div255", &div255),
        "div255's result should stay in the table:\n{screen}"
    );

    s.send("g42\r");
    s.wait_for_text("image 42 (");

    // A storm of resizes, ending small, then roomy.
    for (cols, rows) in [(100, 30), (81, 25), (120, 40), (90, 26), (60, 20)] {
        s.resize(cols, rows);
    }
    s.wait_for_text("terminal too small: need 80x24, have 60x20");
    // Keys pressed where nothing but the size notice shows do not act.
    s.send("ln");
    s.resize(120, 40);
    s.wait_for("the wide layout", |t| {
        t.contains("accuracy on the whole split")
            && t.contains("image 42 (")
            && t.contains("l1 b100 softmax")
    });

    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

#[test]
fn ctrl_c_and_sigterm_restore_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights_in(dir.path());

    let mut s = Session::spawn(&weights, 80, 24);
    s.wait_for_text("image 0 (");
    s.send("\x03");
    let status = s.wait_exit();
    assert!(status.success(), "Ctrl-C: exit status {status:?}");
    s.assert_restored();

    let mut s = Session::spawn(&weights, 80, 24);
    s.wait_for_text("image 0 (");
    let pid = s.child.process_id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = s.wait_exit();
    assert_eq!(status.exit_code(), 128 + 15, "SIGTERM: {status:?}");
    s.assert_restored();
}

#[test]
fn without_a_terminal_it_points_at_eval_and_show() {
    let out = std::process::Command::new(BIN)
        .args(["--data-dir"])
        .arg(common::data_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(stderr.contains("mnist-explorer eval") && stderr.contains("mnist-explorer show"));
    assert!(out.stdout.is_empty());
    assert!(
        !out.stderr.contains(&0x1b),
        "escape codes in the message: {stderr:?}"
    );
}

#[test]
fn a_dumb_terminal_is_refused_without_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights_in(dir.path());
    // `env` sets TERM for the explorer after the session set its own.
    let mut cmd = CommandBuilder::new("env");
    cmd.arg("TERM=dumb");
    cmd.arg(BIN);
    cmd.arg("--weights");
    cmd.arg(&weights);
    let mut s = Session::start(cmd, 80, 24);
    let status = s.wait_exit();
    assert_eq!(status.exit_code(), 1, "{status:?}");
    let text = String::from_utf8_lossy(&s.raw).into_owned();
    assert!(text.contains("TERM=dumb"), "{text}");
    assert!(text.contains("mnist-explorer eval"), "{text}");
    assert!(!s.raw.contains(&0x1b), "escape codes sent: {text:?}");
}

/// Where [`launch_with_sigwinch_blocked`] finds the explorer and its arguments.
#[cfg(target_os = "linux")]
const LAUNCH_BIN: &str = "MNX_TEST_LAUNCH_BIN";
#[cfg(target_os = "linux")]
const LAUNCH_ARGS: &str = "MNX_TEST_LAUNCH_ARGS";
/// Separates the arguments in [`LAUNCH_ARGS`].
#[cfg(target_os = "linux")]
const ARG_SEPARATOR: char = '\u{1f}';

/// Not a test: the launcher of [`a_resize_whose_signal_never_arrives_is_drawn_anyway`],
/// which runs this test binary in a terminal to start the explorer with SIGWINCH blocked
/// (a signal mask survives exec, and the terminal library resets the mask of what it
/// spawns, so the explorer cannot be spawned with it directly). Without its variables it
/// does nothing.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "the launcher of a_resize_whose_signal_never_arrives_is_drawn_anyway"]
fn launch_with_sigwinch_blocked() {
    use std::os::unix::process::CommandExt;
    let (Some(bin), Some(args)) = (
        std::env::var_os(LAUNCH_BIN),
        std::env::var(LAUNCH_ARGS).ok(),
    ) else {
        return;
    };
    // SAFETY: a zeroed sigset_t is a valid argument for sigemptyset, which initializes it;
    // the calls only change this thread's mask, which exec hands to the explorer.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGWINCH);
        assert_eq!(
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
            0
        );
    }
    let err = std::process::Command::new(bin)
        .args(args.split(ARG_SEPARATOR))
        .exec();
    panic!("could not start the explorer: {err}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_resize_whose_signal_never_arrives_is_drawn_anyway() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights_in(dir.path());
    let mut cmd = CommandBuilder::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "launch_with_sigwinch_blocked", "-q"]);
    cmd.env(LAUNCH_BIN, BIN);
    let (data, weights) = (common::data_dir(), weights.display().to_string());
    let args = ["--data-dir", data.to_str().unwrap(), "--weights", &weights];
    cmd.env(LAUNCH_ARGS, args.join(&ARG_SEPARATOR.to_string()));
    let mut s = Session::start(cmd, 80, 24);
    s.wait_for_text("image 0 (");

    // The test is only worth something if the explorer really never hears of a resize.
    let pid = s.child.process_id().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let blocked = status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .unwrap();
    let blocked = u64::from_str_radix(blocked.trim(), 16).unwrap();
    assert_ne!(
        blocked & (1 << (libc::SIGWINCH - 1)),
        0,
        "SIGWINCH is not blocked"
    );

    s.resize(60, 20);
    s.wait_for_text("terminal too small: need 80x24, have 60x20");
    s.resize(120, 40);
    s.wait_for("the wide layout", |t| {
        t.contains("accuracy on the whole split") && t.contains("image 0 (")
    });
    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

/// The explorer under an interactive bash, as a user runs it, so that Ctrl-Z and `fg` go
/// through a real shell's job control (a process group without a shell's job control ignores
/// stop signals).
#[cfg(target_os = "linux")]
fn explorer_under_bash(weights: &Path) -> Session {
    let mut cmd = CommandBuilder::new("bash");
    cmd.args(["--norc", "--noprofile", "-i"]);
    cmd.env("PS1", "shell$ ");
    let mut s = Session::start(cmd, 100, 30);
    s.wait_for_text("shell$ ");
    let data = common::data_dir();
    s.send(&format!(
        "'{BIN}' --data-dir '{}' --weights '{}'\r",
        data.display(),
        weights.display()
    ));
    s.wait_for_text("image 0 (");
    s
}

/// The explorer's process id: the only child of the shell running it.
#[cfg(target_os = "linux")]
fn explorer_pid(shell: &Session) -> String {
    let bash = shell.child.process_id().unwrap();
    let children = std::fs::read_to_string(format!("/proc/{bash}/task/{bash}/children")).unwrap();
    children.split_whitespace().next().unwrap().to_string()
}

#[cfg(target_os = "linux")]
#[test]
fn ctrl_z_hands_the_terminal_back_and_fg_takes_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights_in(dir.path());
    let mut s = explorer_under_bash(&weights);

    // The shell's screen keeps what it showed before, so each wait counts the lines it
    // expects rather than looking for a word that may still be there from last time.
    let stops = |n: usize| move |t: &str| t.matches("Stopped").count() == n;
    let prompts = |n: usize| move |t: &str| t.matches("shell$").count() == n;

    // Ctrl-Z is a key in raw mode: the explorer must stop itself, terminal restored.
    s.send("\x1a");
    s.wait_for("the shell to report the stop", stops(1));
    s.wait_for("the shell's prompt", prompts(2));
    s.assert_restored();
    s.send("fg\r");
    s.wait_for("the explorer back on its screen", |t| {
        t.contains("image 0 (") && !t.contains("Stopped")
    });
    assert!(
        s.parser.screen().alternate_screen(),
        "not on the alternate screen"
    );
    assert_ne!(
        s.parser.screen().mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "mouse capture is off after fg"
    );
    // Raw mode again: an arrow acts at once (in canonical mode it would wait for Enter and
    // echo as ^[[C).
    s.send("\x1b[C");
    s.wait_for_text("image 1 (");

    // SIGTSTP from elsewhere does the same.
    let pid = explorer_pid(&s);
    let stopped = std::process::Command::new("kill")
        .args(["-TSTP", &pid])
        .status()
        .unwrap();
    assert!(stopped.success());
    s.wait_for("the shell to report the second stop", stops(2));
    s.wait_for("the shell's prompt", prompts(3));
    s.assert_restored();
    s.send("fg\r");
    s.wait_for("the explorer back after SIGTSTP", |t| {
        t.contains("image 1 (") && !t.contains("Stopped")
    });
    s.send("l");
    s.wait_for_text("image 2 (");

    s.send("q");
    s.wait_for("the shell's prompt after quitting", prompts(4));
    s.assert_restored();
    s.send("exit\r");
    let status = s.wait_exit();
    assert!(status.success(), "the shell's exit status {status:?}");
}

#[test]
fn matrix_to_a_cell_s_gallery_to_an_image_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights_in(dir.path());
    // The images of cell 4→9 (true 4, predicted 9), as the explorer must find them.
    let data = common::test_split();
    let net = common::centroid_network(&data, 2000);
    let (_, preds) = evaluate(
        &net,
        &data,
        NormMode::Div255,
        100,
        OutputLayer::Softmax,
        |_| true,
    );
    let cell: Vec<usize> = (0..data.len())
        .filter(|&i| data.label(i) == 4 && preds[i] == 9)
        .collect();
    assert!(cell.len() >= 2, "the fixture confuses some 4s with 9s");
    let div255 = expected_accuracy(NormMode::Div255);

    let mut s = Session::spawn(&weights, 80, 24);
    s.wait_for("the finished pass", |t| table_shows(t, "div255", &div255));
    s.send("c");
    s.wait_for_text("confusion matrix: counts");
    s.send("jjjj");
    s.send("\x1b[C".repeat(9).as_str()); // Right arrow, nine times
    s.wait_for_text("true 4 → predicted 9 (wrong)");
    s.send("\r");
    s.wait_for_text(&format!("gallery: 4→9 · by index · 1 of {}", cell.len()));
    s.wait_for_text(&format!("▸{} 4→9", cell[0]));
    s.send("\x1b[C");
    s.wait_for_text(&format!("▸{} 4→9", cell[1]));
    // Enter: the selected image in the browse view, which now walks the cell.
    s.send("\r");
    s.wait_for_text(&format!("┌ {} · 4→9", cell[1]));
    s.send("\x1b[D"); // Left arrow: the previous image of the cell
    s.wait_for_text(&format!("┌ {} · 4→9", cell[0]));
    // Back to the matrix, its cursor where it was; into the gallery; Esc, Esc: back out.
    s.send("c");
    s.wait_for_text("true 4 → predicted 9 (wrong)");
    s.send("\r");
    s.wait_for_text("gallery: 4→9");
    s.send("\x1b");
    s.wait_for("the matrix again", |t| {
        t.contains("confusion matrix: counts") && !t.contains("gallery: 4→9")
    });
    s.send("\x1b");
    s.wait_for_text(&format!("┌ {} · 4→9", cell[0]));
    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

#[test]
fn the_network_view_opens_moves_its_cursor_scales_the_scores_and_quits() {
    let weights = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("weights")
        .join("mnist-784-50-100-10.npz");
    let mut s = Session::spawn(&weights, 80, 24);
    s.wait_for_text("image 0 (");
    s.send("i");
    s.wait_for_text("activations of image 0 (div255)");
    s.wait_for_text("unit 0 of layer 1");
    s.send("]");
    s.wait_for_text("unit 1 of layer 1");
    s.send("\x1b[B"); // Down: the next layer
    s.wait_for_text("unit 1 of layer 2 (100 units)");
    s.send("[[");
    s.wait_for_text("unit 99 of layer 2 (100 units)");
    s.send("x");
    let screen = s.wait_for_text("scores ×10 (x)");
    // Image 0's largest score is about 20: ×10 overflows the naive softmax.
    s.wait_for("the naive overflow", |t| t.contains("inf/inf = NaN"));
    assert!(screen.contains("softmax"), "{screen}");
    // The worker's measures arrive without any key.
    s.send("\t");
    s.wait_for_text("pixels that matter for p(7)");
    s.wait_for_text("4×4 patches, stride 2, 169 positions");
    s.send("\t");
    s.wait_for("the batch lesson's table", |t| {
        t.lines()
            .any(|l| l.starts_with("matrix ") && !l.contains('…'))
    });
    // → still changes the image, and i goes back to browse.
    s.send("\x1b[C");
    s.wait_for_text("activations of image 1 (div255)");
    s.send("i");
    s.wait_for_text("image 1 (");
    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

#[test]
fn drawing_a_stroke_with_the_keyboard_gets_a_prediction_and_saves_it() {
    let dir = tempfile::tempdir().unwrap();
    let weights =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mnist-784-50-100-10.npz");
    let mut cmd = CommandBuilder::new(BIN);
    cmd.arg("--data-dir");
    cmd.arg(common::data_dir());
    cmd.arg("--weights");
    cmd.arg(&weights);
    // Saved drawings go to the folder the explorer runs in.
    cmd.cwd(dir.path());
    let mut s = Session::start(cmd, 80, 24);
    s.wait_for_text("image 0 (");
    s.send("d");
    s.wait_for_text("nothing drawn yet");

    // A vertical stroke: three pixels left and eight up from the middle, pen down, fourteen
    // down, pen up. The shipped network calls it a 1.
    s.send(&"\x1b[D".repeat(3));
    s.send(&"\x1b[A".repeat(8));
    s.send(" ");
    s.send(&"\x1b[B".repeat(14));
    s.send(" ");
    let screen = s.wait_for("a prediction and the pen up", |t| {
        t.contains("predicted 1") && t.contains("pen up")
    });
    assert!(screen.contains("network input: prepared"), "{screen}");

    s.send("s");
    s.wait_for_text("saved ./digit-001.pgm");
    s.send("s");
    s.wait_for_text("saved ./digit-002.pgm");
    for name in ["digit-001.pgm", "digit-002.pgm"] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        assert!(bytes.starts_with(b"P5\n28 28\n255\n"), "{name}");
        assert_eq!(bytes.len(), 13 + 28 * 28, "{name}");
    }

    s.send("\r1");
    s.wait_for_text("my digits: 1 kept, 1 right");

    // The mouse draws too: clear, then press at one cell and drag down (SGR reports, 1-based).
    s.send("c");
    s.wait_for_text("nothing drawn yet");
    s.send("\x1b[<0;15;3M");
    for row in 4..=13 {
        s.send(&format!("\x1b[<32;15;{row}M"));
    }
    s.send("\x1b[<0;15;13m");
    s.wait_for("the mouse stroke read", |t| t.contains("predicted 1"));

    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

#[test]
fn the_train_by_test_table_is_computed_in_the_background_and_explains_a_cell() {
    let weights = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("weights")
        .join("mnist-784-50-100-10-l2.npz");
    let mut s = Session::spawn(&weights, 80, 24);
    // The l2 network starts in the mode its file records.
    s.wait_for_text("trained on l2");
    s.wait_for("l2 as the current mode", |t| t.contains("▸l2"));
    s.send("M");
    s.wait_for_text("train × test");
    let screen = s.wait_for_text("every network does best on the mode it was trained on");
    assert!(screen.contains("l2*"), "the shown network's row: {screen}");
    assert!(screen.contains("[97.62]"), "{screen}");
    // The cursor starts on l2 fed l2; → to max: the reason for a mismatch.
    s.send("\x1b[C");
    s.wait_for_text("the l2 network fed max");
    s.wait_for_text("≠ max makes each pixel ~9.2× larger than l2 did");
    s.send("M");
    s.wait_for_text("image 0 (");
    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

/// Opens the training view, types `hidden` and `epochs` into its form and starts the run.
fn start_training(s: &mut Session, hidden: &str, epochs: &str) {
    s.send("t");
    s.wait_for_text("train a network from random weights");
    // A digit starts editing the selected field (hidden layers); Enter takes the value.
    s.send(&format!("{hidden}\r"));
    for _ in 0..4 {
        s.send("\x1b[B"); // Down to the epochs
    }
    s.send(&format!("{epochs}\r"));
    s.wait_for_text(&format!("▸ epochs           {epochs}"));
    s.send("\r");
}

#[test]
fn a_one_epoch_training_shows_its_accuracy_and_the_explorer_switches_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights_in(dir.path());
    // What the view will train: one epoch of a 784-16-10 network, `train`'s defaults else.
    let config = TrainConfig {
        hidden: vec![16],
        epochs: 1,
        ..TrainConfig::default()
    };
    let train_split = Dataset::load(&common::data_dir(), Split::Train).unwrap();
    let trained = train(&train_split, Some(&common::test_split()), &config, |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    let accuracy = format!("{:.2}%", trained.epochs[0].test_accuracy.unwrap() * 100.0);

    let mut s = Session::spawn(&weights, 120, 40);
    s.wait_for_text("image 0 (");
    start_training(&mut s, "16", "1");
    let screen = s.wait_for("the epoch's test accuracy", |t| {
        t.contains("training · finished") && t.contains(&accuracy)
    });
    assert!(
        screen.contains("784-16-10 · momentum lr 0.1 cosine"),
        "{screen}"
    );
    s.send("u");
    s.wait_for_text("every view shows the trained network · epoch 1/1");
    s.send("b");
    // The browse view evaluates the trained network: the same accuracy, now in its table.
    s.wait_for("the trained network's accuracy in browse", |t| {
        t.contains("accuracy on the whole split · trained network · epoch 1/1")
            && table_shows(t, "div255", &accuracy)
    });
    // The trained network is in no file: the first q says so, the second quits.
    s.send("q");
    s.wait_for_text("the trained network is not written: q again quits");
    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

#[test]
fn quitting_during_a_training_stops_it_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights_in(dir.path());
    let mut s = Session::spawn(&weights, 80, 24);
    s.wait_for_text("image 0 (");
    // Minutes of epochs: the explorer can only end within the test's timeout if quitting
    // stops the training.
    start_training(&mut s, "50", "2000");
    // Any epoch past the first: an epoch takes less than a tenth of a second, shorter than
    // the screen may stay unread, so waiting for exactly "epoch 2/2000" could miss it.
    s.wait_for("an epoch past the first", |text| {
        text.split("epoch ").skip(1).any(|rest| {
            rest.split_once("/2000")
                .and_then(|(n, _)| n.parse::<u32>().ok())
                .is_some_and(|n| n >= 2)
        })
    });
    // The epochs so far are in no file: the first q says so, the second quits.
    s.send("q");
    s.wait_for_text("the trained network is not written: q again quits");
    let asked = Instant::now();
    s.send("q");
    let status = s.wait_exit();
    eprintln!("exited {:?} after q", asked.elapsed());
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}
