//! Which files hold a split in a data folder, looked for in this order: IDX (images and
//! labels), then OpenML's ARFF, then CSV; and, where something other than a regular file
//! stands under one of those names, what it is.

use std::path::{Path, PathBuf};

use super::{DatasetError, Split, arff, csv};
use crate::input_file;

/// The files a split is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// IDX images and labels.
    Idx {
        /// The image file.
        images: PathBuf,
        /// The label file.
        labels: PathBuf,
    },
    /// OpenML's `mnist_784.arff`, both splits in one file.
    Arff(PathBuf),
    /// One CSV file for the split.
    Csv(PathBuf),
}

/// Finds the files of `split` in `dir`, which must be a folder.
pub(super) fn find(dir: &Path, split: Split) -> Result<Source, DatasetError> {
    let idx = |kind: &str| {
        let raw = format!("{}-{kind}-ubyte", split.prefix());
        [format!("{raw}.gz"), raw]
    };
    let (images, labels) = (idx("images-idx3"), idx("labels-idx1"));
    let arff = arff::FILE_NAMES.map(String::from);
    let csv = csv::file_names(split);
    let idx_file = "an IDX file";
    match (
        present(dir, &images, idx_file)?,
        present(dir, &labels, idx_file)?,
    ) {
        (Some(images), Some(labels)) => return Ok(Source::Idx { images, labels }),
        (Some(_), None) => return Err(missing(dir, &labels)),
        (None, Some(_)) => return Err(missing(dir, &images)),
        (None, None) => {}
    }
    if let Some(path) = present(dir, &arff, "an ARFF file")? {
        return Ok(Source::Arff(path));
    }
    if let Some(path) = present(dir, &csv, "a CSV file")? {
        return Ok(Source::Csv(path));
    }
    let looked_for = [images, labels, arff, csv].concat();
    Err(DatasetError::NoData {
        dir: dir.to_path_buf(),
        split,
        looked_for,
    })
}

/// The error for an IDX file whose partner is there.
fn missing(dir: &Path, [gz, raw]: &[String; 2]) -> DatasetError {
    DatasetError::MissingFile {
        gz: dir.join(gz),
        raw: dir.join(raw),
    }
}

/// The first of `names` in `dir` that is a regular file; `None` when nothing stands under
/// any of them; an error saying what stands there when something does that is not a
/// regular file (`format` says what was wanted, as "an IDX file").
fn present(
    dir: &Path,
    names: &[String],
    format: &'static str,
) -> Result<Option<PathBuf>, DatasetError> {
    let candidates: Vec<PathBuf> = names.iter().map(|name| dir.join(name)).collect();
    if let Some(file) = candidates
        .iter()
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
    {
        return Ok(Some(file.clone()));
    }
    // Looking on would send the user after a file that is there: /dev/null linked in, a
    // FIFO, a folder, a symbolic link loop are each named for what they are.
    for path in candidates {
        let unreadable = |error| DatasetError::Unreadable {
            path: path.clone(),
            error,
        };
        match std::fs::metadata(&path) {
            Ok(m) => {
                return Err(DatasetError::NotAFile {
                    kind: input_file::kind(&m.file_type()),
                    path,
                    format,
                });
            }
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(unreadable(e)),
            Err(_) if std::fs::symlink_metadata(&path).is_ok() => {
                return Err(unreadable(std::io::Error::other(
                    "a symbolic link to a file that does not exist",
                )));
            }
            Err(_) => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idx_comes_first_then_arff_then_csv() {
        let dir = tempfile::tempdir().unwrap();
        let touch = |name: &str| std::fs::write(dir.path().join(name), b"").unwrap();
        let found = || find(dir.path(), Split::Test).unwrap();
        touch("mnist_test.csv.gz");
        assert_eq!(found(), Source::Csv(dir.path().join("mnist_test.csv.gz")));
        touch("mnist_784.arff.gz");
        assert_eq!(found(), Source::Arff(dir.path().join("mnist_784.arff.gz")));
        touch("t10k-images-idx3-ubyte");
        touch("t10k-labels-idx1-ubyte.gz");
        assert_eq!(
            found(),
            Source::Idx {
                images: dir.path().join("t10k-images-idx3-ubyte"),
                labels: dir.path().join("t10k-labels-idx1-ubyte.gz"),
            }
        );
        // The training split's CSV is another file.
        std::fs::write(dir.path().join("mnist_train.csv"), b"").unwrap();
        assert_eq!(
            find(dir.path(), Split::Train).unwrap(),
            Source::Arff(dir.path().join("mnist_784.arff.gz"))
        );
    }

    #[test]
    fn a_folder_holding_none_names_every_file_looked_for() {
        let dir = tempfile::tempdir().unwrap();
        let err = find(dir.path(), Split::Train).unwrap_err().to_string();
        let names = "train-images-idx3-ubyte.gz, train-images-idx3-ubyte, \
                     train-labels-idx1-ubyte.gz, train-labels-idx1-ubyte, mnist_784.arff, \
                     mnist_784.arff.gz, mnist_train.csv, mnist_train.csv.gz";
        assert_eq!(
            err,
            format!(
                "no train split in {}: none of {names} is there",
                dir.path().display()
            )
        );
        // Half an IDX pair is a missing file, not a reason to look further.
        std::fs::write(dir.path().join("mnist_784.arff"), b"").unwrap();
        std::fs::write(dir.path().join("train-labels-idx1-ubyte"), b"").unwrap();
        let err = find(dir.path(), Split::Train).unwrap_err().to_string();
        assert!(
            err.contains("train-images-idx3-ubyte.gz not found"),
            "{err}"
        );
        // A folder under the ARFF name is named as such.
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir(other.path().join("mnist_784.arff")).unwrap();
        let err = find(other.path(), Split::Test).unwrap_err().to_string();
        assert!(
            err.ends_with("mnist_784.arff is a directory, not an ARFF file"),
            "{err}"
        );
    }
}
