//! `[stores.NAME]`: the object stores of the daemon file, validated without touching the
//! network. A store is `url` (its bucket, and optionally a prefix), `region`, `endpoint`,
//! `allow_http`, `timeout_secs`, `max_retries`, the cloud's non-secret names (`account`,
//! `service_account_path`), and credentials only as `NAME_env` / `NAME_file`, like the sinks'.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::daemon::secret;
use super::problems::Problems;
use super::raw::{RawStore, STORE_KEYS};
use super::resolve;
use crate::source::object::settings::{ALL_CREDENTIAL_KEYS, credential_keys};
use crate::source::object::{Cloud, CredentialValue, ObjectUrl, StoreSettings};

/// Every `[stores.NAME]`, in name order; the broken ones are reported and left out.
pub(super) fn stores(e: &mut Problems, raw: BTreeMap<String, RawStore>, base: &Path) -> Vec<StoreSettings> {
    let mut out: Vec<StoreSettings> = Vec::new();
    for (name, s) in raw {
        let key = format!("stores.{name}");
        if let Some(store) = store(e, &key, &name, s, base) {
            if let Some(same) = out.iter().find(|o| o.url == store.url) {
                e.push(&format!("{key}.url"), format!("{} is already [stores.{}]'s url", store.url, same.name));
                continue;
            }
            out.push(store);
        }
    }
    out
}

fn store(e: &mut Problems, key: &str, name: &str, s: RawStore, base: &Path) -> Option<StoreSettings> {
    let url = match s.url.as_deref().map(ObjectUrl::parse) {
        None => {
            e.push(
                &format!("{key}.url"),
                "required: the bucket it serves, e.g. \"s3://bucket\" or \"az://container/prefix\"",
            );
            None
        }
        Some(None) => {
            e.push(&format!("{key}.url"), "not an object URL: write s3://bucket, gs://bucket or az://container");
            None
        }
        Some(Some(Err(err))) => {
            e.push(&format!("{key}.url"), format!("{err:#}"));
            None
        }
        Some(Some(Ok(u))) if u.is_glob() => {
            e.push(&format!("{key}.url"), "a store's url is a bucket or a prefix, not a glob");
            None
        }
        Some(Some(Ok(u))) => Some(u),
    };
    let cloud = url.as_ref().map(|u| u.cloud);
    let only = |e: &mut Problems, field: &str, given: bool, wanted: Cloud| {
        if given && cloud.is_some_and(|c| c != wanted) {
            e.push(&format!("{key}.{field}"), format!("only {}:// stores take {field}", wanted.scheme()));
        }
    };
    only(e, "region", s.region.is_some(), Cloud::S3);
    only(e, "account", s.account.is_some(), Cloud::Azure);
    only(e, "service_account_path", s.service_account_path.is_some(), Cloud::Gcs);
    let endpoint = s.endpoint.filter(|x| !x.is_empty());
    if let Some(ep) = &endpoint {
        if !(ep.starts_with("https://") || ep.starts_with("http://")) {
            e.push(&format!("{key}.endpoint"), format!("{ep:?} is not an http(s) URL"));
        } else if ep.starts_with("http://") && s.allow_http != Some(true) {
            e.push(
                &format!("{key}.endpoint"),
                "an http:// endpoint needs allow_http = true (for a local test server only; use https otherwise)",
            );
        }
    }
    if s.timeout_secs == Some(0) {
        e.push(&format!("{key}.timeout_secs"), "must be at least 1 (30 by default)");
    }
    if s.max_retries.is_some_and(|r| r > 100) {
        e.push(&format!("{key}.max_retries"), "at most 100 (3 by default)");
    }
    let service_account_path = s.service_account_path.map(|p| resolve(base, &p));
    if let Some(p) = &service_account_path
        && !p.is_file()
    {
        e.push(&format!("{key}.service_account_path"), format!("{}: no such file", p.display()));
    }
    let credentials = credentials(e, key, cloud, &s.unknown, base);
    let url = url?;
    Some(StoreSettings {
        name: name.to_owned(),
        url,
        region: s.region,
        endpoint,
        allow_http: s.allow_http.unwrap_or(false),
        timeout: s.timeout_secs.map(Duration::from_secs),
        max_retries: s.max_retries,
        account: s.account,
        service_account_path: service_account_path.map(|p| p.display().to_string()),
        credentials,
    })
}

/// The `NAME_env` / `NAME_file` credentials among a store's other keys (the rest are unknown
/// keys, reported with a suggestion); a credential written as a plain value is refused.
fn credentials(
    e: &mut Problems,
    key: &str,
    cloud: Option<Cloud>,
    rest: &super::raw::Unknown,
    base: &Path,
) -> Vec<(String, CredentialValue)> {
    let mut out = Vec::new();
    let mut unknown = super::raw::Unknown::new();
    let mut known: Vec<String> = STORE_KEYS.iter().map(|k| (*k).to_owned()).collect();
    for c in ALL_CREDENTIAL_KEYS {
        known.push(format!("{c}_env"));
        known.push(format!("{c}_file"));
    }
    let mut forms: BTreeMap<&str, (Option<String>, Option<String>)> = BTreeMap::new();
    for (k, v) in rest {
        let stem = k.strip_suffix("_env").or_else(|| k.strip_suffix("_file"));
        match (stem.and_then(|st| ALL_CREDENTIAL_KEYS.iter().find(|c| **c == st)), v.as_str()) {
            (Some(c), Some(text)) => {
                let slot = forms.entry(c).or_default();
                if k.ends_with("_env") { slot.0 = Some(text.to_owned()) } else { slot.1 = Some(text.to_owned()) }
            }
            (Some(_), None) => e.push(&format!("{key}.{k}"), "must be a string (a variable's name or a file's path)"),
            (None, _) if ALL_CREDENTIAL_KEYS.contains(&k.as_str()) => e.push(
                &format!("{key}.{k}"),
                format!(
                    "credentials are never written in the file: use {k}_env (a variable) or {k}_file (a mounted secret)"
                ),
            ),
            (None, _) => {
                unknown.insert(k.clone(), v.clone());
            }
        }
    }
    let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
    e.unknown(key, &unknown, &known_refs);
    for (c, (env, file)) in forms {
        if let Some(cl) = cloud
            && !credential_keys(cl).contains(&c)
        {
            e.push(
                &format!("{key}.{c}_env"),
                format!("{}:// stores take {}", cl.scheme(), credential_keys(cl).join(", ")),
            );
            continue;
        }
        let form = if file.is_some() { "file" } else { "env" };
        if let Some(v) = secret(e, &format!("{key}.{c}_{form}"), env.as_deref(), file.as_deref(), base) {
            out.push((c.to_owned(), CredentialValue(v.expose().to_owned())));
        }
    }
    let has = |c: &str| rest.keys().any(|k| k == &format!("{c}_env") || k == &format!("{c}_file"));
    if has("access_key_id") != has("secret_access_key") {
        e.push(
            &format!("{key}.secret_access_key_env"),
            "access_key_id and secret_access_key go together: give both (or neither, for the environment's)",
        );
    }
    if has("session_token") && !has("access_key_id") {
        e.push(&format!("{key}.session_token_env"), "a session token needs access_key_id and secret_access_key");
    }
    out
}
