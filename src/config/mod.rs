//! Configuration: the daemon file (`drift.toml`) and one file per monitor (`monitors/ID.toml`,
//! id = file stem), parsed into raw structs ([`raw`]) and compiled into a validated model that
//! has no defaults of its own to forget. Compilation reports **every** problem at once, each as
//! one line `FILE: KEY: what is wrong and what to do`; `drift validate` prints them and exits 64
//! (`EX_CONFIG`-style), as `drift run` does, so systemd's `RestartPreventExitStatus=64` stops a
//! restart loop on a bad file.
//!
//! Paths in a file are relative to that file's directory. Secrets never come from a file: keys
//! that would hold one are `*_env` (an environment variable) or `*_file` (a mounted secret).

pub mod raw;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use raw::*;

use crate::engine::{Floors, Policy, PsiEffect};
use crate::stats::Correction;

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The dotted key (`window.rows`), empty for the file as a whole.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
        }
    }
}

/// Every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

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
    /// Retention of history, quarantine records and delivered notifications.
    pub retention: Retention,
    /// Named alert sinks.
    pub sinks: BTreeMap<String, Sink>,
    /// A link for alert messages (a dashboard, or this daemon's status page).
    pub external_url: Option<String>,
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
pub struct Secret(String);

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
    /// History retention, days.
    pub const HISTORY_DAYS: u64 = 90;
    /// Quarantine retention, days.
    pub const QUARANTINE_DAYS: u64 = 30;
    /// Delivered notifications retention, days.
    pub const NOTIFICATIONS_DAYS: u64 = 30;
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

/// Collects errors for one file.
struct Problems<'a> {
    file: &'a Path,
    errors: &'a mut Vec<ConfigError>,
    /// Read secrets (false for commands that never send: their values stay empty).
    read_secrets: bool,
}

impl Problems<'_> {
    fn push(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError { file: self.file.to_owned(), key: key.to_owned(), message: message.into() });
    }

    fn unknown(&mut self, prefix: &str, unknown: &Unknown, known: &[&str]) {
        for key in unknown.keys() {
            let full = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            if prefix.starts_with("sinks.") && SECRET_KEYS.contains(&key.as_str()) {
                self.push(
                    &full,
                    format!(
                        "secrets never come from the configuration file: use {key}_env (an environment \
                         variable) or {key}_file (a mounted secret)"
                    ),
                );
                continue;
            }
            let hint = suggest(key, known).map_or(String::new(), |s| format!(" (did you mean {s:?}?)"));
            self.push(&full, format!("unknown key{hint}; known keys here: {}", known.join(", ")));
        }
    }
}

/// The closest known key, if close enough to be a typo.
fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known.iter().map(|k| (edit_distance(key, k), *k)).filter(|(d, _)| *d <= 2.max(key.len() / 4)).min().map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Reads and parses one TOML file; a syntax or type error is one error (with its line).
fn parse<T: serde::de::DeserializeOwned + Default>(file: &Path, errors: &mut Vec<ConfigError>) -> Option<T> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            errors.push(ConfigError {
                file: file.to_owned(),
                key: String::new(),
                message: format!("cannot read: {e}"),
            });
            return None;
        }
    };
    match toml::from_str::<T>(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            let line = e.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let key = e.span().and_then(|s| {
                let before = &text[..s.start.min(text.len())];
                let start = before.rfind('\n').map_or(0, |i| i + 1);
                let line = text[start..].lines().next().unwrap_or("");
                let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_owned())?;
                // Prefix the key with the [table] it sits in.
                let table = before.lines().rev().map(str::trim).find(|l| l.starts_with('['));
                Some(match table {
                    Some(t) => format!("{}.{key}", t.trim_matches(|c| c == '[' || c == ']').trim()),
                    None => key,
                })
            });
            let message = e.message().lines().next().unwrap_or("invalid TOML").to_owned();
            let at = line.map_or(String::new(), |l| format!("line {l}: "));
            errors.push(ConfigError {
                file: file.to_owned(),
                key: key.unwrap_or_default(),
                message: format!("{at}{message}"),
            });
            None
        }
    }
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

/// Keys that would put a secret in the file.
const SECRET_KEYS: &[&str] = &["url", "token", "password", "secret", "headers", "api_key"];

/// Loads and validates the daemon file and every monitor file next to it, reading the sinks'
/// secrets.
pub fn load(file: &Path) -> Result<Config, ConfigErrors> {
    load_with(file, true)
}

/// As [`load`], but without reading secrets (their values are left empty): for commands that
/// never send (`history`, `silence`, `alert list`, `alert retry`), so an operator's shell needs no
/// webhook URL.
pub fn load_without_secrets(file: &Path) -> Result<Config, ConfigErrors> {
    load_with(file, false)
}

fn load_with(file: &Path, read_secrets: bool) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let base = file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let raw: RawDaemon = parse(file, &mut errors).unwrap_or_default();
    let mut e = Problems { file, errors: &mut errors, read_secrets };
    // One step at a time, in this order: the order of the reported problems.
    let mut config = daemon_settings(&mut e, file, &raw, &base);
    config.sinks = sinks(&mut e, raw.sinks.unwrap_or_default(), &base);
    config.external_url = external_url(&mut e, raw.external_url);
    let poll_default = raw.poll_secs.unwrap_or(defaults::POLL_SECS);
    config.monitors = monitors(file, &config.monitors_dir, poll_default, &config.sinks, read_secrets, &mut errors);
    if errors.is_empty() { Ok(config) } else { Err(ConfigErrors(errors)) }
}

/// The daemon file's own settings (state directory, address, monitors directory, limits,
/// retention); sinks, external URL and monitors are left empty for the next steps.
fn daemon_settings(e: &mut Problems, file: &Path, raw: &RawDaemon, base: &Path) -> Config {
    e.unknown("", &raw.unknown, DAEMON_KEYS);
    let state_dir = match &raw.state_dir {
        Some(s) if !s.is_empty() => resolve(base, s),
        _ => {
            e.push("state_dir", "required: a local directory for the state database (not NFS)");
            PathBuf::new()
        }
    };
    let listen_text = raw.listen.clone().unwrap_or_else(|| defaults::LISTEN.to_owned());
    let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
        e.push("listen", format!("{listen_text:?} is not an address:port such as 127.0.0.1:9464"));
        defaults::LISTEN.parse().expect("default address")
    });
    let monitors_dir = resolve(base, raw.monitors_dir.as_deref().unwrap_or(defaults::MONITORS_DIR));
    let max_concurrent_evaluations = raw.max_concurrent_evaluations.unwrap_or(defaults::MAX_CONCURRENT_EVALUATIONS);
    if max_concurrent_evaluations == 0 {
        e.push("max_concurrent_evaluations", "must be at least 1");
    }
    if raw.poll_secs == Some(0) {
        e.push("poll_secs", "must be at least 1");
    }
    let no_retention = RawRetention::default();
    let r = raw.retention.as_ref().unwrap_or(&no_retention);
    e.unknown("retention", &r.unknown, RETENTION_KEYS);
    let days = |v: Option<u64>, d: u64| Duration::from_secs(v.unwrap_or(d) * 86_400);
    let retention = Retention {
        history: days(r.history_days, defaults::HISTORY_DAYS),
        quarantine: days(r.quarantine_days, defaults::QUARANTINE_DAYS),
        notifications: days(r.notifications_days, defaults::NOTIFICATIONS_DAYS),
    };
    Config {
        file: file.to_owned(),
        state_dir,
        listen,
        monitors_dir,
        max_concurrent_evaluations,
        drain_timeout: secs(raw.drain_timeout_secs, defaults::DRAIN_TIMEOUT_SECS),
        retention,
        sinks: BTreeMap::new(),
        external_url: None,
        monitors: Vec::new(),
    }
}

/// `[sinks.NAME]`: where notifications go, by name.
fn sinks(e: &mut Problems, raw: BTreeMap<String, RawSink>, base: &Path) -> BTreeMap<String, Sink> {
    let mut sinks = BTreeMap::new();
    for (name, s) in raw {
        let key = format!("sinks.{name}");
        e.unknown(&key, &s.unknown, SINK_KEYS);
        match s.kind.as_deref() {
            Some("log") => {
                sinks.insert(name, Sink::Log);
            }
            Some("file") => match &s.path {
                Some(p) => {
                    sinks.insert(name, Sink::File { path: resolve(base, p) });
                }
                None => e.push(&format!("{key}.path"), "required for a file sink"),
            },
            Some(kind @ ("slack" | "webhook")) => {
                if let Some(h) = http_sink(e, &key, base, &s, kind == "slack") {
                    sinks.insert(name, if kind == "slack" { Sink::Slack(h) } else { Sink::Webhook(h) });
                }
            }
            Some(other) => e.push(
                &format!("{key}.type"),
                format!("unknown sink type {other:?}; supported: slack, webhook, log, file"),
            ),
            None => e.push(&format!("{key}.type"), "required: slack, webhook, log or file"),
        }
    }
    sinks
}

/// `external_url`: the link put in notifications (empty is none).
fn external_url(e: &mut Problems, raw: Option<String>) -> Option<String> {
    let external_url = raw.filter(|u| !u.is_empty());
    if let Some(u) = &external_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        e.push("external_url", format!("{u:?} is not an http(s) URL"));
    }
    external_url
}

/// Every `*.toml` in the monitors directory but the daemon file itself, compiled in name order.
fn monitors(
    file: &Path,
    monitors_dir: &Path,
    poll_default: u64,
    sinks: &BTreeMap<String, Sink>,
    read_secrets: bool,
    errors: &mut Vec<ConfigError>,
) -> Vec<Monitor> {
    let mut monitors = Vec::new();
    match std::fs::read_dir(monitors_dir) {
        Err(err) => Problems { file, errors, read_secrets }
            .push("monitors_dir", format!("{}: cannot list: {err}", monitors_dir.display())),
        Ok(entries) => {
            let mut files: Vec<PathBuf> = entries
                .filter_map(|d| d.ok().map(|d| d.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .filter(|p| !same_file(p, file))
                .collect();
            files.sort();
            for f in files {
                if let Some(m) = compile_monitor(&f, poll_default, sinks, errors) {
                    monitors.push(m);
                }
            }
        }
    }
    monitors
}

/// Reads a secret from `env` (a variable's name) or `file`; exactly one must be given.
/// Messages name the key, variable or file, never the value.
fn secret(e: &mut Problems, key: &str, env: Option<&str>, file: Option<&str>, base: &Path) -> Option<Secret> {
    match (env, file) {
        (Some(_), Some(_)) => {
            e.push(key, "give either the _env or the _file form, not both");
            None
        }
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) if !e.read_secrets => Some(Secret(String::new())),
        (Some(var), None) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Some(Secret(v.trim().to_owned())),
            _ => {
                e.push(
                    key,
                    format!(
                        "environment variable {var} is not set or empty: export it (systemd: EnvironmentFile= or \
                         LoadCredential=) or use the _file form"
                    ),
                );
                None
            }
        },
        (None, Some(f)) => {
            let path = resolve(base, f);
            match std::fs::read_to_string(&path) {
                Ok(v) if !v.trim().is_empty() => Some(Secret(v.trim().to_owned())),
                Ok(_) => {
                    e.push(key, format!("{}: the file is empty", path.display()));
                    None
                }
                Err(err) => {
                    e.push(key, format!("{}: cannot read: {err}", path.display()));
                    None
                }
            }
        }
    }
}

fn http_sink(e: &mut Problems, key: &str, base: &Path, s: &RawSink, slack: bool) -> Option<HttpSink> {
    let url_key = if s.url_file.is_some() { format!("{key}.url_file") } else { format!("{key}.url_env") };
    let url = secret(e, &url_key, s.url_env.as_deref(), s.url_file.as_deref(), base);
    if s.url_env.is_none() && s.url_file.is_none() {
        e.push(
            &format!("{key}.url_env"),
            "required: url_env (an environment variable holding the webhook URL) or url_file (a file \
             holding it, e.g. a mounted Kubernetes Secret)",
        );
    }
    let looks_right =
        |u: &Secret| (u.0.starts_with("https://") || u.0.starts_with("http://")) && !u.0.contains(char::is_whitespace);
    if e.read_secrets && url.as_ref().is_some_and(|u| !looks_right(u)) {
        e.push(&url_key, "the value is not an http(s) URL (it is not shown: it is a secret)");
    }
    if slack && (s.headers_env.is_some() || s.headers_file.is_some()) {
        e.push(&format!("{key}.headers_env"), "Slack incoming webhooks take no headers; use a webhook sink");
    }
    let mut headers = Vec::new();
    for (form, map) in [("headers_env", &s.headers_env), ("headers_file", &s.headers_file)] {
        for (header, source) in map.iter().flatten() {
            let hkey = format!("{key}.{form}.{header}");
            if header.is_empty() || !header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                e.push(&hkey, "not a valid HTTP header name");
                continue;
            }
            let (env, file) =
                if form == "headers_env" { (Some(source.as_str()), None) } else { (None, Some(source.as_str())) };
            if let Some(v) = secret(e, &hkey, env, file, base) {
                if e.read_secrets && v.0.bytes().any(|b| b < 0x20 && b != b'\t') {
                    e.push(&hkey, "the value holds control characters (a newline?) and cannot be a header");
                } else {
                    headers.push((header.clone(), v));
                }
            }
        }
    }
    let timeout = s.timeout_secs.unwrap_or(defaults::SINK_TIMEOUT_SECS);
    if timeout == 0 {
        e.push(&format!("{key}.timeout_secs"), "must be at least 1");
    }
    let max_age = s.max_age_hours.unwrap_or(defaults::SINK_MAX_AGE_HOURS);
    if max_age == 0 {
        e.push(&format!("{key}.max_age_hours"), "must be at least 1");
    }
    let min_interval = s.min_interval_ms.unwrap_or(if slack { defaults::SLACK_MIN_INTERVAL_MS } else { 0 });
    Some(HttpSink {
        url: url?,
        headers,
        timeout: Duration::from_secs(timeout.max(1)),
        min_interval: Duration::from_millis(min_interval),
        max_age: Duration::from_secs(max_age.max(1) * 3600),
        send_resolved: s.send_resolved.unwrap_or(true),
    })
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

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn floors(e: &mut Problems, key: &str, v: Option<&Vec<f64>>, default: Floors) -> Floors {
    match v.map(Vec::as_slice) {
        None => default,
        Some([w, c]) if *w >= 0.0 && w <= c => Floors { warning: *w, critical: *c },
        Some(_) => {
            e.push(key, "give [warning, critical] with 0 <= warning <= critical, e.g. [0.1, 0.2]");
            default
        }
    }
}

fn compile_monitor(
    file: &Path,
    poll_default: u64,
    sinks: &BTreeMap<String, Sink>,
    errors: &mut Vec<ConfigError>,
) -> Option<Monitor> {
    let before = errors.len();
    let mut raw: RawMonitor = parse(file, errors)?;
    let base = file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let id = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
    let mut e = Problems { file, errors, read_secrets: false };
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        e.push("", "the file name is the monitor id: use letters, digits, '-' and '_' only");
    }
    // The tables of registered kinds of check are theirs, not unknown.
    let (checks, check_problems) = crate::checks::compile(&mut raw.unknown);
    for (key, message) in check_problems {
        e.push(&key, message);
    }
    let known: Vec<&str> =
        MONITOR_KEYS.iter().copied().chain(crate::checks::REGISTRY.iter().map(|r| r.table)).collect();
    e.unknown("", &raw.unknown, &known);

    // One table at a time, in this order: the order of the reported problems.
    let source = source(&mut e, raw.source.unwrap_or_default(), &base, poll_default);
    let reference = reference(&mut e, raw.reference.unwrap_or_default(), &base);
    let (window, timestamp_column, min_rows) = window(&mut e, raw.window.unwrap_or_default());
    let columns = columns(&mut e, raw.columns.unwrap_or_default());
    let policy = policy(&mut e, raw.policy.unwrap_or_default());
    let segments = raw.segments.map(|sg| segments(&mut e, sg));
    let alerts = alerts(&mut e, raw.alerts.unwrap_or_default(), sinks);

    (errors.len() == before).then_some(Monitor {
        id,
        file: file.to_owned(),
        description: raw.description,
        source,
        reference,
        window,
        timestamp_column,
        min_rows,
        columns,
        policy,
        segments,
        alerts,
        checks,
    })
}

/// `[source]`: where the monitor's Parquet files arrive and how often to look.
fn source(e: &mut Problems, s: RawSource, base: &Path, poll_default: u64) -> Source {
    e.unknown("source", &s.unknown, SOURCE_KEYS);
    let path = match &s.path {
        None => {
            e.push("source.path", "required: a directory of Parquet files or a glob");
            String::new()
        }
        Some(p) => {
            let full = resolve(base, p);
            let text = full.display().to_string();
            let glob = p.contains(['*', '?', '[']);
            if !glob && !full.is_dir() {
                e.push("source.path", format!("{text}: no such directory; create it or give a glob"));
            } else if glob && let Err(err) = glob::Pattern::new(&text) {
                e.push("source.path", format!("bad glob: {err}"));
            }
            text
        }
    };
    if s.poll_secs == Some(0) {
        e.push("source.poll_secs", "must be at least 1");
    }
    Source {
        path,
        settle: secs(s.settle_secs, defaults::SETTLE_SECS),
        poll: secs(s.poll_secs, poll_default),
        stale_after: secs(s.stale_after_secs, defaults::STALE_AFTER_SECS),
    }
}

/// `[reference]`: the snapshot or Parquet files windows are compared with.
fn reference(e: &mut Problems, r: RawReference, base: &Path) -> String {
    e.unknown("reference", &r.unknown, REFERENCE_KEYS);
    match &r.path {
        None => {
            e.push("reference.path", "required: a snapshot (drift reference build) or Parquet files");
            String::new()
        }
        Some(p) => {
            let full = resolve(base, p).display().to_string();
            if let Err(err) = crate::source::expand_inputs(std::slice::from_ref(&full)) {
                e.push("reference.path", format!("{err:#}"));
            }
            full
        }
    }
}

/// `[window]`: the window, its event-time column (if any) and its minimum rows.
fn window(e: &mut Problems, w: RawWindow) -> (Window, Option<String>, u64) {
    e.unknown("window", &w.unknown, WINDOW_KEYS);
    let window = match w.kind.as_deref().unwrap_or("files") {
        "files" => Window::Files,
        "rows" => match w.rows {
            Some(rows) if rows > 0 => Window::Rows { rows },
            _ => {
                e.push("window.rows", "required for type = \"rows\": rows per window, at least 1");
                Window::Files
            }
        },
        "time" => {
            if w.timestamp_column.is_none() {
                e.push("window.timestamp_column", "required for type = \"time\": the event-time column");
            }
            match w.size_secs {
                Some(size) if size > 0 => Window::Time {
                    size: Duration::from_secs(size),
                    allowed_lateness: secs(w.allowed_lateness_secs, 0),
                    idle_timeout: secs(w.idle_timeout_secs, size),
                },
                _ => {
                    e.push("window.size_secs", "required for type = \"time\": window length in seconds, at least 1");
                    Window::Files
                }
            }
        }
        other => {
            e.push("window.type", format!("unknown window type {other:?}; use files, rows or time"));
            Window::Files
        }
    };
    (window, w.timestamp_column, w.min_rows.unwrap_or(defaults::MIN_ROWS))
}

/// `[columns]`: which columns are compared, and which are categorical.
fn columns(e: &mut Problems, c: RawColumns) -> Columns {
    e.unknown("columns", &c.unknown, COLUMNS_KEYS);
    Columns {
        include: c.include.unwrap_or_default(),
        exclude: c.exclude.unwrap_or_default(),
        categorical: c.categorical.unwrap_or_default(),
    }
}

/// `[policy]`: the tests' thresholds, over the engine's defaults.
fn policy(e: &mut Problems, p: RawPolicy) -> Policy {
    e.unknown("policy", &p.unknown, POLICY_KEYS);
    let d = Policy::default();
    let correction = match p.correction.as_deref() {
        None | Some("bh") => Correction::Bh,
        Some("bonferroni") => Correction::Bonferroni,
        Some("none") => Correction::None,
        Some(other) => {
            e.push("policy.correction", format!("unknown correction {other:?}; use bh, bonferroni or none"));
            Correction::Bh
        }
    };
    let psi_effect = match p.psi_effect.as_deref() {
        None => d.psi_effect,
        Some(s) => PsiEffect::parse(s).unwrap_or_else(|| {
            e.push("policy.psi_effect", format!("unknown psi effect {s:?}; use corrected or classic"));
            d.psi_effect
        }),
    };
    let policy = Policy {
        alpha: p.alpha.unwrap_or(d.alpha),
        correction,
        psi_effect,
        min_expected: p.min_expected.unwrap_or(d.min_expected),
        unseen: floors(e, "policy.unseen_floors", p.unseen_floors.as_ref(), d.unseen),
        ks: floors(e, "policy.ks_floors", p.ks_floors.as_ref(), d.ks),
        psi: floors(e, "policy.psi_floors", p.psi_floors.as_ref(), d.psi),
        null_rate: floors(e, "policy.null_floors", p.null_floors.as_ref(), d.null_rate),
        bins: p.bins.unwrap_or(d.bins),
        max_categories: p.max_categories.unwrap_or(d.max_categories),
        min_count: p.min_count.unwrap_or(d.min_count),
        extras: crate::engine::Extras { js: p.js.unwrap_or(false), wasserstein: p.wasserstein.unwrap_or(false) },
        ..d
    };
    if let Err(problems) = policy.validate() {
        for msg in problems {
            e.push("policy", msg);
        }
    }
    policy
}

/// `[segments]` (when present): the columns whose values split each window.
fn segments(e: &mut Problems, sg: RawSegments) -> Segments {
    e.unknown("segments", &sg.unknown, SEGMENTS_KEYS);
    let by = sg.by.unwrap_or_default();
    if by.is_empty() {
        e.push("segments.by", "required: the columns whose values define segments");
    }
    let max_segments = sg.max_segments.unwrap_or(defaults::MAX_SEGMENTS);
    if max_segments == 0 {
        e.push("segments.max_segments", "must be at least 1");
    }
    Segments { by, min_rows: sg.min_rows.unwrap_or(defaults::SEGMENT_MIN_ROWS), max_segments }
}

/// `[alerts]`: the sinks each severity goes to (defined in the daemon file) and the timing.
fn alerts(e: &mut Problems, a: RawAlerts, sinks: &BTreeMap<String, Sink>) -> Alerts {
    e.unknown("alerts", &a.unknown, ALERTS_KEYS);
    for (key, names) in
        [("alerts.warning", &a.warning), ("alerts.critical", &a.critical), ("alerts.operational", &a.operational)]
    {
        for n in names.iter().flatten() {
            if !sinks.contains_key(n) {
                let known: Vec<&str> = sinks.keys().map(String::as_str).collect();
                let known = if known.is_empty() { "no sinks".to_owned() } else { known.join(", ") };
                e.push(key, format!("unknown sink {n:?}; the daemon file defines: {known}"));
            }
        }
    }
    for (key, v) in [
        ("alerts.fire_after", a.fire_after),
        ("alerts.resolve_after", a.resolve_after),
        ("alerts.failing_after", a.failing_after),
    ] {
        if v == Some(0) {
            e.push(key, "must be at least 1");
        }
    }
    let critical = a.critical.unwrap_or_default();
    Alerts {
        warning: a.warning.unwrap_or_default(),
        operational: a.operational.unwrap_or_else(|| critical.clone()),
        critical,
        timing: crate::alerts::lifecycle::Timing {
            fire_after: a.fire_after.unwrap_or(defaults::FIRE_AFTER).max(1),
            resolve_after: a.resolve_after.unwrap_or(defaults::RESOLVE_AFTER).max(1),
            repeat_interval_ms: (a.repeat_interval_secs.unwrap_or(defaults::REPEAT_INTERVAL_SECS) as i64)
                .saturating_mul(1000),
            group_interval_ms: (a.group_interval_secs.unwrap_or(defaults::GROUP_INTERVAL_SECS) as i64)
                .saturating_mul(1000),
        },
        failing_after: a.failing_after.unwrap_or(defaults::FAILING_AFTER).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(suggest("threshhold", &["alpha", "threshold"]), Some("threshold"));
        assert_eq!(suggest("settle_sec", SOURCE_KEYS), Some("settle_secs"));
        assert_eq!(suggest("completely_else", SOURCE_KEYS), None);
    }
}
