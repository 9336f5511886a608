//! Forward pass over the real MNIST test set at batch 1, 100 and 10000 (one full pass of
//! 10,000 images per iteration), plus the ndarray reference pass at batch 100 for scale.
//! The network has the book's shape with fixed pseudo-random weights: the cost does not
//! depend on the values, only on the shapes and the (real) input sparsity.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use mnist_explorer::dataset::{Dataset, Split};
use mnist_explorer::eval::{evaluate, normalized_batch};
use mnist_explorer::layer::{Layer, OutputLayer};
use mnist_explorer::network::Network;
use mnist_explorer::normalize::NormMode;
use ndarray::{Array1, Array2};

fn book_shaped_network() -> Network {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
    };
    let sizes = [784, 50, 100, 10];
    let layers = sizes
        .windows(2)
        .map(|w| Layer {
            w: Array2::from_shape_fn((w[0], w[1]), |_| next()),
            b: Array1::from_shape_fn(w[1], |_| next()),
        })
        .collect();
    Network::new(layers).expect("valid shapes")
}

fn forward(c: &mut Criterion) {
    let data = Dataset::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data"),
        Split::Test,
    )
    .expect("the shipped test set loads");
    let net = book_shaped_network();
    let mut group = c.benchmark_group("test_set_pass");
    group.sample_size(20);
    for batch in [1, 100, 10_000] {
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter(|| {
                evaluate(
                    &net,
                    &data,
                    NormMode::Div255,
                    batch,
                    OutputLayer::Softmax,
                    |_| true,
                )
                .0
                .correct
            })
        });
    }
    group.bench_function("reference_ndarray_batch_100", |b| {
        b.iter(|| {
            data.batches(100)
                .map(|range| {
                    let x = normalized_batch(&data, range, NormMode::Div255);
                    net.forward_reference(x.view(), OutputLayer::Softmax)[[0, 0]]
                })
                .sum::<f32>()
        })
    });
    group.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
