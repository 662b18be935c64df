//! Listing a source directory so that no single entry can fail it: a name that is not UTF-8,
//! a symbolic link (not followed unless `[source] follow_symlinks`), a loop or a second path to
//! a directory already listed, a subdirectory that cannot be read, something that is not a
//! regular file: each is skipped and reported ([`Skipped`]), and the rest is listed. Only the
//! root itself failing to open fails the listing. Hidden and `_` entries are not descended into.
//!
//! A poll over a long history mostly meets directories whose files are all consumed. The walk
//! remembers each directory it read ([`DirCache`]): its mtime, and whether all its files are
//! done (consumed, or not wanted). A directory whose files are all done and whose mtime has not
//! changed (a file added, removed or renamed changes it) is not read again: its files are left
//! out of the listing and only its subdirectories are looked at, one `stat` each, instead of
//! one per file. The price: a consumed file rewritten *in place* (same name, truncated and
//! written again, which leaves the directory's mtime alone) in such a directory is reported as
//! replaced only at the next full listing, at most [`FULL_LISTING_EVERY_MS`] later; a rewrite
//! through a new file and a rename (what most writers do) changes the mtime and is reported at
//! the next poll. A directory's memo is trusted only once its mtime is [`MTIME_MARGIN_MS`] older
//! than the read that made it (a change within the file system's timestamp granularity could
//! otherwise leave the mtime equal), and with `follow_symlinks` every listing is full.
//!
//! Keys are the raw relative paths, `/`-separated, as the state records them. They are the
//! keys the object_store 0.14 listing gave before (its `Path` percent-encodes a name into a URL
//! and decodes it back, so its key is the raw name too), so a state written by that version is
//! read with its files consumed: no migration. The names it could not list at all (not UTF-8,
//! a control character) failed its whole listing, so no old state holds them.

use std::collections::{HashMap, HashSet};
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

/// Every listing is full (no directory memo trusted) at least this often, so a consumed file
/// rewritten in place is reported as replaced within this time.
pub const FULL_LISTING_EVERY_MS: i64 = 10 * 60 * 1000;

/// A directory's memo is trusted only once its mtime is this much older than the read that
/// made it.
pub const MTIME_MARGIN_MS: i64 = 2000;

/// What the walk remembers of the directories it read (see the module's documentation).
#[derive(Debug, Default)]
pub struct DirCache {
    /// By key prefix (`""` for the root).
    dirs: HashMap<String, DirMemo>,
    /// When the last full listing started.
    full_ms: Option<i64>,
}

#[derive(Debug, Clone)]
struct DirMemo {
    mtime_ms: i64,
    read_ms: i64,
    /// Its subdirectories' names (not hidden, not `_`).
    subdirs: Vec<String>,
    /// Its files' keys, until they are all done (then emptied).
    files: Vec<String>,
    done: bool,
}

impl DirCache {
    /// Marks the directories whose every file is `done` (consumed or not wanted): while their
    /// mtime stays, the next listings skip them.
    pub fn mark_done(&mut self, done: impl Fn(&str) -> bool) {
        for memo in self.dirs.values_mut().filter(|m| !m.done) {
            if memo.files.iter().all(|k| done(k)) {
                memo.done = true;
                memo.files = Vec::new();
            }
        }
    }

    /// The memo of a directory with this mtime that can stand for reading it at `now`.
    fn unchanged(&self, prefix: &str, mtime_ms: Option<i64>, now: i64) -> Option<&DirMemo> {
        let memo = self.dirs.get(prefix)?;
        let trusted = memo.done && mtime_ms == Some(memo.mtime_ms) && memo.mtime_ms < memo.read_ms - MTIME_MARGIN_MS;
        (trusted && now >= memo.read_ms).then_some(memo)
    }
}

fn mtime_ms(meta: &std::fs::Metadata) -> i64 {
    meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_millis() as i64)
}

/// Every regular file below `root` (keys relative to it, `/`-separated) with size and mtime,
/// and the entries skipped (a full listing, remembering nothing).
#[cfg(test)]
pub fn walk(root: &Path, follow_symlinks: bool) -> Result<(Vec<Listed>, Vec<Skipped>)> {
    walk_with(root, follow_symlinks, &mut DirCache::default(), 0)
}

/// [`walk`], leaving out the files of directories `cache` says are unchanged and done, and
/// remembering what it read for the next listing at `now` (ms).
pub fn walk_with(
    root: &Path,
    follow_symlinks: bool,
    cache: &mut DirCache,
    now: i64,
) -> Result<(Vec<Listed>, Vec<Skipped>)> {
    let full = follow_symlinks || cache.full_ms.is_none_or(|t| now - t >= FULL_LISTING_EVERY_MS || now < t);
    let old = if full { DirCache::default() } else { std::mem::take(cache) };
    let mut w = Walk { follow_symlinks, now, ..Walk::default() };
    if let Ok(c) = root.canonicalize() {
        w.visited.insert(c);
    }
    let root_mtime = std::fs::metadata(root).ok().map(|m| mtime_ms(&m));
    w.todo.push((root.to_owned(), String::new(), root_mtime));
    while let Some((path, prefix, mtime)) = w.todo.pop() {
        if let Some(memo) = old.unchanged(&prefix, mtime, now)
            && let Some(subdirs) = subdir_mtimes(&path, &memo.subdirs)
        {
            for (name, sub_mtime) in subdirs {
                let sub = path.join(&name);
                let key = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
                w.todo.push((sub, key, sub_mtime));
            }
            w.memos.insert(prefix, memo.clone());
            continue;
        }
        match read_dir(&path) {
            Ok(dir) => w.read(dir, &path, prefix, mtime),
            Err(e) if prefix.is_empty() => return Err(e).with_context(|| format!("{}: cannot list", root.display())),
            Err(e) => w.skipped.push(Skipped {
                path: path.display().to_string(),
                reason: SkipReason::Unreadable,
                error: Some(e.to_string()),
            }),
        }
    }
    w.files.sort_by(|a, b| a.key.cmp(&b.key));
    cache.dirs = w.memos;
    cache.full_ms = if full { Some(now) } else { old.full_ms };
    Ok((w.files, w.skipped))
}

/// A listing in progress.
#[derive(Default)]
struct Walk {
    follow_symlinks: bool,
    now: i64,
    files: Vec<Listed>,
    skipped: Vec<Skipped>,
    /// Directories listed, by canonical path (to find loops when following links).
    visited: HashSet<PathBuf>,
    /// Directories to look at: (path, key prefix, mtime).
    todo: Vec<(PathBuf, String, Option<i64>)>,
    memos: HashMap<String, DirMemo>,
}

impl Walk {
    /// Reads one directory's entries: its files listed, its subdirectories to do, the rest
    /// skipped and reported; remembers it.
    fn read(&mut self, dir: std::fs::ReadDir, path: &Path, prefix: String, mtime: Option<i64>) {
        let mut memo = DirMemo {
            mtime_ms: mtime.unwrap_or(i64::MAX),
            read_ms: self.now,
            subdirs: Vec::new(),
            files: Vec::new(),
            done: false,
        };
        for entry in dir {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = path.display().to_string();
                    self.skipped.push(Skipped { path, reason: SkipReason::Unreadable, error: Some(e.to_string()) });
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
                self.skipped.push(skip(SkipReason::Name, None));
                continue;
            };
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let name_len = name.len();
            let key = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let meta = match entry.file_type() {
                Ok(t) if t.is_symlink() && !self.follow_symlinks => {
                    self.skipped.push(skip(SkipReason::Symlink, None));
                    continue;
                }
                Ok(t) if t.is_symlink() => std::fs::metadata(entry.path()),
                Ok(_) => entry.metadata(),
                Err(e) => Err(e),
            };
            let meta = match meta {
                Ok(m) => m,
                Err(e) => {
                    self.skipped.push(skip(SkipReason::Unreadable, Some(e)));
                    continue;
                }
            };
            if meta.is_dir() {
                // Without following links there is no loop to find: no `canonicalize` per
                // directory.
                let fresh = match self.follow_symlinks.then(|| entry.path().canonicalize()) {
                    None => true,
                    Some(Ok(c)) => self.visited.insert(c),
                    Some(Err(e)) => {
                        self.skipped.push(skip(SkipReason::Unreadable, Some(e)));
                        continue;
                    }
                };
                if fresh {
                    memo.subdirs.push(key[key.len() - name_len..].to_owned());
                    self.todo.push((entry.path(), key, Some(mtime_ms(&meta))));
                } else {
                    self.skipped.push(skip(SkipReason::Loop, None));
                }
            } else if meta.is_file() {
                memo.files.push(key.clone());
                self.files.push(Listed { key, size: meta.len(), mtime_ms: mtime_ms(&meta) });
            } else if key.ends_with(".parquet") || key.ends_with(".parq") {
                self.skipped.push(skip(SkipReason::Special, None));
            }
        }
        self.memos.insert(prefix, memo);
    }
}

/// Each remembered subdirectory of `dir` with its mtime now; `None` when one is no longer a
/// directory (then `dir` is read again).
fn subdir_mtimes(dir: &Path, names: &[String]) -> Option<Vec<(String, Option<i64>)>> {
    names
        .iter()
        .map(|n| {
            let meta = std::fs::symlink_metadata(dir.join(n)).ok().filter(std::fs::Metadata::is_dir)?;
            Some((n.clone(), Some(mtime_ms(&meta))))
        })
        .collect()
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

    /// A directory whose files are all done is not read again while its mtime stays: a new
    /// file is listed at once, an in-place rewrite only at the next full listing.
    #[test]
    fn unchanged_directories_whose_files_are_done_are_not_read_again_until_the_full_listing() {
        let dir = tempfile::TempDir::new().unwrap();
        let root = dir.path();
        for f in ["a/1.parquet", "a/2.parquet", "b/3.parquet", "top.parquet"] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), b"data").unwrap();
        }
        let keys = |files: Vec<Listed>| files.into_iter().map(|f| f.key).collect::<Vec<_>>();
        // Read well after the directories' mtimes (the memos are trusted).
        let t0 = crate::clock::now_ms() + 10_000;
        let mut cache = DirCache::default();
        let all = ["a/1.parquet", "a/2.parquet", "b/3.parquet", "top.parquet"];
        assert_eq!(keys(walk_with(root, false, &mut cache, t0).unwrap().0), all);
        assert_eq!(keys(walk_with(root, false, &mut cache, t0 + 1).unwrap().0), all, "nothing done yet");
        cache.mark_done(|k| k != "b/3.parquet");
        assert_eq!(keys(walk_with(root, false, &mut cache, t0 + 2).unwrap().0), ["b/3.parquet"]);
        std::fs::write(root.join("a/1.parquet"), b"rewritten in place").unwrap();
        assert_eq!(keys(walk_with(root, false, &mut cache, t0 + 3).unwrap().0), ["b/3.parquet"], "the price");
        let full = walk_with(root, false, &mut cache, t0 + FULL_LISTING_EVERY_MS).unwrap().0;
        assert_eq!(full.iter().find(|f| f.key == "a/1.parquet").map(|f| f.size), Some(18), "seen at the full listing");
        cache.mark_done(|_| true);
        assert!(walk_with(root, false, &mut cache, t0 + FULL_LISTING_EVERY_MS + 1).unwrap().0.is_empty());
        // A new file changes its directory's mtime: the directory is read again. (Later than
        // the file system's timestamp granularity: the test's clock runs ahead of the disk's,
        // which the margin covers in a daemon.)
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(root.join("a/4.parquet"), b"new").unwrap();
        std::fs::create_dir(root.join("b/c")).unwrap();
        std::fs::write(root.join("b/c/5.parquet"), b"new").unwrap();
        let next = t0 + FULL_LISTING_EVERY_MS + 2;
        assert_eq!(
            keys(walk_with(root, false, &mut cache, next).unwrap().0),
            ["a/1.parquet", "a/2.parquet", "a/4.parquet", "b/3.parquet", "b/c/5.parquet"]
        );
        // A memo made within the margin of its directory's mtime is not trusted.
        cache.mark_done(|_| true);
        let racy = crate::clock::now_ms();
        let mut fresh = DirCache::default();
        walk_with(root, false, &mut fresh, racy).unwrap();
        fresh.mark_done(|_| true);
        assert_eq!(walk_with(root, false, &mut fresh, racy + 1).unwrap().0.len(), 6, "mtimes too recent to trust");
        // Following links, every listing is full.
        let mut followed = DirCache::default();
        walk_with(root, true, &mut followed, t0).unwrap();
        followed.mark_done(|_| true);
        assert_eq!(walk_with(root, true, &mut followed, t0 + 1).unwrap().0.len(), 6);
    }
}
