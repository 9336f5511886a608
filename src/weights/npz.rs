//! The numpy `.npz` format: a zip archive of `.npy` arrays named `W1, b1, …, Wn, bn`, and
//! optionally `meta`, the record of the training (see [`super::record`]).
//!
//! Reading checks everything that can be checked before inflating any array: the names
//! (no duplicate, no gap, nothing else), then every array's header (float32, the rank, sizes
//! that chain from layer to layer, and the total against [`MAX_DATA_BYTES`]: the rules of
//! [`super::checks`]; the record a string of at most [`record::MAX_BYTES`]). Only then is
//! the data read, each array growing as its bytes arrive.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};

use ndarray::{Array1, Array2, ShapeBuilder};
use ndarray_npy::{NpzWriter, WriteNpyError, WriteNpyExt};

use super::checks::{bad, check_rank, check_sizes, count_layers, layer_arrays};
use super::npy::{self, FLOAT32, Header};
use super::record::{self, Record};
use super::{Loaded, MAX_DATA_BYTES, WeightsFault};
use crate::excerpt::excerpt;
use crate::layer::Layer;
use crate::network::Network;

/// Largest file read: the data cap plus room for the zip's and the arrays' headers.
const MAX_FILE_BYTES: u64 = MAX_DATA_BYTES + (1 << 20);
/// Signature of a zip central directory record (APPNOTE 4.3.12).
const CENTRAL_RECORD: [u8; 4] = *b"PK\x01\x02";
/// Bytes of a central directory record before its name.
const CENTRAL_RECORD_FIXED: usize = 46;

/// Reads `W1, b1, …, Wn, bn` (float32), and the record if there is one, from `.npz` bytes.
pub(super) fn read<R: Read + Seek>(mut reader: R) -> Result<Loaded, WeightsFault> {
    let unreadable = |e: std::io::Error| WeightsFault::NotNpz(format!("cannot be read: {e}"));
    let size = reader.seek(SeekFrom::End(0)).map_err(unreadable)?;
    if size > MAX_FILE_BYTES {
        return Err(WeightsFault::TooLarge(format!(
            "the file is {size} bytes; weights files of at most {MAX_FILE_BYTES} are read"
        )));
    }
    reader.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    let not_npz = |e: zip::result::ZipError| WeightsFault::NotNpz(excerpt(&e.to_string()));
    let zip = zip::ZipArchive::new(reader).map_err(not_npz)?;
    let (dir_start, entries) = (zip.central_directory_start(), zip.len());
    // The zip crate keeps only the last of two entries with one name, so the central
    // directory is counted here: a second W1 must not silently replace the first.
    let mut reader = zip.into_inner();
    check_no_duplicate(&mut reader, dir_start, entries)?;
    let mut zip = zip::ZipArchive::new(reader).map_err(not_npz)?;
    let mut index = array_index(&zip)?;
    // The record is no layer: it is checked and read apart.
    let records: Option<HashMap<String, usize>> = index
        .remove(record::ENTRY)
        .map(|i| HashMap::from([(record::ENTRY.to_string(), i)]));
    let n = count_layers(&index)?;
    let mut headers = Vec::with_capacity(2 * n);
    for k in 1..=n {
        for (name, rank) in layer_arrays(k) {
            let header = read_entry(&mut zip, &index, &name, |entry| npy::read_header(entry))?;
            headers.push(check_header(name, header, rank)?);
        }
    }
    let shapes: Vec<(String, Vec<usize>)> = headers
        .iter()
        .map(|(name, header)| (name.clone(), header.shape.clone()))
        .collect();
    check_sizes(&shapes)?;
    let record_len = match &records {
        Some(records) => Some(read_entry(&mut zip, records, record::ENTRY, |entry| {
            record_header(npy::read_header(entry)?)
        })?),
        None => None,
    };
    let mut layers = Vec::with_capacity(n);
    for pair in headers.chunks_exact(2) {
        let ((wname, wheader), b) = (&pair[0], &pair[1]);
        let values = read_array(&mut zip, &index, &pair[0])?;
        let [rows, cols] = wheader.shape[..] else {
            return Err(bad(wname, "is not a matrix".into()));
        };
        let w = Array2::from_shape_vec((rows, cols).set_f(wheader.fortran_order), values)
            .map_err(|e| bad(wname, e.to_string()))?
            .as_standard_layout()
            .into_owned();
        let b = Array1::from(read_array(&mut zip, &index, b)?);
        layers.push(Layer { w, b });
    }
    let record = match (&records, record_len) {
        (Some(records), Some(len)) => Some(read_record(&mut zip, records, len)?),
        _ => None,
    };
    Ok(Loaded {
        network: Network::new(layers)?,
        record,
        from_float64: Vec::new(),
    })
}

/// Where a record's data starts, how it is stored and how many bytes it takes.
type RecordLayout = (usize, npy::StringKind, usize);

/// Checks the record's header: a zero-dimensional string of at most [`record::MAX_BYTES`].
fn record_header(header: Header) -> Result<RecordLayout, String> {
    let Some((kind, len)) = npy::string_dtype(&header.descr) else {
        return Err(format!(
            "holds '{}' values, not a string ('|S…' or '<U…', as np.array(json.dumps(…)) \
             gives)",
            excerpt(&header.descr)
        ));
    };
    if !header.shape.is_empty() {
        return Err(format!(
            "has shape {}, not () (one string)",
            npy::shape_text(&header.shape)
        ));
    }
    if len > record::MAX_BYTES {
        return Err(format!(
            "is {len} bytes long; a record of at most {} is read",
            record::MAX_BYTES
        ));
    }
    Ok((header.data_offset, kind, len))
}

/// Reads and parses the record, laid out as its header said.
fn read_record<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: &HashMap<String, usize>,
    (data_offset, kind, len): RecordLayout,
) -> Result<Record, WeightsFault> {
    read_entry(zip, index, record::ENTRY, |entry| {
        skip_header(entry, data_offset)?;
        let bytes = npy::read_bytes(entry, len)?;
        Record::parse(&npy::string_text(kind, &bytes)?)
    })
}

/// Skips the `.npy` header of an entry, already read and checked, up to its data.
fn skip_header(entry: &mut dyn Read, data_offset: usize) -> Result<(), String> {
    let skipped = std::io::copy(
        &mut (&mut *entry).take(data_offset as u64),
        &mut std::io::sink(),
    )
    .map_err(|e| format!("cannot be read: {e}"))?;
    if skipped < data_offset as u64 {
        return Err("ends inside its .npy header".into());
    }
    Ok(())
}

/// Walks the central directory from `start`, failing on the first name seen twice among
/// the first `entries + 1` records (one more than the zip crate kept, if it dropped one).
fn check_no_duplicate<R: Read + Seek>(
    reader: &mut R,
    start: u64,
    entries: usize,
) -> Result<(), WeightsFault> {
    let mut seen = HashSet::new();
    if reader.seek(SeekFrom::Start(start)).is_err() {
        return Ok(());
    }
    let mut record = [0u8; CENTRAL_RECORD_FIXED];
    for _ in 0..=entries {
        let got = crate::input_file::read_up_to(reader, &mut record).unwrap_or(0);
        if got < record.len() || record[..4] != CENTRAL_RECORD {
            break;
        }
        let field = |at: usize| usize::from(u16::from_le_bytes([record[at], record[at + 1]]));
        let (name_len, others) = (field(28), field(30) + field(32));
        let mut name = vec![0u8; name_len];
        if crate::input_file::read_up_to(reader, &mut name).unwrap_or(0) < name_len
            || reader.seek(SeekFrom::Current(others as i64)).is_err()
        {
            break;
        }
        let name = String::from_utf8_lossy(&name);
        let array = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        if !seen.insert(array.clone()) {
            return Err(WeightsFault::Duplicate(excerpt(&array)));
        }
    }
    Ok(())
}

/// Entry index of each array, by its name without `.npy`.
fn array_index<R: Read + Seek>(
    zip: &zip::ZipArchive<R>,
) -> Result<HashMap<String, usize>, WeightsFault> {
    let mut index = HashMap::new();
    for (i, file) in zip.file_names().enumerate() {
        let array = file.strip_suffix(".npy").unwrap_or(file);
        // `W1` and `W1.npy` are different entries but the same array.
        if index.insert(array.to_string(), i).is_some() {
            return Err(WeightsFault::Duplicate(excerpt(array)));
        }
    }
    Ok(index)
}

/// Opens the entry of array `name` and hands it to `read`.
fn read_entry<R: Read + Seek, T>(
    zip: &mut zip::ZipArchive<R>,
    index: &HashMap<String, usize>,
    name: &str,
    read: impl FnOnce(&mut dyn Read) -> Result<T, String>,
) -> Result<T, WeightsFault> {
    let i = index
        .get(name)
        .copied()
        .ok_or_else(|| WeightsFault::MissingKey(name.to_string()))?;
    let mut entry = zip
        .by_index(i)
        .map_err(|e| WeightsFault::NotNpz(excerpt(&format!("entry {name}: {e}"))))?;
    read(&mut entry).map_err(|message| bad(name, message))
}

/// Checks that array `name` is float32 with `rank` dimensions.
fn check_header(
    name: String,
    header: Header,
    rank: usize,
) -> Result<(String, Header), WeightsFault> {
    if header.descr == ">f4" {
        return Err(bad(
            &name,
            "is big-endian; save it as little-endian float32".into(),
        ));
    }
    if header.descr != FLOAT32 {
        let message = format!(
            "holds '{}' values, not float32 ('{FLOAT32}'): convert it with \
             .astype(np.float32) before saving",
            excerpt(&header.descr)
        );
        return Err(bad(&name, message));
    }
    check_rank(&name, &header.shape, rank)?;
    Ok((name, header))
}

/// Reads the data of a checked array.
fn read_array<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: &HashMap<String, usize>,
    (name, header): &(String, Header),
) -> Result<Vec<f32>, WeightsFault> {
    read_entry(zip, index, name, |entry| {
        skip_header(entry, header.data_offset)?;
        npy::read_f32s(entry, header.len().unwrap_or(usize::MAX))
    })
}

/// A record's bytes as an array [`NpzWriter`] can add: a zero-dimensional byte string.
struct ByteString<'a>(&'a [u8]);

impl WriteNpyExt for ByteString<'_> {
    fn write_npy<W: Write>(&self, mut writer: W) -> Result<(), WriteNpyError> {
        writer
            .write_all(&npy::byte_string_npy(self.0))
            .map_err(WriteNpyError::Io)
    }
}

/// Writes `net`, and `record` after its arrays if given, as an uncompressed `.npz` (numpy's
/// `savez` layout) to `writer`.
pub(super) fn write<W: Write + Seek>(
    net: &Network,
    record: Option<&Record>,
    writer: W,
) -> std::io::Result<()> {
    let mut npz = NpzWriter::new(writer);
    let to_io = |e: ndarray_npy::WriteNpzError| std::io::Error::other(e.to_string());
    for (i, layer) in net.layers().iter().enumerate() {
        npz.add_array(format!("W{}", i + 1), &layer.w)
            .map_err(to_io)?;
        npz.add_array(format!("b{}", i + 1), &layer.b)
            .map_err(to_io)?;
    }
    if let Some(record) = record {
        npz.add_array(record::ENTRY, &ByteString(record.json().as_bytes()))
            .map_err(to_io)?;
    }
    npz.finish().map_err(to_io)?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights;
    use ndarray::{Array1, Array2};
    use std::fs::File;

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
        let loaded = weights::load(&path).unwrap();
        assert_eq!(loaded.network, net);
        assert_eq!(loaded.record, None, "a file without a record");
        assert_eq!(loaded.trained_on(), None, "is of unknown training");
    }

    fn record_of(norm: crate::normalize::NormMode) -> Record {
        let mut details = serde_json::Map::new();
        details.insert("command".into(), "mnist-explorer train".into());
        Record::new(norm, details)
    }

    #[test]
    fn a_record_is_written_after_the_arrays_and_read_back() {
        use crate::normalize::NormMode;
        let net = tiny();
        let mut bytes = std::io::Cursor::new(Vec::new());
        let record = record_of(NormMode::L1);
        weights::write_npz_recorded(&net, &record, &mut bytes).unwrap();
        let bytes = bytes.into_inner();
        let loaded = weights::read(std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(loaded.network, net);
        assert_eq!(loaded.trained_on(), Some(NormMode::L1));
        assert_eq!(loaded.record.as_ref(), Some(&record));
        let zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let names: Vec<&str> = zip.file_names().collect();
        assert_eq!(
            names,
            ["W1.npy", "b1.npy", "W2.npy", "b2.npy", "meta.npy"],
            "numpy's savez names, the record last"
        );
        // As numpy writes `meta=np.array(json.encode())`, and as `np.array(json)` (UTF-32).
        let json = r#"{"norm":"zscore","seed":1}"#;
        let utf32: Vec<u8> = json
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        let header =
            |descr: &str| format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (), }}");
        for meta in [
            npy::byte_string_npy(json.as_bytes()),
            npy::npy(1, &header(&format!("<U{}", json.len())), &utf32),
        ] {
            let entries = [
                ("W1.npy", f32_npy("(1, 1)", &[0; 4])),
                ("b1.npy", f32_npy("(1,)", &[0; 4])),
                ("meta.npy", meta),
            ];
            let loaded = weights::read(std::io::Cursor::new(zip_of(&entries))).unwrap();
            assert_eq!(loaded.trained_on(), Some(NormMode::Zscore));
            assert_eq!(loaded.record.unwrap().json(), json);
        }
    }

    #[test]
    fn a_bad_record_is_refused_with_what_is_wrong() {
        let with_meta = |meta: Vec<u8>| {
            read_zip(&[
                ("W1.npy", f32_npy("(1, 1)", &[0; 4])),
                ("b1.npy", f32_npy("(1,)", &[0; 4])),
                ("meta.npy", meta),
            ])
        };
        let header = |descr: &str, shape: &str| {
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
        };
        let cases = [
            (
                npy::npy(1, &header("<f4", "(1,)"), &[0; 4]),
                "array meta: holds '<f4' values, not a string",
            ),
            (
                npy::npy(1, &header("|S2", "(3,)"), &[0; 6]),
                "array meta: has shape (3,), not ()",
            ),
            (
                npy::npy(1, &header("|S100000", "()"), &[]),
                "array meta: is 100000 bytes long; a record of at most 65536 is read",
            ),
            (
                npy::byte_string_npy(b"{\"norm\":\"div256\"}"),
                "array meta: names the normalization \"div256\"",
            ),
            (
                npy::npy(1, &header("|S20", "()"), b"{}"),
                "array meta: ends after 2 of the 20 bytes",
            ),
        ];
        for (meta, wanted) in cases {
            let err = with_meta(meta);
            assert!(err.starts_with(wanted), "{wanted}: {err}");
        }
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

    /// A zip of `entries` (name, bytes), stored uncompressed.
    fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// A float32 `.npy` of `shape` holding `data` bytes.
    fn f32_npy(shape: &str, data: &[u8]) -> Vec<u8> {
        let text = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        npy::npy(1, &text, data)
    }

    fn read_zip(entries: &[(&str, Vec<u8>)]) -> String {
        weights::read(std::io::Cursor::new(zip_of(entries)))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_duplicate_array_or_a_missing_w1_is_named() {
        let w1 = f32_npy("(1, 1)", &[0; 4]);
        let b1 = f32_npy("(1,)", &[0; 4]);
        // The zip writer refuses a second name, so the entry is renamed in the bytes.
        let twice = zip_of(&[
            ("W1.npy", w1.clone()),
            ("b1.npy", b1.clone()),
            ("X1.npy", f32_npy("(2, 1)", &[0; 8])),
        ]);
        let mut bytes = twice.clone();
        for at in 0..twice.len() - 6 {
            if &twice[at..at + 6] == b"X1.npy" {
                bytes[at] = b'W';
            }
        }
        let err = weights::read(std::io::Cursor::new(bytes)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "duplicate array W1: the file holds it twice"
        );
        let err = read_zip(&[("W1.npy", w1.clone()), ("b1.npy", b1.clone()), ("W1", w1)]);
        assert_eq!(err, "duplicate array W1: the file holds it twice");
        let err = read_zip(&[("W2.npy", f32_npy("(1, 1)", &[0; 4])), ("b2.npy", b1)]);
        assert_eq!(err, "array W1 is missing");
        for stray in ["W01.npy", "W+2.npy", "b3"] {
            let err = read_zip(&[
                ("W1.npy", f32_npy("(1, 1)", &[0; 4])),
                ("b1.npy", f32_npy("(1,)", &[0; 4])),
                (stray, f32_npy("(1, 1)", &[0; 4])),
            ]);
            assert!(err.starts_with("unexpected array "), "{stray}: {err}");
        }
        let err = read_zip(&[("notes.npy", f32_npy("(1,)", &[0; 4]))]);
        assert_eq!(err, "no layers: the file has no array named W1");
    }

    #[test]
    fn shapes_and_sizes_are_checked_from_the_headers_alone() {
        // No data at all after the headers: the shapes are refused before it is missed.
        let err = read_zip(&[
            ("W1.npy", f32_npy("(3, 4)", &[])),
            ("b1.npy", f32_npy("(4,)", &[])),
            ("W2.npy", f32_npy("(5, 2)", &[])),
            ("b2.npy", f32_npy("(2,)", &[])),
        ]);
        assert_eq!(
            err,
            "array W2 has shape (5, 2), expected (4, 2) to follow W1"
        );
        let err = read_zip(&[
            ("W1.npy", f32_npy("(20000, 20000)", &[])),
            ("b1.npy", f32_npy("(20000,)", &[])),
        ]);
        assert!(
            err.starts_with(
                "too large: its arrays up to W1 (20000, 20000) declare 1600000000 bytes"
            ),
            "{err}"
        );
        let err = read_zip(&[
            ("W1.npy", f32_npy("(1, 1)", &[0; 4])),
            ("b1.npy", f32_npy("(1,)", &[0; 3])),
        ]);
        assert_eq!(err, "array b1: ends after 3 of the 4 bytes its shape needs");
    }

    #[test]
    fn a_header_of_nested_parentheses_gives_a_short_message() {
        let with_w1_header = |version, text: String| {
            read_zip(&[
                ("W1.npy", npy::npy(version, &text, &[])),
                ("b1.npy", f32_npy("(1,)", &[0; 4])),
            ])
        };
        let parens = "(".repeat(500_000);
        let err = with_w1_header(
            2,
            format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {parens}}}"),
        );
        assert!(
            err.starts_with("array W1: has a .npy header of 500051 bytes") && err.len() < 200,
            "{}",
            err.chars().take(300).collect::<String>()
        );
        let long_dtype = "x".repeat(5000);
        let err = with_w1_header(
            1,
            format!("{{'descr': '{long_dtype}', 'fortran_order': False, 'shape': (1,)}}"),
        );
        assert!(err.len() < 250, "{} bytes: {err}", err.len());
    }

    #[test]
    fn a_fortran_order_array_reads_as_its_values_say() {
        let values: Vec<u8> = [1f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let text = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
        let bytes = zip_of(&[
            ("W1.npy", npy::npy(1, text, &values)),
            ("b1.npy", f32_npy("(3,)", &[0; 12])),
        ]);
        let net = weights::read(std::io::Cursor::new(bytes)).unwrap().network;
        assert_eq!(
            net.layers()[0].w,
            ndarray::array![[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]
        );
    }

    #[test]
    fn a_file_larger_than_any_weights_file_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.npz");
        std::fs::write(&path, b"PK\x03\x04").unwrap();
        // 10 GB, sparse: a zip reader would scan it all for its directory.
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(10_000_000_000)
            .unwrap();
        let err = weights::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("too large: the file is 10000000000 bytes"),
            "{err}"
        );
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
        // The first stray array in the archive's order names the gap.
        assert!(err.contains("unexpected array W3"), "{err}");
        assert!(err.contains("after W1, b1, the layers stop"), "{err}");
        let err = write("extra.npz", &|npz| {
            layer(npz, 1);
            npz.add_array("notes", &ndarray::Array1::<f32>::zeros(1))
                .unwrap();
        });
        assert!(err.contains("unexpected array notes"), "{err}");
    }
}
