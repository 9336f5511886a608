//! Fixtures shared by the training modules' tests: a small configuration, a slice of the real
//! training split, and images of any size with blank, white and random ones.

use crate::dataset::{Dataset, Split};
use crate::normalize::NormMode;
use crate::rng::SplitMix64;
use crate::train::{Optimizer, Schedule, TrainConfig};

/// A small run: Adam at a constant 0.003, 3 epochs of batches of 20, the book's hidden sizes.
pub(super) fn config(seed: u64) -> TrainConfig {
    TrainConfig {
        hidden: vec![50, 100],
        epochs: 3,
        batch_size: 20,
        lr: 0.003,
        optimizer: Optimizer::Adam,
        schedule: Schedule::Constant,
        norm: NormMode::Div255,
        seed,
    }
}

/// The first `n` images of the real training split (data/ is in the repository).
pub(super) fn real_slice(n: usize) -> Dataset {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let data = Dataset::load(&dir, Split::Train).unwrap();
    let labels = data.labels()[..n].to_vec();
    let images = data.images(0..n).to_vec();
    Dataset::from_parts(images, labels, data.rows(), data.cols()).unwrap()
}

/// `count` images of `rows` x `cols`: a blank one, a white one, then random ones with a
/// third of their pixels 0.
pub(super) fn varied_images(rows: usize, cols: usize, count: usize, seed: u64) -> Dataset {
    let n = rows * cols;
    let mut rng = SplitMix64::new(seed);
    let mut images = vec![0u8; n];
    images.extend(std::iter::repeat_n(255u8, n));
    for _ in 2..count {
        images.extend((0..n).map(|_| {
            if rng.below(3) == 0 {
                0
            } else {
                rng.below(256) as u8
            }
        }));
    }
    let labels = (0..count).map(|i| (i % 10) as u8).collect();
    Dataset::from_parts(images, labels, rows, cols).unwrap()
}
