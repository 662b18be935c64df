//! The object_store clients behind object URLs: one per store (built once, from the store's
//! settings over the cloud's standard environment), and the blocking calls the readers use
//! (list, head, ranged and whole GETs pinned to the listed ETag, put). Requests run on one
//! small runtime of this module's own, so callers may be plain threads or blocking tasks of
//! the daemon's runtime alike.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as KeyPath;
use object_store::{ClientConfigKey, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use super::errors::{Op, explain};
use super::settings::{StoreSettings, settings_for};
use super::url::{Cloud, ObjectUrl};

/// Per-request timeout unless a store sets `timeout_secs`.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// Retries (with backoff) unless a store sets `max_retries`.
pub const DEFAULT_MAX_RETRIES: usize = 3;

/// One listed object: where, how big, and the version the listing saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its URL.
    pub url: ObjectUrl,
    /// Bytes.
    pub size: u64,
    /// The ETag at listing (reads are pinned to it).
    pub e_tag: Option<String>,
    /// Last modified, milliseconds since the epoch.
    pub modified_ms: i64,
}

/// Runs `fut` on this module's runtime and waits for it.
fn block<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("drift-objects")
            .enable_all()
            .build()
            .expect("the object-storage runtime starts")
    });
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().expect("the object-storage task answers")
}

type Client = (Arc<dyn ObjectStore>, Arc<StoreSettings>);

/// The client for `url`'s store (built on first use).
fn client(url: &ObjectUrl) -> Result<Client> {
    static CLIENTS: OnceLock<Mutex<HashMap<(String, ObjectUrl), Client>>> = OnceLock::new();
    let settings = settings_for(url);
    let key = (settings.name.clone(), url.with_key(""));
    let mut clients = CLIENTS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = clients.get(&key) {
        return Ok(c.clone());
    }
    let store = build(&settings, url).map_err(|e| explain(Op::Connect, url, &settings, e))?;
    let c: Client = (store, Arc::new(settings));
    clients.insert(key, c.clone());
    Ok(c)
}

fn build(s: &StoreSettings, url: &ObjectUrl) -> object_store::Result<Arc<dyn ObjectStore>> {
    // reqwest is built without a TLS provider of its own: ring's, as the sinks use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Client settings as config keys, so the environment's (AWS_ALLOW_HTTP, ...) stay in force
    // unless the store sets them.
    let mut client = vec![
        (ClientConfigKey::Timeout, format!("{}s", s.timeout.map_or(DEFAULT_TIMEOUT_SECS, |t| t.as_secs()))),
        (ClientConfigKey::ConnectTimeout, "10s".to_owned()),
    ];
    if s.allow_http {
        client.push((ClientConfigKey::AllowHttp, "true".to_owned()));
    }
    let retry = RetryConfig {
        max_retries: s.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
        retry_timeout: Duration::from_secs(120),
        ..RetryConfig::default()
    };
    Ok(match url.cloud {
        Cloud::S3 => build_s3(s, url, client, retry)?,
        Cloud::Gcs => build_gcs(s, url, client, retry)?,
        Cloud::Azure => build_azure(s, url, client, retry)?,
    })
}

type Built = object_store::Result<Arc<dyn ObjectStore>>;

fn build_s3(s: &StoreSettings, url: &ObjectUrl, client: Vec<(ClientConfigKey, String)>, retry: RetryConfig) -> Built {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    let mut b = AmazonS3Builder::from_env().with_bucket_name(&url.bucket).with_retry(retry);
    for (k, v) in client {
        b = b.with_config(AmazonS3ConfigKey::Client(k), v);
    }
    if let Some(r) = &s.region {
        b = b.with_region(r);
    }
    if let Some(e) = &s.endpoint {
        b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
    }
    if let Some(v) = s.credential("access_key_id") {
        b = b.with_access_key_id(v);
    }
    if let Some(v) = s.credential("secret_access_key") {
        b = b.with_secret_access_key(v);
    }
    if let Some(v) = s.credential("session_token") {
        b = b.with_token(v);
    }
    Ok(Arc::new(b.build()?))
}

fn build_gcs(s: &StoreSettings, url: &ObjectUrl, client: Vec<(ClientConfigKey, String)>, retry: RetryConfig) -> Built {
    use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
    let mut b = GoogleCloudStorageBuilder::from_env().with_bucket_name(&url.bucket).with_retry(retry);
    for (k, v) in client {
        b = b.with_config(GoogleConfigKey::Client(k), v);
    }
    if let Some(e) = &s.endpoint {
        b = b.with_base_url(e);
    }
    if let Some(p) = &s.service_account_path {
        b = b.with_service_account_path(p);
    }
    if let Some(v) = s.credential("service_account_key") {
        b = b.with_service_account_key(v);
    }
    Ok(Arc::new(b.build()?))
}

fn build_azure(
    s: &StoreSettings,
    url: &ObjectUrl,
    client: Vec<(ClientConfigKey, String)>,
    retry: RetryConfig,
) -> Built {
    use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
    let mut b = MicrosoftAzureBuilder::from_env().with_container_name(&url.bucket).with_retry(retry);
    for (k, v) in client {
        b = b.with_config(AzureConfigKey::Client(k), v);
    }
    if let Some(a) = &s.account {
        b = b.with_account(a);
    }
    if let Some(e) = &s.endpoint {
        b = b.with_endpoint(e.clone());
    }
    if let Some(v) = s.credential("access_key") {
        b = b.with_access_key(v);
    }
    if let Some(v) = s.credential("sas_token") {
        b = b.with_config(AzureConfigKey::SasKey, v);
    }
    if let Some(v) = s.credential("client_secret") {
        b = b.with_config(AzureConfigKey::ClientSecret, v);
    }
    Ok(Arc::new(b.build()?))
}

fn key_path(url: &ObjectUrl) -> KeyPath {
    KeyPath::from(url.key.as_str())
}

fn listed(url: &ObjectUrl, m: object_store::ObjectMeta) -> Listed {
    Listed {
        url: url.with_key(m.location.as_ref()),
        size: m.size,
        e_tag: m.e_tag,
        modified_ms: m.last_modified.timestamp_millis(),
    }
}

/// Every object below `url`'s key taken as a directory (`key/`), in key order; after `offset`
/// (a full key) when given.
pub fn list(url: &ObjectUrl, offset: Option<&str>) -> Result<Vec<Listed>> {
    let (store, settings) = client(url)?;
    let prefix = key_path(url);
    let prefix = (!url.key.trim_end_matches('/').is_empty()).then_some(prefix);
    let offset = offset.map(KeyPath::from);
    let found = block(async move {
        let stream = match &offset {
            Some(o) => store.list_with_offset(prefix.as_ref(), o),
            None => store.list(prefix.as_ref()),
        };
        stream.try_collect::<Vec<_>>().await
    });
    let mut out: Vec<Listed> =
        found.map_err(|e| explain(Op::List, url, &settings, e))?.into_iter().map(|m| listed(url, m)).collect();
    out.sort_by(|a, b| a.url.key.cmp(&b.url.key));
    Ok(out)
}

/// The object at `url`'s exact key, or `None` when there is none.
pub fn head(url: &ObjectUrl) -> Result<Option<Listed>> {
    let (store, settings) = client(url)?;
    let path = key_path(url);
    match block(async move { store.head(&path).await }) {
        Ok(m) => Ok(Some(listed(url, m))),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(explain(Op::Get, url, &settings, e)),
    }
}

/// The bytes `ranges` of `object`, pinned to its listed ETag (`If-Match`): an object replaced
/// since its listing fails with a precondition error (see [`super::errors::is_replaced`]), never
/// a mix of two versions. Ranges closer than object_store's default gap are fetched as one
/// request, and the requests run in parallel.
pub fn get_ranges(object: &Listed, ranges: Vec<Range<u64>>) -> Result<Vec<Bytes>> {
    let (store, settings) = client(&object.url)?;
    let path = key_path(&object.url);
    let e_tag = object.e_tag.clone();
    let got = block(async move {
        let fetch = |r: Range<u64>| {
            let options =
                GetOptions { if_match: e_tag.clone(), range: Some(GetRange::Bounded(r)), ..GetOptions::default() };
            let (store, path) = (store.clone(), path.clone());
            async move { store.get_opts(&path, options).await?.bytes().await }
        };
        object_store::coalesce_ranges(&ranges, fetch, object_store::OBJECT_STORE_COALESCE_DEFAULT).await
    });
    got.map_err(|e| explain(Op::Get, &object.url, &settings, e))
}

/// The whole of `object`, pinned to its listed ETag like [`get_ranges`].
pub fn get(object: &Listed) -> Result<Bytes> {
    let (store, settings) = client(&object.url)?;
    let path = key_path(&object.url);
    let options = GetOptions { if_match: object.e_tag.clone(), ..GetOptions::default() };
    let got = block(async move { store.get_opts(&path, options).await?.bytes().await });
    got.map_err(|e| explain(Op::Get, &object.url, &settings, e))
}

/// The first `n` bytes of the object at `url`, or `None` when there is none (or it is empty).
pub fn get_head_bytes(url: &ObjectUrl, n: u64) -> Result<Option<Bytes>> {
    let (store, settings) = client(url)?;
    let path = key_path(url);
    let options = GetOptions { range: Some(GetRange::Bounded(0..n)), ..GetOptions::default() };
    match block(async move { store.get_opts(&path, options).await?.bytes().await }) {
        Ok(b) => Ok(Some(b)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        // An empty object has no byte 0: a range it cannot satisfy.
        Err(e) if e.to_string().contains("416") || e.to_string().contains("InvalidRange") => Ok(None),
        Err(e) => Err(explain(Op::Get, url, &settings, e)),
    }
}

/// Writes `bytes` as the object at `url` in one atomic put: a reader sees the old object or the
/// new one, never part of it.
pub fn put(url: &ObjectUrl, bytes: Vec<u8>) -> Result<()> {
    let (store, settings) = client(url)?;
    let path = key_path(url);
    let put = block(async move { store.put(&path, PutPayload::from(bytes)).await });
    put.map(|_| ()).map_err(|e| explain(Op::Put, url, &settings, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::object::CredentialValue;

    fn settings(url: &str) -> (StoreSettings, ObjectUrl) {
        let url = ObjectUrl::parse(url).unwrap().unwrap();
        let mut s = StoreSettings::from_environment(&url);
        s.name = "t".into();
        (s, url)
    }

    #[test]
    fn each_clouds_client_is_built_from_a_store_without_the_network() {
        let (mut s, url) = settings("s3://b/p");
        s.endpoint = Some("http://127.0.0.1:9".into());
        s.allow_http = true;
        s.region = Some("eu-west-1".into());
        for (k, v) in [("access_key_id", "AKIAEXAMPLE"), ("secret_access_key", "secret"), ("session_token", "tok")] {
            s.credentials.push((k.into(), CredentialValue(v.into())));
        }
        assert!(build(&s, &url).is_ok());
        let (mut s, url) = settings("az://container/p");
        s.account = Some("acct".into());
        s.credentials.push(("sas_token".into(), CredentialValue("sv=2021&sig=abc".into())));
        assert!(build(&s, &url).is_ok());
        let (s, url) = settings("gs://bucket/p");
        let e = build(&s, &url);
        // Without credentials GCS falls back to the metadata server, asked only when used.
        assert!(e.is_ok() || std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").is_some());
    }

    #[test]
    fn a_gcs_key_that_is_not_a_key_is_one_line_naming_the_store_and_never_its_text() {
        let (mut s, url) = settings("gs://bucket/p");
        s.credentials.push(("service_account_key".into(), CredentialValue("{not json: hunter2}".into())));
        let e = build(&s, &url).map(|_| ()).map_err(|e| explain(Op::Connect, &url, &s, e)).unwrap_err();
        let line = format!("{e:#}");
        assert!(line.starts_with("gs://bucket/p: CONNECT via [stores.t]: "), "{line}");
        assert!(!line.contains('\n'), "{line}");
        assert!(!line.contains("hunter2"), "{line}");
    }
}
