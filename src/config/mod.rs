//! Configuration: the daemon file (`drift.toml`) and one file per monitor (`monitors/ID.toml`,
//! id = file stem), parsed into raw structs ([`raw`]) and compiled into a validated model that
//! has no defaults of its own to forget. Compilation reports **every** problem at once, each as
//! one line `FILE: KEY: what is wrong and what to do`; `drift validate` prints them and exits 64
//! (`EX_CONFIG`-style), as `drift run` does, so systemd's `RestartPreventExitStatus=64` stops a
//! restart loop on a bad file.
//!
//! Paths in a file are relative to that file's directory. Secrets never come from a file: keys
//! that would hold one are `*_env` (an environment variable) or `*_file` (a mounted secret).
//!
//! The parts: `raw` (the files as written), `model` (the validated types re-exported here),
//! `daemon` (the daemon file, its sinks and their secrets), `stores` (its object stores),
//! `monitor` (one monitor file), `quality` (its `[model]` and `[labels]`) and `problems`
//! (collecting every problem, with suggestions for typos).

mod daemon;
mod model;
mod monitor;
mod problems;
pub mod quality;
pub mod raw;
mod stores;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use model::{Alerts, Columns, Config, HttpSink, Monitor, Retention, Secret, Segments, Sink, Source, Window};
pub use problems::{ConfigError, ConfigErrors};
pub use quality::{Labels, ModelQuality, Threshold};

/// Documented defaults (see `monitors/README.md`).
pub mod defaults {
    /// HTTP listen address: loopback.
    pub const LISTEN: &str = "127.0.0.1:9464";
    /// Monitor files next to the daemon file.
    pub const MONITORS_DIR: &str = ".";
    /// Listing interval.
    pub const POLL_SECS: u64 = 10;
    /// Settle time.
    pub const SETTLE_SECS: u64 = 30;
    /// Staleness: six hours without a new file.
    pub const STALE_AFTER_SECS: u64 = 6 * 3600;
    /// Object sources listed after an offset: a full listing this often, for objects that land
    /// out of key order.
    pub const FULL_LISTING_SECS: u64 = 3600;
    /// Failed reads of a file (footer, pages, decoding, profiling) before it is quarantined.
    pub const QUARANTINE_AFTER_ATTEMPTS: u32 = 3;
    /// Time reading and decoding one file may take per cycle (`[source] read_timeout_secs`):
    /// minutes of margin over a 256 MiB file, a fraction of `cycle_timeout_secs`.
    pub const READ_TIMEOUT_SECS: u64 = 60;
    /// Minimum rows per window.
    pub const MIN_ROWS: u64 = 100;
    /// Segments: minimum rows per segment.
    pub const SEGMENT_MIN_ROWS: u64 = 200;
    /// Segments: at most this many.
    pub const MAX_SEGMENTS: usize = 20;
    /// CPU-bound evaluations at once.
    pub const MAX_CONCURRENT_EVALUATIONS: usize = 2;
    /// SIGTERM drain timeout.
    pub const DRAIN_TIMEOUT_SECS: u64 = 30;
    /// A monitor's cycle running longer than this is cancelled and counted as failed.
    pub const CYCLE_TIMEOUT_SECS: u64 = 900;
    /// Settled files taken per cycle (sized for the shipped 1 GiB pod).
    pub const MAX_FILES_PER_CYCLE: usize = 64;
    /// Bytes of source files held at once over every monitor: 256 MiB (the shipped 1 GiB pod).
    pub const MAX_BYTES_IN_FLIGHT: u64 = 256 * 1024 * 1024;
    /// Event times further ahead of the clock than this are future rows: one hour.
    pub const MAX_FUTURE_SECS: u64 = 3600;
    /// History retention, days.
    pub const HISTORY_DAYS: u64 = 90;
    /// Quarantine retention, days.
    pub const QUARANTINE_DAYS: u64 = 30;
    /// Delivered notifications retention, days.
    pub const NOTIFICATIONS_DAYS: u64 = 30;
    /// Retention of the windows' report pictures, days.
    pub const REPORT_DAYS: u64 = 30;
    /// Consecutive drifted windows before an alert fires.
    pub const FIRE_AFTER: u32 = 1;
    /// Consecutive clean windows before it resolves.
    pub const RESOLVE_AFTER: u32 = 2;
    /// While firing and unchanged, notify again after this long.
    pub const REPEAT_INTERVAL_SECS: u64 = 4 * 3600;
    /// While firing, changes of the drifted columns are notified at most this often.
    pub const GROUP_INTERVAL_SECS: u64 = 300;
    /// Failed cycles in a row before the monitor-failing alert.
    pub const FAILING_AFTER: u32 = 3;
    /// HTTP sinks: request timeout.
    pub const SINK_TIMEOUT_SECS: u64 = 10;
    /// Slack: at most one message per second per webhook.
    pub const SLACK_MIN_INTERVAL_MS: u64 = 1000;
    /// HTTP sinks: dead-letter what is still undelivered after this long.
    pub const SINK_MAX_AGE_HOURS: u64 = 24;
}

fn secs(v: Option<u64>, default: u64) -> Duration {
    Duration::from_secs(v.unwrap_or(default))
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_owned()
    } else if p == Path::new(".") {
        base.to_owned()
    } else {
        base.join(p)
    }
}

/// Loads and validates the daemon file and every monitor file next to it, reading the sinks'
/// secrets.
pub fn load(file: &Path) -> Result<Config, ConfigErrors> {
    daemon::load_with(file, true)
}

/// Only the `[stores]` of a daemon file, secrets read: for `drift check` and `drift reference`
/// given `--config`.
pub fn load_stores(file: &Path) -> Result<Vec<crate::source::object::StoreSettings>, ConfigErrors> {
    daemon::load_stores(file)
}

/// As [`load`], but without reading secrets (their values are left empty): for commands that
/// never send (`history`, `silence`, `alert list`, `alert retry`), so an operator's shell needs no
/// webhook URL.
pub fn load_without_secrets(file: &Path) -> Result<Config, ConfigErrors> {
    daemon::load_with(file, false)
}
