//! MNIST as CSV, as it is commonly shared (`mnist_train.csv`, `mnist_test.csv`, plain or
//! gzip): one image per row, its label and then its 784 pixels, with or without a header row
//! naming the columns.

use std::path::Path;

use super::text::{LabelAt, PIXELS, SIDE, TextFile, fields, number};
use super::{Dataset, DatasetError, NUM_CLASSES, Split};

/// The names of `split`'s file, looked for in this order.
pub fn file_names(split: Split) -> [String; 2] {
    let name = format!("mnist_{}.csv", split.name());
    [name.clone(), format!("{name}.gz")]
}

/// Every class may appear: CSV declares none.
const ALL_CLASSES: [bool; NUM_CLASSES] = [true; NUM_CLASSES];

/// Reads the CSV file at `path`: any number of rows of a label (0 to 9) and 784 pixels (0
/// to 255), after an optional header row of as many column names. `split` is the split it
/// holds, to size what is reserved.
///
/// # Errors
/// The file cannot be read, a row or the header has another number of columns, or a value
/// is not a label or a pixel (the error names the line and the column).
pub fn read(path: &Path, split: Split) -> Result<Dataset, DatasetError> {
    let mut file = TextFile::open(path)?;
    let mut images = Vec::new();
    let expected = match split {
        Split::Train => 60_000,
        Split::Test => 10_000,
    };
    // A refused reservation is no error: the pixels then grow as rows arrive.
    let _ = images.try_reserve_exact(file.reserve_for(expected));
    let mut labels = Vec::new();
    let mut first = true;
    while let Some(line) = file.next_line()? {
        if line.trim_ascii().is_empty() {
            continue;
        }
        // A header names the columns: its first field is no number, as a row's label is.
        let header = first && fields(line).next().and_then(number).is_none();
        first = false;
        if header {
            let columns = fields(line).count();
            if columns != PIXELS + 1 {
                return Err(file.fault(
                    None,
                    format!(
                        "the header row names {columns} columns; a label and {PIXELS} pixels \
                         make {}",
                        PIXELS + 1
                    ),
                ));
            }
            continue;
        }
        labels.push(file.row(LabelAt::First, &ALL_CLASSES, &mut images)?);
    }
    Ok(Dataset {
        images,
        labels,
        rows: SIDE,
        cols: SIDE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A row: the label, then pixel `i` as `(i * 7 + seed) % 256`.
    fn row(label: &str, seed: usize) -> String {
        let pixels: Vec<String> = (0..PIXELS)
            .map(|i| ((i * 7 + seed) % 256).to_string())
            .collect();
        format!("{label},{}\n", pixels.join(","))
    }

    fn header(columns: usize) -> String {
        let names: Vec<String> = (0..columns - 1).map(|i| format!("pixel{i}")).collect();
        format!("label,{}\n", names.join(","))
    }

    fn read_bytes(bytes: &[u8]) -> Result<Dataset, DatasetError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mnist_test.csv");
        std::fs::write(&path, bytes).unwrap();
        read(&path, Split::Test)
    }

    #[test]
    fn rows_read_with_or_without_a_header_plain_or_gzip() {
        let rows = row("7", 0) + &row("2", 1) + &row("1", 2);
        let bare = read_bytes(rows.as_bytes()).unwrap();
        assert_eq!((bare.len(), bare.rows(), bare.cols()), (3, 28, 28));
        assert_eq!(bare.labels(), [7, 2, 1]);
        assert_eq!(bare.image(1)[..3], [1, 8, 15]);
        let headed = read_bytes((header(785) + &rows).as_bytes()).unwrap();
        assert_eq!(headed.images(0..3), bare.images(0..3));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all((header(785) + &rows).replace('\n', "\r\n").as_bytes())
            .unwrap();
        let gunzipped = read_bytes(&gz.finish().unwrap()).unwrap();
        assert_eq!(gunzipped.labels(), bare.labels());
        assert_eq!(gunzipped.images(0..3), bare.images(0..3));
        assert!(read_bytes(b"").unwrap().is_empty());
    }

    #[test]
    fn a_header_or_a_row_of_the_wrong_width_and_bad_values_are_named() {
        let cases = [
            (
                header(784) + &row("1", 0),
                "line 1: the header row names 784 columns; a label and 784 pixels make 785",
            ),
            (
                row("1", 0) + &row("10", 0),
                "line 2, column 1: label '10' is not one of the classes {0,1,2,3,4,5,6,7,8,9}",
            ),
            (row("1", 0) + &row("-1", 0), "line 2, column 1: label '-1'"),
            (
                row("1", 0).replacen(",0,", ",300,", 1),
                "line 1, column 2: pixel value '300' is not a whole number from 0 to 255",
            ),
            (
                row("1", 0).replacen(",0,", ",0.5,", 1),
                "line 1, column 2: pixel value '0.5'",
            ),
            (
                row("1", 0).replacen(",0,", ",,", 1),
                "line 1, column 2: pixel value ''",
            ),
            (
                row("1", 0).replacen(",0,", ",", 1),
                "line 1: the row has 784 columns",
            ),
            (
                header(785) + &row("1", 0) + "3\n",
                "line 3: the row has 1 columns",
            ),
        ];
        for (text, wanted) in cases {
            let err = read_bytes(text.as_bytes()).unwrap_err().to_string();
            assert!(
                err.contains(&format!("mnist_test.csv: {wanted}")),
                "wanted {wanted}: {err}"
            );
        }
        let err = read_bytes(&vec![b'1'; 100_000]).unwrap_err().to_string();
        assert!(
            err.ends_with("line 1: the line is longer than 65536 bytes; no MNIST row is"),
            "{err}"
        );
    }
}
