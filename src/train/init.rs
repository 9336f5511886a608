//! The starting weights of a run: Glorot initialization from a seeded generator.

use ndarray::{Array1, Array2};

use crate::layer::Layer;
use crate::rng::SplitMix64;

/// Glorot/Xavier uniform initialization (Glorot & Bengio 2010), made for sigmoid-like units:
/// weights from U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), biases 0. Weights are drawn
/// row by row, layer by layer, so a seed fixes them exactly.
pub fn glorot_uniform(sizes: &[usize], rng: &mut SplitMix64) -> Vec<Layer> {
    sizes
        .windows(2)
        .map(|pair| {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let a = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
            let w = Array2::from_shape_simple_fn((fan_in, fan_out), || {
                (2.0 * rng.unit_f32() - 1.0) * a
            });
            Layer {
                w,
                b: Array1::zeros(fan_out),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_weights_stay_within_their_bound() {
        let layers = glorot_uniform(&[784, 50, 10], &mut SplitMix64::new(1));
        let a = (6.0f32 / 834.0).sqrt();
        assert!(layers[0].w.iter().all(|v| v.abs() <= a));
        // Spread: a uniform draw's mean |v| is a/2.
        let mean = layers[0].w.iter().map(|v| v.abs()).sum::<f32>() / layers[0].w.len() as f32;
        assert!((mean - a / 2.0).abs() < 0.02 * a, "{mean}");
        assert!(layers.iter().all(|l| l.b.iter().all(|&b| b == 0.0)));
    }
}
