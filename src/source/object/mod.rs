//! Object storage: `s3://`, `gs://` and `az://` URLs wherever a path is taken, read through
//! object_store (the `aws-base`, `gcp-base`, `azure-base` features over reqwest and ring; local
//! paths never touch it).
//!
//! - [`url`]: parsing URLs (pure), the directory rules of a listing.
//! - [`settings`]: a `[stores.NAME]` table as validated, and which store a URL uses.
//! - [`client`]: the clients and the blocking list / head / get (pinned to the listed ETag) /
//!   put calls.
//! - [`errors`]: object_store's errors as one line to act on (credentials, permissions, a
//!   missing bucket), redacted.

pub mod client;
pub mod errors;
pub mod settings;
pub mod url;

use anyhow::{Result, bail};

pub use client::Listed;
pub use settings::{CredentialValue, StoreSettings, install};
pub use url::{Cloud, ObjectUrl, is_object_url, listed_parquet};

/// The Parquet objects an object URL names, by the local rules: an object's exact key is that
/// object; a key ending in `/`, the bucket or a key with objects below it is a directory (every
/// `*.parquet` / `*.parq` below it, skipping hidden and `_`-prefixed segments, so `_SUCCESS` is
/// ignored); a key with glob characters is matched segment by segment like a local glob.
pub fn expand(url: &ObjectUrl) -> Result<Vec<Listed>> {
    if url.is_glob() {
        let pattern = glob::Pattern::new(&url.key).map_err(|e| anyhow::anyhow!("{url}: bad glob pattern: {e}"))?;
        let options = glob::MatchOptions { require_literal_separator: true, ..glob::MatchOptions::new() };
        let prefix = url.literal_prefix();
        let found: Vec<Listed> = client::list(&url.with_key(prefix), None)?
            .into_iter()
            .filter(|o| glob_selects(&pattern, options, &o.url.key))
            .collect();
        if found.is_empty() {
            bail!("{url}: glob matched no objects");
        }
        return Ok(found);
    }
    if !url.key.is_empty()
        && !url.key.ends_with('/')
        && let Some(one) = client::head(url)?
    {
        return Ok(vec![one]);
    }
    let dir = if url.key.is_empty() || url.key.ends_with('/') { url.key.clone() } else { format!("{}/", url.key) };
    let all = client::list(url, None)?;
    if all.is_empty() {
        bail!("{url}: no such object or prefix (nothing listed under it)");
    }
    let found: Vec<Listed> = all.into_iter().filter(|o| listed_parquet(&dir, &o.url.key)).collect();
    if found.is_empty() {
        bail!("{url}: prefix holds no Parquet objects (looked for *.parquet and *.parq below it)");
    }
    Ok(found)
}

/// Whether a glob selects `key` by the local rules (`source::paths`): the pattern matches the
/// whole key, or it matches a "directory" above it (a prefix ending at a `/`), under which the
/// key is a listed Parquet object, as a local glob matching a directory walks into it.
fn glob_selects(pattern: &glob::Pattern, options: glob::MatchOptions, key: &str) -> bool {
    pattern.matches_with(key, options)
        || key
            .match_indices('/')
            .any(|(i, _)| pattern.matches_with(&key[..i], options) && url::listed_parquet(&key[..=i], key))
}

/// The object at `url`'s exact key, read whole (a snapshot).
pub fn read_whole(url: &ObjectUrl) -> Result<bytes::Bytes> {
    match client::head(url)? {
        Some(o) => client::get(&o),
        None => bail!("{url}: no such object"),
    }
}

/// Parses `text` as an object URL; `None` for a local path.
pub fn parse(text: &str) -> Option<Result<ObjectUrl>> {
    ObjectUrl::parse(text)
}

#[cfg(test)]
mod tests {
    use super::glob_selects;

    fn selects(pattern: &str, key: &str) -> bool {
        let options = glob::MatchOptions { require_literal_separator: true, ..glob::MatchOptions::new() };
        glob_selects(&glob::Pattern::new(pattern).unwrap(), options, key)
    }

    #[test]
    fn a_glob_selects_keys_and_walks_into_the_prefixes_it_matches() {
        assert!(selects("p/dt=*/part-*.parquet", "p/dt=1/part-0.parquet"));
        // A pattern matching a "directory" takes the Parquet objects below it, at any depth.
        assert!(selects("p/dt=*", "p/dt=1/part-0.parquet"));
        assert!(selects("p/dt=*", "p/dt=1/hour=07/part-0.parquet"));
        // ... but not hidden or `_`-prefixed ones, nor other files, nor other prefixes.
        assert!(!selects("p/dt=*", "p/dt=1/_SUCCESS"));
        assert!(!selects("p/dt=*", "p/dt=1/_tmp/part-0.parquet"));
        assert!(!selects("p/dt=*", "p/dt=1/notes.txt"));
        assert!(!selects("p/dt=*", "q/dt=1/part-0.parquet"));
        // `*` never crosses a `/`: `p/*` matches the prefix `p/dt=1`, not the key itself.
        assert!(!selects("p/dt=1/*.parquet", "p/dt=1/hour=07/part-0.parquet"));
    }
}
