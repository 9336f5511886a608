//! One image through the network, everything a learner may want to see of it: the input
//! after normalization, its norms, the raw scores, the softmax and the prediction. `show`
//! prints it and the explorer draws it; both get it from [`inspect`].

use ndarray::{ArrayView1, Axis};

use crate::layer::{OutputLayer, argmax};
use crate::network::Network;
use crate::normalize::{NormMode, Norms};

/// One image through the network under one normalization mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageReport {
    /// The network's input: the pixels after the normalization.
    pub input: Vec<f32>,
    /// Raw scores of the output layer (identity).
    pub scores: Vec<f32>,
    /// The softmax of the scores.
    pub probs: Vec<f32>,
    /// The predicted class: argmax of the output (the same for both output layers).
    pub predicted: usize,
    /// Norms of the raw pixels.
    pub raw: Norms,
    /// Norms of the input (after the normalization).
    pub after: Norms,
    /// Mean and population standard deviation of the raw pixels.
    pub raw_mean_std: (f64, f64),
    /// Mean and population standard deviation of the input.
    pub after_mean_std: (f64, f64),
}

/// Runs `pixels` (one image, as many as the network takes) through `net` under `norm`.
///
/// The scores and probabilities come from the same kernels as a whole-split evaluation, so
/// the prediction is the one `eval` makes for this image.
pub fn inspect(net: &Network, pixels: &[u8], norm: NormMode) -> ImageReport {
    let mut input = vec![0.0; pixels.len()];
    norm.apply(pixels, &mut input);
    let batch = ArrayView1::from(&input).insert_axis(Axis(0));
    let scores = net.forward(batch, OutputLayer::Identity);
    let probs = net.forward(batch, OutputLayer::Softmax);
    ImageReport {
        predicted: argmax(scores.row(0)),
        scores: scores.row(0).to_vec(),
        probs: probs.row(0).to_vec(),
        raw: Norms::of_pixels(pixels),
        after: Norms::of_values(&input),
        raw_mean_std: mean_std(pixels.iter().map(|&p| f64::from(p))),
        after_mean_std: mean_std(input.iter().map(|&v| f64::from(v))),
        input,
    }
}

/// Mean and population standard deviation, (0, 0) for no values.
fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (n, sum) = values
        .clone()
        .fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = sum / n as f64;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Layer;
    use ndarray::{Array1, Array2};

    /// A one-layer 4 -> 3 network.
    fn net() -> Network {
        let w = Array2::from_shape_fn((4, 3), |(r, c)| (r as f32 - c as f32) * 0.5);
        let b = Array1::from_vec(vec![0.1, -0.2, 0.3]);
        Network::new(vec![Layer { w, b }]).unwrap()
    }

    #[test]
    fn the_report_agrees_with_the_reference_forward_pass() {
        let pixels = [0u8, 51, 255, 102];
        let r = inspect(&net(), &pixels, NormMode::Div255);
        assert_eq!(r.input, [0.0, 0.2, 1.0, 0.4]);
        let x = Array2::from_shape_vec((1, 4), r.input.clone()).unwrap();
        let scores = net().forward_reference(x.view(), OutputLayer::Identity);
        let probs = net().forward_reference(x.view(), OutputLayer::Softmax);
        for c in 0..3 {
            assert!((r.scores[c] - scores[[0, c]]).abs() < 1e-6);
            assert!((r.probs[c] - probs[[0, c]]).abs() < 1e-6);
        }
        assert_eq!(r.predicted, argmax(scores.row(0)));
        assert_eq!(r.raw, Norms::of_pixels(&pixels));
        assert!((r.after.max - 1.0).abs() < 1e-12);
    }

    #[test]
    fn mean_and_std_are_population_statistics() {
        let r = inspect(&net(), &[0, 0, 255, 255], NormMode::Raw);
        assert_eq!(r.raw_mean_std, (127.5, 127.5));
        assert_eq!(r.after_mean_std, (127.5, 127.5));
        assert_eq!(mean_std(std::iter::empty()), (0.0, 0.0));
    }
}
