//! Error budgets (`[latency.objective]`): each fetched file's good and total events per minute
//! of event time are counted before its window takes it ([`count`]) and ride on its record of
//! consumption, so they are stored in the transaction that consumes it, whatever the window.
//! Every cycle then evaluates each budget's burn-rate rules at the watermark ([`evaluate`]),
//! steps its alert and prunes minutes past its retention, so an alert fires and resets as event
//! time moves, not only when a window closes.

use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;

use super::cycle::{CycleOutcome, Fetched};
use super::{MonitorRun, Shared, event_time, isolate};
use crate::alerts::burn::Burning;
use crate::checks::PartRows;
use crate::config::{Monitor, Window};
use crate::engine::budget::{BudgetState, Counts, MINUTE_MS, evaluate as evaluate_budget};
use crate::state::State;

/// A budget as the last cycle evaluated it (`/api/v1/monitors`).
#[derive(Debug, Clone, Serialize)]
pub struct BudgetStatus {
    /// The kind (`latency`).
    pub kind: String,
    /// Its alert (`LatencyBudgetBurn`).
    pub alertname: String,
    /// What a good event is.
    pub good: String,
    /// The budget, its burn rates and what is left.
    #[serde(flatten)]
    pub state: BudgetState,
}

/// Event times after this are not counted: the time window's `max_future_secs`, else the
/// default.
fn future_after(run: &MonitorRun, now: i64) -> i64 {
    let max_future = match run.monitor.window {
        Window::Time { max_future, .. } => max_future.as_millis() as i64,
        _ => crate::config::defaults::MAX_FUTURE_SECS as i64 * 1000,
    };
    event_time::future_after(now, max_future)
}

/// Counts each fetched file's events for the monitor's budgets into its record of consumption.
/// A file whose counting fails is that file's failure (counted, quarantined after the
/// attempts) and is left out of this cycle.
pub async fn count(
    shared: &Arc<Shared>,
    run: &MonitorRun,
    fetched: Fetched,
    now: i64,
    outcome: &mut CycleOutcome,
) -> Result<Fetched> {
    if run.monitor.checks.budgets().next().is_none() {
        return Ok(fetched);
    }
    let until = future_after(run, now);
    let mut out = Fetched { files: Vec::new(), consumed: Vec::new() };
    for (file, mut consumed) in fetched.files.into_iter().zip(fetched.consumed) {
        let (checks, ts, f) = (run.monitor.checks.clone(), run.monitor.timestamp_column.clone(), file.clone());
        let work = move || {
            let rows = PartRows { files: std::slice::from_ref(&f), timestamp_column: ts.as_deref() };
            let mut counts = Vec::new();
            for b in checks.budgets() {
                counts.extend(b.count(&rows, until)?);
            }
            Ok(counts)
        };
        let permit = shared.permits.acquire().await.map_err(|_| anyhow::anyhow!("shutting down"))?;
        let counted = isolate::per_file(shared, run, &consumed, file.path.clone(), now, outcome, work).await?;
        drop(permit);
        if let Some(counts) = counted {
            consumed.counts = counts;
            out.files.push(file);
            out.consumed.push(consumed);
        }
    }
    Ok(out)
}

/// The point of event time budgets are evaluated at: a time window's watermark, else the end
/// of the latest minute counted (None before any event was counted).
fn watermark(st: &State, monitor: &Monitor, kind: &str) -> Result<Option<i64>> {
    let Some(latest) = st.budget_latest(&monitor.id, kind)? else { return Ok(None) };
    Ok(Some(match monitor.window {
        Window::Time { allowed_lateness, .. } => {
            let max = st.clock(&monitor.id)?.max_event_ms.unwrap_or(latest);
            event_time::watermark(max, allowed_lateness.as_millis() as i64)
        }
        _ => latest + MINUTE_MS,
    }))
}

/// Every budget of a monitor evaluated at the watermark from the stored minutes (none before
/// its first counted event). `drift history` shows the same.
pub fn status(st: &State, monitor: &Monitor) -> Result<Vec<BudgetStatus>> {
    let mut out = Vec::new();
    for b in monitor.checks.budgets() {
        let Some(at) = watermark(st, monitor, b.name())? else { continue };
        let mut failed = None;
        let state = evaluate_budget(&b.budget(), at, &mut |from, to| {
            st.budget_sum(&monitor.id, b.name(), from, to).unwrap_or_else(|e| {
                failed.get_or_insert(e);
                Counts::default()
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        out.push(BudgetStatus {
            kind: b.name().to_owned(),
            alertname: b.alertname().to_owned(),
            good: b.good(),
            state,
        });
    }
    Ok(out)
}

/// Evaluates every budget of the monitor at the watermark, steps its alert, prunes its old
/// minutes and records what it found in the outcome.
pub fn evaluate(shared: &Shared, run: &MonitorRun, now: i64, outcome: &mut CycleOutcome) -> Result<()> {
    let budgets = status(&*shared.state()?, &run.monitor)?;
    for b in &budgets {
        let burning = Burning { alertname: &b.alertname, kind: &b.kind, good: &b.good, state: &b.state };
        let retention =
            run.monitor.checks.budgets().find(|c| c.name() == b.kind).map_or(0, |c| c.budget().retention_ms());
        let keep_from = b.state.as_of_ms.saturating_sub(retention);
        if shared.state()?.observe_budget(&run.routing, &burning, keep_from, now)? > 0 {
            shared.outbox.notify_one();
        }
    }
    outcome.budgets = budgets;
    Ok(())
}
