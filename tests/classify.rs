//! Digits from image files: MNIST's preprocessing leaves MNIST's own digits (nearly) alone,
//! test images redrawn large on white paper are classified as their originals are, and the
//! `classify` command reads every format it names and reports every bad file by name.

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, ImageFormat, Luma};
use mnist_explorer::image_file;
use mnist_explorer::inspect::inspect;
use mnist_explorer::network::Network;
use mnist_explorer::normalize::NormMode;
use mnist_explorer::preprocess::{FIELD, prepare};

/// The shipped network.
fn shipped() -> (PathBuf, Network) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mnist-784-50-100-10.npz");
    let net = mnist_explorer::weights::load(&path)
        .expect("the shipped weights load")
        .network;
    (path, net)
}

/// Test image `pixels` drawn `zoom` times larger, dark ink on white paper, at `(left, top)`
/// on a `width` x `height` sheet.
fn on_paper(
    pixels: &[u8],
    zoom: u32,
    (left, top): (u32, u32),
    (width, height): (u32, u32),
) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| {
        let (c, r) = (x.wrapping_sub(left) / zoom, y.wrapping_sub(top) / zoom);
        let ink = if x >= left && y >= top && (c as usize) < FIELD && (r as usize) < FIELD {
            pixels[r as usize * FIELD + c as usize]
        } else {
            0
        };
        Luma([255 - ink])
    })
}

fn encode(image: &GrayImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    let gray = DynamicImage::ImageLuma8(image.clone());
    // The GIF encoder takes colors only.
    let image = if format == ImageFormat::Gif {
        DynamicImage::ImageRgba8(gray.to_rgba8())
    } else {
        gray
    };
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("an in-memory image encodes");
    bytes
}

#[test]
fn mnist_digits_come_back_nearly_unchanged() {
    let data = common::test_split();
    let n = data.len();
    let (mut same, mut moved_one, mut scaled) = (0, 0, 0);
    for i in 0..n {
        let original = data.image(i);
        let p = prepare(original, FIELD, FIELD).expect("every test image has ink");
        if p.pixels == original {
            same += 1;
            continue;
        }
        // Otherwise the digit was moved by one pixel (its center of mass sat half a pixel
        // from MNIST's center) or scaled (its ink's longer side is not 20 pixels).
        if p.scale != 1.0 {
            scaled += 1;
        } else if moved_by_one(original, &p.pixels) {
            moved_one += 1;
        }
    }
    eprintln!(
        "of {n} test images: {same} unchanged, {moved_one} moved by one pixel, {scaled} scaled"
    );
    assert!(same * 1000 >= n * 995, "only {same} of {n} unchanged");
    assert_eq!(
        same + moved_one + scaled,
        n,
        "changed beyond a move or a scale"
    );
}

/// Whether `after` is `before` moved by one pixel in some direction.
fn moved_by_one(before: &[u8], after: &[u8]) -> bool {
    let at = |r: i64, c: i64| {
        if (0..FIELD as i64).contains(&r) && (0..FIELD as i64).contains(&c) {
            before[r as usize * FIELD + c as usize]
        } else {
            0
        }
    };
    [
        (1, 0),
        (-1, 0),
        (0, 1),
        (0, -1),
        (1, 1),
        (1, -1),
        (-1, 1),
        (-1, -1),
    ]
    .iter()
    .any(|&(dx, dy)| {
        (0..FIELD * FIELD).all(|k| after[k] == at((k / FIELD) as i64 - dy, (k % FIELD) as i64 - dx))
    })
}

/// How often the network's prediction on test images redrawn by `redraw` (and read back as
/// `classify` reads files) agrees with its prediction on the originals, over the first `n`;
/// prints the figures.
fn agreement(what: &str, n: usize, redraw: impl Fn(usize, &[u8]) -> Vec<u8>) -> usize {
    let data = common::test_split();
    let (_, net) = shipped();
    let mut agree = 0;
    let mut right = (0, 0);
    for i in 0..n {
        let original = data.image(i);
        let digit = image_file::read_bytes(&redraw(i, original))
            .unwrap_or_else(|e| panic!("{what}, image {i}: {e}"));
        assert!(digit.ink.inverted, "image {i}: white paper is inverted");
        let from_file = inspect(&net, &digit.prepared.pixels, NormMode::Div255).predicted;
        let direct = inspect(&net, original, NormMode::Div255).predicted;
        agree += usize::from(from_file == direct);
        let label = usize::from(data.label(i));
        right.0 += usize::from(direct == label);
        right.1 += usize::from(from_file == label);
    }
    eprintln!(
        "{what}: agreement {agree} of {n} ({:.1}%); right: originals {} of {n}, from the files {} of {n}",
        agree as f64 * 100.0 / n as f64,
        right.0,
        right.1
    );
    agree
}

/// An offset that changes with the image.
fn offset(i: usize) -> (u32, u32) {
    (7 + (i as u32 * 13) % 60, 3 + (i as u32 * 7) % 25)
}

#[test]
fn test_images_drawn_4x_on_paper_are_classified_as_their_originals() {
    let n = 300;
    let agree = agreement("4x PNG", n, |i, pixels| {
        encode(
            &on_paper(pixels, 4, offset(i), (200, 150)),
            ImageFormat::Png,
        )
    });
    assert!(agree * 10 >= n * 9, "only {agree} of {n} agree");
}

#[test]
fn test_images_smoothly_resized_as_jpeg_are_classified_as_their_originals() {
    // A harder redrawing than whole pixels: 3.6x with a bilinear filter (so no pixel of the
    // file is a pixel of the original), through JPEG's lossy compression.
    let n = 300;
    let agree = agreement("3.6x bilinear JPEG", n, |i, pixels| {
        let small = on_paper(pixels, 1, (0, 0), (28, 28));
        let large =
            image::imageops::resize(&small, 101, 101, image::imageops::FilterType::Triangle);
        let (left, top) = offset(i);
        let sheet = GrayImage::from_fn(190, 140, |x, y| {
            let (c, r) = (x.wrapping_sub(left), y.wrapping_sub(top));
            if x >= left && y >= top && c < 101 && r < 101 {
                *large.get_pixel(c, r)
            } else {
                Luma([255])
            }
        });
        encode(&sheet, ImageFormat::Jpeg)
    });
    assert!(agree * 10 >= n * 9, "only {agree} of {n} agree");
}

/// Files by name: a format or a fault, and its path.
type Named = Vec<(&'static str, PathBuf)>;

/// A temporary folder with one file per format and one per fault; returns the folder and
/// the good files' paths (by format name) and the bad ones'.
fn files() -> (tempfile::TempDir, Named, Named) {
    let dir = tempfile::tempdir().unwrap();
    let data = common::test_split();
    // Test image 0 is a 7 and image 2 a 1; each format gets one of them.
    let seven = on_paper(data.image(0), 3, (10, 5), (110, 100));
    let one = on_paper(data.image(2), 2, (0, 12), (60, 80));
    let mut good = Vec::new();
    for (name, format, image) in [
        ("png", ImageFormat::Png, &seven),
        ("jpg", ImageFormat::Jpeg, &seven),
        ("bmp", ImageFormat::Bmp, &one),
        ("gif", ImageFormat::Gif, &one),
        ("pgm", ImageFormat::Pnm, &seven),
    ] {
        let path = dir.path().join(format!("digit.{name}"));
        std::fs::write(&path, encode(image, format)).unwrap();
        good.push((name, path));
    }
    let png = encode(&seven, ImageFormat::Png);
    let mut bad = Vec::new();
    for (name, bytes) in [
        ("not an image", b"just some text\n".to_vec()),
        ("truncated", png[..png.len() / 2].to_vec()),
        ("zero size", Vec::new()),
        (
            "huge header",
            b"P5\n100000 100000\n255\n\x01\x02\x03".to_vec(),
        ),
    ] {
        let path = dir.path().join(format!("{}.png", name.replace(' ', "-")));
        std::fs::write(&path, bytes).unwrap();
        bad.push((name, path));
    }
    (dir, good, bad)
}

fn classify(weights: &Path, extra: &[&str], files: &[&PathBuf]) -> std::process::Output {
    let mut args = vec!["--weights", weights.to_str().unwrap(), "classify"];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(|p| p.to_str().unwrap()));
    common::run(&args)
}

#[test]
fn classify_reads_every_format_and_names_every_bad_file() {
    let (weights, _) = shipped();
    let (_dir, good, bad) = files();
    let all: Vec<&PathBuf> = good.iter().chain(&bad).map(|(_, p)| p).collect();
    let out = classify(&weights, &[], &all);
    let (stdout, stderr) = (common::stdout(&out), common::stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for (name, path) in &good {
        let expected = if ["bmp", "gif"].contains(name) { 1 } else { 7 };
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{}: ", path.display())))
            .unwrap_or_else(|| panic!("no line for {name}:\n{stdout}\n{stderr}"));
        assert!(
            line.starts_with(&format!("{}: {expected} (", path.display())),
            "{name}: {line}"
        );
        assert!(line.contains("runner-up"), "{line}");
    }
    for (fault, path, says) in [
        (bad[0].0, &bad[0].1, "not an image"),
        (bad[1].0, &bad[1].1, "cut short"),
        (bad[2].0, &bad[2].1, "empty (0 bytes)"),
        (bad[3].0, &bad[3].1, "too large"),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&path.display().to_string()))
            .unwrap_or_else(|| panic!("{fault}: not named in\n{stderr}"));
        assert!(line.contains(says), "{fault}: {line}");
    }
    assert!(
        stderr.contains("4 of 9 files could not be classified"),
        "{stderr}"
    );

    // Good files alone: success.
    let good_only: Vec<&PathBuf> = good.iter().map(|(_, p)| p).collect();
    let out = classify(&weights, &[], &good_only);
    assert!(out.status.success(), "{}", common::stderr(&out));
}

#[test]
fn classify_json_gives_one_object_per_file_and_show_draws_the_input() {
    let (weights, net) = shipped();
    let (_dir, good, bad) = files();
    let files = [&good[0].1, &bad[0].1, &good[2].1];
    let out = classify(&weights, &["--json", "--norm", "l2"], &files);
    assert_eq!(out.status.code(), Some(1));
    let stdout = common::stdout(&out);
    let objects: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    assert_eq!(objects.len(), 3, "{stdout}");
    for (object, path) in objects.iter().zip(files) {
        assert_eq!(object["file"], path.display().to_string());
    }
    assert!(
        objects[1]["error"]
            .as_str()
            .unwrap()
            .contains("not an image")
    );
    // The JSON's numbers are the network's on the prepared image, under --norm.
    let digit = image_file::read(&good[0].1).unwrap();
    let report = inspect(&net, &digit.prepared.pixels, NormMode::L2);
    assert_eq!(objects[0]["prediction"], report.predicted);
    let probs: Vec<f64> = objects[0]["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(probs.len(), 10);
    for (p, q) in probs.iter().zip(&report.probs) {
        assert!((p - f64::from(*q)).abs() < 1e-6, "{p} {q}");
    }

    let out = classify(&weights, &["--show"], &[&good[0].1]);
    assert!(out.status.success());
    let stdout = common::stdout(&out);
    assert!(stdout.contains("light background inverted"), "{stdout}");
    // 28 rows of the picture after the two lines about the file; the ink reaches full shade.
    let picture: Vec<&str> = stdout.lines().skip(2).collect();
    assert_eq!(picture.len(), FIELD, "{stdout}");
    assert!(stdout.contains('█'));
    assert!(picture.iter().all(|l| l.chars().count() <= 2 * FIELD));
}

#[test]
fn classify_needs_a_network_for_28x28_images() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("small.npz");
    mnist_explorer::weights::save(&common::small_random_network(16), &weights).unwrap();
    let (_files, good, _) = files();
    let out = classify(&weights, &[], &[&good[0].1]);
    let stderr = common::stderr(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("small.npz") && stderr.contains("28x28"),
        "{stderr}"
    );
}
