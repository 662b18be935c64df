//! A `[stores.NAME]` table as the configuration validated it, and which store a URL uses: the
//! one whose `url` contains it (the longest such), otherwise the cloud's standard environment.
//! The process's stores are installed at start ([`install`]) by the command that read them.

use std::sync::RwLock;
use std::time::Duration;

use super::url::{Cloud, ObjectUrl};

/// A credential's value, read from the environment or a file; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialValue(pub String);

impl std::fmt::Debug for CredentialValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The credentials a store table may name, per cloud (each as `NAME_env` or `NAME_file`).
pub fn credential_keys(cloud: Cloud) -> &'static [&'static str] {
    match cloud {
        Cloud::S3 => &["access_key_id", "secret_access_key", "session_token"],
        Cloud::Gcs => &["service_account_key"],
        Cloud::Azure => &["access_key", "sas_token", "client_secret"],
    }
}

/// Every credential key of every cloud, for the unknown-key check.
pub const ALL_CREDENTIAL_KEYS: &[&str] = &[
    "access_key_id",
    "secret_access_key",
    "session_token",
    "service_account_key",
    "access_key",
    "sas_token",
    "client_secret",
];

/// One validated `[stores.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// The table's name, shown in errors.
    pub name: String,
    /// The bucket (and optional prefix) it serves.
    pub url: ObjectUrl,
    /// S3: the region (`us-east-1` by default).
    pub region: Option<String>,
    /// An endpoint other than the cloud's (MinIO, a local test server).
    pub endpoint: Option<String>,
    /// Allow `http://` endpoints (a local test server only).
    pub allow_http: bool,
    /// Per-request timeout.
    pub timeout: Option<Duration>,
    /// Retries of a failed request (with backoff).
    pub max_retries: Option<usize>,
    /// Azure: the storage account (not secret).
    pub account: Option<String>,
    /// GCS: a service-account key file's path (application credentials).
    pub service_account_path: Option<String>,
    /// Credential name (one of [`credential_keys`]) and value.
    pub credentials: Vec<(String, CredentialValue)>,
}

impl StoreSettings {
    /// The settings of a store named by its URL alone: the environment supplies the rest.
    pub fn from_environment(url: &ObjectUrl) -> StoreSettings {
        StoreSettings {
            name: String::new(),
            url: url.with_key(""),
            region: None,
            endpoint: None,
            allow_http: false,
            timeout: None,
            max_retries: None,
            account: None,
            service_account_path: None,
            credentials: Vec::new(),
        }
    }

    /// A credential's value, if given.
    pub fn credential(&self, key: &str) -> Option<&str> {
        self.credentials.iter().find(|(k, _)| k == key).map(|(_, v)| v.0.as_str())
    }

    /// How errors name the store: `[stores.NAME]`, or the environment's.
    pub fn shown(&self) -> String {
        if self.name.is_empty() {
            format!("{} (from the environment)", self.url.root())
        } else {
            format!("[stores.{}]", self.name)
        }
    }
}

static STORES: RwLock<Vec<StoreSettings>> = RwLock::new(Vec::new());

/// Adds the process's stores (a daemon file's `[stores]`); a store with the `url` of one added
/// before replaces it. Without any, every URL uses its cloud's environment. (A client already
/// built for a store is kept: a changed store takes effect at the next start.)
pub fn install(stores: Vec<StoreSettings>) {
    let mut all = STORES.write().unwrap_or_else(|e| e.into_inner());
    for s in stores {
        all.retain(|o| o.url != s.url);
        all.push(s);
    }
}

/// The store `url` uses among `stores`: the one whose URL contains it, the longest first.
pub fn pick<'a>(stores: &'a [StoreSettings], url: &ObjectUrl) -> Option<&'a StoreSettings> {
    stores.iter().filter(|s| s.url.contains(url)).max_by_key(|s| s.url.key.trim_end_matches('/').len())
}

/// The settings `url` is read with (see [`pick`]; the environment when none fits).
pub fn settings_for(url: &ObjectUrl) -> StoreSettings {
    let installed = STORES.read().unwrap_or_else(|e| e.into_inner());
    pick(&installed, url).cloned().unwrap_or_else(|| StoreSettings::from_environment(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> ObjectUrl {
        ObjectUrl::parse(s).unwrap().unwrap()
    }

    #[test]
    fn a_url_takes_the_longest_store_that_contains_it() {
        let store =
            |name: &str, u: &str| StoreSettings { name: name.into(), ..StoreSettings::from_environment(&url(u)) };
        let mut a = store("bucket", "s3://logs");
        a.url = url("s3://logs");
        let mut b = store("preds", "s3://logs");
        b.url = url("s3://logs/predictions/");
        let stores = vec![a, b];
        assert_eq!(pick(&stores, &url("s3://logs/predictions/x.parquet")).unwrap().name, "preds");
        assert_eq!(pick(&stores, &url("s3://logs/training/x.parquet")).unwrap().name, "bucket");
        assert!(pick(&stores, &url("s3://other/x")).is_none());
        assert_eq!(StoreSettings::from_environment(&url("s3://other/x")).shown(), "s3://other (from the environment)");
        assert_eq!(stores[1].shown(), "[stores.preds]");
    }

    #[test]
    fn credentials_never_print() {
        let mut s = StoreSettings::from_environment(&url("s3://b"));
        s.credentials.push(("secret_access_key".into(), CredentialValue("hunter2-secret".into())));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.credential("secret_access_key"), Some("hunter2-secret"));
    }
}
