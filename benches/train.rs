//! Training speed: one step (batch 100, one thread) and one epoch (60,000 images, batch 100)
//! of the 784-50-100-10 network, with plain SGD on one thread and on the whole pool, and with
//! Adam on the whole pool, as issue 5 measures it against the numpy peer.
//!
//! `cargo bench --bench train`; the numpy side-by-side is `benches/compare.py train`.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use mnist_explorer::dataset::{Dataset, Split};
use mnist_explorer::kernels::Path as Kernel;
use mnist_explorer::network::Network;
use mnist_explorer::normalize::NormMode;
use mnist_explorer::rng::SplitMix64;
use mnist_explorer::train::{Optimizer, SparseImages, Trainer, glorot_uniform};

const BATCH: usize = 100;

fn setup() -> (SparseImages, Network, Vec<usize>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let data = match Dataset::load(&dir, Split::Train) {
        Ok(d) => d,
        Err(e) => panic!("the benchmark needs the MNIST files in data/: {e}"),
    };
    let sparse = SparseImages::new(&data, NormMode::Div255);
    let mut rng = SplitMix64::new(1);
    let net = match Network::new(glorot_uniform(&[784, 50, 100, 10], &mut rng)) {
        Ok(n) => n,
        Err(e) => panic!("{e}"),
    };
    let mut order: Vec<usize> = (0..sparse.len()).collect();
    rng.shuffle(&mut order);
    (sparse, net, order)
}

fn bench(c: &mut Criterion) {
    let (sparse, net, order) = setup();
    for kernel in Kernel::ALL {
        if !kernel.supported() {
            continue;
        }
        let mut trainer = Trainer::new(&net, Optimizer::Sgd, 0.1, BATCH);
        trainer.set_kernel(kernel);
        trainer.set_threads(1);
        let mut batches = order.chunks(BATCH).cycle();
        c.bench_function(
            &format!("train step batch 100 sgd {}", kernel.name()),
            |b| {
                b.iter(|| {
                    let batch = batches.next().unwrap_or(&order[..BATCH]);
                    trainer.step(&sparse, batch)
                })
            },
        );
    }
    let mut group = c.benchmark_group("train epoch");
    group.sample_size(10);
    let pool = rayon::current_num_threads();
    for (optimizer, threads) in [
        (Optimizer::Sgd, 1),
        (Optimizer::Sgd, pool),
        (Optimizer::Adam, pool),
    ] {
        let mut trainer = Trainer::new(&net, optimizer, optimizer.default_lr(), BATCH);
        trainer.set_threads(threads);
        let name = format!(
            "60k images batch 100 {} {threads} thread(s)",
            optimizer.name()
        );
        group.bench_function(&name, |b| {
            b.iter(|| {
                // On a pool thread, as `train` runs its epochs.
                rayon::scope(|_| {
                    for batch in order.chunks(BATCH) {
                        trainer.step(&sparse, batch);
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
