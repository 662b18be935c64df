//! What a cycle leaves for operators: the status `/api/v1/monitors` shows, the metrics, and
//! the operational alerts (stale source, failing monitor, quarantined files) stepped with what
//! it saw.

use anyhow::Result;
use serde::Serialize;

use super::cycle::CycleOutcome;
use super::metrics::{self, MonitorLabel, TestLabel, WindowOutcome};
use super::{MonitorRun, Shared};
use crate::alerts::payload::{FILES_QUARANTINED, MONITOR_FAILING, SOURCE_STALE};
use crate::alerts::route::Operational;
use crate::engine::{Report, Severity};

/// What `/api/v1/monitors` says of a monitor.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MonitorStatus {
    /// The monitor's id (its file name without `.toml`).
    pub id: String,
    /// The `description` of its monitor file, if any.
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
    /// Settled files left for the next cycles by `max_files_per_cycle` / `max_bytes_in_flight`.
    pub files_backlog: usize,
    /// Rows counted as future (more than `max_future_secs` ahead of the clock) since start.
    pub rows_future: u64,
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
    /// The error budgets (`[latency.objective]`) as the last cycle evaluated them at the
    /// watermark: burn rates per rule and the budget left over the period.
    pub budgets: Vec<super::budget::BudgetStatus>,
    /// The false-alarm calibration, once the reference is loaded (`null` before).
    pub calibration: Option<super::calibration::CalibrationStatus>,
    /// With `[model]`: the last window whose model performance was evaluated since start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<super::model::ModelSummary>,
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
    /// Current rows in the window (0 when it was too small to evaluate).
    pub rows: u64,
    /// Whether it drifted.
    pub drift: bool,
    /// Highest severity.
    pub severity: Severity,
    /// The columns that drifted, in the report's order (empty without drift).
    pub drifted_columns: Vec<String>,
}

impl WindowSummary {
    /// The summary of window `id` (`report` None: too few rows; then `files` is the count).
    fn new(id: i64, report: Option<&Report>, files: usize) -> WindowSummary {
        WindowSummary {
            id,
            status: if report.is_some() { "evaluated".into() } else { "insufficient".into() },
            files: report.map_or(files, |r| r.current.files),
            rows: report.map_or(0, |r| r.current.rows),
            drift: report.is_some_and(|r| r.drift),
            severity: report.map_or(Severity::None, |r| r.severity),
            drifted_columns: report
                .map(|r| r.columns.iter().filter(|c| c.drift).map(|c| c.column.clone()).collect())
                .unwrap_or_default(),
        }
    }
}

/// Updates the status and metrics after a cycle and observes the operational alerts.
pub fn record(shared: &Shared, run: &mut MonitorRun, result: &Result<CycleOutcome>, now: i64) {
    let stale = update_status(shared, run, result, now);
    observe_operational(shared, run, result, stale, now);
    refresh_firing(shared, run);
}

/// The monitor's status and gauges after a cycle; whether its source is stale.
fn update_status(shared: &Shared, run: &MonitorRun, result: &Result<CycleOutcome>, now: i64) -> bool {
    let id = &run.monitor.id;
    let label = MonitorLabel { monitor: id.clone() };
    let quarantined = shared.state().ok().and_then(|st| st.quarantined(id).ok()).map_or(0, |q| q.len());
    // Unknown until the source has been listed once (a monitor failing before that is failing,
    // not stale).
    let stale =
        run.last_new_file_ms > 0 && now - run.last_new_file_ms >= run.monitor.source.stale_after.as_millis() as i64;
    shared.metrics.stale.get_or_create(&label).set(i64::from(stale));
    shared.metrics.quarantined_now.get_or_create(&label).set(quarantined as i64);
    let Ok(mut all) = shared.status.lock() else { return stale };
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
            s.last_error = (!o.problems.is_empty()).then(|| o.problems.join("; "));
            for problem in &o.problems {
                shared.metrics.errors.get_or_create(&label).inc();
                tracing::error!(monitor = %id, error = %problem, "monitor cycle failed in part; the rest went on");
            }
            s.files_waiting = o.waiting;
            s.files_backlog = o.backlog;
            s.rows_future += o.future_rows;
            s.files_consumed += o.consumed as u64;
            s.budgets = o.budgets.clone();
            shared.metrics.budget.record(id, &o.budgets);
            shared.metrics.last_success.get_or_create(&label).set(now as f64 / 1000.0);
            for (wid, report) in &o.windows {
                s.windows += 1;
                s.last_window = Some(WindowSummary::new(*wid, report.as_ref(), o.consumed));
            }
            if let Some(e) = o.model.last() {
                s.model = Some(super::model::ModelSummary::of(e));
            }
        }
        Err(e) => {
            s.consecutive_failures += 1;
            s.last_error = Some(format!("{e:#}"));
            shared.metrics.errors.get_or_create(&label).inc();
            tracing::error!(monitor = %id, error = %format!("{e:#}"), failures = s.consecutive_failures, "monitor cycle failed; will retry");
        }
    }
    stale
}

/// Steps the stale-source and monitor-failing alerts with what this cycle saw.
fn observe_operational(shared: &Shared, run: &MonitorRun, result: &Result<CycleOutcome>, stale: bool, now: i64) {
    let id = &run.monitor.id;
    let stale_problem = stale.then(|| {
        format!(
            "no new file in {} for {} s (stale_after_secs = {}): is the upstream job writing?",
            run.monitor.source.path,
            (now - run.last_new_file_ms) / 1000,
            run.monitor.source.stale_after.as_secs()
        )
    });
    let failing_problem = match result {
        Err(e) => Some(format!("monitor cycle failed: {e:#}")),
        Ok(o) if !o.problems.is_empty() => Some(format!("monitor cycle failed in part: {}", o.problems.join("; "))),
        Ok(_) => None,
    };
    let failing_after = run.routing.failing_after;
    let quarantined = shared.state().and_then(|st| st.quarantine_list(Some(id))).unwrap_or_default();
    let quarantine_problem = quarantine_problem(id, &quarantined);
    for (name, problem, fire_after) in [
        (SOURCE_STALE, stale_problem, 1),
        (MONITOR_FAILING, failing_problem, failing_after),
        (FILES_QUARANTINED, quarantine_problem, 1),
    ] {
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
}

/// Files listed by name in the quarantine alert, newest first.
const QUARANTINE_ALERT_NAMES: usize = 10;

/// What `DriftFilesQuarantined` says while `monitor` has quarantined files (newest first):
/// how many, the newest ten, why the newest was set aside, and how to release them.
pub fn quarantine_problem(monitor: &str, files: &[crate::state::QuarantinedFile]) -> Option<String> {
    let newest = files.first()?;
    let names: Vec<&str> = files.iter().take(QUARANTINE_ALERT_NAMES).map(|f| f.path.as_str()).collect();
    let more = files.len().saturating_sub(QUARANTINE_ALERT_NAMES);
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    Some(format!(
        "{} quarantined file(s) not evaluated, newest first: {}{more}; the newest failed with: {}; fix or replace \
         them, then `drift quarantine release --monitor {monitor}` reads them again",
        files.len(),
        names.join(", "),
        newest.error
    ))
}

/// What fires now, read once for the status and the gauges: sets the current series and
/// removes those that resolved.
fn refresh_firing(shared: &Shared, run: &mut MonitorRun) {
    let id = &run.monitor.id;
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

/// Window counters and the latest per-test gauges.
pub fn record_window_metrics(shared: &Shared, id: &str, report: Option<&Report>) {
    shared.metrics.window(
        id,
        match report {
            None => WindowOutcome::Insufficient,
            Some(r) if r.drift => WindowOutcome::Drift,
            Some(_) => WindowOutcome::Evaluated,
        },
    );
    if let Some(r) = report {
        shared.metrics.latency.record(id, r);
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
