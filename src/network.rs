//! The book's fully connected network: a validated stack of [`Layer`]s (sigmoid hidden layers,
//! a softmax or identity output layer) and the batch forward pass. Weights files are
//! [`crate::weights`].

use ndarray::{Array2, ArrayView2};

use crate::kernels::{self, Input, Packed};
use crate::layer::{self, Layer, OutputLayer};
use crate::normalize::NormMode;
use std::sync::OnceLock;

pub use crate::weights::WeightsFault;

/// A feed-forward network: sigmoid after every layer but the last.
#[derive(Debug, Clone)]
pub struct Network {
    layers: Vec<Layer>,
    /// The kernels' layout of `layers`, built on first use and dropped on `layers_mut`.
    packed: OnceLock<Packed>,
}

impl PartialEq for Network {
    fn eq(&self, other: &Self) -> bool {
        self.layers == other.layers
    }
}

impl Network {
    /// Builds a network, checking that shapes chain and every value is finite.
    ///
    /// # Errors
    /// No layers, a bias whose length differs from its layer's outputs, consecutive layers
    /// whose sizes do not match, or a NaN/Inf anywhere.
    pub fn new(layers: Vec<Layer>) -> Result<Self, WeightsFault> {
        if layers.is_empty() {
            return Err(WeightsFault::NoLayers);
        }
        for (i, layer) in layers.iter().enumerate() {
            let k = i + 1;
            let (inputs, outputs) = layer.w.dim();
            if inputs == 0 || outputs == 0 {
                return Err(WeightsFault::BadShape {
                    name: format!("W{k}"),
                    expected: "non-empty (inputs, outputs)".into(),
                    found: format!("({inputs}, {outputs})"),
                });
            }
            if layer.b.len() != outputs {
                return Err(WeightsFault::BadShape {
                    name: format!("b{k}"),
                    expected: format!("({outputs},)"),
                    found: format!("({},)", layer.b.len()),
                });
            }
            if i > 0 {
                let prev_out = layers[i - 1].w.ncols();
                if inputs != prev_out {
                    return Err(WeightsFault::BadShape {
                        name: format!("W{k}"),
                        expected: format!("({prev_out}, {outputs}) to follow W{i}"),
                        found: format!("({inputs}, {outputs})"),
                    });
                }
            }
            check_finite(&format!("W{k}"), layer.w.iter())?;
            check_finite(&format!("b{k}"), layer.b.iter())?;
        }
        Ok(Self {
            layers,
            packed: OnceLock::new(),
        })
    }

    /// The layers, input side first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Mutable layers, for training; shapes must be kept.
    pub fn layers_mut(&mut self) -> &mut [Layer] {
        self.packed = OnceLock::new();
        &mut self.layers
    }

    /// Inputs the first layer takes.
    pub fn input_size(&self) -> usize {
        self.layers[0].w.nrows()
    }

    /// Outputs of the last layer.
    pub fn output_size(&self) -> usize {
        self.layers[self.layers.len() - 1].w.ncols()
    }

    /// Layer sizes from input to output, e.g. `[784, 50, 100, 10]`.
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.input_size())
            .chain(self.layers.iter().map(|l| l.w.ncols()))
            .collect()
    }

    /// Checks that the network fits images of `inputs` pixels and `classes` classes.
    ///
    /// # Errors
    /// `W1` rows differ from `inputs`, or the last layer's columns from `classes`.
    pub fn check_fits(&self, inputs: usize, classes: usize) -> Result<(), WeightsFault> {
        if self.input_size() != inputs {
            return Err(WeightsFault::BadShape {
                name: "W1".into(),
                expected: format!("({inputs}, _) for images of {inputs} pixels"),
                found: format!("{:?}", self.layers[0].w.dim()),
            });
        }
        if self.output_size() != classes {
            let n = self.layers.len();
            return Err(WeightsFault::BadShape {
                name: format!("W{n}"),
                expected: format!("(_, {classes}) for {classes} classes"),
                found: format!("{:?}", self.layers[n - 1].w.dim()),
            });
        }
        Ok(())
    }

    /// The batch forward pass (fast kernels): one row of `batch` per image, one row of the
    /// result per image.
    pub fn forward(&self, batch: ArrayView2<f32>, output: OutputLayer) -> Array2<f32> {
        // A caller bug, like a mismatched matrix product: fail loudly rather than read the
        // images at the wrong stride.
        assert_eq!(
            batch.ncols(),
            self.input_size(),
            "forward: the batch has {} values per image, the network takes {}",
            batch.ncols(),
            self.input_size()
        );
        match batch.as_slice() {
            Some(values) => self.run_kernels(Input::Values(values), batch.nrows(), output),
            None => {
                let owned = batch.as_standard_layout();
                let values = owned.as_slice().unwrap_or_default();
                self.run_kernels(Input::Values(values), batch.nrows(), output)
            }
        }
    }

    /// The forward pass straight from u8 pixels (`images x input_size()` bytes), normalized
    /// image by image inside the kernel so no f32 copy of the batch is made.
    pub fn forward_pixels(
        &self,
        pixels: &[u8],
        norm: NormMode,
        output: OutputLayer,
    ) -> Array2<f32> {
        assert_eq!(
            pixels.len() % self.input_size(),
            0,
            "forward_pixels: {} bytes are not whole images of {} pixels",
            pixels.len(),
            self.input_size()
        );
        let rows = pixels.len() / self.input_size();
        if norm.whitening().is_some() {
            let values = whitened(pixels, self.input_size(), norm);
            return self.run_kernels(Input::Values(&values), rows, output);
        }
        self.run_kernels(Input::Pixels(pixels, norm), rows, output)
    }

    /// [`Network::forward_pixels`] into `out` (`output_size()` values per image), on the
    /// calling thread alone: for a caller that shares its work between threads itself.
    pub(crate) fn forward_pixels_into(
        &self,
        pixels: &[u8],
        norm: NormMode,
        output: OutputLayer,
        out: &mut [f32],
    ) {
        assert!(
            pixels.len() / self.input_size() * self.output_size() == out.len()
                && pixels.len().is_multiple_of(self.input_size()),
            "forward_pixels_into: {} bytes and {} outputs are not the same whole images",
            pixels.len(),
            out.len()
        );
        if norm.whitening().is_some() {
            let values = whitened(pixels, self.input_size(), norm);
            self.packed()
                .forward_here(Input::Values(&values), output, out);
        } else {
            self.packed()
                .forward_here(Input::Pixels(pixels, norm), output, out);
        }
    }

    fn packed(&self) -> &Packed {
        self.packed
            .get_or_init(|| Packed::new(&self.layers, kernels::Path::current()))
    }

    fn run_kernels(&self, input: Input<'_>, rows: usize, output: OutputLayer) -> Array2<f32> {
        let mut out = Array2::<f32>::zeros((rows, self.output_size()));
        if let Some(slice) = out.as_slice_mut() {
            self.packed().forward(input, output, slice);
        }
        out
    }

    /// The straightforward batch forward pass with ndarray's matrix product, the yardstick
    /// the kernels are tested against.
    pub fn forward_reference(&self, batch: ArrayView2<f32>, output: OutputLayer) -> Array2<f32> {
        layer::forward_reference(&self.layers, batch, output)
    }
}

fn check_finite<'a>(name: &str, values: impl Iterator<Item = &'a f32>) -> Result<(), WeightsFault> {
    for (index, &value) in values.enumerate() {
        if !value.is_finite() {
            return Err(WeightsFault::NonFinite {
                name: name.into(),
                index,
                value,
            });
        }
    }
    Ok(())
}

/// A batch of images whitened by `norm` in one matrix product: the kernels normalize other
/// modes image by image as they read the pixels, but a whitening mixes every pixel of an
/// image into every value, which a single product over the batch does far faster.
fn whitened(pixels: &[u8], pixels_per_image: usize, norm: NormMode) -> Vec<f32> {
    let mut values = vec![0f32; pixels.len()];
    norm.apply_batch(pixels, pixels_per_image, &mut values);
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{argmax, sigmoid};
    use ndarray::array;

    fn tiny() -> Network {
        Network::new(vec![
            Layer {
                w: array![[1.0, -1.0, 0.5], [0.0, 2.0, -0.5]],
                b: array![0.1, 0.0, -0.1],
            },
            Layer {
                w: array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                b: array![0.0, 0.5],
            },
        ])
        .unwrap()
    }

    #[test]
    fn forward_matches_hand_computation() {
        let net = tiny();
        let x = array![[1.0f32, 2.0]];
        let h = [
            sigmoid(1.0 + 0.1),
            sigmoid(-1.0 + 4.0),
            sigmoid(0.5 - 1.0 - 0.1),
        ];
        let scores = [h[0] + h[2], h[1] + h[2] + 0.5];
        let out = net.forward(x.view(), OutputLayer::Identity);
        assert!((out[[0, 0]] - scores[0]).abs() < 1e-6);
        assert!((out[[0, 1]] - scores[1]).abs() < 1e-6);
        let probs = net.forward(x.view(), OutputLayer::Softmax);
        let e1 = (scores[0] - scores[1]).exp();
        assert!((probs[[0, 0]] - e1 / (1.0 + e1)).abs() < 1e-6);
        assert_eq!(argmax(probs.row(0)), argmax(out.row(0)));
    }

    #[test]
    fn shapes_must_chain_and_values_be_finite() {
        let mut layers = tiny().layers().to_vec();
        layers[1].w = Array2::zeros((4, 2));
        assert!(matches!(
            Network::new(layers),
            Err(WeightsFault::BadShape { name, .. }) if name == "W2"
        ));
        let mut layers = tiny().layers().to_vec();
        layers[0].b[1] = f32::NAN;
        assert!(matches!(
            Network::new(layers),
            Err(WeightsFault::NonFinite { name, index: 1, .. }) if name == "b1"
        ));
        assert_eq!(Network::new(vec![]), Err(WeightsFault::NoLayers));
    }

    #[test]
    fn check_fits_names_the_wrong_layer() {
        let net = tiny();
        assert!(net.check_fits(2, 2).is_ok());
        assert!(net.check_fits(3, 2).unwrap_err().to_string().contains("W1"));
        assert!(
            net.check_fits(2, 10)
                .unwrap_err()
                .to_string()
                .contains("W2")
        );
    }
}
