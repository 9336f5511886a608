//! Text data files (ARFF, CSV) read as a stream of lines, plain or gzip (told apart by
//! content), and the rows they share: one label and 784 pixels, comma-separated. Each line
//! is checked as it arrives, and a fault names the file, the line and the column.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use super::{DatasetError, NUM_CLASSES};
use crate::excerpt::excerpt;
use crate::idx::{GZIP_MAGIC, GZIP_RESERVE_RATIO};
use crate::input_file;

/// Pixels of one MNIST image in these formats: 28x28, one column each.
pub(super) const PIXELS: usize = SIDE * SIDE;
/// Rows and columns of an image.
pub(super) const SIDE: usize = 28;
/// Longest line read. A row of 785 values takes at most about 4 KB even with spaces and
/// quotes; the ARFF header's comment lines are shorter still. A longer line is no MNIST.
const MAX_LINE_BYTES: usize = 64 << 10;

/// An open text data file, read a line at a time.
pub(super) struct TextFile {
    path: PathBuf,
    /// Boxed, so that plain and gzip files share one type.
    reader: Box<dyn BufRead>,
    /// The current line, without its line break.
    line: Vec<u8>,
    /// Its number, from 1.
    number: usize,
    /// Bytes stored on disk, and whether they are gzip: they bound what is reserved.
    stored_len: u64,
    gzip: bool,
}

/// Where a row keeps its label: CSV first, ARFF last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LabelAt {
    First,
    Last,
}

impl TextFile {
    /// Opens the regular file at `path`, gunzipping it if it starts like gzip.
    pub fn open(path: &Path) -> Result<Self, DatasetError> {
        let io = |error| DatasetError::Unreadable {
            path: path.to_path_buf(),
            error,
        };
        let file = input_file::open(path).map_err(io)?;
        let stored_len = file.metadata().map_err(io)?.len();
        let mut buffered = BufReader::new(file);
        let gzip = buffered.fill_buf().map_err(io)?.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::new(MultiGzDecoder::new(buffered)))
        } else {
            Box::new(buffered)
        };
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            line: Vec::new(),
            number: 0,
            stored_len,
            gzip,
        })
    }

    /// The next line without its line break (`\n` or `\r\n`), or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, DatasetError> {
        self.line.clear();
        self.number += 1;
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.line);
        match read {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => {
                let what = if self.gzip {
                    format!("corrupt or truncated gzip data: {e}")
                } else {
                    format!("reading failed: {e}")
                };
                return Err(self.fault(None, what));
            }
        }
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
        } else if self.line.len() > MAX_LINE_BYTES {
            return Err(self.fault(
                None,
                format!("the line is longer than {MAX_LINE_BYTES} bytes; no MNIST row is"),
            ));
        }
        Ok(Some(&self.line))
    }

    /// A fault of the current line, in `column` (from 1) if it is in one.
    pub fn fault(&self, column: Option<usize>, message: String) -> DatasetError {
        DatasetError::Malformed {
            path: self.path.clone(),
            line: self.number,
            column,
            message,
        }
    }

    /// A fault of the file as a whole, found at its end.
    pub fn fault_at_end(&self, message: String) -> DatasetError {
        self.fault(None, message)
    }

    /// Pixel bytes to reserve for `rows` images before they are read: no more than the
    /// stored bytes can hold (each pixel takes at least two characters, "0,"), so a small
    /// file cannot make us reserve what it does not have.
    pub fn reserve_for(&self, rows: usize) -> usize {
        let ratio = if self.gzip { GZIP_RESERVE_RATIO } else { 1 };
        let backed = self.stored_len.saturating_mul(ratio) / 2;
        rows.saturating_mul(PIXELS)
            .min(usize::try_from(backed).unwrap_or(usize::MAX))
    }

    /// Reads the current line as a row of a label (at `label_at`, one of `classes`) and
    /// [`PIXELS`] pixels (0 to 255), appending the pixels to `pixels`; returns the label.
    /// On a fault `pixels` is left as it was.
    pub fn row(
        &self,
        label_at: LabelAt,
        classes: &[bool; NUM_CLASSES],
        pixels: &mut Vec<u8>,
    ) -> Result<u8, DatasetError> {
        let start = pixels.len();
        let result = self.parse_row(label_at, classes, pixels);
        if result.is_err() {
            pixels.truncate(start);
        }
        result
    }

    fn parse_row(
        &self,
        label_at: LabelAt,
        classes: &[bool; NUM_CLASSES],
        pixels: &mut Vec<u8>,
    ) -> Result<u8, DatasetError> {
        let columns = PIXELS + 1;
        let label_column = match label_at {
            LabelAt::First => 1,
            LabelAt::Last => columns,
        };
        let mut label = None;
        let mut count = 0;
        for (column, field) in (1..).zip(fields(&self.line)) {
            count = column;
            if column > columns {
                break;
            }
            if column == label_column {
                let value = number(field)
                    .filter(|&n| usize::from(n) < NUM_CLASSES && classes[usize::from(n)])
                    .ok_or_else(|| {
                        self.fault(
                            Some(column),
                            format!(
                                "label '{}' is not one of the classes {}",
                                quote(field),
                                class_list(classes)
                            ),
                        )
                    })?;
                label = Some(value);
            } else {
                let value = number(field).ok_or_else(|| {
                    self.fault(
                        Some(column),
                        format!(
                            "pixel value '{}' is not a whole number from 0 to 255",
                            quote(field)
                        ),
                    )
                })?;
                pixels.push(value);
            }
        }
        if count != columns {
            let found = if count > columns {
                "more".to_string()
            } else {
                count.to_string()
            };
            return Err(self.fault(
                None,
                format!("the row has {found} columns; a label and {PIXELS} pixels make {columns}"),
            ));
        }
        label.ok_or_else(|| self.fault(Some(label_column), "no label".into()))
    }
}

/// The comma-separated fields of `line`, each without the spaces around it and one pair of
/// quotes ('5' or "5", as some dumps write values).
pub(super) fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| b == b',').map(unquote)
}

/// `field` without surrounding spaces and one pair of matching quotes.
pub(super) fn unquote(field: &[u8]) -> &[u8] {
    let field = field.trim_ascii();
    match field {
        [b'\'', inner @ .., b'\''] | [b'"', inner @ .., b'"'] => inner.trim_ascii(),
        _ => field,
    }
}

/// A whole number from 0 to 255 written in decimal digits, if `field` is one.
pub(super) fn number(field: &[u8]) -> Option<u8> {
    if field.is_empty() || field.len() > 3 {
        return None;
    }
    let mut value = 0u16;
    for &digit in field {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u16::from(digit - b'0');
    }
    u8::try_from(value).ok()
}

/// A field as an error message quotes it.
pub(super) fn quote(field: &[u8]) -> String {
    excerpt(&String::from_utf8_lossy(field))
}

/// The classes as a set, `{0,1,…,9}` written out.
pub(super) fn class_list(classes: &[bool; NUM_CLASSES]) -> String {
    let listed: Vec<String> = (0..NUM_CLASSES)
        .filter(|&c| classes[c])
        .map(|c| c.to_string())
        .collect();
    format!("{{{}}}", listed.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_lose_their_spaces_and_quotes() {
        let got: Vec<&[u8]> = fields(b" 0, '5' ,\"7\",12 ").collect();
        assert_eq!(got, [&b"0"[..], b"5", b"7", b"12"]);
        assert_eq!(unquote(b"'"), b"'");
    }

    #[test]
    fn numbers_are_whole_and_at_most_255() {
        assert_eq!(number(b"0"), Some(0));
        assert_eq!(number(b"255"), Some(255));
        assert_eq!(number(b"007"), Some(7));
        for bad in [&b"256"[..], b"-1", b"1.0", b"", b"1e2", b"0255", b"x"] {
            assert_eq!(number(bad), None, "{}", quote(bad));
        }
    }
}
