//! The daemon (`drift run`): the tokio shell around the engine. One task per monitor polls its
//! source, takes the files that settled ([`plan`]), reads them through object_store
//! ([`store`]), evaluates each window against the reference on the blocking pool (a semaphore
//! bounds concurrent evaluations) and commits the consumed files with the evaluation in one
//! transaction ([`crate::state`]). A failing monitor is logged, counted and retried with
//! backoff; the others carry on. The same transaction steps the monitor's alerts and queues
//! the notifications they send; the outbox worker ([`deliver`]) delivers them, and each cycle
//! also observes the operational alerts (stale source, failing monitor). `/healthz`,
//! `/readyz`, `/metrics` and `/api/v1/monitors` are served by [`http`]. SIGTERM/SIGINT drain
//! and exit 0; SIGHUP reloads a configuration that validates and keeps the old one otherwise.
//! Under systemd (`Type=notify`) it reports readiness, reloads and shutdown, and pings the
//! watchdog.
//!
//! Windows are per batch of newly settled files (`type = "files"`), by row count
//! (`type = "rows"`) or tumbling by event time (`type = "time"`); the latter two keep their
//! open state in the database ([`windows`]). With `[segments]` every window is also evaluated
//! per segment, against the reference's rows of that segment, in the same family.

pub mod deliver;
pub mod http;
pub mod metrics;
pub mod pause;
pub mod plan;
pub mod store;
pub mod windows;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::alerts::payload::{MONITOR_FAILING, SOURCE_STALE};
use crate::alerts::route::{Operational, Routing};
use crate::clock::now_ms;
use crate::config::{Config, Monitor, Window};
use crate::engine::{Report, Severity};
use crate::source::{Dataset, Table, open_bytes};
use crate::state::{Consumed, State};
use metrics::{Metrics, MonitorLabel, OutcomeLabel, TestLabel};
use store::SourceStore;

/// Failed reads of a settled file before it is quarantined.
pub const QUARANTINE_AFTER_ATTEMPTS: u32 = 3;

/// What `/api/v1/monitors` says of a monitor.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MonitorStatus {
    /// Id.
    pub id: String,
    /// Description.
    pub description: Option<String>,
    /// Source path or glob.
    pub source: String,
    /// Whether the first scan has finished (readiness waits for every monitor's).
    pub first_scan_done: bool,
    /// Last cycle (ms since the epoch).
    pub last_scan_ms: Option<i64>,
    /// Last successful cycle.
    pub last_success_ms: Option<i64>,
    /// Failed cycles in a row.
    pub consecutive_failures: u32,
    /// The last error, if the last cycle failed.
    pub last_error: Option<String>,
    /// Files seen but not settled yet.
    pub files_waiting: usize,
    /// Files consumed since start.
    pub files_consumed: u64,
    /// Files quarantined (ever, while their records are kept).
    pub files_quarantined: usize,
    /// Windows evaluated since start.
    pub windows: u64,
    /// The last window.
    pub last_window: Option<WindowSummary>,
    /// No new file for `stale_after_secs`.
    pub stale: bool,
    /// Alerts firing now (as of the last cycle).
    pub firing: Vec<FiringAlert>,
}

/// A firing alert in the status.
#[derive(Debug, Clone, Serialize)]
pub struct FiringAlert {
    /// `DataDrift` or an operational alert name.
    pub alertname: String,
    /// Segment label ("" for the whole window).
    pub segment: String,
    /// Severity last notified.
    pub severity: Severity,
    /// Columns last notified.
    pub columns: Vec<String>,
    /// Firing since (RFC 3339).
    pub since: String,
}

/// A closed window in the status.
#[derive(Debug, Clone, Serialize)]
pub struct WindowSummary {
    /// Window id in the state database.
    pub id: i64,
    /// evaluated or insufficient.
    pub status: String,
    /// Files and rows.
    pub files: usize,
    /// Rows.
    pub rows: u64,
    /// Whether it drifted.
    pub drift: bool,
    /// Highest severity.
    pub severity: Severity,
    /// Drifted columns.
    pub drifted_columns: Vec<String>,
}

/// Everything the monitor tasks and the HTTP server share.
pub struct Shared {
    /// The state database.
    pub state: Mutex<State>,
    /// Metrics.
    pub metrics: Metrics,
    /// Per monitor status, by id.
    pub status: Mutex<BTreeMap<String, MonitorStatus>>,
    /// Bounds concurrent evaluations (CPU work).
    pub permits: tokio::sync::Semaphore,
    /// Wakes the delivery worker when notifications are queued.
    pub outbox: tokio::sync::Notify,
}

impl Shared {
    /// The state database, locked.
    pub fn state(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| anyhow::anyhow!("state lock poisoned"))
    }

    /// Ready once every monitor has finished its first scan.
    pub fn ready(&self) -> bool {
        self.status.lock().map(|s| s.values().all(|m| m.first_scan_done)).unwrap_or(false)
    }
}

/// One monitor's long-lived pieces.
pub struct MonitorRun {
    /// Its configuration.
    pub monitor: Monitor,
    /// Where its notifications go.
    pub routing: Routing,
    store: SourceStore,
    reference: Option<Arc<dyn Table + Send>>,
    /// With `[segments]`: the reference's rows per segment label, profiled.
    reference_segments: Option<Arc<std::collections::HashMap<String, Arc<dyn Table + Send>>>>,
    last_new_file_ms: i64,
    /// The `drift_alerts_firing` series set last time, to remove those that resolved.
    firing_series: Vec<metrics::AlertLabel>,
}

impl MonitorRun {
    /// Prepares a monitor; unsupported window types fail here, clearly.
    pub fn new(monitor: Monitor, routing: Routing) -> Result<MonitorRun> {
        let store = SourceStore::new(&monitor.source.path).with_context(|| format!("monitor {}", monitor.id))?;
        Ok(MonitorRun {
            monitor,
            routing,
            store,
            reference: None,
            reference_segments: None,
            last_new_file_ms: 0,
            firing_series: Vec::new(),
        })
    }
}

/// What one cycle did.
#[derive(Debug, Clone, Default)]
pub struct CycleOutcome {
    /// Files consumed.
    pub consumed: usize,
    /// Files quarantined.
    pub quarantined: usize,
    /// Windows closed, oldest first: (id, report if evaluated).
    pub windows: Vec<(i64, Option<Report>)>,
    /// Files not settled yet.
    pub waiting: usize,
    /// When the first of them settles (ms since the epoch).
    pub next_settle_ms: Option<i64>,
}

/// One polling cycle of one monitor.
pub async fn cycle(shared: &Arc<Shared>, run: &mut MonitorRun, now: i64) -> Result<CycleOutcome> {
    let id = run.monitor.id.clone();
    let label = MonitorLabel { monitor: id.clone() };
    shared.metrics.runs.get_or_create(&label).inc();
    if run.reference.is_none() {
        let path = run.monitor.reference.clone();
        let by = run.monitor.segments.as_ref().map(|s| s.by.clone());
        let (table, segments) = tokio::task::spawn_blocking(move || -> Result<_> {
            let table = load_reference(&path)?;
            let segments = match by {
                None => None,
                Some(by) => Some(Arc::new(load_reference_segments(&path, &by)?)),
            };
            Ok((table, segments))
        })
        .await??;
        run.reference = Some(table);
        run.reference_segments = segments;
    }
    let listing = run.store.list().await?;
    let settle = run.monitor.source.settle.as_millis() as i64;
    let plan = {
        let mut st = shared.state()?;
        let known = st.files(&id)?;
        let lookup = |key: &str| {
            known.get(key).map(|r| plan::Known { size: r.size, mtime_ms: r.mtime_ms, taken: r.status != "seen" })
        };
        let plan = plan::plan(&listing, lookup, settle, now);
        for f in &plan.observe {
            st.observe(&id, &f.key, f.size, f.mtime_ms, now)?;
        }
        plan
    };
    if !plan.observe.is_empty() {
        run.last_new_file_ms = now;
    } else if run.last_new_file_ms == 0 {
        // After a restart: when the state last saw a new file (or now, for a new monitor).
        let last = shared.state.lock().ok().and_then(|st| st.last_file_seen(&id).ok().flatten());
        run.last_new_file_ms = last.unwrap_or(now);
    }
    let mut outcome =
        CycleOutcome { waiting: plan.waiting, next_settle_ms: plan.next_settle_ms, ..CycleOutcome::default() };
    let mut files = Vec::new();
    let mut consumed = Vec::new();
    for f in &plan.ready {
        let shown = run.store.display(&f.key);
        let opened = match run.store.fetch(&f.key).await {
            Ok(bytes) => open_bytes(&shown, bytes),
            Err(e) => Err(e),
        };
        match opened {
            Ok(pf) => {
                pause::point(pause::FETCHED).await;
                consumed.push(Consumed { path: f.key.clone(), size: f.size, mtime_ms: f.mtime_ms, rows: pf.rows });
                files.push(pf);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                let mut st = shared.state()?;
                let attempts = st.failed_attempt(&id, &f.key, &msg, now)?;
                if attempts >= QUARANTINE_AFTER_ATTEMPTS {
                    st.quarantine(&id, &f.key, &msg, now)?;
                    tracing::error!(monitor = %id, file = %shown.display(), error = %msg, "file quarantined after {attempts} failed reads");
                    shared
                        .metrics
                        .files
                        .get_or_create(&OutcomeLabel { monitor: id.clone(), outcome: "quarantined".into() })
                        .inc();
                    outcome.quarantined += 1;
                } else {
                    tracing::warn!(monitor = %id, file = %shown.display(), error = %msg, attempts, "cannot read file yet; will retry");
                    shared
                        .metrics
                        .files
                        .get_or_create(&OutcomeLabel { monitor: id.clone(), outcome: "retried".into() })
                        .inc();
                }
            }
        }
    }
    // Event-time windows also close on the idle timeout with no new file, and a rows window
    // whose last part was committed just before a crash closes at the next cycle.
    if files.is_empty() && matches!(run.monitor.window, Window::Files) {
        return Ok(outcome);
    }
    match run.monitor.window {
        Window::Files => {}
        Window::Rows { rows: target } => {
            return windows::rows_windows(shared, run, files, consumed, target, now, outcome).await;
        }
        Window::Time { .. } => return windows::time_windows(shared, run, files, consumed, now, outcome).await,
    }
    // A column whose type changes between files cannot be pooled: evaluate the files before the
    // change now and leave the rest, still ready, for the next cycle, rather than retrying a
    // batch that can never open.
    let mut conflict = None;
    let dataset = loop {
        match Dataset::from_files("current", files.clone()) {
            Ok(dataset) => break dataset,
            Err(e) if files.len() > 1 => {
                files.pop();
                consumed.pop();
                conflict = Some(e);
            }
            Err(e) => return Err(e).with_context(|| format!("monitor {id}")),
        }
    };
    if let Some(e) = conflict {
        tracing::warn!(monitor = %id, error = %format!("{e:#}"), "column types change within the batch; evaluating the first {} file(s) now, the rest next cycle", files.len());
    }
    let rows: u64 = files.iter().map(|f| f.rows).sum();
    let report = if rows < run.monitor.min_rows {
        None
    } else {
        let _permit = shared.permits.acquire().await.map_err(|_| anyhow::anyhow!("shutting down"))?;
        let run_ref: &MonitorRun = run;
        Some(tokio::task::block_in_place(|| -> Result<Report> {
            let segments = match &run_ref.monitor.segments {
                None => Vec::new(),
                Some(s) => crate::source::split_by_labels(&dataset.files, &s.by, 1000)?
                    .into_iter()
                    .map(|(label, f)| {
                        let rows = f.rows;
                        let table: Box<dyn Table + Send> = Box::new(Dataset::from_files("current", vec![f])?);
                        Ok((label, rows, table))
                    })
                    .collect::<Result<_>>()?,
            };
            windows::evaluate(run_ref, &dataset, segments)
        })?)
    };
    pause::point(pause::COMMIT).await;
    let window_id = {
        let mut st = shared.state()?;
        st.commit_window(&run.routing, "files", &consumed, rows, report.as_ref(), now)?
    };
    pause::point(pause::COMMITTED).await;
    shared.outbox.notify_one();
    outcome.consumed = consumed.len();
    shared
        .metrics
        .files
        .get_or_create(&OutcomeLabel { monitor: id.clone(), outcome: "consumed".into() })
        .inc_by(consumed.len() as u64);
    shared.metrics.rows.get_or_create(&label).inc_by(rows);
    record_window_metrics(shared, &id, report.as_ref());
    tracing::info!(monitor = %id, window = window_id, files = consumed.len(), rows, "files window closed");
    outcome.windows.push((window_id, report));
    Ok(outcome)
}

/// Window counters and the latest per-test gauges.
pub(crate) fn record_window_metrics(shared: &Shared, id: &str, report: Option<&Report>) {
    let window_outcome = match report {
        None => "insufficient",
        Some(r) if r.drift => "drift",
        Some(_) => "evaluated",
    };
    shared
        .metrics
        .windows
        .get_or_create(&OutcomeLabel { monitor: id.to_owned(), outcome: window_outcome.into() })
        .inc();
    if let Some(r) = report {
        for c in &r.columns {
            for t in &c.tests {
                let l = TestLabel {
                    monitor: id.to_owned(),
                    column: c.column.clone(),
                    test: t.test.as_str().into(),
                    segment: c.segment.clone().unwrap_or_default(),
                };
                if let Some(s) = t.statistic {
                    shared.metrics.statistic.get_or_create(&l).set(s);
                }
                shared.metrics.drift.get_or_create(&l).set(match t.severity {
                    Severity::None => 0,
                    Severity::Warning => 1,
                    Severity::Critical => 2,
                });
            }
        }
        for (column, finding, drift) in r.schema.findings() {
            let l = TestLabel {
                monitor: id.to_owned(),
                column: column.to_owned(),
                test: finding.into(),
                segment: String::new(),
            };
            shared.metrics.drift.get_or_create(&l).set(if drift { 2 } else { 0 });
        }
    }
}

/// The reference a monitor compares against, kept in memory for its lifetime: a snapshot as
/// read, or Parquet data profiled once into an in-memory snapshot (exact values for columns up
/// to the default cap, a sketch beyond), so memory stays bounded and no window re-reads the
/// training data.
fn load_reference(path: &str) -> Result<Arc<dyn Table + Send>> {
    if crate::check::is_snapshot(std::path::Path::new(path)) {
        return Ok(Arc::new(crate::snapshot::Snapshot::read(std::path::Path::new(path))?));
    }
    let started = crate::clock::Stopwatch::start();
    let dataset = Dataset::open("reference", &[path.to_owned()])?;
    let snap = crate::snapshot::Snapshot::build(
        &dataset,
        &crate::snapshot::Selection::default(),
        crate::snapshot::BuildSettings::default(),
        crate::clock::now_rfc3339(),
        &|_, _| {},
    )?;
    tracing::info!(
        reference = path,
        rows = dataset.rows,
        secs = started.elapsed().as_secs_f64(),
        "reference profiled into memory"
    );
    Ok(Arc::new(snap))
}

/// The reference's rows per segment label, each profiled into an in-memory snapshot. Needs
/// the reference as Parquet: a snapshot file has no rows to split.
fn load_reference_segments(
    path: &str,
    by: &[String],
) -> Result<std::collections::HashMap<String, Arc<dyn Table + Send>>> {
    if crate::check::is_snapshot(std::path::Path::new(path)) {
        bail!("{path}: [segments] needs the reference as Parquet files (a snapshot keeps no rows to split by segment)");
    }
    let dataset = Dataset::open("reference", &[path.to_owned()])?;
    for col in by {
        if dataset.column(col).is_none() {
            bail!("{path}: segment column {col:?} is not in the reference");
        }
    }
    let mut out = std::collections::HashMap::new();
    for (label, file) in crate::source::split_by_labels(&dataset.files, by, 10_000)? {
        let ds = Dataset::from_files("reference", vec![file])?;
        let snap = crate::snapshot::Snapshot::build(
            &ds,
            &crate::snapshot::Selection::default(),
            crate::snapshot::BuildSettings::default(),
            String::new(),
            &|_, _| {},
        )?;
        out.insert(label, Arc::new(snap) as Arc<dyn Table + Send>);
    }
    Ok(out)
}

/// Updates the status and metrics after a cycle and observes the operational alerts.
fn record(shared: &Shared, run: &mut MonitorRun, result: &Result<CycleOutcome>, now: i64) {
    let id = &run.monitor.id;
    let label = MonitorLabel { monitor: id.clone() };
    let quarantined = shared.state.lock().ok().and_then(|st| st.quarantined(id).ok()).map_or(0, |q| q.len());
    // Unknown until the source has been listed once (a monitor failing before that is failing,
    // not stale).
    let stale =
        run.last_new_file_ms > 0 && now - run.last_new_file_ms >= run.monitor.source.stale_after.as_millis() as i64;
    shared.metrics.stale.get_or_create(&label).set(i64::from(stale));
    let Ok(mut all) = shared.status.lock() else { return };
    let s = all.entry(id.clone()).or_default();
    s.id = id.clone();
    s.description = run.monitor.description.clone();
    s.source = run.monitor.source.path.clone();
    s.first_scan_done = true;
    s.last_scan_ms = Some(now);
    s.files_quarantined = quarantined;
    s.stale = stale;
    match result {
        Ok(o) => {
            s.last_success_ms = Some(now);
            s.consecutive_failures = 0;
            s.last_error = None;
            s.files_waiting = o.waiting;
            s.files_consumed += o.consumed as u64;
            shared.metrics.last_success.get_or_create(&label).set(now as f64 / 1000.0);
            for (wid, report) in &o.windows {
                s.windows += 1;
                s.last_window = Some(WindowSummary {
                    id: *wid,
                    status: if report.is_some() { "evaluated".into() } else { "insufficient".into() },
                    files: report.as_ref().map_or(o.consumed, |r| r.current.files),
                    rows: report.as_ref().map_or(0, |r| r.current.rows),
                    drift: report.as_ref().is_some_and(|r| r.drift),
                    severity: report.as_ref().map_or(Severity::None, |r| r.severity),
                    drifted_columns: report
                        .as_ref()
                        .map(|r| r.columns.iter().filter(|c| c.drift).map(|c| c.column.clone()).collect())
                        .unwrap_or_default(),
                });
            }
        }
        Err(e) => {
            s.consecutive_failures += 1;
            s.last_error = Some(format!("{e:#}"));
            shared.metrics.errors.get_or_create(&label).inc();
            tracing::error!(monitor = %id, error = %format!("{e:#}"), failures = s.consecutive_failures, "monitor cycle failed; will retry");
        }
    }
    drop(all);
    let stale_problem = stale.then(|| {
        format!(
            "no new file in {} for {} s (stale_after_secs = {}): is the upstream job writing?",
            run.monitor.source.path,
            (now - run.last_new_file_ms) / 1000,
            run.monitor.source.stale_after.as_secs()
        )
    });
    let failing_problem = result.as_ref().err().map(|e| format!("monitor cycle failed: {e:#}"));
    let failing_after = run.routing.failing_after;
    for (name, problem, fire_after) in
        [(SOURCE_STALE, stale_problem, 1), (MONITOR_FAILING, failing_problem, failing_after)]
    {
        let queued = shared.state().and_then(|mut st| {
            st.observe_operational(&run.routing, &Operational::condition(name, problem.as_deref(), fire_after), now)
        });
        match queued {
            Ok(n) if n > 0 => shared.outbox.notify_one(),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(monitor = %id, alert = name, error = %format!("{e:#}"), "cannot record an operational alert")
            }
        }
    }
    // What fires now, read once for the status and the gauges: set the current series, remove
    // those that resolved.
    let firing: Vec<FiringAlert> = shared
        .state()
        .and_then(|mut st| st.firing(id))
        .unwrap_or_default()
        .into_iter()
        .map(|(key, f)| {
            let (alertname, segment) = crate::alerts::route::split_key(&key);
            FiringAlert {
                alertname,
                segment,
                severity: f.severity,
                columns: f.columns.into_iter().collect(),
                since: crate::clock::rfc3339_ms(f.since_ms),
            }
        })
        .collect();
    let current: Vec<metrics::AlertLabel> = firing
        .iter()
        .map(|f| metrics::AlertLabel {
            monitor: id.clone(),
            alertname: f.alertname.clone(),
            segment: f.segment.clone(),
            severity: f.severity.as_str().into(),
        })
        .collect();
    for old in run.firing_series.iter().filter(|l| !current.contains(l)) {
        shared.metrics.alerts_firing.remove(old);
    }
    for l in &current {
        shared.metrics.alerts_firing.get_or_create(l).set(1);
    }
    run.firing_series = current;
    if let Ok(mut all) = shared.status.lock()
        && let Some(s) = all.get_mut(id)
    {
        s.firing = firing;
    }
}

/// Opens the state and prepares every monitor; a monitor that cannot start is an error.
pub fn prepare(cfg: &Config) -> Result<(Arc<Shared>, Vec<MonitorRun>)> {
    let state = State::open(&cfg.state_dir)?;
    let mut runs = Vec::new();
    let mut problems = Vec::new();
    for m in &cfg.monitors {
        match MonitorRun::new(m.clone(), cfg.routing(m)) {
            Ok(r) => runs.push(r),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        metrics: Metrics::default(),
        status: Mutex::new(
            cfg.monitors
                .iter()
                .map(|m| (m.id.clone(), MonitorStatus { id: m.id.clone(), ..Default::default() }))
                .collect(),
        ),
        permits: tokio::sync::Semaphore::new(cfg.max_concurrent_evaluations),
        outbox: tokio::sync::Notify::new(),
    });
    Ok((shared, runs))
}

/// `drift run --once`: one cycle of every monitor, in order. Returns whether any window drifted
/// and whether any monitor failed.
pub async fn run_once(cfg: &Config) -> Result<(bool, bool)> {
    let (shared, mut runs) = prepare(cfg)?;
    let (mut drift, mut failed) = (false, false);
    for run in &mut runs {
        let now = now_ms();
        let result = cycle(&shared, run, now).await;
        failed |= result.is_err();
        if let Ok(o) = &result {
            drift |= o.windows.iter().any(|w| w.1.as_ref().is_some_and(|r| r.drift));
            let id = &run.monitor.id;
            for (wid, report) in &o.windows {
                match report {
                    Some(r) => {
                        println!("{id}: window {wid}: {} files, {} rows:", r.current.files, r.current.rows);
                        print!("{}", crate::output::render(r, crate::output::Format::Table, false));
                    }
                    None => println!(
                        "{id}: window {wid}: fewer rows than min_rows ({}): insufficient, not evaluated",
                        run.monitor.min_rows
                    ),
                }
            }
            let open: u64 = shared
                .state
                .lock()
                .ok()
                .and_then(|st| st.open_windows(id).ok())
                .map_or(0, |w| w.iter().map(|x| x.1).sum());
            if o.windows.is_empty() && o.consumed > 0 {
                println!("{id}: {} files added to open windows ({open} rows so far)", o.consumed);
            } else if o.windows.is_empty() {
                println!("{id}: no new settled files ({} waiting to settle)", o.waiting);
            }
        }
        record(&shared, run, &result, now);
        if let Err(e) = &result {
            eprintln!("drift: monitor {}: {e:#}", run.monitor.id);
        }
    }
    deliver_before_exit(&shared, cfg).await?;
    prune(&shared, cfg);
    Ok((drift, failed))
}

/// Delivers what is queued, waiting for retries due before `deadline_ms`; returns how many
/// notifications are still pending (they stay in the outbox for the next run). `--once` and
/// a draining daemon both end with it.
async fn deliver_until(shared: &Shared, cfg: &Config, deadline_ms: i64) -> Result<u64> {
    let mut d = deliver::Deliverer::new(now_ms() as u64)?;
    loop {
        let now = now_ms();
        match d.pump(&shared.state, cfg, &shared.metrics, now).await? {
            Some(at) if at <= now => continue,
            Some(at) if at < deadline_ms => tokio::time::sleep(Duration::from_millis((at - now) as u64)).await,
            _ => break,
        }
    }
    Ok(shared.state()?.outbox_stats()?.iter().map(|s| s.depth).sum())
}

/// `--once`: delivers what is queued, waiting for retries up to the drain timeout.
async fn deliver_before_exit(shared: &Shared, cfg: &Config) -> Result<()> {
    let pending = deliver_until(shared, cfg, now_ms() + cfg.drain_timeout.as_millis() as i64).await?;
    if pending > 0 {
        eprintln!(
            "drift: {pending} notification(s) not delivered yet; they stay queued for the next run (see `drift alert list`)"
        );
    }
    Ok(())
}

fn prune(shared: &Shared, cfg: &Config) {
    let now = now_ms();
    let before = now - cfg.retention.history.as_millis() as i64;
    let quarantine_before = now - cfg.retention.quarantine.as_millis() as i64;
    let notifications_before = now - cfg.retention.notifications.as_millis() as i64;
    if let Ok(mut st) = shared.state.lock()
        && let Err(e) = st.prune(before, quarantine_before, notifications_before)
    {
        tracing::error!(error = %format!("{e:#}"), "cannot prune old history");
    }
}

/// Backoff after `failures` failed cycles in a row: the poll interval doubled per failure, at
/// most ten minutes.
pub fn backoff(poll: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.min(10);
    (poll * factor).min(Duration::from_secs(600)).max(poll)
}

/// One monitor's loop until `stop` fires.
async fn monitor_loop(shared: Arc<Shared>, mut run: MonitorRun, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut failures = 0u32;
    loop {
        let now = now_ms();
        let result = cycle(&shared, &mut run, now).await;
        failures = if result.is_ok() { 0 } else { failures + 1 };
        let settles = result.as_ref().ok().and_then(|o| o.next_settle_ms);
        record(&shared, &mut run, &result, now);
        let mut wait = backoff(run.monitor.source.poll, failures);
        // Wake up when a waiting file settles, if that is sooner: latency is settle + evaluation.
        if let Some(at) = settles
            && failures == 0
        {
            wait = wait.min(Duration::from_millis((at - now_ms()).max(10) as u64));
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

/// `drift run`: serve until SIGTERM/SIGINT; reload on SIGHUP.
pub async fn run_forever(config_path: PathBuf, cfg: Config) -> Result<()> {
    let (shared, runs) = prepare(&cfg)?;
    let mut cfg = Arc::new(cfg);
    let listener =
        tokio::net::TcpListener::bind(cfg.listen).await.with_context(|| format!("cannot listen on {}", cfg.listen))?;
    // The bound address, not the configured one: with port 0 the kernel picks it.
    let bound = listener.local_addr().map_or_else(|_| cfg.listen.to_string(), |a| a.to_string());
    tracing::info!(listen = %bound, monitors = cfg.monitors.len(), "drift daemon started");
    let server = tokio::spawn(http::serve(listener, shared.clone()));
    let (stop_tx, _) = tokio::sync::watch::channel(false);
    let mut tasks = spawn_monitors(&shared, &cfg, runs, &stop_tx);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut prune_every = tokio::time::interval(Duration::from_secs(3600));
    // Under systemd (Type=notify): ready once listening with every monitor started; the
    // watchdog is pinged from this loop, so a wedged runtime gets restarted.
    systemd_notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status("running")]);
    let watchdog = sd_notify::watchdog_enabled();
    let mut watchdog_every = tokio::time::interval(watchdog.map_or(Duration::from_secs(3600), |d| d / 2));
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = prune_every.tick() => prune(&shared, &cfg),
            _ = watchdog_every.tick(), if watchdog.is_some() => systemd_notify(&[sd_notify::NotifyState::Watchdog]),
            _ = hup.recv() => {
              match reload_notified(&config_path) {
                Err(errors) => tracing::error!(errors = %errors, "configuration reload refused; keeping the running one"),
                Ok(new) => {
                    let fresh: Result<Vec<MonitorRun>> =
                        new.monitors.iter().map(|m| MonitorRun::new(m.clone(), new.routing(m))).collect();
                    match fresh {
                        Err(e) => tracing::error!(error = %format!("{e:#}"), "configuration reload refused; keeping the running one"),
                        Ok(fresh) => {
                            let _ = stop_tx.send(true);
                            for t in tasks.drain(..) {
                                let _ = t.await;
                            }
                            let _ = stop_tx.send(false);
                            // Readiness and the status API know every monitor of the new set
                            // at once, not from its first cycle on.
                            if let Ok(mut s) = shared.status.lock() {
                                s.retain(|id, _| new.monitors.iter().any(|m| &m.id == id));
                                for m in &new.monitors {
                                    s.entry(m.id.clone())
                                        .or_insert_with(|| MonitorStatus { id: m.id.clone(), ..Default::default() });
                                }
                            }
                            cfg = Arc::new(new);
                            tasks = spawn_monitors(&shared, &cfg, fresh, &stop_tx);
                            tracing::info!(monitors = cfg.monitors.len(), "configuration reloaded");
                        }
                    }
                }
              }
              systemd_notify(&[sd_notify::NotifyState::Ready]);
            }
        }
    }
    systemd_notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!(drain_timeout_secs = cfg.drain_timeout.as_secs(), "stopping: draining in-flight work");
    let _ = stop_tx.send(true);
    let deadline = now_ms() + cfg.drain_timeout.as_millis() as i64;
    let drain = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    if tokio::time::timeout(cfg.drain_timeout, drain).await.is_err() {
        tracing::warn!("drain timeout reached; abandoning in-flight work (it will be redone after restart)");
    } else {
        // What the drained windows queued goes out in the time left; the rest stays queued.
        let left = Duration::from_millis((deadline - now_ms()).max(0) as u64);
        match tokio::time::timeout(left, deliver_until(&shared, &cfg, deadline)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(pending)) => tracing::warn!(pending, "notifications not delivered before exit; they stay queued"),
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "cannot deliver before exit; notifications stay queued")
            }
            Err(_) => tracing::warn!("drain timeout reached while delivering; the rest stays queued"),
        }
    }
    server.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Tells systemd about the daemon's state when it runs under `Type=notify` (no-op otherwise).
fn systemd_notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// Loads the configuration for a reload, telling systemd that a reload is in progress (the
/// caller sends `READY=1` once it is applied or refused).
fn reload_notified(config_path: &std::path::Path) -> Result<Config, crate::config::ConfigErrors> {
    let mut reloading = vec![sd_notify::NotifyState::Reloading];
    if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
        reloading.push(now);
    }
    systemd_notify(&reloading);
    crate::config::load(config_path)
}

fn spawn_monitors(
    shared: &Arc<Shared>,
    cfg: &Arc<Config>,
    runs: Vec<MonitorRun>,
    stop: &tokio::sync::watch::Sender<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks: Vec<_> =
        runs.into_iter().map(|r| tokio::spawn(monitor_loop(shared.clone(), r, stop.subscribe()))).collect();
    tasks.push(tokio::spawn(delivery_loop(shared.clone(), cfg.clone(), stop.subscribe())));
    tasks
}

/// Delivers the outbox until `stop` fires: a pass, then sleep until the next retry is due or
/// a notification is queued.
async fn delivery_loop(shared: Arc<Shared>, cfg: Arc<Config>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut d = match deliver::Deliverer::new(now_ms() as u64) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "cannot start delivering notifications; they stay queued");
            return;
        }
    };
    loop {
        let now = now_ms();
        let wait = match d.pump(&shared.state, &cfg, &shared.metrics, now).await {
            Ok(Some(at)) => (at - now).clamp(0, 60_000),
            Ok(None) => 60_000,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "notification delivery failed; retrying in 5 s");
                5_000
            }
        };
        if wait == 0 {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = shared.outbox.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = Duration::from_secs(10);
        assert_eq!(backoff(p, 0), p);
        assert_eq!(backoff(p, 1), Duration::from_secs(20));
        assert_eq!(backoff(p, 3), Duration::from_secs(80));
        assert_eq!(backoff(p, 30), Duration::from_secs(600));
    }
}
