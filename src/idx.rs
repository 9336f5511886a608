//! Reading and validating IDX files (the MNIST container format), gzip-compressed or raw.
//!
//! Layout (big-endian): two zero bytes, a dtype byte (0x08 = unsigned byte), the number of
//! dimensions, one u32 per dimension, then the payload row-major. Nothing is allocated from
//! what the header claims: the payload is whatever bytes are really there, and the header
//! is checked against it.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::input_file;

/// The two bytes every gzip member starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// IDX dtype code for unsigned bytes, the only one MNIST uses.
pub const DTYPE_U8: u8 = 0x08;
/// Magic number of a label file: dtype u8, one dimension.
pub const MAGIC_LABELS: u32 = 0x0000_0801;
/// Magic number of an image file: dtype u8, three dimensions.
pub const MAGIC_IMAGES: u32 = 0x0000_0803;

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
        found: usize,
    },
    /// The gzip stream is corrupt or ends early.
    #[error("corrupt or truncated gzip data: {0}")]
    Gzip(String),
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

/// Reads the whole file at `path`, gunzipping it (every member, as gunzip does) if it
/// starts with the gzip magic bytes, whatever its name.
///
/// # Errors
/// The file cannot be read, or its gzip stream is corrupt or truncated.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, IdxError> {
    let io_err = |error| IdxError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut raw = Vec::new();
    input_file::open(path)
        .and_then(|mut f| f.read_to_end(&mut raw))
        .map_err(io_err)?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| IdxError::Invalid {
            path: path.to_path_buf(),
            fault: IdxFault::Gzip(e.to_string()),
        })?;
    Ok(out)
}

/// Parses IDX bytes whose header must say `expected_dims` dimensions of unsigned bytes.
///
/// # Errors
/// Any [`IdxFault`]: short file, wrong magic, dtype or number of dimensions, or a payload
/// whose length differs from the product of the dimensions.
pub fn parse(mut bytes: Vec<u8>, expected_dims: u8) -> Result<IdxArray, IdxFault> {
    if bytes.len() < 4 {
        return Err(IdxFault::TooShort(bytes.len()));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(IdxFault::BadMagic(magic));
    }
    if bytes[2] != DTYPE_U8 {
        return Err(IdxFault::BadDtype(bytes[2]));
    }
    let ndims = bytes[3];
    if ndims != expected_dims {
        return Err(IdxFault::BadDims {
            expected: expected_dims,
            found: ndims,
        });
    }
    let header_len = 4 + 4 * usize::from(ndims);
    if bytes.len() < header_len {
        return Err(IdxFault::TruncatedHeader {
            dims: ndims,
            needed: header_len,
            found: bytes.len(),
        });
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .unwrap_or(u64::MAX);
    let found = bytes.len() - header_len;
    if expected != found as u64 {
        let shape = dims
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("x");
        return Err(IdxFault::PayloadMismatch {
            expected,
            shape,
            found,
        });
    }
    // Reuse the buffer: shifting out the header avoids a second 47 MB allocation for train.
    bytes.drain(..header_len);
    Ok(IdxArray { dims, data: bytes })
}

/// Reads and validates the IDX file at `path` (gzip or raw).
///
/// # Errors
/// The file is missing or unreadable, or any [`IdxFault`], named with the path.
pub fn read(path: &Path, expected_dims: u8) -> Result<IdxArray, IdxError> {
    let bytes = read_maybe_gzip(path)?;
    parse(bytes, expected_dims).map_err(|fault| IdxError::Invalid {
        path: path.to_path_buf(),
        fault,
    })
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
    use proptest::prelude::*;

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
    }
}
