//! The `.npy` array format inside an `.npz`: the header (magic, version, and a Python dict
//! literal giving dtype, order and shape), read and checked on its own before any data, and
//! the little-endian float32 data after it.

use std::io::Read;

use crate::excerpt::excerpt;
use crate::input_file::read_up_to;

/// What every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Longest header text read: numpy's own `np.load` refuses more than 10,000 bytes by
/// default, and ours are under 128.
pub(super) const MAX_HEADER_BYTES: usize = 10_000;
/// The only dtype read: little-endian float32.
pub(super) const FLOAT32: &str = "<f4";
/// Values converted per read of array data.
const CHUNK_VALUES: usize = 16 * 1024;

/// An array's header: what its data holds and how it is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Header {
    /// numpy's dtype string, such as `<f4`.
    pub descr: String,
    /// Column-major data (Fortran order) rather than row-major.
    pub fortran_order: bool,
    /// Size of each dimension.
    pub shape: Vec<usize>,
    /// Bytes from the start of the `.npy` to its data.
    pub data_offset: usize,
}

impl Header {
    /// Number of values the shape holds, `None` if that overflows.
    pub fn len(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }
}

/// A shape as numpy prints it: `(784, 50)`, `(50,)`, `()`.
pub(super) fn shape_text(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Reads the magic, version and header of an `.npy` from `reader`, leaving it at the data.
///
/// # Errors
/// A message (without the array's name) when the bytes are not an `.npy` header.
pub(super) fn read_header<R: Read + ?Sized>(reader: &mut R) -> Result<Header, String> {
    let io = |e: std::io::Error| format!("cannot be read: {e}");
    let mut preamble = [0u8; 8];
    let got = read_up_to(reader, &mut preamble).map_err(io)?;
    if got < preamble.len() || &preamble[..6] != MAGIC {
        return Err("is not a .npy array (it does not start with \"\\x93NUMPY\")".into());
    }
    let major = preamble[6];
    let (len_bytes, utf8) = match major {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        _ => {
            return Err(format!(
                ".npy format version {major} is not one numpy writes"
            ));
        }
    };
    let mut len = [0u8; 4];
    if read_up_to(reader, &mut len[..len_bytes]).map_err(io)? < len_bytes {
        return Err("ends inside its .npy header".into());
    }
    let header_len = u32::from_le_bytes(len) as usize;
    if header_len > MAX_HEADER_BYTES {
        return Err(format!(
            "has a .npy header of {header_len} bytes; numpy reads at most {MAX_HEADER_BYTES}"
        ));
    }
    let mut text = vec![0u8; header_len];
    if read_up_to(reader, &mut text).map_err(io)? < header_len {
        return Err("ends inside its .npy header".into());
    }
    if !utf8 && !text.is_ascii() {
        return Err("has a .npy header that is not ASCII text".into());
    }
    let text = String::from_utf8(text).map_err(|_| "has a .npy header that is not UTF-8")?;
    let mut header = parse_dict(&text)
        .map_err(|what| format!("has a .npy header numpy would not write: {what}"))?;
    header.data_offset = 6 + 2 + len_bytes + header_len;
    Ok(header)
}

/// Reads `count` little-endian float32 values from `reader` and checks that nothing
/// follows them. Memory grows as the values arrive, never ahead of them.
///
/// # Errors
/// A message when the data ends early, runs on, or cannot be read.
pub(super) fn read_f32s<R: Read + ?Sized>(
    reader: &mut R,
    count: usize,
) -> Result<Vec<f32>, String> {
    let io = |e: std::io::Error| format!("cannot be read: {e}");
    let mut values = Vec::with_capacity(count.min(CHUNK_VALUES));
    let mut bytes = vec![0u8; 4 * CHUNK_VALUES];
    while values.len() < count {
        let want = 4 * (count - values.len()).min(CHUNK_VALUES);
        let got = read_up_to(reader, &mut bytes[..want]).map_err(io)?;
        values.extend(
            bytes[..got]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        if got < want {
            return Err(format!(
                "ends after {} of the {} bytes its shape needs",
                4 * values.len() + got % 4,
                4 * count as u64
            ));
        }
    }
    if read_up_to(reader, &mut [0u8; 1]).map_err(io)? > 0 {
        return Err("holds more bytes than its shape needs".into());
    }
    Ok(values)
}

/// A string dtype of numpy's: bytes, or unicode as UTF-32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StringKind {
    /// `|S<n>`, what `np.array(b"...")` has: `n` bytes.
    Bytes,
    /// `<U<n>`, what `np.array("...")` has: `n` little-endian UTF-32 code points.
    Utf32,
}

/// The kind of a numpy string dtype and its data's length in bytes, if `descr` is one.
pub(super) fn string_dtype(descr: &str) -> Option<(StringKind, usize)> {
    let (kind, digits, width) = if let Some(digits) = descr.strip_prefix("|S") {
        (StringKind::Bytes, digits, 1)
    } else {
        (StringKind::Utf32, descr.strip_prefix("<U")?, 4)
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let len: usize = digits.parse().ok()?;
    Some((kind, len.checked_mul(width)?))
}

/// The text of string data of `kind`, without the NULs numpy pads it with.
///
/// # Errors
/// The data is not UTF-8 (bytes) or holds a value that is no character (UTF-32).
pub(super) fn string_text(kind: StringKind, data: &[u8]) -> Result<String, String> {
    let text = match kind {
        StringKind::Bytes => {
            String::from_utf8(data.to_vec()).map_err(|_| "is not UTF-8 text".to_string())?
        }
        StringKind::Utf32 => data
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect::<Option<String>>()
            .ok_or("holds a value that is not a character")?,
    };
    Ok(text.trim_end_matches('\0').to_string())
}

/// Reads exactly `len` bytes of data from `reader` and checks that nothing follows them.
/// Memory grows as the bytes arrive, never ahead of them.
///
/// # Errors
/// A message when the data ends early, runs on, or cannot be read.
pub(super) fn read_bytes<R: Read + ?Sized>(reader: &mut R, len: usize) -> Result<Vec<u8>, String> {
    let io = |e: std::io::Error| format!("cannot be read: {e}");
    let mut bytes = Vec::new();
    reader
        .take(len as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() < len {
        return Err(format!(
            "ends after {} of the {len} bytes its shape needs",
            bytes.len()
        ));
    }
    if read_up_to(reader, &mut [0u8; 1]).map_err(io)? > 0 {
        return Err("holds more bytes than its shape needs".into());
    }
    Ok(bytes)
}

/// An `.npy` (format 1.0) holding `bytes` as a zero-dimensional byte string, as numpy saves
/// `np.array(b"...")`: the header padded with spaces and a newline so that the data starts
/// at a multiple of 64 bytes.
pub(super) fn byte_string_npy(bytes: &[u8]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '|S{}', 'fortran_order': False, 'shape': (), }}",
        bytes.len()
    );
    // Magic, version and the two length bytes come first; the newline ends the header.
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    let header = format!(
        "{dict}{}\n",
        " ".repeat(unpadded.next_multiple_of(64) - unpadded)
    );
    let mut out = MAGIC.to_vec();
    out.extend([1, 0]);
    // A record is at most a few kilobytes, far below the 65,535 bytes version 1.0 allows.
    out.extend(
        u16::try_from(header.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    out.extend(header.as_bytes());
    out.extend(bytes);
    out
}

/// Parses numpy's header dict, `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`,
/// without recursion (a header of nested brackets cannot exhaust the stack).
fn parse_dict(text: &str) -> Result<Header, String> {
    let mut p = Parser { rest: text };
    p.expect('{')?;
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    while !p.eat('}') {
        let key = p.string()?;
        p.expect(':')?;
        match key.as_str() {
            "descr" if p.peek() == Some('[') => {
                return Err("a structured dtype (a list of fields), not float32".into());
            }
            "descr" => descr = Some(p.string()?),
            "fortran_order" => fortran_order = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(format!("unknown key '{}'", excerpt(other))),
        }
        if !p.eat(',') {
            p.expect('}')?;
            break;
        }
    }
    if !p.rest.trim().is_empty() {
        return Err(format!("text after the dict: {}", excerpt(p.rest.trim())));
    }
    let missing = |key: &str| format!("no '{key}'");
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
        data_offset: 0,
    })
}

/// A cursor over header text; every method skips leading white space.
struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn peek(&mut self) -> Option<char> {
        self.rest = self.rest.trim_start();
        self.rest.chars().next()
    }

    /// Consumes `c` if it comes next.
    fn eat(&mut self, c: char) -> bool {
        let next = self.peek() == Some(c);
        if next {
            self.rest = &self.rest[c.len_utf8()..];
        }
        next
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{c}'")))
        }
    }

    fn unexpected(&self, wanted: &str) -> String {
        if self.rest.is_empty() {
            format!("expected {wanted}, found the end")
        } else {
            format!("expected {wanted} at: {}", excerpt(self.rest))
        }
    }

    /// A quoted string, '…' or "…" (numpy writes no escapes in these headers).
    fn string(&mut self) -> Result<String, String> {
        let quote = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.unexpected("a quoted string")),
        };
        let body = &self.rest[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| format!("a string that never ends: {}", excerpt(self.rest)))?;
        self.rest = &body[end + 1..];
        Ok(body[..end].to_string())
    }

    fn boolean(&mut self) -> Result<bool, String> {
        self.peek();
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(value);
            }
        }
        Err(self.unexpected("True or False"))
    }

    /// A tuple of whole numbers: `()`, `(5,)`, `(2, 3)`.
    fn tuple(&mut self) -> Result<Vec<usize>, String> {
        self.expect('(')?;
        let mut items = Vec::new();
        while !self.eat(')') {
            self.peek();
            let digits = self.rest.len()
                - self
                    .rest
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            if digits == 0 {
                return Err(self.unexpected("a whole number in 'shape'"));
            }
            let number = &self.rest[..digits];
            items.push(
                number
                    .parse()
                    .map_err(|_| format!("dimension {} is too large", excerpt(number)))?,
            );
            // Python 2's numpy wrote long integers with an L.
            self.rest = self.rest[digits..]
                .strip_prefix('L')
                .unwrap_or(&self.rest[digits..]);
            if !self.eat(',') {
                self.expect(')')?;
                break;
            }
        }
        Ok(items)
    }
}

/// An `.npy` of format `version` with `header` as its dict text, then `data` (for tests that
/// need headers numpy would not write).
#[cfg(test)]
pub(super) fn npy(version: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((header.len() as u16).to_le_bytes());
    } else {
        out.extend((header.len() as u32).to_le_bytes());
    }
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_headers_of_each_version_parse() {
        let text = "{'descr': '<f4', 'fortran_order': False, 'shape': (784, 50), }         \n";
        for version in 1..=3 {
            let bytes = npy(version, text, &[]);
            let header = read_header(&mut bytes.as_slice()).unwrap();
            assert_eq!(header.descr, "<f4");
            assert!(!header.fortran_order);
            assert_eq!(header.shape, [784, 50]);
            assert_eq!(header.data_offset, bytes.len());
        }
        let header =
            parse_dict("{\"shape\":(3L,),\"fortran_order\":True,\"descr\":\"<f8\"}").unwrap();
        assert_eq!((header.shape, header.fortran_order), (vec![3], true));
        assert_eq!(
            parse_dict("{'descr':'<f4','fortran_order':False,'shape':()}")
                .unwrap()
                .shape,
            Vec::<usize>::new()
        );
    }

    #[test]
    fn half_a_million_nested_parentheses_give_a_short_message() {
        let text = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': {}}}",
            "(".repeat(500_000)
        );
        let err = parse_dict(&text).unwrap_err();
        assert!(
            err.starts_with("expected a whole number in 'shape' at: (((("),
            "{err}"
        );
        assert!(err.len() < 200, "{} bytes: {}", err.len(), &err[..200]);
        // Read from a file, such a header is refused for its length before it is parsed.
        let bytes = npy(2, &text, &[]);
        let err = read_header(&mut bytes.as_slice()).unwrap_err();
        assert!(err.contains("numpy reads at most 10000"), "{err}");
    }

    #[test]
    fn broken_headers_say_what_is_wrong() {
        let cases = [
            (
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
                "structured",
            ),
            (
                "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
                "True or False",
            ),
            ("{'descr': '<f4', 'fortran_order': False}", "no 'shape'"),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                "unknown key 'x'",
            ),
            ("{'descr': '<f4", "never ends"),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
                "too large",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} extra",
                "text after the dict",
            ),
        ];
        for (text, wanted) in cases {
            let err = parse_dict(text).unwrap_err();
            assert!(err.contains(wanted), "{text}: {err}");
        }
        let err = read_header(&mut &b"PK\x03\x04 not npy"[..]).unwrap_err();
        assert!(err.contains("does not start with"), "{err}");
        let err = read_header(&mut &npy(9, "{}", &[])[..]).unwrap_err();
        assert!(err.contains("version 9"), "{err}");
    }

    #[test]
    fn data_must_be_exactly_as_long_as_the_shape_says() {
        let bytes: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(read_f32s(&mut bytes.as_slice(), 2).unwrap(), [1.5, -2.0]);
        let err = read_f32s(&mut &bytes[..7], 2).unwrap_err();
        assert_eq!(err, "ends after 7 of the 8 bytes its shape needs");
        let err = read_f32s(&mut bytes.as_slice(), 1).unwrap_err();
        assert_eq!(err, "holds more bytes than its shape needs");
    }

    #[test]
    fn a_byte_string_is_written_as_numpy_writes_it_and_read_back() {
        let json = br#"{"norm":"l1"}"#;
        let npy_bytes = byte_string_npy(json);
        // What numpy 2.4 writes for `np.save(f, np.array(b'{"norm":"l1"}'))`, byte for byte.
        let mut numpy = b"\x93NUMPY\x01\x00v\x00{'descr': '|S13', 'fortran_order': False, \
                          'shape': (), }"
            .to_vec();
        numpy.extend(b" ".repeat(61));
        numpy.push(b'\n');
        numpy.extend(json);
        assert_eq!(npy_bytes, numpy);
        let header = read_header(&mut npy_bytes.as_slice()).unwrap();
        assert_eq!(
            header.data_offset % 64,
            0,
            "numpy aligns the data to 64 bytes"
        );
        assert_eq!(string_dtype(&header.descr), Some((StringKind::Bytes, 13)));
        assert_eq!(header.shape, Vec::<usize>::new());
        assert_eq!(
            header.len(),
            Some(1),
            "a zero-dimensional array holds one value"
        );
        let mut data = &npy_bytes[header.data_offset..];
        assert_eq!(read_bytes(&mut data, 13).unwrap(), json);
        assert_eq!(
            read_bytes(&mut &b"abc"[..], 4).unwrap_err(),
            "ends after 3 of the 4 bytes its shape needs"
        );
        assert!(read_bytes(&mut &b"abc"[..], 2).is_err());
        assert_eq!(string_dtype("<U13"), Some((StringKind::Utf32, 52)));
        for descr in [
            "|S",
            "<S3",
            "|S-1",
            "|S1x",
            "<f4",
            ">U2",
            "<U99999999999999999999",
        ] {
            assert_eq!(string_dtype(descr), None, "{descr}");
        }
        let utf32: Vec<u8> = "é\0"
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        assert_eq!(string_text(StringKind::Utf32, &utf32).unwrap(), "é");
        assert!(string_text(StringKind::Utf32, &[0, 0, 0x11, 0]).is_err());
        assert!(string_text(StringKind::Bytes, &[0xff]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_header_text_is_parsed_or_refused_without_panic(text in ".{0,200}") {
            let _ = parse_dict(&text);
        }

        #[test]
        fn any_header_bytes_are_parsed_or_refused_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let mut with_magic = MAGIC.to_vec();
            with_magic.extend(&bytes);
            let _ = read_header(&mut with_magic.as_slice());
        }
    }
}
