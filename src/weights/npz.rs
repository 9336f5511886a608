//! The numpy `.npz` format: a zip archive of `.npy` arrays named `W1, b1, …, Wn, bn`.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::Path;

use ndarray::{Ix1, Ix2};
use ndarray_npy::{NpzWriter, ViewNpyExt};

use super::WeightsFault;
use crate::network::{Layer, Network};

/// Largest `.npy` entry read from a weights file; real networks here are well under 1 MB,
/// and the cap keeps a forged zip entry from exhausting memory.
const MAX_ENTRY_BYTES: u64 = 256 << 20;

/// Reads `W1, b1, …, Wn, bn` (float32) from `.npz` bytes.
pub(super) fn read<R: Read + Seek>(reader: R) -> Result<Network, WeightsFault> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| WeightsFault::NotNpz(e.to_string()))?;
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
    let known = |name: &str| (1..=n).any(|k| name == format!("W{k}") || name == format!("b{k}"));
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
    Network::new(layers)
}

/// Writes `net` as an uncompressed `.npz` to `path` and syncs it to disk.
pub(super) fn save(net: &Network, path: &Path) -> std::io::Result<()> {
    let file = File::create(path)?;
    let mut npz = NpzWriter::new(BufWriter::new(file));
    let to_io = |e: ndarray_npy::WriteNpzError| std::io::Error::other(e.to_string());
    for (i, layer) in net.layers().iter().enumerate() {
        npz.add_array(format!("W{}", i + 1), &layer.w)
            .map_err(to_io)?;
        npz.add_array(format!("b{}", i + 1), &layer.b)
            .map_err(to_io)?;
    }
    let mut writer = npz.finish().map_err(to_io)?;
    writer.flush()?;
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

/// Reads the raw `.npy` bytes of `name` (or `name.npy`) into a 4-byte aligned buffer, so
/// that the array can be viewed in place and checked against the bytes really present.
fn read_entry<R: Read + Seek>(
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
    use crate::weights;
    use ndarray::{Array1, Array2};

    /// Two layers, so that the order and numbering of the arrays matter.
    fn tiny() -> Network {
        let layer = |inputs, outputs| Layer {
            w: Array2::from_shape_fn((inputs, outputs), |(i, j)| i as f32 - 0.5 * j as f32),
            b: Array1::from_shape_fn(outputs, |j| 0.25 * j as f32),
        };
        Network::new(vec![layer(2, 3), layer(3, 2)]).unwrap()
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.npz");
        let net = tiny();
        weights::save(&net, &path).unwrap();
        assert_eq!(weights::load(&path).unwrap(), net);
    }

    fn npz_bytes(net: &Network) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.npz");
        weights::save(net, &path).unwrap();
        std::fs::read(path).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_are_rejected_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            proptest::prop_assert!(read(std::io::Cursor::new(bytes)).is_err());
        }

        #[test]
        fn truncated_npz_never_panics(cut in 0usize..2000, flip in 0usize..2000) {
            let full = npz_bytes(&tiny());
            let mut bytes = full[..cut.min(full.len())].to_vec();
            if let Some(b) = bytes.get_mut(flip) {
                *b ^= 0x5a;
            }
            let result = weights::read(std::io::Cursor::new(&bytes));
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
            weights::load(&path).unwrap_err().to_string()
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
        let err = weights::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a directory, not a regular file"), "{err}");
        // Layers 1 and 3 with no 2: layer 3 must not vanish unnoticed.
        let layer = |npz: &mut NpzWriter<File>, k: usize| {
            npz.add_array(format!("W{k}"), &Array2::<f32>::zeros((3, 3)))
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
}
