//! OpenML's `mnist_784` as an ARFF file, what scikit-learn's `fetch_openml('mnist_784')`
//! downloads: a header of 784 numeric attributes `pixel1` … `pixel784` and a nominal
//! `class {0,…,9}`, then one row per image, the 60,000 training images first and the 10,000
//! test images last (the split the book and the blog use).

use std::ops::Range;
use std::path::Path;

use super::text::{LabelAt, PIXELS, SIDE, TextFile, fields, number, quote, unquote};
use super::{Dataset, DatasetError, NUM_CLASSES, Split};

/// The names OpenML gives the file, looked for in this order.
pub const FILE_NAMES: [&str; 2] = ["mnist_784.arff", "mnist_784.arff.gz"];

/// How an ARFF file's rows divide into the splits: `train` rows, then `test` rows, and no
/// more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Rows of the training split, first.
    pub train: usize,
    /// Rows of the test split, after them.
    pub test: usize,
}

impl Layout {
    /// OpenML's `mnist_784`: 60,000 training rows, then 10,000 test rows.
    pub const MNIST_784: Self = Self {
        train: 60_000,
        test: 10_000,
    };

    /// The rows of `split`, counted from 0 among the data rows.
    fn rows(self, split: Split) -> Range<usize> {
        match split {
            Split::Train => 0..self.train,
            Split::Test => self.train..self.train + self.test,
        }
    }

    /// The layout in words, for errors.
    fn describe(self) -> String {
        format!(
            "{} data rows: {} training rows, then {} test rows",
            self.train + self.test,
            self.train,
            self.test
        )
    }
}

/// Reads `split` from the ARFF file at `path`, whose rows divide as `layout` says. Every row
/// is checked, those of the other split too, but only `split`'s are kept.
///
/// # Errors
/// The file cannot be read, its header is not `mnist_784`'s, a row is malformed (the error
/// names the line and the column), or it holds other than `layout`'s number of rows.
pub fn read(path: &Path, split: Split, layout: Layout) -> Result<Dataset, DatasetError> {
    let mut file = TextFile::open(path)?;
    let classes = header(&mut file)?;
    let wanted = layout.rows(split);
    let total = layout.train + layout.test;
    let mut images = Vec::new();
    // A refused reservation is no error: the pixels then grow as rows arrive.
    let _ = images.try_reserve_exact(file.reserve_for(wanted.len()));
    let mut labels = Vec::new();
    let mut row = Vec::with_capacity(PIXELS);
    let mut rows = 0;
    while let Some(line) = file.next_line()? {
        let text = line.trim_ascii();
        if text.is_empty() || text.starts_with(b"%") {
            continue;
        }
        if text.starts_with(b"{") {
            let message = "a sparse row ({index value, …}); save the file dense".to_string();
            return Err(file.fault(None, message));
        }
        if rows == total {
            let message = format!(
                "a data row past the last: the file should hold {}",
                layout.describe()
            );
            return Err(file.fault(None, message));
        }
        row.clear();
        let label = file.row(LabelAt::Last, &classes, &mut row)?;
        if wanted.contains(&rows) {
            images.extend_from_slice(&row);
            labels.push(label);
        }
        rows += 1;
    }
    if rows < total {
        return Err(file.fault_at_end(format!(
            "the file ends after {rows} data rows; it should hold {}",
            layout.describe()
        )));
    }
    Ok(Dataset {
        images,
        labels,
        rows: SIDE,
        cols: SIDE,
    })
}

/// Reads the header up to `@data`, checking that it declares `pixel1` … `pixel784`
/// (numeric) and then a nominal class of digits; returns which digits the class lists.
fn header(file: &mut TextFile) -> Result<[bool; NUM_CLASSES], DatasetError> {
    let mut relation = false;
    let mut attributes = 0;
    let mut classes = None;
    loop {
        let Some(line) = file.next_line()? else {
            return Err(file.fault_at_end("the file ends before its @data line".into()));
        };
        let line = line.trim_ascii().to_vec();
        if line.is_empty() || line.starts_with(b"%") {
            continue;
        }
        let split = line
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(line.len());
        let (keyword, rest) = (
            line[..split].to_ascii_lowercase(),
            line[split..].trim_ascii(),
        );
        match &keyword[..] {
            b"@relation" => relation = true,
            b"@attribute" => {
                attributes += 1;
                classes = attribute(file, attributes, rest)?.or(classes);
            }
            b"@data" => {
                return match classes {
                    Some(classes) if relation && attributes == PIXELS + 1 => Ok(classes),
                    _ if !relation => Err(file.fault(None, "@data before any @relation".into())),
                    _ => Err(file.fault(
                        None,
                        format!(
                            "@data after {attributes} attributes; mnist_784 has {} (pixel1 … \
                             pixel{PIXELS}, then the class)",
                            PIXELS + 1
                        ),
                    )),
                };
            }
            _ => {
                return Err(file.fault(
                    None,
                    format!(
                        "'{}' where an ARFF header has @relation, @attribute or @data",
                        quote(&keyword)
                    ),
                ));
            }
        }
    }
}

/// Checks attribute number `index` (from 1), declared by `rest` (its name and type): a
/// pixel's, or the class's, whose digits it returns.
fn attribute(
    file: &TextFile,
    index: usize,
    rest: &[u8],
) -> Result<Option<[bool; NUM_CLASSES]>, DatasetError> {
    let (name, kind) = match rest.first() {
        Some(&quote @ (b'\'' | b'"')) => {
            let end = rest[1..]
                .iter()
                .position(|&b| b == quote)
                .map_or(rest.len(), |end| end + 2);
            rest.split_at(end)
        }
        _ => rest.split_at(
            rest.iter()
                .position(u8::is_ascii_whitespace)
                .unwrap_or(rest.len()),
        ),
    };
    let (name, kind) = (unquote(name), kind.trim_ascii());
    let expected = || {
        format!(
            "attribute {index} is '{} {}'; mnist_784 has pixel1 … pixel{PIXELS} (numeric), \
             then class {{0,…,9}}",
            quote(name),
            quote(kind)
        )
    };
    if index <= PIXELS {
        let numeric = [&b"numeric"[..], b"real", b"integer"]
            .iter()
            .any(|t| kind.eq_ignore_ascii_case(t));
        if !numeric || !name.eq_ignore_ascii_case(format!("pixel{index}").as_bytes()) {
            return Err(file.fault(None, expected()));
        }
        return Ok(None);
    }
    let list = match kind {
        [b'{', inner @ .., b'}'] if index == PIXELS + 1 => inner,
        _ => return Err(file.fault(None, expected())),
    };
    let mut classes = [false; NUM_CLASSES];
    for value in fields(list) {
        match number(value).map(usize::from) {
            Some(digit) if digit < NUM_CLASSES && !classes[digit] => classes[digit] = true,
            _ => {
                return Err(file.fault(
                    None,
                    format!(
                        "the class lists '{}'; its values must be the digits 0 to 9, each once",
                        quote(value)
                    ),
                ));
            }
        }
    }
    Ok(Some(classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ARFF header as OpenML writes it, with the class values listed as `classes`.
    fn header(classes: &str) -> String {
        let mut text = "% MNIST, as OpenML serves it\n@RELATION mnist_784\n\n".to_string();
        for i in 1..=PIXELS {
            text += &format!("@ATTRIBUTE pixel{i} NUMERIC\n");
        }
        text + &format!("@ATTRIBUTE class {classes}\n\n@DATA\n")
    }

    /// A data row: pixel `i` is `(i + seed) % 256`, then the label.
    fn row(seed: usize, label: &str) -> String {
        let pixels: Vec<String> = (0..PIXELS)
            .map(|i| ((i + seed) % 256).to_string())
            .collect();
        format!("{},{label}\n", pixels.join(","))
    }

    /// Reads `text` as `mnist_784.arff` divided as `layout`.
    fn read_text(text: &str, split: Split, layout: Layout) -> Result<Dataset, DatasetError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mnist_784.arff");
        std::fs::write(&path, text).unwrap();
        read(&path, split, layout)
    }

    const TWO_THEN_ONE: Layout = Layout { train: 2, test: 1 };

    #[test]
    fn the_first_rows_are_the_training_split_and_the_last_the_test_split() {
        let text = header("{0,1,2,3,4,5,6,7,8,9}")
            + &row(0, "5")
            + "% a comment\n\n"
            + &row(1, "0")
            + &row(2, "4");
        let train = read_text(&text, Split::Train, TWO_THEN_ONE).unwrap();
        assert_eq!((train.len(), train.rows(), train.cols()), (2, 28, 28));
        assert_eq!(train.labels(), [5, 0]);
        assert_eq!(train.image(1)[..3], [1, 2, 3]);
        let test = read_text(&text, Split::Test, TWO_THEN_ONE).unwrap();
        assert_eq!(test.labels(), [4]);
        assert_eq!(test.image(0)[255..257], [1, 2]);
    }

    #[test]
    fn quoted_classes_spaces_and_crlf_read_as_plain_ones() {
        let text = header("{'0', '1','2','3','4','5','6','7','8','9'}").replace('\n', "\r\n")
            + &row(0, "'7'").replace(',', " , ")
            + &row(1, "\"3\"")
            + &row(2, " 9 ");
        let train = read_text(&text, Split::Train, TWO_THEN_ONE).unwrap();
        assert_eq!(train.labels(), [7, 3]);
        assert_eq!(train.image(0)[..2], [0, 1]);
    }

    #[test]
    fn a_header_that_is_not_mnist_784s_is_named_by_its_line() {
        let classes = "{0,1,2,3,4,5,6,7,8,9}";
        let cases = [
            (
                header(classes).replace("pixel3 ", "pixel4 "),
                "line 6: attribute 3 is 'pixel4 NUMERIC'",
            ),
            (
                header(classes).replace("pixel9 NUMERIC", "pixel9 STRING"),
                "line 12: attribute 9 is 'pixel9 STRING'",
            ),
            (
                header(classes).replace(&format!("@ATTRIBUTE class {classes}\n"), ""),
                "line 789: @data after 784 attributes; mnist_784 has 785",
            ),
            (
                header(classes).replace("{0,1", "{0,0,1"),
                "the class lists '0'; its values must be the digits 0 to 9, each once",
            ),
            (header("{0,1,2,3,4,5,6,7,8,10}"), "the class lists '10'"),
            (
                header("NUMERIC"),
                "line 788: attribute 785 is 'class NUMERIC'",
            ),
            (
                header(classes).replace("@DATA\n", "@ATTRIBUTE extra NUMERIC\n@DATA\n"),
                "line 790: attribute 786 is 'extra NUMERIC'",
            ),
            (
                header(classes).replace("@RELATION mnist_784\n", ""),
                "@data before any @relation",
            ),
            (
                header(classes).replace("@DATA\n", ""),
                "line 790: the file ends before its @data line",
            ),
            (
                header(classes).replace("@RELATION", "@RELATON"),
                "line 2: '@relaton' where an ARFF header has",
            ),
        ];
        for (text, wanted) in cases {
            let err = read_text(&text, Split::Test, TWO_THEN_ONE)
                .unwrap_err()
                .to_string();
            assert!(err.contains(wanted), "wanted {wanted}: {err}");
            assert!(err.contains("mnist_784.arff: line "), "{err}");
        }
    }

    #[test]
    fn malformed_rows_name_the_line_and_the_column() {
        let head = header("{0,1,2,3,4,5,6,7,8}");
        let at = 791;
        let cases = [
            (
                row(0, "9"),
                format!(
                    "line {at}, column 785: label '9' is not one of the classes {{0,1,2,3,4,5,6,7,8}}"
                ),
            ),
            (row(0, "x"), format!("line {at}, column 785: label 'x'")),
            (
                row(0, "5").replacen("0,", "256,", 1),
                format!(
                    "line {at}, column 1: pixel value '256' is not a whole number from 0 to 255"
                ),
            ),
            (
                row(0, "5").replacen("1,", "?,", 1),
                format!("line {at}, column 2: pixel value '?'"),
            ),
            (
                row(0, "5").replacen("0,", "", 1),
                format!("line {at}: the row has 784 columns; a label and 784 pixels make 785"),
            ),
            (
                row(0, "5,5"),
                format!("line {at}: the row has more columns"),
            ),
            (
                "{0 5, 783 2}\n".to_string(),
                format!("line {at}: a sparse row"),
            ),
        ];
        for (bad, wanted) in cases {
            let text = head.clone() + &bad + &row(1, "1") + &row(2, "2");
            let err = read_text(&text, Split::Test, TWO_THEN_ONE)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&wanted), "wanted {wanted}: {err}");
        }
    }

    #[test]
    fn more_or_fewer_rows_than_the_layout_are_refused() {
        let head = header("{0,1,2,3,4,5,6,7,8,9}");
        let err = read_text(
            &(head.clone() + &row(0, "1") + &row(1, "2")),
            Split::Train,
            TWO_THEN_ONE,
        )
        .unwrap_err()
        .to_string();
        assert!(err.ends_with("line 793: the file ends after 2 data rows; it should hold 3 data rows: 2 training rows, then 1 test rows"), "{err}");
        let four = head + &row(0, "1") + &row(1, "2") + &row(2, "3") + &row(3, "4");
        let err = read_text(&four, Split::Train, TWO_THEN_ONE)
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("line 794: a data row past the last: the file should hold 3 data rows: 2 training rows, then 1 test rows"), "{err}");
    }
}
