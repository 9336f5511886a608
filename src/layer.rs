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
    fn sigmoid_values() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(100.0) <= 1.0 && sigmoid(-100.0) >= 0.0);
    }
}
