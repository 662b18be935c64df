//! Listing a source directory so that no single entry can fail it: a name that is not UTF-8,
//! a symbolic link (not followed unless `[source] follow_symlinks`), a loop or a second path to
//! a directory already listed, a subdirectory that cannot be read, something that is not a
//! regular file: each is skipped and reported ([`Skipped`]), and the rest is listed. Only the
//! root itself failing to open fails the listing. Hidden and `_` entries are not descended into.
//!
//! Keys are the raw relative paths, `/`-separated, as the state records them. They are the
//! keys the object_store 0.14 listing gave before (its `Path` percent-encodes a name into a URL
//! and decodes it back, so its key is the raw name too), so a state written by that version is
//! read with its files consumed: no migration. The names it could not list at all (not UTF-8,
//! a control character) failed its whole listing, so no old state holds them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::plan::Listed;

/// `std::fs::read_dir`, or permission denied where the fault suite's hook says
/// ([`crate::source::DENY_VARIABLE`]).
fn read_dir(path: &Path) -> std::io::Result<std::fs::ReadDir> {
    crate::source::test_denied(path)?;
    std::fs::read_dir(path)
}

/// Why an entry was skipped (the `reason` label of `drift_source_entries_skipped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// Its name is not valid UTF-8.
    Name,
    /// A symbolic link, and the source does not follow them.
    Symlink,
    /// A directory already listed through another path (a symlink loop, or a second link).
    Loop,
    /// A directory or entry that cannot be read (permissions, vanished).
    Unreadable,
    /// Named like a Parquet file but not a regular file (a FIFO, a socket, a device).
    Special,
}

impl SkipReason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Name => "invalid_name",
            SkipReason::Symlink => "symlink",
            SkipReason::Loop => "loop",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Special => "not_a_file",
        }
    }

    /// What to tell an operator.
    pub fn advice(self) -> &'static str {
        match self {
            SkipReason::Name => "its name is not valid UTF-8; rename it to read it",
            SkipReason::Symlink => "symbolic link not followed; set [source] follow_symlinks = true to follow links",
            SkipReason::Loop => "directory already listed through another path (a symlink loop?); skipped",
            SkipReason::Unreadable => "cannot be read; check its permissions",
            SkipReason::Special => "not a regular file; skipped",
        }
    }
}

/// An entry left out of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The entry's path (lossily shown if not UTF-8).
    pub path: String,
    /// Why.
    pub reason: SkipReason,
    /// The system's error, if one.
    pub error: Option<String>,
}

/// Every regular file below `root` (keys relative to it, `/`-separated) with size and mtime,
/// and the entries skipped.
pub fn walk(root: &Path, follow_symlinks: bool) -> Result<(Vec<Listed>, Vec<Skipped>)> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut visited: HashSet<PathBuf> = HashSet::new();
    let top = read_dir(root).with_context(|| format!("{}: cannot list", root.display()))?;
    if let Ok(c) = root.canonicalize() {
        visited.insert(c);
    }
    let mut stack: Vec<(std::fs::ReadDir, String)> = vec![(top, String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for entry in dir {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = root.join(&prefix).display().to_string();
                    skipped.push(Skipped { path, reason: SkipReason::Unreadable, error: Some(e.to_string()) });
                    break;
                }
            };
            // The shown path is made only for an entry skipped: most entries are not.
            let skip = |reason, error: Option<std::io::Error>| Skipped {
                path: entry.path().display().to_string(),
                reason,
                error: error.map(|e| e.to_string()),
            };
            let Ok(name) = entry.file_name().into_string() else {
                skipped.push(skip(SkipReason::Name, None));
                continue;
            };
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let key = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let meta = match entry.file_type() {
                Ok(t) if t.is_symlink() && !follow_symlinks => {
                    skipped.push(skip(SkipReason::Symlink, None));
                    continue;
                }
                Ok(t) if t.is_symlink() => std::fs::metadata(entry.path()),
                Ok(_) => entry.metadata(),
                Err(e) => Err(e),
            };
            let meta = match meta {
                Ok(m) => m,
                Err(e) => {
                    skipped.push(skip(SkipReason::Unreadable, Some(e)));
                    continue;
                }
            };
            if meta.is_dir() {
                match entry.path().canonicalize().map(|c| visited.insert(c)) {
                    Ok(false) => skipped.push(skip(SkipReason::Loop, None)),
                    Ok(true) => match read_dir(&entry.path()) {
                        Ok(d) => stack.push((d, key)),
                        Err(e) => skipped.push(skip(SkipReason::Unreadable, Some(e))),
                    },
                    Err(e) => skipped.push(skip(SkipReason::Unreadable, Some(e))),
                }
            } else if meta.is_file() {
                let mtime_ms = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as i64);
                files.push(Listed { key, size: meta.len(), mtime_ms });
            } else if key.ends_with(".parquet") || key.ends_with(".parq") {
                skipped.push(skip(SkipReason::Special, None));
            }
        }
    }
    files.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((files, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys object_store 0.14.2's `LocalFileSystem::list` gave for these names (measured
    /// with it over the same tree), which states written before this listing hold.
    #[test]
    fn keys_are_raw_relative_paths_as_the_object_store_listing_wrote_them() {
        let dir = tempfile::TempDir::new().unwrap();
        let names = [
            "a b.parquet",
            "50%.parquet",
            "x%41.parquet",
            "h#1x.parquet",
            "q?.parquet",
            "br[1].parquet",
            "t~{}|^`\"<>\\.parquet",
            "plus+semi;=,&@$'().parquet",
            "sub dir/é e.parquet",
            "ü日本.parquet",
        ];
        for n in names {
            std::fs::create_dir_all(dir.path().join(n).parent().unwrap()).unwrap();
            std::fs::write(dir.path().join(n), b"").unwrap();
        }
        let (files, _) = walk(dir.path(), false).unwrap();
        let mut keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        keys.sort_unstable();
        let mut want = names.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want);
    }

    #[test]
    fn bad_entries_are_skipped_with_their_reason_and_the_rest_listed_in_order() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::TempDir::new().unwrap();
        let root = dir.path();
        for f in ["b.parquet", "a/c.parquet", ".hidden/x.parquet", "_tmp/y.parquet", "notes.txt"] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), b"data").unwrap();
        }
        std::fs::write(root.join(std::ffi::OsStr::from_bytes(b"bad\xff.parquet")), b"data").unwrap();
        std::os::unix::fs::symlink("..", root.join("a/up")).unwrap();
        std::os::unix::fs::symlink("b.parquet", root.join("link.parquet")).unwrap();
        let fifo = std::process::Command::new("mkfifo").arg(root.join("pipe.parquet")).status();
        let fifo = fifo.is_ok_and(|s| s.success());

        let reasons = |skipped: &[Skipped]| {
            let mut r: Vec<(String, &str)> = skipped
                .iter()
                .map(|s| (s.path.strip_prefix(&root.display().to_string()).unwrap().to_owned(), s.reason.as_str()))
                .collect();
            r.sort();
            r
        };
        let (files, skipped) = walk(root, false).unwrap();
        let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["a/c.parquet", "b.parquet", "notes.txt"], "hidden and _ directories are not entered");
        assert_eq!(files[1].size, 4);
        let mut want =
            vec![("/a/up", "symlink"), ("/bad\u{fffd}.parquet", "invalid_name"), ("/link.parquet", "symlink")];
        if fifo {
            want.push(("/pipe.parquet", "not_a_file"));
        }
        let want: Vec<(String, &str)> = want.into_iter().map(|(p, r)| (p.to_owned(), r)).collect();
        assert_eq!(reasons(&skipped), want);

        let (files, skipped) = walk(root, true).unwrap();
        let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["a/c.parquet", "b.parquet", "link.parquet", "notes.txt"], "a followed link is listed");
        assert!(reasons(&skipped).contains(&("/a/up".to_owned(), "loop")), "{skipped:?}");
        assert!(walk(&root.join("missing"), false).is_err(), "only the root itself fails a listing");
    }
}
