//! A monitor's source: listing (size and modification time, `daemon::listing`: no entry can
//! fail it) and opening files. Local directories and globs (listing, not inotify, so network
//! file systems behave like local disks), or object storage (`daemon::object_source`).

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use bytes::Bytes;

use super::listing::{DirCache, Skipped, walk_with};
use super::plan::Listed;

/// Where a monitor's files land.
#[derive(Debug, Clone)]
pub struct SourceStore {
    /// Object storage instead of the local disk.
    objects: Option<super::object_source::ObjectSource>,
    root: PathBuf,
    pattern: Option<glob::Pattern>,
    /// Entries already reported as skipped (each is reported once per process).
    reported: Arc<Mutex<HashSet<String>>>,
    /// The directories the last listing read, to skip those unchanged and done.
    dirs: Arc<Mutex<DirCache>>,
}

/// What a listing found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Every wanted file, sorted by key.
    pub files: Vec<Listed>,
    /// Entries skipped that were not reported before.
    pub newly_skipped: Vec<Skipped>,
}

/// Whether a listed key (relative to the source's root) is taken: it matches the glob
/// segment by segment, or without one it is a `*.parquet` / `*.parq` name; either way no
/// segment is hidden or `_`-prefixed. Object sources use the same rule.
pub(super) fn wanted(pattern: Option<&glob::Pattern>, key: &str) -> bool {
    let hidden = key.split('/').any(|c| c.starts_with('.') || c.starts_with('_'));
    match pattern {
        Some(p) => {
            let opts = glob::MatchOptions { require_literal_separator: true, ..glob::MatchOptions::new() };
            p.matches_with(key, opts) && !hidden
        }
        None => !hidden && (key.ends_with(".parquet") || key.ends_with(".parq")),
    }
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl SourceStore {
    /// A directory (every `*.parquet` / `*.parq` below it, hidden and `_` files skipped) or a
    /// glob (its fixed leading directories are the root).
    pub fn new(path: &str, full_listing_every: Option<std::time::Duration>) -> Result<SourceStore> {
        if let Some(url) = crate::source::object::parse(path) {
            let objects = Some(super::object_source::ObjectSource::new(url?, full_listing_every)?);
            return Ok(SourceStore {
                objects,
                root: PathBuf::new(),
                pattern: None,
                reported: Arc::default(),
                dirs: Arc::default(),
            });
        }
        let p = Path::new(path);
        let mut root = PathBuf::new();
        let mut rest: Vec<String> = Vec::new();
        for c in p.components() {
            let text = c.as_os_str().to_string_lossy();
            if rest.is_empty() && !is_glob(&text) {
                root.push(c);
            } else if !matches!(c, Component::RootDir) {
                rest.push(text.into_owned());
            }
        }
        let pattern = if rest.is_empty() {
            None
        } else {
            Some(glob::Pattern::new(&rest.join("/")).with_context(|| format!("{path}: bad glob"))?)
        };
        if pattern.is_some() && !root.is_dir() {
            // `dir/*.parquet` where `dir` is the root: fine; a file root cannot hold a pattern.
            anyhow::bail!("{path}: {} is not a directory", root.display());
        }
        Ok(SourceStore { objects: None, root, pattern, reported: Arc::default(), dirs: Arc::default() })
    }

    /// The display path of a listed key.
    pub fn display(&self, key: &str) -> PathBuf {
        if let Some(o) = &self.objects {
            return o.display(key);
        }
        self.root.join(key)
    }

    fn wanted(&self, key: &str) -> bool {
        wanted(self.pattern.as_ref(), key)
    }

    /// Every wanted file with its size and modification time, except in directories unchanged
    /// since all their files were done ([`SourceStore::mark_done`]; `daemon::listing`); an entry
    /// that cannot be listed is skipped (and returned once, the first time), never a failed
    /// listing. Objects are listed by `daemon::object_source` (`now` unused).
    pub async fn list(&self, follow_symlinks: bool, now: i64) -> Result<Listing> {
        if let Some(o) = &self.objects {
            return Ok(Listing { files: o.list().await?, newly_skipped: Vec::new() });
        }
        let root = self.root.clone();
        let dirs = self.dirs.clone();
        let (files, skipped) = tokio::task::spawn_blocking(move || {
            let mut cache = dirs.lock().unwrap_or_else(|e| e.into_inner());
            walk_with(&root, follow_symlinks, &mut cache, now)
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}: cannot list: {e}", self.root.display()))??;
        let files = files.into_iter().filter(|f| self.wanted(&f.key)).collect();
        let mut reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        let newly_skipped = skipped.into_iter().filter(|s| reported.insert(s.path.clone())).collect();
        Ok(Listing { files, newly_skipped })
    }

    /// Tells the listing which files are done (`consumed`; files not wanted are done too):
    /// directories whose files all are, while unchanged, are not read again.
    pub fn mark_done(&self, consumed: impl Fn(&str) -> bool) {
        let mut cache = self.dirs.lock().unwrap_or_else(|e| e.into_inner());
        cache.mark_done(|key| !self.wanted(key) || consumed(key));
    }

    /// After a plan, the last key (in key order) up to which everything listed was consumed or
    /// quarantined: where an offset listing of objects starts next (local listings ignore it).
    pub fn consumed_through(&self, done: Option<&str>) {
        if let Some(o) = &self.objects {
            o.consumed_through(done);
        }
    }

    /// The file opened (its footer read): a local file read whole, an object by ranges as of
    /// its last listing.
    pub async fn open(&self, key: &str) -> Result<crate::source::ParquetFile> {
        if let Some(o) = &self.objects {
            return o.open(key).await;
        }
        let bytes = self.fetch(key).await?;
        crate::source::open_bytes(&self.display(key), bytes)
    }

    /// The whole file.
    pub async fn fetch(&self, key: &str) -> Result<Bytes> {
        let path = self.display(key);
        crate::source::test_denied(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        let bytes = tokio::fs::read(&path).await.with_context(|| format!("{}: cannot read", path.display()))?;
        Ok(Bytes::from(bytes))
    }
}
