//! One split of an image-classification dataset: u8 pixels, labels and the image shape,
//! read from IDX files, or from MNIST as OpenML's ARFF or as CSV ([`arff`], [`csv`]).
//!
//! Pixels stay as bytes (the test set is 7.8 MB); normalization to f32 happens per batch.

pub mod arff;
pub mod csv;
mod files;
mod text;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::idx::{self, IdxError};
use crate::input_file;
use files::Source;

/// Number of classes of MNIST-style digit datasets; labels must be below it.
pub const NUM_CLASSES: usize = 10;

/// Which part of the dataset to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The 10,000 test images (`t10k-*`).
    Test,
    /// The 60,000 training images (`train-*`).
    Train,
}

impl Split {
    /// The name used on the command line and in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Split::Test => "test",
            Split::Train => "train",
        }
    }

    /// The file-name prefix of this split.
    pub fn prefix(self) -> &'static str {
        match self {
            Split::Test => "t10k",
            Split::Train => "train",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a split could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The data directory does not exist.
    #[error("data directory {} does not exist", .0.display())]
    MissingDir(PathBuf),
    /// Neither the `.gz` nor the raw file is there.
    #[error("{} not found (nor {})", gz.display(), raw.display())]
    MissingFile {
        /// The gzip name looked for.
        gz: PathBuf,
        /// The uncompressed name looked for.
        raw: PathBuf,
    },
    /// The data folder names something else, such as a file.
    #[error("{} is {kind}, not a folder", path.display())]
    NotADir {
        /// The path given as the data folder.
        path: PathBuf,
        /// What it is, as "a file".
        kind: &'static str,
    },
    /// No file of any form we read holds the split.
    #[error(
        "no {split} split in {}: none of {} is there",
        dir.display(),
        looked_for.join(", ")
    )]
    NoData {
        /// The data folder.
        dir: PathBuf,
        /// The split wanted.
        split: Split,
        /// The file names looked for, in order: IDX, ARFF, CSV.
        looked_for: Vec<String>,
    },
    /// Something other than a regular file (a directory, a FIFO, a device) where a data
    /// file should be.
    #[error("{} is {kind}, not {format}", path.display())]
    NotAFile {
        /// The path found.
        path: PathBuf,
        /// What it is, as "a directory".
        kind: &'static str,
        /// What was wanted there, as "an IDX file".
        format: &'static str,
    },
    /// A line of a text data file (ARFF, CSV) that is not what the format says.
    #[error("{}: line {line}{}: {message}", path.display(), column_text(.column))]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The column (the comma-separated field, from 1), when the fault is in one.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A data file or folder whose kind cannot be known: a symbolic link loop, a broken
    /// link, no permission.
    #[error("{}: {error}", path.display())]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why it cannot be looked at.
        error: std::io::Error,
    },
    /// An IDX file is unreadable or invalid.
    #[error(transparent)]
    Idx(#[from] IdxError),
    /// The image file's shape is unusable.
    #[error("{}: images must be at least 1x1, the header says {rows}x{cols}", path.display())]
    EmptyImages {
        /// The image file.
        path: PathBuf,
        /// Rows per image.
        rows: usize,
        /// Columns per image.
        cols: usize,
    },
    /// Images and labels disagree in count.
    #[error("{} holds {images} images but {} holds {labels} labels", images_path.display(), labels_path.display())]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Images in it.
        images: usize,
        /// Labels in it.
        labels: usize,
    },
    /// A label is not a valid class.
    #[error("{}: label {label} at index {index} is not below the number of classes ({NUM_CLASSES})", path.display())]
    BadLabel {
        /// The label file.
        path: PathBuf,
        /// Position of the label.
        index: usize,
        /// Its value.
        label: u8,
    },
}

/// ", column N" when a fault is in one column.
fn column_text(column: &Option<usize>) -> String {
    column.map(|c| format!(", column {c}")).unwrap_or_default()
}

/// A loaded split: `len()` images of `rows x cols` bytes each, with their labels.
#[derive(Debug, Clone)]
pub struct Dataset {
    images: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
}

impl Dataset {
    /// Builds a dataset from raw parts, checking that they agree.
    ///
    /// # Errors
    /// Lengths that disagree or a label of 10 or more (reported against `"<memory>"`).
    pub fn from_parts(
        images: Vec<u8>,
        labels: Vec<u8>,
        rows: usize,
        cols: usize,
    ) -> Result<Self, DatasetError> {
        let mem = PathBuf::from("<memory>");
        if rows == 0 || cols == 0 {
            return Err(DatasetError::EmptyImages {
                path: mem,
                rows,
                cols,
            });
        }
        let n_images = images.len() / (rows * cols);
        if n_images * rows * cols != images.len() || n_images != labels.len() {
            return Err(DatasetError::CountMismatch {
                images_path: mem.clone(),
                labels_path: mem,
                images: n_images,
                labels: labels.len(),
            });
        }
        check_labels(&labels, &mem)?;
        Ok(Self {
            images,
            labels,
            rows,
            cols,
        })
    }

    /// Loads `split` from `dir`, taking `{prefix}-images-idx3-ubyte[.gz]` and
    /// `{prefix}-labels-idx1-ubyte[.gz]`, or if there are none `mnist_784.arff[.gz]`, or
    /// else `mnist_{split}.csv[.gz]`.
    ///
    /// # Errors
    /// A missing directory, no file of any form, or any fault in the files found.
    pub fn load(dir: &Path, split: Split) -> Result<Self, DatasetError> {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(m) => {
                return Err(DatasetError::NotADir {
                    path: dir.to_path_buf(),
                    kind: input_file::kind(&m.file_type()),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Relative to where the program was started, which a message should not hide.
                let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
                return Err(DatasetError::MissingDir(shown));
            }
            Err(error) => {
                return Err(DatasetError::Unreadable {
                    path: dir.to_path_buf(),
                    error,
                });
            }
        }
        match files::find(dir, split)? {
            Source::Idx { images, labels } => Self::load_idx(images, labels),
            Source::Arff(path) => arff::read(&path, split, arff::Layout::MNIST_784),
            Source::Csv(path) => csv::read(&path, split),
        }
    }

    /// Loads a split from its IDX image and label files.
    fn load_idx(images_path: PathBuf, labels_path: PathBuf) -> Result<Self, DatasetError> {
        // Labels first: they are tiny, so a mismatch is found before gunzipping 47 MB.
        let labels = idx::read(&labels_path, 1)?;
        let images = idx::read(&images_path, 3)?;
        let (n, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
        if rows == 0 || cols == 0 {
            return Err(DatasetError::EmptyImages {
                path: images_path,
                rows,
                cols,
            });
        }
        if n != labels.dims[0] {
            return Err(DatasetError::CountMismatch {
                images_path,
                labels_path,
                images: n,
                labels: labels.dims[0],
            });
        }
        check_labels(&labels.data, &labels_path)?;
        Ok(Self {
            images: images.data,
            labels: labels.data,
            rows,
            cols,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Rows of one image.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns of one image.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Pixels per image (`rows * cols`), the network's input size.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `index`, row-major. Panics if out of range: callers check `len()`.
    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.pixels_per_image();
        &self.images[index * n..(index + 1) * n]
    }

    /// The pixels of images `range`, contiguous, row-major.
    pub fn images(&self, range: Range<usize>) -> &[u8] {
        let n = self.pixels_per_image();
        &self.images[range.start * n..range.end * n]
    }

    /// All labels in dataset order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Label of image `index`.
    pub fn label(&self, index: usize) -> u8 {
        self.labels[index]
    }

    /// Consecutive index ranges of at most `batch_size` images covering the split.
    pub fn batches(&self, batch_size: usize) -> impl Iterator<Item = Range<usize>> + use<> {
        batch_ranges(self.len(), batch_size)
    }
}

/// Consecutive ranges of at most `batch_size` covering `0..len` (`batch_size` of 0 is treated as 1).
pub fn batch_ranges(len: usize, batch_size: usize) -> impl Iterator<Item = Range<usize>> {
    let step = batch_size.max(1);
    (0..len)
        .step_by(step)
        .map(move |start| start..(start + step).min(len))
}

fn check_labels(labels: &[u8], path: &Path) -> Result<(), DatasetError> {
    match labels.iter().position(|&l| usize::from(l) >= NUM_CLASSES) {
        Some(index) => Err(DatasetError::BadLabel {
            path: path.to_path_buf(),
            index,
            label: labels[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::encode;
    use std::fs;

    fn write(dir: &Path, name: &str, bytes: &[u8]) {
        fs::write(dir.join(name), bytes).unwrap();
    }

    #[test]
    fn loads_raw_files_and_reads_shape_from_header() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "t10k-images-idx3-ubyte",
            &encode(&[2, 3, 2], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
        );
        write(dir.path(), "t10k-labels-idx1-ubyte", &encode(&[2], &[3, 9]));
        let ds = Dataset::load(dir.path(), Split::Test).unwrap();
        assert_eq!((ds.len(), ds.rows(), ds.cols()), (2, 3, 2));
        assert_eq!(ds.image(1), &[6, 7, 8, 9, 10, 11]);
        assert_eq!(ds.label(1), 9);
    }

    #[test]
    fn count_mismatch_and_bad_label_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "t10k-images-idx3-ubyte",
            &encode(&[2, 1, 1], &[0, 1]),
        );
        write(
            dir.path(),
            "t10k-labels-idx1-ubyte",
            &encode(&[3], &[1, 2, 3]),
        );
        let err = Dataset::load(dir.path(), Split::Test).unwrap_err();
        assert!(err.to_string().contains("2 images but"), "{err}");
        write(
            dir.path(),
            "t10k-labels-idx1-ubyte",
            &encode(&[2], &[1, 10]),
        );
        let err = Dataset::load(dir.path(), Split::Test).unwrap_err();
        assert!(err.to_string().contains("label 10 at index 1"), "{err}");
    }

    #[test]
    fn missing_dir_and_file_are_named() {
        let err = Dataset::load(Path::new("/no/such/dir"), Split::Test).unwrap_err();
        assert!(err.to_string().contains("/no/such/dir"));
        let dir = tempfile::tempdir().unwrap();
        let err = Dataset::load(dir.path(), Split::Train).unwrap_err();
        assert!(err.to_string().contains("train-"), "{err}");
    }

    #[test]
    fn batch_ranges_cover_everything_once() {
        let r: Vec<_> = batch_ranges(10, 4).collect();
        assert_eq!(r, vec![0..4, 4..8, 8..10]);
        assert_eq!(batch_ranges(0, 4).count(), 0);
    }
}
