//! Fixtures shared by the integration tests: the shipped test split and a small network the
//! tests build themselves (no weights file from outside the repository is needed).

#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::PathBuf;

use mnist_explorer::dataset::{Dataset, NUM_CLASSES, Split};
use mnist_explorer::network::{Layer, Network};
use ndarray::{Array1, Array2};

/// The repository's `data/` folder.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
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
