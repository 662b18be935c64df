//! A monitor's source through object_store: listing (size and modification time) and fetching
//! whole files. Local directories and globs today, object-storage URLs later through the same
//! code path. Listing, not inotify, so network file systems behave like local disks.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, ObjectStoreExt};

use super::plan::Listed;

/// Where a monitor's files land.
#[derive(Debug, Clone)]
pub struct SourceStore {
    store: Arc<LocalFileSystem>,
    root: PathBuf,
    pattern: Option<glob::Pattern>,
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl SourceStore {
    /// A directory (every `*.parquet` / `*.parq` below it, hidden and `_` files skipped) or a
    /// glob (its fixed leading directories are the root).
    pub fn new(path: &str) -> Result<SourceStore> {
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
        let store =
            LocalFileSystem::new_with_prefix(&root).with_context(|| format!("{}: cannot open", root.display()))?;
        Ok(SourceStore { store: Arc::new(store), root, pattern })
    }

    /// The display path of a listed key.
    pub fn display(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn wanted(&self, key: &str) -> bool {
        let hidden = key.split('/').any(|c| c.starts_with('.') || c.starts_with('_'));
        match &self.pattern {
            Some(p) => {
                let opts = glob::MatchOptions { require_literal_separator: true, ..glob::MatchOptions::new() };
                p.matches_with(key, opts) && !hidden
            }
            None => !hidden && (key.ends_with(".parquet") || key.ends_with(".parq")),
        }
    }

    /// Every wanted file with its size and modification time.
    pub async fn list(&self) -> Result<Vec<Listed>> {
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(None)
            .try_collect()
            .await
            .with_context(|| format!("{}: cannot list", self.root.display()))?;
        let mut out: Vec<Listed> = metas
            .into_iter()
            .filter(|m| self.wanted(m.location.as_ref()))
            .map(|m| Listed { key: m.location.to_string(), size: m.size, mtime_ms: m.last_modified.timestamp_millis() })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// The whole file.
    pub async fn fetch(&self, key: &str) -> Result<Bytes> {
        let location = object_store::path::Path::from(key);
        let got =
            self.store.get(&location).await.with_context(|| format!("{}: cannot read", self.display(key).display()))?;
        got.bytes().await.with_context(|| format!("{}: cannot read", self.display(key).display()))
    }
}
