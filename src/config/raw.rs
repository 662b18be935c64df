//! The configuration files as written: serde structs with every field optional, so one pass
//! collects every problem. Keys nobody knows are caught by a flattened map on each table (and
//! reported with a suggestion) instead of stopping at the first. [`super::load`] turns
//! these into the validated model.

// Fields are the files' keys, one to one; `monitors/README.md` documents each.
#![allow(missing_docs)]

use std::collections::BTreeMap;

use serde::Deserialize;

/// Unknown keys of one table.
pub type Unknown = BTreeMap<String, toml::Value>;

/// The daemon file (`drift.toml`).
#[derive(Debug, Default, Deserialize)]
pub struct RawDaemon {
    pub state_dir: Option<String>,
    pub listen: Option<String>,
    pub monitors_dir: Option<String>,
    pub poll_secs: Option<u64>,
    pub max_concurrent_evaluations: Option<usize>,
    pub drain_timeout_secs: Option<u64>,
    pub cycle_timeout_secs: Option<u64>,
    pub max_bytes_in_flight: Option<u64>,
    pub retention: Option<RawRetention>,
    pub sinks: Option<BTreeMap<String, RawSink>>,
    pub external_url: Option<String>,
    pub stores: Option<BTreeMap<String, RawStore>>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawDaemon`], for suggestions.
pub const DAEMON_KEYS: &[&str] = &[
    "state_dir",
    "listen",
    "monitors_dir",
    "poll_secs",
    "max_concurrent_evaluations",
    "drain_timeout_secs",
    "cycle_timeout_secs",
    "max_bytes_in_flight",
    "retention",
    "sinks",
    "external_url",
    "stores",
];

/// `[stores.NAME]`; credentials (`access_key_id_env`, `sas_token_file`, ...) are among the
/// other keys (`unknown`), checked against the cloud's list before the rest are reported.
#[derive(Debug, Default, Deserialize)]
pub struct RawStore {
    pub url: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub allow_http: Option<bool>,
    pub timeout_secs: Option<u64>,
    pub max_retries: Option<usize>,
    pub account: Option<String>,
    pub service_account_path: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawStore`] besides the credentials.
pub const STORE_KEYS: &[&str] =
    &["url", "region", "endpoint", "allow_http", "timeout_secs", "max_retries", "account", "service_account_path"];

/// `[retention]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawRetention {
    pub history_days: Option<u64>,
    pub quarantine_days: Option<u64>,
    pub notifications_days: Option<u64>,
    pub report_days: Option<u64>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawRetention`].
pub const RETENTION_KEYS: &[&str] = &["history_days", "quarantine_days", "notifications_days", "report_days"];

/// `[sinks.NAME]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawSink {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub path: Option<String>,
    pub url_env: Option<String>,
    pub url_file: Option<String>,
    pub headers_env: Option<BTreeMap<String, String>>,
    pub headers_file: Option<BTreeMap<String, String>>,
    pub timeout_secs: Option<u64>,
    pub min_interval_ms: Option<u64>,
    pub max_age_hours: Option<u64>,
    pub send_resolved: Option<bool>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawSink`].
pub const SINK_KEYS: &[&str] = &[
    "type",
    "path",
    "url_env",
    "url_file",
    "headers_env",
    "headers_file",
    "timeout_secs",
    "min_interval_ms",
    "max_age_hours",
    "send_resolved",
];

/// A monitor file (`monitors/ID.toml`).
#[derive(Debug, Default, Deserialize)]
pub struct RawMonitor {
    pub description: Option<String>,
    pub source: Option<RawSource>,
    pub reference: Option<RawReference>,
    pub window: Option<RawWindow>,
    pub columns: Option<RawColumns>,
    pub policy: Option<RawPolicy>,
    pub segments: Option<RawSegments>,
    pub alerts: Option<RawAlerts>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawMonitor`].
pub const MONITOR_KEYS: &[&str] =
    &["description", "source", "reference", "window", "columns", "policy", "segments", "alerts"];

/// `[source]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawSource {
    pub path: Option<String>,
    pub settle_secs: Option<u64>,
    pub poll_secs: Option<u64>,
    pub stale_after_secs: Option<u64>,
    pub max_files_per_cycle: Option<usize>,
    pub follow_symlinks: Option<bool>,
    pub listing: Option<String>,
    pub full_listing_secs: Option<u64>,
    pub quarantine_after_attempts: Option<u32>,
    pub read_timeout_secs: Option<u64>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawSource`].
pub const SOURCE_KEYS: &[&str] = &[
    "path",
    "settle_secs",
    "poll_secs",
    "stale_after_secs",
    "max_files_per_cycle",
    "follow_symlinks",
    "quarantine_after_attempts",
    "read_timeout_secs",
    "listing",
    "full_listing_secs",
];

/// `[reference]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawReference {
    pub path: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawReference`].
pub const REFERENCE_KEYS: &[&str] = &["path"];

/// `[window]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawWindow {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub rows: Option<u64>,
    pub size_secs: Option<u64>,
    pub allowed_lateness_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub max_future_secs: Option<u64>,
    pub min_rows: Option<u64>,
    pub timestamp_column: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawWindow`].
pub const WINDOW_KEYS: &[&str] = &[
    "type",
    "rows",
    "size_secs",
    "allowed_lateness_secs",
    "idle_timeout_secs",
    "max_future_secs",
    "min_rows",
    "timestamp_column",
];

/// `[columns]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawColumns {
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub categorical: Option<Vec<String>>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawColumns`].
pub const COLUMNS_KEYS: &[&str] = &["include", "exclude", "categorical"];

/// `[policy]`: overrides of the engine's defaults.
#[derive(Debug, Default, Deserialize)]
pub struct RawPolicy {
    pub alpha: Option<f64>,
    pub correction: Option<String>,
    pub ks_floors: Option<Vec<f64>>,
    pub psi_floors: Option<Vec<f64>>,
    pub null_floors: Option<Vec<f64>>,
    pub unseen_floors: Option<Vec<f64>>,
    pub psi_effect: Option<String>,
    pub min_expected: Option<f64>,
    pub bins: Option<usize>,
    pub max_categories: Option<usize>,
    pub min_count: Option<u64>,
    pub js: Option<bool>,
    pub wasserstein: Option<bool>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawPolicy`].
pub const POLICY_KEYS: &[&str] = &[
    "alpha",
    "correction",
    "ks_floors",
    "psi_floors",
    "null_floors",
    "unseen_floors",
    "psi_effect",
    "min_expected",
    "bins",
    "max_categories",
    "min_count",
    "js",
    "wasserstein",
];

/// `[segments]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawSegments {
    pub by: Option<Vec<String>>,
    pub min_rows: Option<u64>,
    pub max_segments: Option<usize>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawSegments`].
pub const SEGMENTS_KEYS: &[&str] = &["by", "min_rows", "max_segments"];

/// `[alerts]`: sink names per severity.
#[derive(Debug, Default, Deserialize)]
pub struct RawAlerts {
    pub warning: Option<Vec<String>>,
    pub critical: Option<Vec<String>>,
    pub operational: Option<Vec<String>>,
    pub fire_after: Option<u32>,
    pub resolve_after: Option<u32>,
    pub repeat_interval_secs: Option<u64>,
    pub group_interval_secs: Option<u64>,
    pub failing_after: Option<u32>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawAlerts`].
pub const ALERTS_KEYS: &[&str] = &[
    "warning",
    "critical",
    "operational",
    "fire_after",
    "resolve_after",
    "repeat_interval_secs",
    "group_interval_secs",
    "failing_after",
];

#[cfg(test)]
mod tests {
    /// A struct's name and its keys.
    type Named = Vec<(String, Vec<String>)>;

    /// `(struct, its fields)` and `(struct, its KEYS list)` as written in this file.
    fn structs_and_keys(text: &str) -> (Named, Named) {
        let mut structs = Vec::new();
        let mut keys = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("pub struct Raw") {
            let body = &rest[at + "pub struct ".len()..];
            let name = body.split_whitespace().next().unwrap().to_owned();
            // A field's key is its name, or the `#[serde(rename = "...")]` above it.
            let mut fields = Vec::new();
            let mut renamed: Option<String> = None;
            for line in body[..body.find("\n}").unwrap()].lines().map(str::trim) {
                if let Some(r) = line.strip_prefix("#[serde(rename = \"") {
                    renamed = r.split('"').next().map(str::to_owned);
                } else if let Some((field, _)) = line.strip_prefix("pub ").and_then(|l| l.split_once(':')) {
                    let key = renamed.take().unwrap_or_else(|| field.to_owned());
                    if key != "unknown" {
                        fields.push(key);
                    }
                }
            }
            structs.push((name, fields));
            rest = &body[1..];
        }
        let mut rest = text;
        while let Some(at) = rest.find("/// Keys of [`Raw") {
            let body = &rest[at + "/// Keys of [`".len()..];
            let name = body[..body.find('`').unwrap()].to_owned();
            let value = &body[body.find("&[&str] =").unwrap() + "&[&str] =".len()..];
            let list = &value[value.find("&[").unwrap() + 2..value.find("];").unwrap()];
            keys.push((
                name,
                list.split(',').map(|k| k.trim().trim_matches('"').to_owned()).filter(|k| !k.is_empty()).collect(),
            ));
            rest = &body[1..];
        }
        (structs, keys)
    }

    /// Every table's list of keys (used to report unknown keys with a suggestion) names exactly
    /// the fields of its struct: a key added to one and not the other fails here.
    #[test]
    fn every_keys_list_names_exactly_its_structs_fields() {
        let source = include_str!("raw.rs");
        let source = &source[..source.find("#[cfg(test)]").unwrap()];
        let (structs, keys) = structs_and_keys(source);
        assert!(structs.len() >= 11, "{structs:?}");
        for (name, fields) in &structs {
            let Some((_, list)) = keys.iter().find(|(k, _)| k == name) else {
                panic!("{name} has no `/// Keys of [`{name}`]` list");
            };
            let mut a = fields.clone();
            let mut b = list.clone();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{name}: fields vs its keys list");
        }
        // The reader itself: a field missing from a list is found.
        let (s, k) = structs_and_keys(
            "pub struct RawX {\n    pub a: u8,\n    pub b: u8,\n    pub unknown: U,\n}\n/// Keys of [`RawX`].\npub const X_KEYS: &[&str] = &[\"a\"];\n",
        );
        assert_eq!(s, [("RawX".to_owned(), vec!["a".to_owned(), "b".to_owned()])]);
        assert_eq!(k, [("RawX".to_owned(), vec!["a".to_owned()])]);
    }
}
