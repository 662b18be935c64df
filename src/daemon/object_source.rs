//! A monitor's source in object storage (`s3://`, `gs://`, `az://`): listed under its prefix
//! (a glob's literal prefix) by the same rules as a local directory, each object opened by
//! ranged reads pinned to the ETag of the last listing, so an object replaced in between is
//! never read as a mix of two versions; nor is it a failed read of that object (the cycle
//! skips it, not counting it toward quarantine, and the next listing sees its new version).
//!
//! With `listing = "after_offset"` a listing starts after the last key consumed in key order
//! (object_store's offset listing: S3 filters on the server; Azurite filters on the client),
//! so a prefix of a million consumed objects is not listed again at every poll; a full listing
//! still runs every `full_listing_secs`, for objects that land out of key order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use anyhow::Result;

use super::plan::Listed;
use crate::clock::Stopwatch;
use crate::source::object::{self, ObjectUrl};
use crate::source::{ParquetFile, open_object};

/// Objects under a prefix or matching a glob.
#[derive(Debug, Clone)]
pub struct ObjectSource {
    url: ObjectUrl,
    /// Where keys start (a `/`-ended prefix or empty): listed keys are relative to it.
    base: String,
    pattern: Option<glob::Pattern>,
    /// The last listing of each key (its ETag pins the reads).
    seen: Arc<Mutex<HashMap<String, object::Listed>>>,
    /// `listing = "after_offset"`: how often a full listing still runs.
    full_every: Option<Duration>,
    /// The offset (a full key: listings start after it) and when the last full listing ran.
    offset: Arc<Mutex<(Option<String>, Option<Stopwatch>)>>,
}

impl ObjectSource {
    /// The source for `url`.
    pub fn new(url: ObjectUrl, full_every: Option<Duration>) -> Result<ObjectSource> {
        let (base, pattern) = if url.is_glob() {
            let base = url.literal_prefix().to_owned();
            let rest = &url.key[base.len()..];
            let p = glob::Pattern::new(rest).map_err(|e| anyhow::anyhow!("{url}: bad glob: {e}"))?;
            (base, Some(p))
        } else if url.key.is_empty() || url.key.ends_with('/') {
            (url.key.clone(), None)
        } else {
            (format!("{}/", url.key), None)
        };
        Ok(ObjectSource { url, base, pattern, seen: Arc::default(), full_every, offset: Arc::default() })
    }

    /// The URL of a listed key.
    pub fn display(&self, key: &str) -> PathBuf {
        PathBuf::from(self.url.with_key(&format!("{}{key}", self.base)).to_string())
    }

    fn wanted(&self, key: &str) -> bool {
        super::store::wanted(self.pattern.as_ref(), key)
    }

    /// Every wanted object with its size and modification time, in key order.
    pub async fn list(&self) -> Result<Vec<Listed>> {
        let prefix = self.url.with_key(&self.base);
        let after = {
            let mut o = self.offset.lock().unwrap_or_else(|e| e.into_inner());
            let due = |every: Duration| o.1.as_ref().is_none_or(|t| t.elapsed() >= every);
            match self.full_every {
                Some(every) if !due(every) => o.0.clone(),
                Some(_) => {
                    o.1 = Some(Stopwatch::start());
                    None
                }
                None => None,
            }
        };
        let found = tokio::task::spawn_blocking(move || object::client::list(&prefix, after.as_deref()))
            .await
            .map_err(|e| anyhow::anyhow!("{}: cannot list: {e}", self.url))??;
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for o in found {
            let Some(key) = o.url.key.strip_prefix(&self.base).map(str::to_owned) else { continue };
            if !self.wanted(&key) {
                continue;
            }
            out.push(Listed { key: key.clone(), size: o.size, mtime_ms: o.modified_ms });
            seen.insert(key, o);
        }
        Ok(out)
    }

    /// After a plan: `done` is the last key of the listing, in key order, up to which every
    /// object was consumed or quarantined. Offset listings start after it, so the smallest key
    /// still wanted is always listed (and every key after it).
    pub fn consumed_through(&self, done: Option<&str>) {
        if self.full_every.is_none() {
            return;
        }
        if let Some(key) = done {
            let full = self.url.with_key(&format!("{}{key}", self.base)).key;
            let mut o = self.offset.lock().unwrap_or_else(|e| e.into_inner());
            if o.0.as_ref().is_none_or(|k| *k < full) {
                o.0 = Some(full);
            }
        }
    }

    /// The object at `key`, opened (footer read) as of its last listing.
    pub async fn open(&self, key: &str) -> Result<ParquetFile> {
        let listed = self.seen.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned();
        let listed = listed.ok_or_else(|| anyhow::anyhow!("{}: not listed yet", self.display(key).display()))?;
        tokio::task::spawn_blocking(move || open_object(&listed))
            .await
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", self.display(key).display()))?
    }
}
