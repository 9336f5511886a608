//! Network weights files: the public surface (load, read, save), the choice of format by
//! content (numpy's `.npz`, or the book's Python pickle), and the errors that name the file
//! and the fault.

mod checks;
mod npy;
mod npz;
#[cfg(test)]
mod pickler;
mod pkl;
mod record;

pub use record::Record;

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::input_file;
use crate::network::Network;
use crate::normalize::NormMode;

/// What a zip archive, and so a numpy `.npz`, starts with: a local file header, or the end
/// of central directory record of an archive without entries.
const ZIP_MAGICS: [[u8; 4]; 2] = [*b"PK\x03\x04", *b"PK\x05\x06"];
/// Most bytes of array data one weights file may declare, all arrays together. The book's
/// network takes 0.16 MB and a 784-65536-10 one 210 MB; the cap keeps a small forged file
/// from making us inflate gigabytes.
pub const MAX_DATA_BYTES: u64 = 256 << 20;
/// Leading bytes quoted when a file is in no format we know.
const QUOTED_MAGIC_BYTES: usize = 8;

/// What is wrong with a set of weights (the file is named by [`WeightsError`]).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WeightsFault {
    /// The first bytes match no format we read.
    #[error(
        "not a weights file we know: {0} (an .npz starts with \"PK\\x03\\x04\", a pickle of \
         protocol 2 to 5 with \"\\x80\")"
    )]
    UnknownFormat(String),
    /// Not a zip archive, or a damaged one.
    #[error("not a valid .npz (zip) file: {0}")]
    NotNpz(String),
    /// No `W1` array.
    #[error("no layers: the file has no array named W1")]
    NoLayers,
    /// `Wk` exists without `bk`, `bk` alone, or layers start after 1.
    #[error("array {0} is missing")]
    MissingKey(String),
    /// Two entries hold the same array.
    #[error("duplicate array {0}: the file holds it twice")]
    Duplicate(String),
    /// The file, or the arrays it declares, exceed what we read.
    #[error("too large: {0}")]
    TooLarge(String),
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
    /// An array that is not one of the layers' `Wk` / `bk` (numbered from 1, no gaps) nor
    /// the record `meta`.
    #[error(
        "unexpected array {name}: after {read}, the layers stop (they are numbered from 1 \
         without gaps), and a weights file holds nothing else (an .npz may add its record, meta)"
    )]
    UnexpectedKey {
        /// The entry's name, without `.npy`.
        name: String,
        /// The layers read, as "W1, b1" or "W1, b1 … W3, b3".
        read: String,
    },
    /// A pickle the restricted reader cannot read: damaged, forged, or not of weights.
    #[error("not a pickle of weights we read: {message}{}", at_byte(.at))]
    BadPickle {
        /// Where the opcode at fault starts, if the fault is in one.
        at: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A pickle opcode the reader does not run.
    #[error(
        "pickle opcode {name} at byte {at} is not accepted: the reader runs only the opcodes \
         of a dict of numpy arrays"
    )]
    PickleOpcode {
        /// The opcode, as `EMPTY_LIST (0x5d ']')`.
        name: String,
        /// Where it starts.
        at: usize,
    },
    /// A global (a function or class) the reader does not call.
    #[error(
        "pickle global {name} at byte {at} is not accepted: the reader calls nothing but \
         numpy's _reconstruct, ndarray and dtype (and _codecs.encode, protocol 2's bytes){}",
        global_hint(.name)
    )]
    PickleGlobal {
        /// The global as `module.name`.
        name: String,
        /// Where the opcode naming it starts.
        at: usize,
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

/// " at byte N" where a pickle fault is found at an opcode.
fn at_byte(at: &Option<usize>) -> String {
    at.map(|at| format!(" (at byte {at})")).unwrap_or_default()
}

/// What to do about a global that numpy writes but the reader refuses.
fn global_hint(name: &str) -> &'static str {
    if name.ends_with("._frombuffer") {
        "; numpy writes _frombuffer in protocol 5: save with pickle.dump(…, protocol=4)"
    } else {
        ""
    }
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

/// A network read from a weights file, with what the file records of its training and what
/// reading it changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The network.
    pub network: Network,
    /// What the file records of the training (`None`: a file without a record, such as the
    /// book's pickle).
    pub record: Option<Record>,
    /// The arrays the file held as float64, converted to float32 (pickles only), in layer
    /// order.
    pub from_float64: Vec<String>,
}

impl Loaded {
    /// The normalization the network was trained with, if the file records it.
    pub fn trained_on(&self) -> Option<NormMode> {
        self.record.as_ref().map(Record::norm)
    }

    /// A line for the user when arrays were converted to float32: a library does not print,
    /// so the command that loaded the file says it.
    pub fn note(&self) -> Option<String> {
        let (first, last) = (self.from_float64.first()?, self.from_float64.last()?);
        let arrays = if first == last {
            first.clone()
        } else {
            format!("{first} … {last}")
        };
        Some(format!(
            "{arrays}: float64 values converted to float32 (the network computes in float32)"
        ))
    }
}

/// Loads a network, its record and what was converted on the way from the weights file at
/// `path`, in whichever format its content shows.
///
/// # Errors
/// The file is missing or unreadable, in no format we know, or holds a missing array, a
/// wrong shape or dtype or a non-finite value, or a record that is not a JSON object naming
/// a normalization; the error names the file and the array.
pub fn load(path: &Path) -> Result<Loaded, WeightsError> {
    let io = |error| WeightsError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = input_file::open(path).map_err(io)?;
    read(BufReader::new(file)).map_err(|fault| WeightsError::Invalid {
        path: path.to_path_buf(),
        fault,
    })
}

/// Reads a network and its record from weights-file bytes, choosing the format from the
/// first bytes.
///
/// # Errors
/// The bytes are in no format we know, or any fault of that format.
pub fn read<R: Read + Seek>(mut reader: R) -> Result<Loaded, WeightsFault> {
    let head = first_bytes(&mut reader)?;
    if ZIP_MAGICS.iter().any(|magic| head.starts_with(magic)) {
        return read_npz(reader);
    }
    if head.first() == Some(&pkl::PROTO) {
        let (network, from_float64) = pkl::read(reader)?;
        return Ok(Loaded {
            network,
            record: None,
            from_float64,
        });
    }
    Err(WeightsFault::UnknownFormat(if head.is_empty() {
        "the file is empty".into()
    } else {
        format!("it starts with \"{}\"", head.escape_ascii())
    }))
}

/// Reads `W1, b1, …, Wn, bn` (float32), and the record `meta` if present, from `.npz` bytes.
///
/// # Errors
/// Not an npz, a missing key, or a wrong dtype, shape or non-finite value, or a bad record.
pub fn read_npz<R: Read + Seek>(reader: R) -> Result<Loaded, WeightsFault> {
    npz::read(reader)
}

/// The file a network named `path` is written to: `path` if it ends in `.npz`, else `path`
/// with `.npz` added, as numpy's `savez` does, so that a file's name never claims another
/// format than the one inside.
pub fn npz_path(path: &Path) -> PathBuf {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
    {
        return path.to_path_buf();
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".npz");
    PathBuf::from(name)
}

/// Writes `net` as an uncompressed `.npz` (numpy's `savez` layout) to `path`, synced to disk,
/// without a record.
///
/// # Errors
/// The file cannot be created or written.
pub fn save(net: &Network, path: &Path) -> Result<(), WeightsError> {
    let written = File::create(path).and_then(|file| {
        let mut writer = BufWriter::new(file);
        write_npz(net, &mut writer)?;
        writer.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    written.map_err(|error| WeightsError::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// Writes `net` as an uncompressed `.npz` to `writer` (which is flushed, not synced), without
/// a record.
///
/// # Errors
/// Writing fails.
pub fn write_npz<W: Write + Seek>(net: &Network, writer: W) -> std::io::Result<()> {
    npz::write(net, None, writer)
}

/// Writes `net` and `record` (as the entry `meta`, after the arrays) as an uncompressed
/// `.npz` to `writer` (which is flushed, not synced).
///
/// # Errors
/// Writing fails.
pub fn write_npz_recorded<W: Write + Seek>(
    net: &Network,
    record: &Record,
    writer: W,
) -> std::io::Result<()> {
    npz::write(net, Some(record), writer)
}

/// Bytes of array data (float32 weights and biases) of a network with layer `sizes`, input
/// first, saturating: what [`MAX_DATA_BYTES`] is compared with.
pub fn data_bytes(sizes: &[usize]) -> u128 {
    sizes.windows(2).fold(0, |total: u128, pair| {
        let values = (pair[0] as u128 + 1).saturating_mul(pair[1] as u128);
        total.saturating_add(values.saturating_mul(4))
    })
}

/// The first few bytes of `reader`, which is then put back at its start.
fn first_bytes<R: Read + Seek>(reader: &mut R) -> Result<Vec<u8>, WeightsFault> {
    let unreadable = |e: std::io::Error| WeightsFault::NotNpz(format!("reading it: {e}"));
    let mut head = Vec::with_capacity(QUOTED_MAGIC_BYTES);
    reader
        .by_ref()
        .take(QUOTED_MAGIC_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    reader.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_is_written_under_an_npz_name() {
        let named = |p: &str| npz_path(Path::new(p)).display().to_string();
        assert_eq!(named("out/net.npz"), "out/net.npz");
        assert_eq!(named("NET.NPZ"), "NET.NPZ");
        assert_eq!(named("net"), "net.npz");
        assert_eq!(named("net.pkl"), "net.pkl.npz");
        assert_eq!(named("v1.2"), "v1.2.npz");
    }

    #[test]
    fn the_books_network_takes_its_parameters_times_four_bytes() {
        // 784*50 + 50 + 50*100 + 100 + 100*10 + 10 = 45,360 float32 values.
        assert_eq!(data_bytes(&[784, 50, 100, 10]), 45_360 * 4);
        assert_eq!(data_bytes(&[usize::MAX, usize::MAX, 1]), u128::MAX);
    }

    #[test]
    fn a_file_in_no_known_format_is_named_by_its_first_bytes() {
        let err = read(std::io::Cursor::new(b"(dp0\nS'W1'\np1\n, protocol 0")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a weights file we know: it starts with \"(dp0\\nS\\'W\" \
             (an .npz starts with \"PK\\x03\\x04\", a pickle of protocol 2 to 5 with \"\\x80\")"
        );
        let err = read(std::io::Cursor::new(b"")).unwrap_err();
        assert!(err.to_string().contains("the file is empty"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_are_rejected_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            proptest::prop_assert!(read(std::io::Cursor::new(bytes)).is_err());
        }
    }
}
