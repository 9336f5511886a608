//! Reading and validating IDX files (the MNIST container format), gzip-compressed or raw.
//!
//! Layout (big-endian): two zero bytes, a dtype byte (0x08 = unsigned byte), the number of
//! dimensions, one u32 per dimension, then the payload row-major. The file is read as a
//! stream: the header first, then exactly the payload it promises and one byte more to catch
//! a lying header, so a damaged file costs no more memory than the real data would. Nothing
//! is allocated from what the header claims before the bytes are there.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use crate::input_file;

/// The two bytes every gzip member starts with (RFC 1952).
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// IDX dtype code for unsigned bytes, the only one MNIST uses.
pub const DTYPE_U8: u8 = 0x08;
/// Magic number of a label file: dtype u8, one dimension.
pub const MAGIC_LABELS: u32 = 0x0000_0801;
/// Magic number of an image file: dtype u8, three dimensions.
pub const MAGIC_IMAGES: u32 = 0x0000_0803;
/// How many times its compressed size a gzip payload may take before its bytes arrive:
/// MNIST's files inflate 2x (labels) to 5x (images). A larger payload still loads, growing
/// as it inflates, but a small file cannot make us reserve what its header claims.
pub(crate) const GZIP_RESERVE_RATIO: u64 = 8;

/// What can be wrong with an IDX file; the path is added by [`IdxError`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdxFault {
    /// Fewer than the 4 bytes of the magic number.
    #[error("file too short for an IDX header ({0} bytes)")]
    TooShort(usize),
    /// The first two bytes are not zero.
    #[error("not an IDX file: magic number 0x{0:08x} does not start with two zero bytes")]
    BadMagic(u32),
    /// The dtype is not unsigned byte.
    #[error("unsupported IDX dtype 0x{0:02x} (only 0x08, unsigned byte, is supported)")]
    BadDtype(u8),
    /// The number of dimensions is not what the caller expects.
    #[error("expected {expected} dimension(s), the header says {found}")]
    BadDims {
        /// Dimensions the caller needs.
        expected: u8,
        /// Dimensions in the header.
        found: u8,
    },
    /// The header ends before all dimension sizes are given.
    #[error("header truncated: {dims} dimension sizes need {needed} bytes, file has {found}")]
    TruncatedHeader {
        /// Number of dimensions.
        dims: u8,
        /// Header bytes needed.
        needed: usize,
        /// Bytes present.
        found: usize,
    },
    /// The payload length does not equal the product of the dimensions.
    #[error("header promises {expected} bytes of data ({shape}), the file holds {found}")]
    PayloadMismatch {
        /// Bytes the header implies (saturated at u64::MAX if it overflows).
        expected: u64,
        /// The dimensions, formatted like `10000x28x28`.
        shape: String,
        /// Bytes present after the header.
        found: u64,
    },
    /// More data follows the payload the header promises (found without reading it all).
    #[error(
        "more data than the header promises: {shape} is {expected} bytes, and the \
         (uncompressed) file goes on"
    )]
    TrailingData {
        /// Bytes the header implies.
        expected: u64,
        /// The dimensions, formatted like `10000x28x28`.
        shape: String,
    },
    /// The gzip stream is corrupt or ends early.
    #[error("corrupt or truncated gzip data: {0}")]
    Gzip(String),
    /// Reading the (uncompressed) file failed part way.
    #[error("reading failed: {0}")]
    Read(String),
}

/// An IDX fault tied to the file it was found in.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// The file could not be opened or read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: io::Error,
    },
    /// The file was read but its contents are wrong.
    #[error("{}: {fault}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        fault: IdxFault,
    },
}

/// A validated IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The payload, row-major; its length is the product of `dims`.
    pub data: Vec<u8>,
}

/// Reads and validates the IDX file at `path` (gzip or raw, told apart by content, whatever
/// its name), whose header must say `expected_dims` dimensions of unsigned bytes.
///
/// # Errors
/// The file is missing, not a regular file or unreadable, or any [`IdxFault`], named with
/// the path.
pub fn read(path: &Path, expected_dims: u8) -> Result<IdxArray, IdxError> {
    let io_err = |error| IdxError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = input_file::open(path).map_err(io_err)?;
    let stored_len = file.metadata().map_err(io_err)?.len();
    read_from(BufReader::new(file), stored_len, expected_dims).map_err(|fault| IdxError::Invalid {
        path: path.to_path_buf(),
        fault,
    })
}

/// Reads and validates IDX bytes from `reader`, gunzipping them (every member, as gunzip
/// does) if they start with the gzip magic. `stored_len` is the size of what `reader`
/// holds (compressed or not): it bounds what is reserved before the data arrives.
///
/// # Errors
/// Any [`IdxFault`]: short input, wrong magic, dtype or number of dimensions, a payload
/// shorter or longer than the product of the dimensions, corrupt gzip or a failed read.
pub fn read_from<R: BufRead>(
    mut reader: R,
    stored_len: u64,
    expected_dims: u8,
) -> Result<IdxArray, IdxFault> {
    let first = reader
        .fill_buf()
        .map_err(|e| IdxFault::Read(e.to_string()))?;
    if first.starts_with(&GZIP_MAGIC) {
        let reserve = stored_len.saturating_mul(GZIP_RESERVE_RATIO);
        read_stream(MultiGzDecoder::new(reader), None, reserve, expected_dims)
            .map_err(|e| e.into_fault(|e| IdxFault::Gzip(e.to_string())))
    } else {
        read_stream(reader, Some(stored_len), stored_len, expected_dims)
            .map_err(|e| e.into_fault(|e| IdxFault::Read(e.to_string())))
    }
}

/// A fault in the content, or a failed read whose meaning depends on the source.
enum StreamError {
    Fault(IdxFault),
    Io(io::Error),
}

impl StreamError {
    fn into_fault(self, io: impl FnOnce(io::Error) -> IdxFault) -> IdxFault {
        match self {
            StreamError::Fault(fault) => fault,
            StreamError::Io(e) => io(e),
        }
    }
}

impl From<IdxFault> for StreamError {
    fn from(fault: IdxFault) -> Self {
        StreamError::Fault(fault)
    }
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

/// Parses the header from `reader`, then reads exactly the payload it promises. `known_len`
/// is the whole input's length when it is not compressed, so a mismatch is found before
/// reading; `reserve` caps the payload buffer reserved before its bytes arrive.
fn read_stream<R: Read>(
    mut reader: R,
    known_len: Option<u64>,
    reserve: u64,
    expected_dims: u8,
) -> Result<IdxArray, StreamError> {
    let mut magic = [0u8; 4];
    let got = input_file::read_up_to(&mut reader, &mut magic)?;
    if got < magic.len() {
        return Err(IdxFault::TooShort(got).into());
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(IdxFault::BadMagic(u32::from_be_bytes(magic)).into());
    }
    if magic[2] != DTYPE_U8 {
        return Err(IdxFault::BadDtype(magic[2]).into());
    }
    let ndims = magic[3];
    if ndims != expected_dims {
        return Err(IdxFault::BadDims {
            expected: expected_dims,
            found: ndims,
        }
        .into());
    }
    let mut sizes = vec![0u8; 4 * usize::from(ndims)];
    let got = input_file::read_up_to(&mut reader, &mut sizes)?;
    let header_len = 4 + sizes.len();
    if got < sizes.len() {
        return Err(IdxFault::TruncatedHeader {
            dims: ndims,
            needed: header_len,
            found: 4 + got,
        }
        .into());
    }
    let dims: Vec<usize> = sizes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .unwrap_or(u64::MAX);
    let shape = || {
        dims.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("x")
    };
    if let Some(len) = known_len {
        let found = len.saturating_sub(header_len as u64);
        if found != expected {
            return Err(IdxFault::PayloadMismatch {
                expected,
                shape: shape(),
                found,
            }
            .into());
        }
    }
    let mut data = Vec::new();
    let reserve = usize::try_from(expected.min(reserve)).unwrap_or(usize::MAX);
    // A refused reservation is no error: the buffer then grows as the bytes arrive.
    let _ = data.try_reserve_exact(reserve);
    (&mut reader).take(expected).read_to_end(&mut data)?;
    if (data.len() as u64) < expected {
        return Err(IdxFault::PayloadMismatch {
            expected,
            shape: shape(),
            found: data.len() as u64,
        }
        .into());
    }
    if input_file::read_up_to(&mut reader, &mut [0u8; 1])? > 0 {
        return Err(IdxFault::TrailingData {
            expected,
            shape: shape(),
        }
        .into());
    }
    Ok(IdxArray { dims, data })
}

/// Encodes an unsigned-byte IDX array (used by tests and tools that write fixtures).
pub fn encode(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, DTYPE_U8, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use proptest::prelude::*;
    use std::io::Write;

    /// Reads `bytes` as a whole file would be read.
    fn parse(bytes: Vec<u8>, expected_dims: u8) -> Result<IdxArray, IdxFault> {
        read_from(bytes.as_slice(), bytes.len() as u64, expected_dims)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_and_raw_read_the_same_and_members_concatenate() {
        let raw = encode(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let want = parse(raw.clone(), 3).unwrap();
        assert_eq!(parse(gzip(&raw), 3).unwrap(), want);
        // Two members, split inside the header, read as gunzip would.
        let mut two = gzip(&raw[..7]);
        two.extend(gzip(&raw[7..]));
        assert_eq!(parse(two, 3).unwrap(), want);
    }

    #[test]
    fn a_gzip_payload_longer_than_promised_stops_one_byte_past_the_promise() {
        let mut bytes = encode(&[3], &[1, 2, 3]);
        bytes.extend(std::iter::repeat_n(0, 1 << 20));
        let gz = gzip(&bytes);
        let mut reader = gz.as_slice();
        let err = read_from(&mut reader, gz.len() as u64, 1).unwrap_err();
        assert_eq!(
            err,
            IdxFault::TrailingData {
                expected: 3,
                shape: "3".into()
            }
        );
        assert!(
            err.to_string()
                .starts_with("more data than the header promises")
        );
        // Most of the compressed stream was never looked at.
        assert!(!reader.is_empty());
    }

    #[test]
    fn a_short_gzip_payload_or_a_raw_file_of_the_wrong_size_says_how_much_is_there() {
        let gz = gzip(&encode(&[1000, 2, 2], &[7; 10]));
        assert!(matches!(
            parse(gz, 3),
            Err(IdxFault::PayloadMismatch {
                expected: 4000,
                found: 10,
                ..
            })
        ));
        let raw = encode(&[2], &[1, 2, 3]);
        assert!(matches!(
            parse(raw, 1),
            Err(IdxFault::PayloadMismatch {
                expected: 2,
                found: 3,
                ..
            })
        ));
    }

    #[test]
    fn a_tiny_gzip_file_promising_terabytes_reserves_nothing_it_lacks() {
        let gz = gzip(&encode(&[u32::MAX, 1000, 1000], &[0; 64]));
        assert!(matches!(
            parse(gz, 3),
            Err(IdxFault::PayloadMismatch { found: 64, .. })
        ));
    }

    #[test]
    fn parses_a_small_image_file() {
        let bytes = encode(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let arr = parse(bytes, 3).unwrap();
        assert_eq!(arr.dims, vec![2, 2, 3]);
        assert_eq!(arr.data[11], 12);
    }

    #[test]
    fn rejects_wrong_magic_dtype_and_dims() {
        let mut bytes = encode(&[1], &[0]);
        bytes[0] = 1;
        assert!(matches!(parse(bytes, 1), Err(IdxFault::BadMagic(_))));
        let mut bytes = encode(&[1], &[0]);
        bytes[2] = 0x0D;
        assert_eq!(parse(bytes, 1), Err(IdxFault::BadDtype(0x0D)));
        let bytes = encode(&[1], &[0]);
        assert!(matches!(parse(bytes, 3), Err(IdxFault::BadDims { .. })));
    }

    #[test]
    fn header_claiming_2_pow_31_images_is_rejected_without_allocating() {
        let mut bytes = encode(&[1 << 31, 28, 28], &[]);
        bytes.resize(100, 0);
        match parse(bytes, 3) {
            Err(IdxFault::PayloadMismatch {
                expected, found, ..
            }) => {
                assert_eq!(expected, (1u64 << 31) * 784);
                assert_eq!(found, 100 - 16);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn overflowing_dimension_product_is_a_mismatch() {
        let bytes = encode(&[u32::MAX, u32::MAX, u32::MAX], &[0; 8]);
        assert!(matches!(
            parse(bytes, 3),
            Err(IdxFault::PayloadMismatch {
                expected: u64::MAX,
                ..
            })
        ));
    }

    #[test]
    fn truncated_header_is_reported() {
        let bytes = vec![0, 0, 8, 3, 0, 0];
        assert!(matches!(
            parse(bytes, 3),
            Err(IdxFault::TruncatedHeader { needed: 16, .. })
        ));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), dims in 1u8..4) {
            let _ = parse(bytes, dims);
        }

        #[test]
        fn every_truncation_of_a_valid_file_is_an_error(cut in 0usize..(16 + 2 * 3 * 3)) {
            let full = encode(&[2, 3, 3], &[7; 18]);
            prop_assert!(parse(full[..cut].to_vec(), 3).is_err());
        }

        #[test]
        fn random_gzip_content_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256), dims in 1u8..4) {
            let _ = parse(gzip(&bytes), dims);
        }

        #[test]
        fn any_valid_file_reads_back_raw_or_gzip(dims in proptest::collection::vec(0u32..6, 1..4), seed in any::<u8>()) {
            let len = dims.iter().product::<u32>() as usize;
            let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
            let bytes = encode(&dims, &data);
            let want = IdxArray { dims: dims.iter().map(|&d| d as usize).collect(), data };
            let n = dims.len() as u8;
            prop_assert_eq!(parse(bytes.clone(), n), Ok(want.clone()));
            prop_assert_eq!(parse(gzip(&bytes), n), Ok(want));
        }

        #[test]
        fn every_truncation_of_a_gzip_file_is_an_error(cut in 0usize..64) {
            let full = gzip(&encode(&[2, 3, 3], &[7; 18]));
            prop_assume!(cut < full.len());
            prop_assert!(parse(full[..cut].to_vec(), 3).is_err());
        }
    }
}
