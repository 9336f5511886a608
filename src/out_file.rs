//! Output files written whole or not at all: checked before a long run, written to a
//! temporary file in the same folder, synced, then moved into place (over an old file only
//! when asked to, `--force` on the command line or a yes in the explorer, and never over one
//! that appeared meanwhile without it). Temporary files are named `.NAME.tmp-PID`; those left
//! by a killed run are removed by the next write to the same file (Linux, where a process id
//! can be looked up in /proc).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr, bail, eyre};

/// What comes between the file name and the process id in a temporary file's name.
const TEMP_MARK: &str = ".tmp-";

/// Fails if `out` (given by option `flag`) exists (without `force`), or if its folder is missing
/// or not writable, so that a long run does not end in an error.
pub fn check_out(out: &Path, force: bool, flag: &str) -> Result<()> {
    if out.is_dir() {
        bail!("{} is a directory; {flag} needs a file name", out.display());
    }
    if out.exists() && !force {
        bail!(
            "{} already exists; pass --force to replace it, or {flag} to write elsewhere",
            out.display()
        );
    }
    let dir = folder_of(out);
    if !dir.is_dir() {
        bail!(
            "cannot write {}: the folder {} does not exist",
            out.display(),
            dir.display()
        );
    }
    let probe = temp_path(out);
    File::create(&probe).wrap_err_with(|| format!("cannot write in {}", dir.display()))?;
    std::fs::remove_file(&probe).wrap_err_with(|| format!("removing {}", probe.display()))?;
    Ok(())
}

/// Writes `out` through `write`, which gets a buffered temporary file beside it: readers
/// see the old file or the new one, never half of one. Replaces an existing `out` only if
/// `force`; without it, fails if `out` exists by the time the file is complete, even if it
/// appeared during the write (another run with the same `--out`).
///
/// # Errors
/// The temporary file cannot be created, written or synced, `write` fails, or `out` cannot
/// be replaced; the temporary file is removed in every case.
pub fn write(
    out: &Path,
    force: bool,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    remove_stale_temps(out);
    let tmp = temp_path(out);
    let written = write_synced(&tmp, write)
        .map_err(|e| eyre!("{e}"))
        .and_then(|()| publish(&tmp, out, force));
    if let Err(e) = written {
        // Best effort: the temporary file is ours and useless now.
        let _ = std::fs::remove_file(&tmp);
        return Err(e).wrap_err_with(|| format!("writing {}", out.display()));
    }
    // Make the rename itself durable (Unix); not fatal where folders cannot be opened.
    if let Ok(dir) = File::open(folder_of(out)) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Creates `tmp` (which must not exist), fills it through `write` and syncs it to disk.
fn write_synced(
    tmp: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let file = File::options().write(true).create_new(true).open(tmp)?;
    let mut writer = BufWriter::new(file);
    write(&mut writer)?;
    writer.flush()?;
    writer.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Moves the complete `tmp` to `out`, over an existing file only if `force`.
fn publish(tmp: &Path, out: &Path, force: bool) -> Result<()> {
    if force {
        return std::fs::rename(tmp, out).map_err(|e| eyre!("{e}"));
    }
    match rename_no_replace(tmp, out) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(eyre!(
            "{} appeared while this run was writing it, and was left as it is (pass --force \
             to replace it)",
            out.display()
        )),
        other => other.map_err(|e| eyre!("{e}")),
    }
}

/// Renames `tmp` to `out` unless `out` exists, in one step: `renameat2(RENAME_NOREPLACE)` on
/// Linux, else (or where the file system lacks it) a hard link, which fails if `out` exists,
/// and the removal of `tmp`.
fn rename_no_replace(tmp: &Path, out: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c_path = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
        let (from, to) = (c_path(tmp)?, c_path(out)?);
        // SAFETY: two valid NUL-terminated paths, relative to the current directory.
        let status = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if status == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if !matches!(error.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
            return Err(error);
        }
    }
    std::fs::hard_link(tmp, out)?;
    std::fs::remove_file(tmp)
}

/// Removes `.NAME.tmp-PID` files beside `out` whose process is gone: what a run killed
/// while writing `out` left behind. Only on Linux, where /proc tells which processes live;
/// elsewhere they stay for the user to delete.
fn remove_stale_temps(out: &Path) {
    #[cfg(target_os = "linux")]
    {
        // Without /proc every process would look gone, and a live run's file be taken.
        if !Path::new("/proc/self").exists() {
            return;
        }
        let prefix = format!(".{}{TEMP_MARK}", file_name(out));
        let Ok(entries) = std::fs::read_dir(folder_of(out)) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            let gone = !Path::new(&format!("/proc/{pid}")).exists();
            if gone && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The folder `path` is in (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `out`'s file name, as text.
fn file_name(out: &Path) -> String {
    out.file_name()
        .map_or_else(|| "weights".into(), |n| n.to_string_lossy().into_owned())
}

/// `.NAME.tmp-PID` beside `out`: same folder (so the rename stays on one filesystem), hidden,
/// and distinct per process.
fn temp_path(out: &Path) -> PathBuf {
    folder_of(out).join(format!(
        ".{}{TEMP_MARK}{}",
        file_name(out),
        std::process::id()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_that_appears_during_the_write_is_kept_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.npz");
        // Another run finishing first, between our check and our rename.
        let err = write(&out, false, |w| {
            std::fs::write(&out, "theirs")?;
            w.write_all(b"ours")
        })
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("appeared while this run was writing it"),
            "{err:#}"
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "theirs");
        assert_eq!(names(dir.path()), ["x.npz"], "no temporary file left");
        // With --force the newer file wins.
        write(&out, true, |w| w.write_all(b"ours")).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "ours");
        assert_eq!(names(dir.path()), ["x.npz"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("p.txt");
        std::fs::write(&out, "old").unwrap();
        let err = write(&out, true, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full, say"))
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("disk full, say"), "{err:#}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
        assert_eq!(names(dir.path()), ["p.txt"]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn temporary_files_of_gone_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("w.npz");
        // No process has id 4294967295 (Linux ids stop at 2^22); process 1 always lives.
        for name in [
            ".w.npz.tmp-4294967295",
            ".w.npz.tmp-1",
            ".other.tmp-4294967295",
        ] {
            std::fs::write(dir.path().join(name), "left").unwrap();
        }
        write(&out, false, |w| w.write_all(b"new")).unwrap();
        assert_eq!(
            names(dir.path()),
            [".other.tmp-4294967295", ".w.npz.tmp-1", "w.npz"]
        );
    }
}
