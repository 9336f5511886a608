//! PCA and ZCA whitening on the shipped MNIST: what whitened data must look like (zero mean,
//! identity covariance on the retained directions), and the commands that use it.

mod common;

use mnist_explorer::dataset::{Dataset, Split};
use mnist_explorer::normalize::NormMode;
use mnist_explorer::whiten::{self, EPSILON, Kind, Whitening};

/// The first `n` training images, as a split of their own (a sample keeps the test quick).
fn sample(n: usize) -> Dataset {
    let train = Dataset::load(&common::data_dir(), Split::Train).unwrap();
    Dataset::from_parts(
        train.images(0..n).to_vec(),
        train.labels()[..n].to_vec(),
        train.rows(),
        train.cols(),
    )
    .unwrap()
}

/// Mean and covariance (population, in f64) of the first `k` values of every row.
fn moments(values: &[f32], n: usize, k: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = values.len() / n;
    let mut mean = vec![0f64; k];
    for row in values.chunks_exact(n) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v) / rows as f64;
        }
    }
    let mut cov = vec![0f64; k * k];
    for row in values.chunks_exact(n) {
        for i in 0..k {
            let a = f64::from(row[i]) - mean[i];
            for j in 0..k {
                cov[i * k + j] += a * (f64::from(row[j]) - mean[j]) / rows as f64;
            }
        }
    }
    (mean, cov)
}

#[test]
fn whitened_training_data_has_zero_mean_and_identity_covariance_on_the_retained_directions() {
    let train = sample(3000);
    let fit = Whitening::fit(&train, |_| true).unwrap();
    let (n, k) = (fit.pixels(), fit.retained());
    assert!(k > 50 && k < n, "{k} of {n} directions kept");
    assert!(fit.variances()[k - 1] > EPSILON && fit.variances()[k] <= EPSILON);

    let mut pca = vec![0f32; train.len() * n];
    fit.apply(Kind::Pca, train.images(0..train.len()), &mut pca);
    assert!(
        pca.chunks_exact(n)
            .all(|row| row[k..].iter().all(|&v| v == 0.0)),
        "the dropped directions' coordinates are 0"
    );
    let (mean, cov) = moments(&pca, n, k);
    let worst_mean = mean.iter().fold(0f64, |m, v| m.max(v.abs()));
    let mut worst_cov = 0f64;
    for i in 0..k {
        for j in 0..k {
            let identity = if i == j { 1.0 } else { 0.0 };
            worst_cov = worst_cov.max((cov[i * k + j] - identity).abs());
        }
    }
    // float32 values, sums over 3000 images: a few 1e-4 at most.
    assert!(worst_mean < 1e-4, "largest |mean| {worst_mean}");
    assert!(worst_cov < 1e-3, "largest |cov - I| {worst_cov}");

    // ZCA is the same whitening turned back into pixel space: its coordinates along the
    // retained directions are PCA's.
    let mut zca = vec![0f32; pca.len()];
    fit.apply(Kind::Zca, train.images(0..train.len()), &mut zca);
    let directions: Vec<Vec<f32>> = (0..k).map(|d| fit.direction(d).unwrap()).collect();
    let mut worst = 0f32;
    for (z, p) in zca.chunks_exact(n).zip(pca.chunks_exact(n)).take(200) {
        for (d, u) in directions.iter().enumerate() {
            let along: f32 = u.iter().zip(z).map(|(a, b)| a * b).sum();
            worst = worst.max((along - p[d]).abs());
        }
    }
    assert!(
        worst < 1e-3,
        "zca along direction vs pca coordinate: {worst}"
    );
}

#[test]
fn a_fit_is_made_once_per_split_and_the_modes_use_the_active_one() {
    let train = sample(1000);
    let first = whiten::prepare(&train).unwrap();
    let again = whiten::prepare(&train).unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "the second call reuses the fit"
    );
    assert!(first.fitted_on(&train));
    let other = sample(1200);
    assert!(!first.fitted_on(&other), "another split is another fit");

    let image = train.image(7);
    let (mut by_mode, mut by_fit) = (vec![0f32; image.len()], vec![0f32; image.len()]);
    NormMode::Zca.apply(image, &mut by_mode);
    first.apply(Kind::Zca, image, &mut by_fit);
    assert_eq!(by_mode, by_fit);
    assert!(by_mode.iter().any(|&v| v != 0.0));
}

#[test]
fn eval_and_show_fit_on_the_training_split_and_say_so() {
    let out = common::run(&["show", "0", "--norm", "zca"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stderr.contains("zca: fitted on 60,000 training images in"),
        "{stderr}"
    );
    assert!(stdout.contains("the network's input under zca"), "{stdout}");
    assert!(
        stdout.contains("= U (U^T(x/255 - mean) / sqrt(var))"),
        "{stdout}"
    );
}
