//! One monitor file (`monitors/ID.toml`) compiled into a [`Monitor`], one table at a time in a
//! fixed order (which is the order its problems are reported in).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::problems::{ConfigError, Problems, parse};
use super::raw::*;
use super::{Alerts, Columns, Monitor, Segments, Sink, Source, Window, defaults, resolve, secs};
use crate::engine::{Floors, Policy, PsiEffect};
use crate::stats::Correction;

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

/// What a monitor's file takes from the daemon's: the default poll interval, and the cycle
/// timeout a file's read deadline must stay under.
#[derive(Debug, Clone, Copy)]
pub(super) struct MonitorDefaults {
    pub(super) poll_secs: u64,
    pub(super) cycle_timeout: Duration,
}

pub(super) fn compile_monitor(
    file: &Path,
    defaults: MonitorDefaults,
    sinks: &BTreeMap<String, Sink>,
    errors: &mut Vec<ConfigError>,
) -> Option<Monitor> {
    let before = errors.len();
    let mut raw: RawMonitor = parse(file, errors)?;
    // `drift.toml` alone has the empty path as its parent: that is the current directory.
    let base =
        file.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
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
    // `[model]` and `[labels]` are the model-quality tables'.
    let settle = raw.source.as_ref().and_then(|s| s.settle_secs).unwrap_or(defaults::SETTLE_SECS);
    let model = super::quality::compile(&mut e, &mut raw.unknown, &base, settle);
    let known: Vec<&str> = MONITOR_KEYS
        .iter()
        .copied()
        .chain(crate::checks::REGISTRY.iter().map(|r| r.table))
        .chain(super::quality::TABLES.iter().copied())
        .collect();
    e.unknown("", &raw.unknown, &known);

    // One table at a time, in this order: the order of the reported problems.
    let source = source(&mut e, raw.source.unwrap_or_default(), &base, defaults);
    let reference = reference(&mut e, raw.reference.unwrap_or_default(), &base);
    let (window, timestamp_column, min_rows) = window(&mut e, raw.window.unwrap_or_default());
    let columns = columns(&mut e, raw.columns.unwrap_or_default());
    let policy = policy(&mut e, raw.policy.unwrap_or_default());
    let segments = raw.segments.map(|sg| segments(&mut e, sg));
    let alerts = alerts(&mut e, raw.alerts.unwrap_or_default(), sinks);
    // An error budget is counted per minute of event time.
    for b in checks.budgets().filter(|_| timestamp_column.is_none()) {
        e.push(
            b.key(),
            format!(
                "the daemon's {} alert counts requests per minute of event time: set [window] timestamp_column, \
                 or burn = [] to export the counters only",
                b.alertname()
            ),
        );
    }

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
        model,
    })
}

/// `[source]`: where the monitor's Parquet files arrive and how often to look.
fn source(e: &mut Problems, s: RawSource, base: &Path, daemon: MonitorDefaults) -> Source {
    e.unknown("source", &s.unknown, SOURCE_KEYS);
    let object = s.path.as_deref().is_some_and(crate::source::object::is_object_url);
    let path = match &s.path {
        None => {
            e.push("source.path", "required: a directory of Parquet files or a glob");
            String::new()
        }
        Some(p) if crate::source::object::is_object_url(p) => {
            // Checked without the network: the URL's form only; the daemon lists it.
            if let Err(err) = crate::source::object::parse(p).expect("an object URL") {
                e.push("source.path", format!("{err:#}"));
            }
            p.clone()
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
    if s.quarantine_after_attempts == Some(0) {
        e.push("source.quarantine_after_attempts", "must be at least 1 (3 by default)");
    }
    let full_listing_every = match s.listing.as_deref() {
        None | Some("full") => None,
        Some("after_offset") if !object => {
            e.push(
                "source.listing",
                "after_offset is for object URLs (s3://, gs://, az://); a local directory is listed whole",
            );
            None
        }
        Some("after_offset") => {
            if s.full_listing_secs == Some(0) {
                e.push(
                    "source.full_listing_secs",
                    format!("must be at least 1 ({} by default)", defaults::FULL_LISTING_SECS),
                );
            }
            Some(secs(s.full_listing_secs, defaults::FULL_LISTING_SECS).max(Duration::from_secs(1)))
        }
        Some(other) => {
            e.push("source.listing", format!("{other:?}: use \"full\" (the default) or \"after_offset\""));
            None
        }
    };
    if s.full_listing_secs.is_some() && full_listing_every.is_none() {
        e.push("source.full_listing_secs", "only with listing = \"after_offset\"");
    }
    if s.max_files_per_cycle == Some(0) {
        e.push("source.max_files_per_cycle", "must be at least 1");
    }
    // A file's read deadline must come before its cycle's: otherwise the cycle is cancelled
    // first, and the slow file is never counted against (nor quarantined). Unset, it is 60 s,
    // or half the cycle timeout when that is shorter.
    let cycle = daemon.cycle_timeout.as_secs();
    let read_timeout = match s.read_timeout_secs {
        Some(0) => {
            e.push("source.read_timeout_secs", "must be at least 1 (60 by default)");
            1
        }
        Some(t) if t >= cycle => {
            e.push(
                "source.read_timeout_secs",
                format!("{t} s is not below the daemon's cycle_timeout_secs ({cycle} s): lower it, or raise cycle_timeout_secs"),
            );
            t
        }
        Some(t) => t,
        None => defaults::READ_TIMEOUT_SECS.min(cycle / 2).max(1),
    };
    Source {
        path,
        // Object stores publish an object whole: nothing to wait for by default.
        settle: secs(s.settle_secs, if object { 0 } else { defaults::SETTLE_SECS }),
        poll: secs(s.poll_secs, daemon.poll_secs),
        stale_after: secs(s.stale_after_secs, defaults::STALE_AFTER_SECS),
        max_files_per_cycle: s.max_files_per_cycle.unwrap_or(defaults::MAX_FILES_PER_CYCLE),
        follow_symlinks: s.follow_symlinks.unwrap_or(false),
        quarantine_after_attempts: s.quarantine_after_attempts.unwrap_or(defaults::QUARANTINE_AFTER_ATTEMPTS),
        read_timeout: Duration::from_secs(read_timeout),
        full_listing_every,
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
        Some(p) if crate::source::object::is_object_url(p) => {
            // Checked without the network: the URL's form only; the daemon lists it at start.
            if let Err(err) = crate::source::object::parse(p).expect("an object URL") {
                e.push("reference.path", format!("{err:#}"));
            }
            p.clone()
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
                    max_future: secs(w.max_future_secs, defaults::MAX_FUTURE_SECS),
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
