//! The daemon file (`drift.toml`): its own settings, its sinks and their secrets (read from the
//! environment or a file, never from the configuration), then every monitor file in its
//! monitors directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::monitor::{MonitorDefaults, compile_monitor};
use super::problems::{ConfigError, ConfigErrors, Problems, parse};
use super::raw::*;
use super::{Config, HttpSink, Monitor, Retention, Secret, Sink, defaults, resolve, secs};

pub(super) fn load_with(file: &Path, read_secrets: bool) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    // `drift.toml` alone has the empty path as its parent: that is the current directory.
    let base =
        file.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let raw: RawDaemon = parse(file, &mut errors).unwrap_or_default();
    let mut e = Problems { file, errors: &mut errors, read_secrets };
    // One step at a time, in this order: the order of the reported problems.
    let mut config = daemon_settings(&mut e, file, &raw, &base);
    config.sinks = sinks(&mut e, raw.sinks.unwrap_or_default(), &base);
    config.external_url = external_url(&mut e, raw.external_url);
    config.stores = super::stores::stores(&mut e, raw.stores.unwrap_or_default(), &base);
    let poll_default = raw.poll_secs.unwrap_or(defaults::POLL_SECS);
    let defaults = MonitorDefaults { poll_secs: poll_default, cycle_timeout: config.cycle_timeout };
    config.monitors = monitors(file, &config.monitors_dir, defaults, &config.sinks, read_secrets, &mut errors);
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
    if raw.cycle_timeout_secs == Some(0) {
        e.push("cycle_timeout_secs", "must be at least 1 (the default, 900, suits most monitors)");
    }
    if raw.poll_secs == Some(0) {
        e.push("poll_secs", "must be at least 1");
    }
    let max_bytes_in_flight = raw.max_bytes_in_flight.unwrap_or(defaults::MAX_BYTES_IN_FLIGHT);
    if max_bytes_in_flight == 0 {
        e.push("max_bytes_in_flight", "must be at least 1 (bytes; the default is 268435456, 256 MiB)");
    }
    let no_retention = RawRetention::default();
    let r = raw.retention.as_ref().unwrap_or(&no_retention);
    e.unknown("retention", &r.unknown, RETENTION_KEYS);
    let days = |v: Option<u64>, d: u64| Duration::from_secs(v.unwrap_or(d) * 86_400);
    let retention = Retention {
        history: days(r.history_days, defaults::HISTORY_DAYS),
        quarantine: days(r.quarantine_days, defaults::QUARANTINE_DAYS),
        notifications: days(r.notifications_days, defaults::NOTIFICATIONS_DAYS),
        report: days(r.report_days, defaults::REPORT_DAYS),
    };
    Config {
        file: file.to_owned(),
        state_dir,
        listen,
        monitors_dir,
        max_concurrent_evaluations,
        drain_timeout: secs(raw.drain_timeout_secs, defaults::DRAIN_TIMEOUT_SECS),
        cycle_timeout: secs(raw.cycle_timeout_secs, defaults::CYCLE_TIMEOUT_SECS).max(Duration::from_secs(1)),
        max_bytes_in_flight,
        retention,
        sinks: BTreeMap::new(),
        external_url: None,
        stores: Vec::new(),
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

/// `external_url`: the link put in notifications (empty is none), a template in which
/// `{monitor}` is replaced by the monitor's id (e.g. the daemon's own
/// `https://drift.internal/monitors/{monitor}`); any other placeholder is refused rather than
/// sent as it is.
fn external_url(e: &mut Problems, raw: Option<String>) -> Option<String> {
    let external_url = raw.filter(|u| !u.is_empty());
    let u = external_url.as_deref()?;
    let Some(rest) = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://")) else {
        e.push("external_url", format!("{u:?} is not an http(s) URL"));
        return external_url;
    };
    if rest.is_empty() || rest.starts_with(['/', '?', '#', '{']) {
        e.push("external_url", format!("{u:?} has no host"));
    }
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        e.push("external_url", format!("{u:?} contains spaces or control characters: percent-encode them"));
    }
    let without = u.replace("{monitor}", "");
    if let Some(start) = without.find('{') {
        let end = without[start..].find('}').map_or(without.len(), |i| start + i + 1);
        e.push(
            "external_url",
            format!("unknown placeholder {}: only {{monitor}} is replaced (the monitor id)", &without[start..end]),
        );
    } else if without.contains('}') {
        e.push("external_url", format!("{u:?} has a '}}' without its '{{': only {{monitor}} is replaced"));
    }
    external_url
}

/// Every `*.toml` in the monitors directory but the daemon file itself, compiled in name order.
fn monitors(
    file: &Path,
    monitors_dir: &Path,
    defaults: MonitorDefaults,
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
                if let Some(m) = compile_monitor(&f, defaults, sinks, errors) {
                    monitors.push(m);
                }
            }
        }
    }
    monitors
}

/// Reads a secret from `env` (a variable's name) or `file`; exactly one must be given.
/// Messages name the key, variable or file, never the value.
pub(super) fn secret(
    e: &mut Problems,
    key: &str,
    env: Option<&str>,
    file: Option<&str>,
    base: &Path,
) -> Option<Secret> {
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

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Only the `[stores]` of a daemon file (for `drift check` / `drift reference --config`): its
/// other keys are left to `drift validate`.
pub(super) fn load_stores(file: &Path) -> Result<Vec<crate::source::object::StoreSettings>, ConfigErrors> {
    let mut errors = Vec::new();
    let base =
        file.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let raw: RawDaemon = parse(file, &mut errors).unwrap_or_default();
    let mut e = Problems { file, errors: &mut errors, read_secrets: true };
    let stores = super::stores::stores(&mut e, raw.stores.unwrap_or_default(), &base);
    if errors.is_empty() { Ok(stores) } else { Err(ConfigErrors(errors)) }
}
