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
    pub retention: Option<RawRetention>,
    pub sinks: Option<BTreeMap<String, RawSink>>,
    pub external_url: Option<String>,
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
    "retention",
    "sinks",
    "external_url",
];

/// `[retention]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawRetention {
    pub history_days: Option<u64>,
    pub quarantine_days: Option<u64>,
    pub notifications_days: Option<u64>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawRetention`].
pub const RETENTION_KEYS: &[&str] = &["history_days", "quarantine_days", "notifications_days"];

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
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawSource`].
pub const SOURCE_KEYS: &[&str] = &["path", "settle_secs", "poll_secs", "stale_after_secs"];

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
    pub min_rows: Option<u64>,
    pub timestamp_column: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawWindow`].
pub const WINDOW_KEYS: &[&str] =
    &["type", "rows", "size_secs", "allowed_lateness_secs", "idle_timeout_secs", "min_rows", "timestamp_column"];

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
