//! Object URLs as a user types them: `s3://bucket/prefix`, `gs://bucket/prefix`,
//! `az://container/prefix`. Pure parsing, no I/O: a path that is no object URL is a local path.

use std::fmt;

use anyhow::{Result, bail};

/// The cloud an object URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// Amazon S3 and S3-compatible stores (MinIO, moto, ...): `s3://`.
    S3,
    /// Google Cloud Storage: `gs://`.
    Gcs,
    /// Azure Blob Storage: `az://` (the container; the account comes from the store or
    /// `AZURE_STORAGE_ACCOUNT_NAME`).
    Azure,
}

impl Cloud {
    /// The URL scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            Cloud::S3 => "s3",
            Cloud::Gcs => "gs",
            Cloud::Azure => "az",
        }
    }

    /// What the cloud calls a bucket.
    pub fn bucket_word(self) -> &'static str {
        if self == Cloud::Azure { "container" } else { "bucket" }
    }
}

/// An object, or a prefix of objects, in a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectUrl {
    /// Which cloud.
    pub cloud: Cloud,
    /// The bucket (Azure: the container).
    pub bucket: String,
    /// The key or prefix, without a leading `/`; empty for the whole bucket. May hold glob
    /// characters and may end with `/`.
    pub key: String,
}

const SCHEMES: [(&str, Cloud); 3] = [("s3", Cloud::S3), ("gs", Cloud::Gcs), ("az", Cloud::Azure)];

impl ObjectUrl {
    /// `None` when `text` is a local path; otherwise the URL, or one line saying what is wrong
    /// with it.
    pub fn parse(text: &str) -> Option<Result<ObjectUrl>> {
        let (scheme, rest) = text.split_once(':')?;
        let cloud = SCHEMES.iter().find(|(s, _)| scheme.eq_ignore_ascii_case(s)).map(|(_, c)| *c)?;
        Some(Self::parse_after(text, cloud, rest))
    }

    fn parse_after(text: &str, cloud: Cloud, rest: &str) -> Result<ObjectUrl> {
        let scheme = cloud.scheme();
        let word = cloud.bucket_word();
        let Some(rest) = rest.strip_prefix("//") else {
            bail!("{text:?}: not an object URL; write {scheme}://{word}/prefix");
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!("{text:?}: no {word}; write {scheme}://{word}/prefix");
        }
        let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_');
        if let Some(bad) = bucket.chars().find(|&c| !valid(c)) {
            bail!(
                "{text:?}: {word} name {bucket:?} has {bad:?}; {word} names are lower-case letters, digits, '-', \
                 '.' and '_'"
            );
        }
        if bucket.contains(['*', '?', '[']) {
            bail!("{text:?}: globs are allowed in the key, not in the {word} name");
        }
        if key.starts_with('/') || key.contains("//") {
            bail!("{text:?}: empty path segment ('//') in the key");
        }
        Ok(ObjectUrl { cloud, bucket: bucket.to_owned(), key: key.to_owned() })
    }

    /// `s3://bucket`.
    pub fn root(&self) -> String {
        format!("{}://{}", self.cloud.scheme(), self.bucket)
    }

    /// The same store's URL for another key.
    pub fn with_key(&self, key: &str) -> ObjectUrl {
        ObjectUrl { cloud: self.cloud, bucket: self.bucket.clone(), key: key.to_owned() }
    }

    /// Whether the key holds glob characters.
    pub fn is_glob(&self) -> bool {
        self.key.contains(['*', '?', '['])
    }

    /// The literal part of the key before its first glob character, cut back to the last `/`:
    /// the prefix a listing for the glob starts from.
    pub fn literal_prefix(&self) -> &str {
        let cut = self.key.find(['*', '?', '[']).unwrap_or(self.key.len());
        let literal = &self.key[..cut];
        &literal[..literal.rfind('/').map_or(0, |i| i + 1)]
    }

    /// Whether `other` lies at or below this URL (same cloud and bucket, key under this key at a
    /// `/` boundary): how a path picks its store.
    pub fn contains(&self, other: &ObjectUrl) -> bool {
        if self.cloud != other.cloud || self.bucket != other.bucket {
            return false;
        }
        let prefix = self.key.trim_end_matches('/');
        prefix.is_empty()
            || other.key == prefix
            || other.key.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() { f.write_str(&self.root()) } else { write!(f, "{}/{}", self.root(), self.key) }
    }
}

/// Whether `text` is written as an object URL (valid or not).
pub fn is_object_url(text: &str) -> bool {
    ObjectUrl::parse(text).is_some()
}

/// Whether a key names a Parquet object the directory rules keep: a `.parquet` / `.parq` name,
/// with no hidden (`.`) or `_`-prefixed segment below `prefix` (so `_SUCCESS`, `_temporary/`
/// and `.spark-staging/` are skipped, as on a local disk).
pub fn listed_parquet(prefix: &str, key: &str) -> bool {
    let rest = key.strip_prefix(prefix).unwrap_or(key);
    let name = rest.rsplit('/').next().unwrap_or(rest);
    (name.ends_with(".parquet") || name.ends_with(".parq"))
        && !rest.split('/').any(|s| s.starts_with('.') || s.starts_with('_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> ObjectUrl {
        ObjectUrl::parse(s).expect("an object URL").expect("valid")
    }

    #[test]
    fn the_three_schemes_parse_and_local_paths_are_not_urls() {
        let u = url("s3://logs/predictions/dt=2026-12-02/");
        assert_eq!((u.cloud, u.bucket.as_str(), u.key.as_str()), (Cloud::S3, "logs", "predictions/dt=2026-12-02/"));
        assert_eq!(u.to_string(), "s3://logs/predictions/dt=2026-12-02/");
        assert_eq!(url("gs://b").key, "");
        assert_eq!(url("gs://b").to_string(), "gs://b");
        assert_eq!(url("az://container/x.parquet").cloud, Cloud::Azure);
        assert_eq!(url("S3://b/k").cloud, Cloud::S3);
        for local in ["data/x.parquet", "/abs/s3/x", "./s3:x", "C:/x", "s3", "file.parquet"] {
            assert!(ObjectUrl::parse(local).is_none(), "{local}");
        }
    }

    #[test]
    fn malformed_urls_say_what_to_write() {
        let err = |s: &str| ObjectUrl::parse(s).expect("url-like").unwrap_err().to_string();
        assert_eq!(err("s3:/logs/x"), "\"s3:/logs/x\": not an object URL; write s3://bucket/prefix");
        assert_eq!(err("az:///x"), "\"az:///x\": no container; write az://container/prefix");
        assert!(err("s3://Logs/x").contains("bucket name \"Logs\" has 'L'"), "{}", err("s3://Logs/x"));
        assert!(err("gs://b*/x").contains("has '*'"));
        assert!(err("s3://b/a//c").contains("'//'"));
    }

    #[test]
    fn globs_list_from_their_literal_prefix() {
        assert_eq!(url("s3://b/p/dt=*/part-*.parquet").literal_prefix(), "p/");
        assert_eq!(url("s3://b/p/dt=2026-12-0?/x").literal_prefix(), "p/");
        assert_eq!(url("s3://b/*.parquet").literal_prefix(), "");
        assert!(url("s3://b/a[0-9]").is_glob());
        assert!(!url("s3://b/a/").is_glob());
    }

    #[test]
    fn a_store_contains_paths_below_its_url_at_a_slash() {
        let store = url("s3://logs/predictions");
        assert!(store.contains(&url("s3://logs/predictions/x.parquet")));
        assert!(store.contains(&url("s3://logs/predictions")));
        assert!(!store.contains(&url("s3://logs/predictions2/x")));
        assert!(!store.contains(&url("s3://other/predictions/x")));
        assert!(!store.contains(&url("gs://logs/predictions/x")));
        assert!(url("s3://logs").contains(&url("s3://logs/any/thing")));
        assert!(url("s3://logs/").contains(&url("s3://logs/any")));
    }

    #[test]
    fn listing_keeps_parquet_and_skips_hidden_and_underscored_segments() {
        assert!(listed_parquet("p/", "p/dt=1/part-0.parquet"));
        assert!(listed_parquet("p/", "p/a.parq"));
        assert!(!listed_parquet("p/", "p/_SUCCESS"));
        assert!(!listed_parquet("p/", "p/_temporary/0/part-0.parquet"));
        assert!(!listed_parquet("p/", "p/dt=1/.part-0.parquet.crc"));
        assert!(!listed_parquet("p/", "p/.spark-staging/a.parquet"));
        assert!(!listed_parquet("p/", "p/notes.txt"));
        // Segments above the prefix are the user's choice, not skipped.
        assert!(listed_parquet("_staging/", "_staging/a.parquet"));
    }
}
