//! The validated model: the daemon's configuration, its sinks and secrets, and each monitor with
//! every default filled in, so no user of it has a default of its own to forget.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::engine::Policy;

/// The validated daemon configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The daemon file.
    pub file: PathBuf,
    /// Where the state database lives (local or block storage, not NFS).
    pub state_dir: PathBuf,
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Where the monitor files are.
    pub monitors_dir: PathBuf,
    /// How many evaluations run at once (CPU work).
    pub max_concurrent_evaluations: usize,
    /// How long SIGTERM waits for in-flight work.
    pub drain_timeout: Duration,
    /// A monitor's cycle running longer is cancelled, counted as failed, and (if it cannot be
    /// cancelled) stops the watchdog pings.
    pub cycle_timeout: Duration,
    /// Bytes of source files fetched and held at once, over every monitor (a single larger
    /// file still goes, alone).
    pub max_bytes_in_flight: u64,
    /// Retention of history, quarantine records and delivered notifications.
    pub retention: Retention,
    /// Named alert sinks.
    pub sinks: BTreeMap<String, Sink>,
    /// A link for alert messages (a dashboard, or this daemon's status page).
    pub external_url: Option<String>,
    /// Object stores (`[stores.NAME]`), by name.
    pub stores: Vec<crate::source::object::StoreSettings>,
    /// The monitors, by id.
    pub monitors: Vec<Monitor>,
}

/// Retention periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Evaluation history.
    pub history: Duration,
    /// Quarantine records.
    pub quarantine: Duration,
    /// Delivered notifications.
    pub notifications: Duration,
    /// What a window's HTML report draws (percentiles, bins, categories); each monitor's
    /// latest window keeps it regardless.
    pub report: Duration,
}

/// An alert sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// Log lines through `tracing`.
    Log,
    /// JSON lines (the webhook body) appended to a file.
    File {
        /// The file.
        path: PathBuf,
    },
    /// A Slack incoming webhook (Block Kit message).
    Slack(HttpSink),
    /// A generic JSON POST (Alertmanager webhook v4 shape plus drift's fields).
    Webhook(HttpSink),
}

impl Sink {
    /// The HTTP settings of a Slack or webhook sink.
    pub fn http(&self) -> Option<&HttpSink> {
        match self {
            Sink::Slack(h) | Sink::Webhook(h) => Some(h),
            Sink::Log | Sink::File { .. } => None,
        }
    }

    /// Whether resolved messages go to this sink.
    pub fn send_resolved(&self) -> bool {
        self.http().is_none_or(|h| h.send_resolved)
    }
}

/// A secret read from the environment or a file: never printed (its `Debug` is redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(super) String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A Slack or webhook sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSink {
    /// The URL (a secret: Slack's URL is its credential).
    pub url: Secret,
    /// Extra headers (e.g. `Authorization`), values secret.
    pub headers: Vec<(String, Secret)>,
    /// Per request.
    pub timeout: Duration,
    /// At most one message per this interval (Slack: about one per second per webhook).
    pub min_interval: Duration,
    /// Undelivered after this long: dead-lettered.
    pub max_age: Duration,
    /// Send resolved messages.
    pub send_resolved: bool,
}

/// One monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    /// Id: the file stem.
    pub id: String,
    /// The monitor file.
    pub file: PathBuf,
    /// Free text.
    pub description: Option<String>,
    /// Where new data lands.
    pub source: Source,
    /// The reference: one snapshot, or Parquet paths.
    pub reference: String,
    /// How data is cut into windows.
    pub window: Window,
    /// Event-time column, if any.
    pub timestamp_column: Option<String>,
    /// Fewer rows than this: the window is insufficient, not evaluated as drift.
    pub min_rows: u64,
    /// Column selection.
    pub columns: Columns,
    /// Thresholds (the engine's defaults unless overridden).
    pub policy: Policy,
    /// Per-segment evaluation, if asked.
    pub segments: Option<Segments>,
    /// Sink names per severity.
    pub alerts: Alerts,
    /// Other kinds of check on every evaluated window (`crate::checks`).
    pub checks: crate::checks::Checks,
    /// The model whose realized quality the monitor watches (`[model]`, `[labels]`), if any.
    pub model: Option<super::ModelQuality>,
}

/// Where a monitor's data lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// A directory (searched recursively) or a glob, resolved against the monitor file.
    pub path: String,
    /// A file is taken once its size and mtime were stable this long and its footer is valid.
    pub settle: Duration,
    /// Listing interval.
    pub poll: Duration,
    /// No new file for this long: the source is stale.
    pub stale_after: Duration,
    /// Whether listing follows symbolic links (a loop is skipped, never fatal).
    pub follow_symlinks: bool,
    /// Failed reads of one file before it is quarantined (at least 1).
    pub quarantine_after_attempts: u32,
    /// At most this many settled files per cycle, oldest first; the rest wait for the next.
    pub max_files_per_cycle: usize,
    /// Time reading and decoding one file may take in a cycle; past it the read is that
    /// file's failed attempt (`crate::source::ReadTimeout`).
    pub read_timeout: Duration,
    /// Object sources: list only after the last key consumed in order (`listing =
    /// "after_offset"`), with a full listing this often; `None`: every listing is full.
    pub full_listing_every: Option<Duration>,
}

/// How a monitor cuts data into windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Each batch of newly settled files is one window.
    Files,
    /// Every `rows` rows.
    Rows {
        /// Rows per window.
        rows: u64,
    },
    /// Tumbling windows of event time.
    Time {
        /// Window length.
        size: Duration,
        /// How late a row may arrive and still count.
        allowed_lateness: Duration,
        /// Close the open window after this long without data.
        idle_timeout: Duration,
        /// Rows more than this ahead of the daemon's clock are counted as future, not
        /// evaluated, and never move the watermark.
        max_future: Duration,
    },
}

/// Column selection (as `drift check`'s flags).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Columns {
    /// Only these (empty: all).
    pub include: Vec<String>,
    /// Not these.
    pub exclude: Vec<String>,
    /// As categories whatever their type.
    pub categorical: Vec<String>,
}

impl Columns {
    /// Whether the column named `name` is compared (kept by `include` and not excluded), as
    /// `drift check` decides.
    pub fn wants(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|x| x == name)) && !self.exclude.iter().any(|x| x == name)
    }
}

/// Per-segment evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segments {
    /// Segment by the values of these columns.
    pub by: Vec<String>,
    /// Segments with fewer rows are reported insufficient.
    pub min_rows: u64,
    /// At most this many segments (the largest); the rest are counted, not evaluated.
    pub max_segments: usize,
}

/// Sink names per severity and the alert lifecycle's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Alerts {
    /// For warnings.
    pub warning: Vec<String>,
    /// For critical findings.
    pub critical: Vec<String>,
    /// For operational alerts (stale source, failing monitor, lost notification); defaults
    /// to `critical`.
    pub operational: Vec<String>,
    /// Fire after, resolve after, repeat and group intervals.
    pub timing: crate::alerts::lifecycle::Timing,
    /// Consecutive failed cycles before the monitor-failing alert fires.
    pub failing_after: u32,
}

impl Config {
    /// How a monitor's notifications are routed.
    pub fn routing(&self, m: &Monitor) -> crate::alerts::route::Routing {
        crate::alerts::route::Routing {
            monitor: m.id.clone(),
            timing: m.alerts.timing,
            warning: m.alerts.warning.clone(),
            critical: m.alerts.critical.clone(),
            operational: m.alerts.operational.clone(),
            failing_after: m.alerts.failing_after,
            no_resolved: self.sinks.iter().filter(|(_, s)| !s.send_resolved()).map(|(n, _)| n.clone()).collect(),
            // Monitor ids are letters, digits, '-' and '_': safe in a URL as they are.
            external_url: self.external_url.as_ref().map(|u| u.replace("{monitor}", &m.id)),
        }
    }
}
