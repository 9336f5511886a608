//! One image through the network, everything a learner may want to see of it: the input
//! after normalization, its norms, every hidden layer's activations, the raw scores, the
//! softmax and the prediction; and, for one unit, what flows into it ([`incoming`]). `show`
//! prints it and the explorer draws it; both get it from [`inspect`].

use ndarray::{ArrayView1, Axis};

use crate::layer::{OutputLayer, argmax, exact_outputs};
use crate::network::Network;
use crate::normalize::{NormMode, Norms};
use crate::softmax::Steps;

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
    /// Each hidden layer's sigmoid outputs, input side first (none for a one-layer network),
    /// from the pass accumulated in f64 ([`exact_outputs`]) and rounded to f32.
    pub hidden: Vec<Vec<f32>>,
    /// Each hidden layer's summary, in the order of `hidden`.
    pub hidden_stats: Vec<LayerStats>,
    /// The output layer's scores from the same f64 pass, rounded to f32: what `show --json`
    /// prints and the network view lays open. They differ from `scores` (the kernels', which
    /// decide the prediction) by the kernels' f32 rounding alone.
    pub logits: Vec<f32>,
    /// Norms of the raw pixels.
    pub raw: Norms,
    /// Norms of the input (after the normalization).
    pub after: Norms,
    /// Mean and population standard deviation of the raw pixels.
    pub raw_mean_std: (f64, f64),
    /// Mean and population standard deviation of the input.
    pub after_mean_std: (f64, f64),
}

/// How many of a layer's most active units [`LayerStats`] names.
pub const STRONGEST: usize = 8;

/// A sigmoid output within this of 0 or 1 counts as saturated: its slope there is under 1%
/// of its largest, so the unit barely responds to its input any more.
pub const SATURATION_MARGIN: f32 = 0.01;

/// A summary of one layer's activations for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerStats {
    /// Smallest activation.
    pub min: f32,
    /// Mean activation.
    pub mean: f32,
    /// Largest activation.
    pub max: f32,
    /// Units within [`SATURATION_MARGIN`] of 0 or 1.
    pub saturated: usize,
    /// The [`STRONGEST`] most active units' indices, most active first (ties: lower index).
    pub strongest: Vec<usize>,
}

impl LayerStats {
    /// The summary of `values` (sigmoid outputs, 0..1).
    pub fn of(values: &[f32]) -> Self {
        let (min, max, sum) = values.iter().fold(
            (f32::INFINITY, f32::NEG_INFINITY, 0.0f64),
            |(lo, hi, sum), &v| (lo.min(v), hi.max(v), sum + f64::from(v)),
        );
        let saturated = values
            .iter()
            .filter(|&&v| v <= SATURATION_MARGIN || v >= 1.0 - SATURATION_MARGIN)
            .count();
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
        order.truncate(STRONGEST);
        let n = values.len().max(1);
        Self {
            min: if values.is_empty() { 0.0 } else { min },
            mean: (sum / n as f64) as f32,
            max: if values.is_empty() { 0.0 } else { max },
            saturated,
            strongest: order,
        }
    }
}

/// Runs `pixels` (one image, as many as the network takes) through `net` under `norm`.
///
/// The scores and probabilities come from the same kernels as a whole-split evaluation, so
/// the prediction is the one `eval` makes for this image. The hidden activations, which the
/// kernels never hand out, and the `logits` come from the layer math accumulated in f64
/// ([`exact_outputs`]): any f32 pass (numpy's, the kernels') differs from them only by its
/// own rounding, which under `raw` reaches 1e-4 (sums of hundreds of terms up to 255 × w).
pub fn inspect(net: &Network, pixels: &[u8], norm: NormMode) -> ImageReport {
    let mut input = vec![0.0; pixels.len()];
    norm.apply(pixels, &mut input);
    let batch = ArrayView1::from(&input).insert_axis(Axis(0));
    let scores = net.forward(batch, OutputLayer::Identity);
    let probs = net.forward(batch, OutputLayer::Softmax);
    let mut exact: Vec<Vec<f32>> = exact_outputs(net.layers(), &input)
        .iter()
        .map(|layer| layer.iter().map(|&v| v as f32).collect())
        .collect();
    let logits = exact.pop().unwrap_or_default();
    let hidden = exact;
    ImageReport {
        logits,
        hidden_stats: hidden.iter().map(|h| LayerStats::of(h)).collect(),
        hidden,
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

impl ImageReport {
    /// The stable softmax of [`ImageReport::logits`] in f32: the probabilities that go with
    /// them (`probs` goes with the kernels' `scores`).
    pub fn softmax_of_logits(&self) -> Vec<f32> {
        Steps::of(&self.logits).stable
    }
}

/// What flows into one unit for one image: the layer's inputs, the unit's weights, their
/// products, and the sum that makes its pre-activation.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The layer, 0 for the first (whose inputs are the normalized pixels).
    pub layer: usize,
    /// The unit within the layer.
    pub unit: usize,
    /// The layer's inputs: the network's input, or the previous layer's activations.
    pub inputs: Vec<f32>,
    /// The unit's incoming weights, one per input (a column of the layer's `W`).
    pub weights: Vec<f32>,
    /// `inputs[i] * weights[i]`: each input's contribution.
    pub products: Vec<f32>,
    /// The unit's bias.
    pub bias: f32,
    /// `Σ products + bias`: the pre-activation (the score, for an output unit).
    pub total: f32,
    /// Input indices by the size of their contribution, largest |product| first.
    pub order: Vec<usize>,
}

/// What flows into unit `unit` of layer `layer` (0-based) for the image of `report`, or
/// `None` if there is no such unit.
pub fn incoming(
    net: &Network,
    report: &ImageReport,
    layer: usize,
    unit: usize,
) -> Option<Incoming> {
    let l = net.layers().get(layer)?;
    if unit >= l.w.ncols() {
        return None;
    }
    let inputs = match layer {
        0 => report.input.clone(),
        k => report.hidden.get(k - 1)?.clone(),
    };
    let weights = l.w.column(unit).to_vec();
    let products: Vec<f32> = inputs.iter().zip(&weights).map(|(x, w)| x * w).collect();
    let bias = l.b[unit];
    let total = products.iter().sum::<f32>() + bias;
    let mut order: Vec<usize> = (0..products.len()).collect();
    order.sort_by(|&a, &b| {
        products[b]
            .abs()
            .total_cmp(&products[a].abs())
            .then(a.cmp(&b))
    });
    Some(Incoming {
        layer,
        unit,
        inputs,
        weights,
        products,
        bias,
        total,
        order,
    })
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

    /// A 4 -> 3 -> 2 network: one hidden layer.
    fn deep() -> Network {
        let w1 = Array2::from_shape_fn((4, 3), |(r, c)| (r as f32 - c as f32) * 0.5);
        let w2 = Array2::from_shape_fn((3, 2), |(r, c)| (r + c) as f32 * 0.3 - 0.4);
        Network::new(vec![
            Layer {
                w: w1,
                b: Array1::from_vec(vec![0.1, -0.2, 0.3]),
            },
            Layer {
                w: w2,
                b: Array1::from_vec(vec![0.05, -0.05]),
            },
        ])
        .unwrap()
    }

    #[test]
    fn hidden_activations_are_the_sigmoid_of_the_first_layer() {
        let net = deep();
        let r = inspect(&net, &[0, 51, 255, 102], NormMode::Div255);
        assert_eq!(r.hidden.len(), 1);
        let l = &net.layers()[0];
        for (j, &h) in r.hidden[0].iter().enumerate() {
            let a: f64 = (0..4)
                .map(|i| f64::from(r.input[i]) * f64::from(l.w[[i, j]]))
                .sum::<f64>()
                + f64::from(l.b[j]);
            let want = 1.0 / (1.0 + (-a).exp());
            assert!(
                (f64::from(h) - want).abs() < 1e-6,
                "unit {j}: {h} vs {want}"
            );
        }
        let stats = &r.hidden_stats[0];
        let (lo, hi) = (
            r.hidden[0].iter().copied().fold(1.0, f32::min),
            r.hidden[0].iter().copied().fold(0.0, f32::max),
        );
        assert_eq!((stats.min, stats.max), (lo, hi));
        assert_eq!(r.hidden[0][stats.strongest[0]], hi);
        // The output unit's incoming sum is its score, and the f64 pass's logits are the
        // kernels' scores but for rounding.
        for class in 0..2 {
            let inc = incoming(&net, &r, 1, class).unwrap();
            assert!((inc.total - r.logits[class]).abs() < 1e-5);
            assert!((r.logits[class] - r.scores[class]).abs() < 1e-5);
            assert_eq!(inc.inputs, r.hidden[0]);
        }
        let probs = r.softmax_of_logits();
        for (p, q) in probs.iter().zip(&r.probs) {
            assert!((p - q).abs() < 1e-6);
        }
        assert!(incoming(&net, &r, 1, 2).is_none());
        assert!(incoming(&net, &r, 2, 0).is_none());
        assert!(
            inspect(&super::tests::net(), &[0; 4], NormMode::Raw)
                .hidden
                .is_empty()
        );
    }

    #[test]
    fn a_first_layer_unit_sees_the_input_times_its_weights() {
        let net = deep();
        let r = inspect(&net, &[0, 51, 255, 102], NormMode::Div255);
        let inc = incoming(&net, &r, 0, 2).unwrap();
        assert_eq!(inc.inputs, r.input);
        assert_eq!(inc.weights, net.layers()[0].w.column(2).to_vec());
        for i in 0..4 {
            assert_eq!(inc.products[i], inc.inputs[i] * inc.weights[i]);
        }
        // Pixel 0 is blank and pixel 2's weight is 0: they contribute nothing, come last.
        assert_eq!(inc.order, [3, 1, 0, 2]);
        let sizes: Vec<f32> = inc.order.iter().map(|&i| inc.products[i].abs()).collect();
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn layer_stats_count_saturated_units_and_rank_the_strongest() {
        let s = LayerStats::of(&[0.5, 0.995, 0.002, 0.7, 0.995]);
        assert_eq!(s.saturated, 3);
        assert_eq!(
            s.strongest,
            [1, 4, 3, 0, 2],
            "ties keep the lower index first"
        );
        assert_eq!((s.min, s.max), (0.002, 0.995));
        assert!((s.mean - 0.6384).abs() < 1e-6);
        let empty = LayerStats::of(&[]);
        assert_eq!((empty.min, empty.mean, empty.saturated), (0.0, 0.0, 0));
    }

    #[test]
    fn mean_and_std_are_population_statistics() {
        let r = inspect(&net(), &[0, 0, 255, 255], NormMode::Raw);
        assert_eq!(r.raw_mean_std, (127.5, 127.5));
        assert_eq!(r.after_mean_std, (127.5, 127.5));
        assert_eq!(mean_std(std::iter::empty()), (0.0, 0.0));
    }
}
