//! The shipped data/ is the real MNIST, the z-score constants come from it, and the shipped
//! weights meet the bar the project set for them.

mod common;

use mnist_explorer::dataset::{Dataset, Split};
use mnist_explorer::eval::evaluate;
use mnist_explorer::layer::OutputLayer;
use mnist_explorer::normalize::NormMode;
use mnist_explorer::normalize::{ZSCORE_MEAN, ZSCORE_STD};

#[test]
fn test_split_is_mnist() {
    let test = Dataset::load(&common::data_dir(), Split::Test).unwrap();
    assert_eq!((test.len(), test.rows(), test.cols()), (10_000, 28, 28));
    assert_eq!(&test.labels()[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let mut counts = [0; 10];
    for &l in test.labels() {
        counts[usize::from(l)] += 1;
    }
    assert_eq!(
        counts,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
fn zscore_constants_are_the_training_pixel_statistics() {
    let train = Dataset::load(&common::data_dir(), Split::Train).unwrap();
    assert_eq!(train.len(), 60_000);
    assert_eq!(&train.labels()[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    let pixels = train.images(0..train.len());
    let (mut sum, mut sq) = (0u64, 0u64);
    for &p in pixels {
        sum += u64::from(p);
        sq += u64::from(p) * u64::from(p);
    }
    let n = pixels.len() as f64;
    let mean = sum as f64 / n / 255.0;
    let var = sq as f64 / n / (255.0 * 255.0) - mean * mean;
    assert!((mean - ZSCORE_MEAN).abs() < 1e-12, "{mean}");
    assert!((var.sqrt() - ZSCORE_STD).abs() < 1e-9, "{}", var.sqrt());
}

#[test]
fn shipped_weights_reach_97_5_percent_with_div255() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mnist-784-50-100-10.npz");
    let net = mnist_explorer::weights::load(&path).unwrap().network;
    assert_eq!(
        net.layers().iter().map(|l| l.w.dim()).collect::<Vec<_>>(),
        [(784, 50), (50, 100), (100, 10)]
    );
    let test = Dataset::load(&common::data_dir(), Split::Test).unwrap();
    let (tally, _) = evaluate(
        &net,
        &test,
        NormMode::Div255,
        1000,
        OutputLayer::Softmax,
        |_| true,
    );
    assert!(tally.accuracy() >= 0.975, "{}", tally.accuracy());
}
