//! One file's failure stays that file's: every read of a file's bytes (footer, pages, decoding)
//! runs under [`guarded`], which turns an error *or a panic of the Parquet reader* into a
//! [`FileError`] naming the file. The daemon finds that file in an error's chain
//! ([`file_of`]), counts the failure against it alone and evaluates the others without it;
//! `drift check` prints the same one line and exits 2 instead of dying with exit 101.
//!
//! The reader's panics are caught, not printed: while a guarded read runs on a thread, the
//! process's panic hook stays quiet for that thread (the message becomes the file's error
//! instead), and every other panic still reaches the hook that was installed before.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::Result;

/// A failure to read, decode or profile one file: the file, and the one line to show.
#[derive(Debug)]
pub struct FileError {
    /// The file, as its [`crate::source::ParquetFile::path`] names it.
    pub path: PathBuf,
    message: String,
    /// An object replaced since it was listed ([`crate::source::object::errors::is_replaced`]):
    /// kept when the failure is flattened into this one line.
    pub replaced: bool,
}

impl FileError {
    /// A failure of `path` shown as `message` (which already names the file).
    pub fn new(path: &Path, message: String) -> FileError {
        FileError { path: path.to_owned(), message, replaced: false }
    }

    /// The same failure, marked as an object replaced since its listing (or not).
    pub fn replaced(self, replaced: bool) -> FileError {
        FileError { replaced, ..self }
    }
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FileError {}

/// The file an error is about, if a guarded read of one file failed somewhere in its chain.
pub fn file_of(e: &anyhow::Error) -> Option<&Path> {
    e.chain().find_map(|c| c.downcast_ref::<FileError>()).map(|f| f.path.as_path())
}

/// A test hook, never set in production: files and directories with this name read as
/// permission denied, for the fault suite, whose tests run as root in CI (whom no permission
/// stops). Checked where a file is opened or a directory listed (here and in the daemon).
pub const DENY_VARIABLE: &str = "DRIFT_TEST_DENY";

/// Permission denied for a path named as [`DENY_VARIABLE`] says; `Ok` otherwise (and always
/// without the variable, read once).
pub fn test_denied(path: &Path) -> std::io::Result<()> {
    static DENIED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let denied = DENIED.get_or_init(|| std::env::var(DENY_VARIABLE).ok());
    match denied {
        Some(d) if path.file_name().is_some_and(|n| n == d.as_str()) => {
            Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
        }
        _ => Ok(()),
    }
}

thread_local! {
    static GUARDED: Cell<u32> = const { Cell::new(0) };
}

/// Installs (once) a panic hook that stays quiet on threads inside [`guarded`] and otherwise
/// calls the hook that was there before.
fn quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

/// Runs `read` (one file's read, decode or profile); an error becomes a [`FileError`] of
/// `path` with the same text, and a panic a [`FileError`] saying the reader failed.
pub fn guarded<T>(path: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    quiet_hook();
    GUARDED.with(|g| g.set(g.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(read));
    GUARDED.with(|g| g.set(g.get() - 1));
    match outcome {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if file_of(&e).is_some() => Err(e),
        Ok(Err(e)) => {
            let replaced = super::object::errors::is_replaced(&e);
            Err(FileError::new(path, format!("{e:#}")).replaced(replaced).into())
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            let what = what.lines().next().unwrap_or_default().to_owned();
            Err(FileError::new(
                path,
                format!("{}: the Parquet reader failed on damaged data ({what}); the file is damaged", path.display()),
            )
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_or_a_panic_becomes_the_files_error_with_one_line() {
        let p = Path::new("dir/b.parquet");
        let e =
            guarded(p, || -> Result<()> { anyhow::bail!("dir/b.parquet: column \"x\": corrupt data") }).unwrap_err();
        assert_eq!(file_of(&e), Some(p));
        assert_eq!(format!("{e:#}"), "dir/b.parquet: column \"x\": corrupt data");
        let e = guarded(p, || -> Result<()> { panic!("index out of bounds: the len is 3 but the index is 7\nmore") })
            .unwrap_err();
        assert_eq!(file_of(&e), Some(p));
        assert_eq!(
            format!("{e:#}"),
            "dir/b.parquet: the Parquet reader failed on damaged data (index out of bounds: the len is 3 but the \
             index is 7); the file is damaged"
        );
        // Nested guards keep the innermost file; the guard is released after a panic.
        let inner = Path::new("inner.parquet");
        let e = guarded(p, || guarded(inner, || -> Result<()> { anyhow::bail!("inner") })).unwrap_err();
        assert_eq!(file_of(&e), Some(inner));
        assert_eq!(GUARDED.with(Cell::get), 0);
        assert!(file_of(&anyhow::anyhow!("plain")).is_none());
        assert_eq!(guarded(p, || Ok(7)).unwrap(), 7);
    }
}
