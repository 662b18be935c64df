//! A monitor's false-alarm calibration ([`crate::calibrate`]) in the daemon: started once the
//! monitor's first cycle has loaded its reference, computed in the background on the blocking
//! pool (one calibration at a time over all monitors, on one thread, without an evaluation
//! permit, so it never holds up a real window), cached in `STATE_DIR/calibration/ID.json` under
//! a key of everything the figure depends on (so a restart reads it back instead of
//! recomputing), and shown in `/api/v1/monitors`, as metrics, and as a warning line above
//! one false page per 30 days. A failure is logged and shown as failed; the monitor goes on.
//!
//! The cache is a file beside the state rather than a table in it: it is derived data that
//! can always be recomputed, written outside the window transactions and the state's lock, and
//! a damaged or stale file is simply ignored.
//!
//! `drift validate --calibrate` uses the same settings ([`settings`]) and the same reference
//! loading, so it prints the figure the daemon shows.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::metrics::{CalibrationLabel, MonitorLabel};
use super::{MonitorRun, Shared};
use crate::alerts::route::Routing;
use crate::calibrate::{self, Calibration, PAGE_BUDGET, Settings};
use crate::check::CheckOptions;
use crate::config::{Monitor, Window};
use crate::source::Table;
use crate::state::WindowRow;

/// Bump when the simulation changes, so cached figures of an older drift are recomputed.
const CACHE_VERSION: u32 = 1;

/// Windows of the state's history the window size and cadence are read from.
const HISTORY: usize = 20;

/// One calibration at a time over every monitor of the daemon.
static ONE_AT_A_TIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// What `/api/v1/monitors` shows of a monitor's calibration.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationStatus {
    /// `pending`, `done` or `failed`.
    pub status: &'static str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Read back from the cache rather than computed by this process.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// The figures, once done.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// The columns a monitor compares, as `drift check` options.
pub fn options(m: &Monitor, threads: usize) -> CheckOptions {
    CheckOptions {
        columns: m.columns.include.clone(),
        exclude: m.columns.exclude.clone(),
        categorical: m.columns.categorical.clone(),
        threads,
        segment_exclude: Vec::new(),
    }
}

/// The median of some values (the lower middle one).
fn median(mut v: Vec<i64>) -> Option<i64> {
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().filter(|_| !v.is_empty())
}

/// Two significant digits: a size read from recent windows stays the same from one restart to
/// the next, so the cached figure is reused.
fn two_digits(x: u64) -> u64 {
    let mut scale = 1;
    while x / scale >= 100 {
        scale *= 10;
    }
    (x + scale / 2) / scale * scale
}

/// The window size and cadence to simulate, each saying where it came from: a rows window's
/// rows and a time window's length from the configuration; otherwise the median of the last
/// evaluated windows in `history` (newest first), else the monitor's `min_rows` and one
/// window per hour.
pub fn settings(m: &Monitor, history: &[WindowRow], threads: usize) -> Settings {
    let evaluated: Vec<&WindowRow> = history.iter().filter(|w| w.status == "evaluated" && w.rows > 0).collect();
    let recent_rows = median(evaluated.iter().map(|w| w.rows as i64).collect()).map(|r| two_digits(r as u64));
    let (window_rows, window_rows_from) = match (m.window, recent_rows) {
        (Window::Rows { rows }, _) => (rows, "the window's rows".to_owned()),
        (_, Some(r)) => (r, format!("median of the last {} windows", evaluated.len())),
        (_, None) => (m.min_rows.max(1), "min_rows: no window evaluated yet".to_owned()),
    };
    let gaps: Vec<i64> = history.windows(2).map(|p| p[0].closed_ms - p[1].closed_ms).filter(|g| *g > 0).collect();
    let (cadence_ms, cadence_from) = match (m.window, median(gaps.clone())) {
        (Window::Time { size, .. }, _) => (size.as_millis() as i64, "the window's length".to_owned()),
        (_, Some(g)) => (g, format!("median spacing of the last {} windows", gaps.len() + 1)),
        (_, None) => (3_600_000, "assumed: no spacing of windows known yet".to_owned()),
    };
    Settings {
        monitor: m.id.clone(),
        window_rows,
        window_rows_from,
        cadence_ms: cadence_ms.max(1000),
        cadence_from,
        windows: calibrate::WINDOWS,
        threads,
        stop: None,
    }
}

/// The cache key: everything the figures depend on.
fn cache_key(m: &Monitor, routing: &Routing, s: &Settings, fingerprint: u64) -> String {
    format!(
        "v{CACHE_VERSION} ref={fingerprint:016x} id={} policy={:?} columns={:?} timestamp={:?} rows={} cadence={} windows={} timing={:?} warning={:?} critical={:?}",
        m.id,
        m.policy,
        m.columns,
        m.timestamp_column,
        s.window_rows,
        s.cadence_ms,
        s.windows,
        routing.timing,
        routing.warning,
        routing.critical
    )
}

/// The monitor's calibration: shuffled windows from `reference`, and contiguous ones where the
/// monitor has a timestamp column (their absence, when they cannot be made, is a note). Blocking.
pub fn compute(m: &Monitor, routing: &Routing, reference: &dyn Table, settings: &Settings) -> Result<Calibration> {
    let mut c = calibrate::calibrate(reference, &options(m, settings.threads), &m.policy, routing, settings)?;
    match super::calibration_rows::contiguous(m, routing, settings) {
        Ok(contiguous) => c.contiguous = contiguous,
        Err(e) => c.notes.push(format!("no contiguous windows: {e:#}")),
    }
    Ok(c)
}

/// The cached file's contents.
#[derive(Serialize, Deserialize)]
struct Cached {
    key: String,
    calibration: Calibration,
}

/// The monitor's calibration, from the cache under `dir` when its key matches, else computed
/// (and cached); whether it came from the cache. Blocking.
pub fn cached_or_computed(
    dir: &std::path::Path,
    m: &Monitor,
    routing: &Routing,
    reference: &dyn Table,
    settings: &Settings,
) -> Result<(Calibration, bool)> {
    let fingerprint = calibrate::fingerprint(reference, &options(m, settings.threads), settings.threads)?;
    let key = cache_key(m, routing, settings, fingerprint);
    let file = dir.join(format!("{}.json", m.id));
    if let Some(c) = std::fs::read(&file).ok().and_then(|b| serde_json::from_slice::<Cached>(&b).ok())
        && c.key == key
    {
        return Ok((c.calibration, true));
    }
    let calibration = compute(m, routing, reference, settings)?;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let tmp = file.with_extension("json.tmp");
    let body = serde_json::to_vec(&Cached { key, calibration: calibration.clone() })?;
    std::fs::write(&tmp, body)
        .and_then(|()| std::fs::rename(&tmp, &file))
        .with_context(|| format!("{}: cannot write the calibration cache", file.display()))?;
    Ok((calibration, false))
}

/// Starts the monitor's calibration once its reference is loaded (called after every cycle;
/// does nothing once started).
pub fn start(shared: &Arc<Shared>, run: &MonitorRun) {
    let Some(reference) = run.reference.clone() else { return };
    let id = run.monitor.id.clone();
    {
        let Ok(mut all) = shared.status.lock() else { return };
        let s = all.entry(id.clone()).or_default();
        if s.calibration.is_some() {
            return;
        }
        s.calibration = Some(CalibrationStatus { status: "pending", error: None, cached: false, calibration: None });
    }
    let (shared, monitor, routing) = (shared.clone(), run.monitor.clone(), run.routing.clone());
    tokio::spawn(async move {
        let Ok(_one) = ONE_AT_A_TIME.acquire().await else { return };
        let started = crate::clock::Stopwatch::start();
        let inner = shared.clone();
        let m = monitor.clone();
        // Dropped with this task when the runtime shuts down: the blocking work then stops at
        // its next window instead of holding the process's exit.
        let stop = StopOnDrop(Arc::new(std::sync::atomic::AtomicBool::new(false)));
        let flag = stop.0.clone();
        let result = tokio::task::spawn_blocking(move || -> Result<(Calibration, bool)> {
            let (dir, history) = {
                let st = inner.state()?;
                (st.dir().join("calibration"), st.history(&m.id, HISTORY)?)
            };
            let s = Settings { stop: Some(flag), ..settings(&m, &history, 1) };
            cached_or_computed(&dir, &m, &routing, reference.as_ref(), &s)
        })
        .await
        .map_err(|e| anyhow::anyhow!("the calibration stopped: {e}"))
        .and_then(|r| r);
        finish(&shared, &monitor.id, result, started.elapsed().as_secs_f64());
    });
}

/// Sets its flag when dropped.
struct StopOnDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Records the outcome: status, metrics, and the log line (a warning above the page budget).
fn finish(shared: &Shared, id: &str, result: Result<(Calibration, bool)>, secs: f64) {
    let status = match result {
        Ok((c, cached)) => {
            export(shared, id, &c);
            log(id, &c, cached, secs);
            CalibrationStatus { status: "done", error: None, cached, calibration: Some(c) }
        }
        Err(e) => {
            let error = format!("{e:#}");
            tracing::error!(monitor = id, error = %error, "calibration failed; the monitor goes on without it");
            CalibrationStatus { status: "failed", error: Some(error), cached: false, calibration: None }
        }
    };
    if let Ok(mut all) = shared.status.lock() {
        all.entry(id.to_owned()).or_default().calibration = Some(status);
    }
}

/// The calibration's gauges.
fn export(shared: &Shared, id: &str, c: &Calibration) {
    let label = MonitorLabel { monitor: id.to_owned() };
    shared.metrics.calibration_window_ratio.get_or_create(&label).set(c.false_drift_rate);
    shared.metrics.calibration_pages.get_or_create(&label).set(c.pages_per_30d);
    for col in &c.columns {
        let label = CalibrationLabel { monitor: id.to_owned(), column: col.column.clone() };
        shared.metrics.calibration_column_ratio.get_or_create(&label).set(col.false_drift_rate);
    }
}

/// One log line: info within the page budget, a warning naming the columns and the fix above.
fn log(id: &str, c: &Calibration, cached: bool, secs: f64) {
    let noisy: Vec<String> =
        c.columns.iter().filter(|x| x.false_drift_rate >= 0.01).take(3).map(|x| x.column.clone()).collect();
    let contiguous = c.contiguous.as_ref().map_or(0.0, |k| k.pages_per_30d);
    if c.pages_per_30d > PAGE_BUDGET || contiguous > PAGE_BUDGET {
        tracing::warn!(
            monitor = id,
            pages_per_30d = c.pages_per_30d,
            contiguous_pages_per_30d = contiguous,
            false_drift_rate = c.false_drift_rate,
            window_rows = c.window_rows,
            columns = %noisy.join(","),
            fix = %c.advice.join(" | "),
            "calibration: this monitor would page about {:.1} times per 30 days on unchanged data (a lower bound); {}",
            c.pages_per_30d.max(contiguous),
            c.advice.first().map_or("", String::as_str),
        );
    } else {
        tracing::info!(
            monitor = id,
            pages_per_30d = c.pages_per_30d,
            false_drift_rate = c.false_drift_rate,
            window_rows = c.window_rows,
            cached,
            secs,
            "calibration done"
        );
    }
}
