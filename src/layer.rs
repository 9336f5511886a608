//! The pieces of the book's network that the network and the kernels share: one affine layer
//! `a = x·W + b`, the output layer's function (softmax or identity), the activations (sigmoid,
//! row softmax, argmax) and the plain forward pass through a stack of layers, the yardstick
//! the kernels are tested against. Both `network` and `kernels` build on this module, so
//! neither needs the other.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

/// Which function the output layer applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputLayer {
    /// Probabilities: exp(a - max) / sum exp(a - max).
    #[default]
    Softmax,
    /// Raw scores `a`: inference can skip softmax because argmax is unchanged.
    Identity,
}

impl OutputLayer {
    /// The other choice.
    pub fn toggled(self) -> Self {
        match self {
            OutputLayer::Softmax => OutputLayer::Identity,
            OutputLayer::Identity => OutputLayer::Softmax,
        }
    }

    /// Name as on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            OutputLayer::Softmax => "softmax",
            OutputLayer::Identity => "identity",
        }
    }
}

/// One affine layer, `a = x·W + b`, with `W` of shape (inputs, outputs).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Weights, (inputs x outputs).
    pub w: Array2<f32>,
    /// Biases, (outputs).
    pub b: Array1<f32>,
}

/// The straightforward batch forward pass through `layers` (shapes chained, sigmoid after
/// every layer but the last) with ndarray's matrix product: one row of `batch` per image, one
/// row of the result per image.
///
/// # Panics
/// If `layers` is empty or the shapes do not chain, as a matrix product would.
pub fn forward_reference(
    layers: &[Layer],
    batch: ArrayView2<f32>,
    output: OutputLayer,
) -> Array2<f32> {
    let last = layers.len() - 1;
    let mut a = batch.dot(&layers[0].w) + &layers[0].b;
    for (i, layer) in layers.iter().enumerate() {
        if i > 0 {
            a = a.dot(&layer.w) + &layer.b;
        }
        if i < last {
            a.mapv_inplace(sigmoid);
        }
    }
    if output == OutputLayer::Softmax {
        softmax_rows(&mut a);
    }
    a
}

/// Every layer's output for one image (`input`, as many values as the first layer takes),
/// accumulated in f64 from the f32 weights: the sigmoid outputs of each hidden layer, then
/// the last layer's raw scores. Rounded to f32, these are as close to the exact values as
/// f32 can hold, so any f32 pass (the kernels, numpy's) differs from them by its own rounding
/// alone: the yardstick of what `show` and the explorer print for one image.
///
/// # Panics
/// If the shapes do not chain, or `input` is not as long as the first layer's inputs.
pub fn exact_outputs(layers: &[Layer], input: &[f32]) -> Vec<Vec<f64>> {
    let last = layers.len().saturating_sub(1);
    let mut x: Vec<f64> = input.iter().map(|&v| f64::from(v)).collect();
    let mut outputs = Vec::with_capacity(layers.len());
    for (k, layer) in layers.iter().enumerate() {
        assert_eq!(
            x.len(),
            layer.w.nrows(),
            "layer {} takes {} inputs",
            k + 1,
            layer.w.nrows()
        );
        let mut a: Vec<f64> = layer.b.iter().map(|&b| f64::from(b)).collect();
        for (xi, row) in x.iter().zip(layer.w.rows()) {
            if *xi != 0.0 {
                for (aj, &w) in a.iter_mut().zip(row) {
                    *aj += xi * f64::from(w);
                }
            }
        }
        if k < last {
            for v in &mut a {
                *v = 1.0 / (1.0 + (-*v).exp());
            }
        }
        x.clone_from(&a);
        outputs.push(a);
    }
    outputs
}

/// The logistic function 1 / (1 + e^-x).
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Softmax of each row in place, subtracting the row maximum first so that large scores
/// cannot overflow `exp`.
pub fn softmax_rows(a: &mut Array2<f32>) {
    for mut row in a.axis_iter_mut(Axis(0)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        row.mapv_inplace(|v| (v - max).exp());
        let sum: f32 = row.sum();
        row.mapv_inplace(|v| v / sum);
    }
}

/// Index of the largest value in `row` (the first one on ties, as numpy's argmax).
pub fn argmax(row: ArrayView1<f32>) -> usize {
    // The best value kept in a register: re-reading `row[best]` made each comparison wait for
    // a load whose address depended on the previous one (about 10 cycles per value, 6% of a
    // batch-100 eval pass, all of it on the thread that runs the batches).
    let mut values = row.iter().copied();
    let Some(mut max) = values.next() else {
        return 0;
    };
    let mut best = 0;
    for (i, v) in values.enumerate() {
        if v > max {
            best = i + 1;
            max = v;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_is_overflow_safe() {
        let mut a = array![[1010.0f32, 1000.0, 990.0]];
        softmax_rows(&mut a);
        assert!(a.iter().all(|v| v.is_finite()));
        assert!((a.sum() - 1.0).abs() < 1e-6);
        assert!((a[[0, 0]] - 0.999_954_6).abs() < 1e-6);
    }

    #[test]
    fn argmax_takes_the_first_of_ties_and_passes_over_nan() {
        let max_of = |v: &[f32]| argmax(ndarray::ArrayView1::from(v));
        assert_eq!(max_of(&[]), 0);
        assert_eq!(max_of(&[0.1, 0.7, 0.2, 0.7]), 1);
        assert_eq!(max_of(&[0.3, f32::NAN, 0.5]), 2);
        assert_eq!(max_of(&[f32::NAN, 0.5]), 0);
        // A non-contiguous view (a column).
        let m = array![[0.0f32, 1.0], [3.0, 2.0], [3.0, 0.0]];
        assert_eq!(argmax(m.column(0)), 1);
    }

    #[test]
    fn the_exact_pass_agrees_with_the_reference_one() {
        let layers = vec![
            Layer {
                w: array![[1.0f32, -1.0, 0.5], [0.0, 2.0, -0.5]],
                b: array![0.1, 0.0, -0.1],
            },
            Layer {
                w: array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                b: array![0.0, 0.5],
            },
        ];
        let exact = exact_outputs(&layers, &[1.0, 2.0]);
        let h = [1.1f64, 3.0, -0.6].map(|a| 1.0 / (1.0 + (-a).exp()));
        for (got, want) in exact[0].iter().zip(h) {
            assert!((got - want).abs() < 1e-7, "{got} vs {want}");
        }
        let scores =
            forward_reference(&layers, array![[1.0f32, 2.0]].view(), OutputLayer::Identity);
        for (got, want) in exact[1].iter().zip(scores.row(0)) {
            assert!((got - f64::from(*want)).abs() < 1e-6);
        }
        assert!((exact[1][0] - (h[0] + h[2])).abs() < 1e-7);
    }

    #[test]
    fn sigmoid_values() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(100.0) <= 1.0 && sigmoid(-100.0) >= 0.0);
    }
}
