//! Opening the files the program reads: regular files only, so that a FIFO, a device or a
//! socket named by mistake is refused at once instead of blocking or streaming forever; and
//! reading them in pieces whose length is checked rather than trusted.

use std::fs::{File, FileType, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// Opens `path` for reading if it is a regular file (following symbolic links).
///
/// # Errors
/// The file cannot be opened (missing, no permission, a symbolic link loop), or it is not a
/// regular file: the error then says what it is, e.g. "a named pipe (FIFO), not a regular
/// file".
pub fn open(path: &Path) -> io::Result<File> {
    let file = open_without_blocking(path)?;
    let metadata = file.metadata()?;
    if metadata.is_file() {
        Ok(file)
    } else {
        Err(not_regular(&metadata))
    }
}

/// Fills as much of `buf` as `reader` has, stopping early only at its end; returns how many
/// bytes it filled.
///
/// # Errors
/// A read fails (other than by an interruption, which is retried).
pub fn read_up_to<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The error for a path that exists but is not a regular file.
pub fn not_regular(metadata: &Metadata) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}, not a regular file", kind(&metadata.file_type())),
    )
}

/// What a file system entry is, in words: "a directory", "a named pipe (FIFO)", ….
pub fn kind(file_type: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a file"
    } else {
        "not a file or a directory"
    }
}

/// Opening a FIFO for reading blocks until a writer appears, so on Linux it is opened
/// non-blocking and checked through the open descriptor (no window for a swap between a
/// check and the open); the flag changes nothing for reading a regular file.
#[cfg(target_os = "linux")]
fn open_without_blocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Elsewhere the path is checked before it is opened.
#[cfg(not(target_os = "linux"))]
fn open_without_blocking(path: &Path) -> io::Result<File> {
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(not_regular(&metadata));
    }
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_opens_and_a_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        assert!(open(&path).is_ok());
        let err = open(dir.path()).unwrap_err();
        assert_eq!(err.to_string(), "a directory, not a regular file");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_and_a_device_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo runs");
        let err = open(&fifo).unwrap_err();
        assert_eq!(err.to_string(), "a named pipe (FIFO), not a regular file");
        let err = open(Path::new("/dev/null")).unwrap_err();
        assert_eq!(err.to_string(), "a character device, not a regular file");
    }
}
