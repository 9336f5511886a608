//! The book's fully connected network: a validated stack of [`Layer`]s (sigmoid hidden layers,
//! a softmax or identity output layer), the batch forward pass, and `.npz` weights load/save.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2, Ix1, Ix2};
use ndarray_npy::{NpzWriter, ViewNpyExt};

use crate::kernels::{self, Input, Packed};
use crate::layer::{self, Layer, OutputLayer};
use crate::normalize::NormMode;
use std::sync::OnceLock;

/// Largest `.npy` entry read from a weights file; real networks here are well under 1 MB,
/// and the cap keeps a forged zip entry from exhausting memory.
const MAX_ENTRY_BYTES: u64 = 256 << 20;

/// What is wrong with a set of weights (the file is named by [`WeightsError`]).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WeightsFault {
    /// Not a zip archive, or a damaged one.
    #[error("not a valid .npz (zip) file: {0}")]
    NotNpz(String),
    /// No `W1` array.
    #[error("no layers: the file has no array named W1")]
    NoLayers,
    /// `Wk` exists without `bk`, or `bk` alone.
    #[error("missing array {0}")]
    MissingKey(String),
    /// An array could not be read as float32 of the right rank.
    #[error("array {name}: {message}")]
    BadArray {
        /// The array's key.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// Shapes that do not chain, or do not fit the data.
    #[error("array {name} has shape {found}, expected {expected}")]
    BadShape {
        /// The array's key.
        name: String,
        /// The shape needed.
        expected: String,
        /// The shape found.
        found: String,
    },
    /// An array that is not one of the layers' `Wk` / `bk` (numbered from 1, no gaps).
    #[error(
        "unexpected array {name}: after {read}, the layers stop (they are numbered from 1 \
         without gaps), and a weights file holds nothing else"
    )]
    UnexpectedKey {
        /// The entry's name, without `.npy`.
        name: String,
        /// The layers read, as "W1, b1" or "W1, b1 … W3, b3".
        read: String,
    },
    /// A NaN or infinite value.
    #[error("array {name} holds a non-finite value ({value}) at flat index {index}")]
    NonFinite {
        /// The array's key.
        name: String,
        /// Flat index of the first bad value.
        index: usize,
        /// The value.
        value: f32,
    },
}

/// A weights-file problem, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file cannot be opened, read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The contents are wrong.
    #[error("{}: {fault}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        fault: WeightsFault,
    },
}

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

    /// Loads `W1, b1, …, Wn, bn` (float32) from a numpy `.npz` file.
    ///
    /// # Errors
    /// The file is missing or unreadable, not an npz, lacks a key, or holds a wrong shape,
    /// dtype or a non-finite value; the error names the file and the array.
    pub fn load(path: &Path) -> Result<Self, WeightsError> {
        let io = |error| WeightsError::Io {
            path: path.to_path_buf(),
            error,
        };
        // Opening a directory succeeds on Unix; reading it would fail as a bare "i/o error".
        if path.is_dir() {
            return Err(io(std::io::Error::other("a directory, not a .npz file")));
        }
        let file = File::open(path).map_err(io)?;
        Self::read_npz(std::io::BufReader::new(file)).map_err(|fault| WeightsError::Invalid {
            path: path.to_path_buf(),
            fault,
        })
    }

    /// Reads `W1, b1, …, Wn, bn` (float32) from `.npz` bytes.
    ///
    /// # Errors
    /// Not an npz, a missing key, or a wrong dtype, shape or non-finite value.
    pub fn read_npz<R: Read + std::io::Seek>(reader: R) -> Result<Self, WeightsFault> {
        let mut zip =
            zip::ZipArchive::new(reader).map_err(|e| WeightsFault::NotNpz(e.to_string()))?;
        let mut layers = Vec::new();
        for k in 1.. {
            let (wname, bname) = (format!("W{k}"), format!("b{k}"));
            let w = read_entry(&mut zip, &wname)?;
            let b = read_entry(&mut zip, &bname)?;
            match (w, b) {
                (None, None) => break,
                (Some(_), None) => return Err(WeightsFault::MissingKey(bname)),
                (None, Some(_)) => return Err(WeightsFault::MissingKey(wname)),
                (Some(w), Some(b)) => {
                    let w = view::<Ix2>(&w, &wname)?.to_owned();
                    let b = view::<Ix1>(&b, &bname)?.to_owned();
                    layers.push(Layer { w, b });
                }
            }
        }
        // A W5 after a missing W4 (or any stray array) would otherwise be dropped without a
        // word, leaving a different network than the file's author meant.
        let n = layers.len();
        let known =
            |name: &str| (1..=n).any(|k| name == format!("W{k}") || name == format!("b{k}"));
        if let Some(stray) = zip
            .file_names()
            .map(|f| f.strip_suffix(".npy").unwrap_or(f))
            .find(|name| !known(name))
        {
            let read = if n == 1 {
                "W1, b1".to_string()
            } else {
                format!("W1, b1 … W{n}, b{n}")
            };
            return Err(WeightsFault::UnexpectedKey {
                name: stray.to_string(),
                read,
            });
        }
        Self::new(layers)
    }

    /// Writes the weights as an uncompressed `.npz` (numpy's `savez` layout) to `path`.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn save(&self, path: &Path) -> Result<(), WeightsError> {
        let io = |error| WeightsError::Io {
            path: path.to_path_buf(),
            error,
        };
        let file = File::create(path).map_err(io)?;
        let mut npz = NpzWriter::new(BufWriter::new(file));
        let to_io = |e: ndarray_npy::WriteNpzError| std::io::Error::other(e.to_string());
        for (i, layer) in self.layers.iter().enumerate() {
            npz.add_array(format!("W{}", i + 1), &layer.w)
                .map_err(|e| io(to_io(e)))?;
            npz.add_array(format!("b{}", i + 1), &layer.b)
                .map_err(|e| io(to_io(e)))?;
        }
        let mut writer = npz.finish().map_err(|e| io(to_io(e)))?;
        writer.flush().map_err(io)?;
        let file = writer.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)
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
        self.run_kernels(Input::Pixels(pixels, norm), rows, output)
    }

    fn run_kernels(&self, input: Input<'_>, rows: usize, output: OutputLayer) -> Array2<f32> {
        let packed = self
            .packed
            .get_or_init(|| Packed::new(&self.layers, kernels::Path::current()));
        let mut out = Array2::<f32>::zeros((rows, self.output_size()));
        if let Some(slice) = out.as_slice_mut() {
            packed.forward(input, output, slice);
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

/// Reads the raw `.npy` bytes of `name` (or `name.npy`) into a 4-byte aligned buffer, so
/// that the array can be viewed in place and checked against the bytes really present.
fn read_entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Option<(Vec<u32>, usize)>, WeightsFault> {
    let file_name = format!("{name}.npy");
    let entry_name = if zip.index_for_name(&file_name).is_some() {
        file_name
    } else if zip.index_for_name(name).is_some() {
        name.to_string()
    } else {
        return Ok(None);
    };
    let bad = |message: String| WeightsFault::BadArray {
        name: name.into(),
        message,
    };
    let entry = zip
        .by_name(&entry_name)
        .map_err(|e| WeightsFault::NotNpz(e.to_string()))?;
    let mut bytes = Vec::new();
    entry
        .take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| WeightsFault::NotNpz(format!("reading {entry_name}: {e}")))?;
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return Err(bad(format!("larger than {MAX_ENTRY_BYTES} bytes")));
    }
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
    Ok(Some((words, bytes.len())))
}

fn view<'a, D: ndarray::Dimension>(
    entry: &'a (Vec<u32>, usize),
    name: &str,
) -> Result<ndarray::ArrayView<'a, f32, D>, WeightsFault> {
    let bytes = &bytemuck::cast_slice::<u32, u8>(&entry.0)[..entry.1];
    let wanted = D::NDIM.unwrap_or(0);
    ndarray::ArrayView::<f32, D>::view_npy(bytes).map_err(|e| {
        use ndarray_npy::ViewNpyError as E;
        let message = match e {
            E::WrongNdim(_, found) => {
                format!("has {found} dimension(s), expected {wanted}")
            }
            E::WrongDescriptor(descr) => format!(
                "holds {descr} values, not float32 ('<f4'): convert it with \
                 .astype(np.float32) before saving"
            ),
            E::NonNativeEndian => "is big-endian; save it as little-endian float32".into(),
            e => format!("not a readable float32 array of {wanted} dimension(s): {e}"),
        };
        WeightsFault::BadArray {
            name: name.into(),
            message,
        }
    })
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
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.npz");
        let net = tiny();
        net.save(&path).unwrap();
        assert_eq!(Network::load(&path).unwrap(), net);
    }

    fn npz_bytes(net: &Network) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.npz");
        net.save(&path).unwrap();
        std::fs::read(path).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_are_rejected_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            proptest::prop_assert!(Network::read_npz(std::io::Cursor::new(bytes)).is_err());
        }

        #[test]
        fn truncated_npz_never_panics(cut in 0usize..2000, flip in 0usize..2000) {
            let full = npz_bytes(&tiny());
            let mut bytes = full[..cut.min(full.len())].to_vec();
            if let Some(b) = bytes.get_mut(flip) {
                *b ^= 0x5a;
            }
            let result = Network::read_npz(std::io::Cursor::new(&bytes));
            if cut < full.len() {
                proptest::prop_assert!(result.is_err());
            }
        }
    }

    #[test]
    fn wrong_dtypes_ranks_and_directories_are_named_plainly() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, add: &dyn Fn(&mut NpzWriter<File>)| {
            let path = dir.path().join(name);
            let mut npz = NpzWriter::new(File::create(&path).unwrap());
            add(&mut npz);
            npz.finish().unwrap();
            Network::load(&path).unwrap_err().to_string()
        };
        // What the book's pickle gives without .astype(np.float32).
        let err = write("f64.npz", &|npz| {
            npz.add_array("W1", &ndarray::Array2::<f64>::zeros((2, 3)))
                .unwrap();
            npz.add_array("b1", &ndarray::Array1::<f32>::zeros(3))
                .unwrap();
        });
        assert!(
            err.contains("array W1: holds '<f8' values, not float32"),
            "{err}"
        );
        assert!(err.contains(".astype(np.float32)"), "{err}");
        let err = write("rank.npz", &|npz| {
            npz.add_array("W1", &ndarray::Array2::<f32>::zeros((2, 3)))
                .unwrap();
            npz.add_array("b1", &ndarray::Array2::<f32>::zeros((1, 3)))
                .unwrap();
        });
        assert!(
            err.contains("array b1: has 2 dimension(s), expected 1"),
            "{err}"
        );
        let err = Network::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a directory, not a .npz file"), "{err}");
        // Layers 1 and 3 with no 2: layer 3 must not vanish unnoticed.
        let layer = |npz: &mut NpzWriter<File>, k: usize| {
            npz.add_array(format!("W{k}"), &ndarray::Array2::<f32>::zeros((3, 3)))
                .unwrap();
            npz.add_array(format!("b{k}"), &ndarray::Array1::<f32>::zeros(3))
                .unwrap();
        };
        let err = write("gap.npz", &|npz| {
            layer(npz, 1);
            layer(npz, 3);
        });
        assert!(
            err.contains("unexpected array W3") || err.contains("unexpected array b3"),
            "{err}"
        );
        assert!(err.contains("after W1, b1, the layers stop"), "{err}");
        let err = write("extra.npz", &|npz| {
            layer(npz, 1);
            npz.add_array("notes", &ndarray::Array1::<f32>::zeros(1))
                .unwrap();
        });
        assert!(err.contains("unexpected array notes"), "{err}");
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
