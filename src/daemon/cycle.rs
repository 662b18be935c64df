//! One polling cycle of one monitor, as named steps: load the reference once, list the source
//! and plan what to take ([`plan`]), fetch the settled files (counting a failure against that
//! file, and quarantining it after `[source] quarantine_after_attempts`), then hand the files to
//! the monitor's kind of window ([`windows`]), which evaluates, commits and reports what closed;
//! a file that fails there (damaged pages, a reader panic) is counted the same way
//! (`failed_read`) and the others go on without it.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Result;

use super::metrics::{FileOutcome, MonitorLabel};
use super::{MonitorRun, Shared, budget, pause, plan, reference, windows};
use crate::config::Window;
use crate::engine::Report;
use crate::source::ParquetFile;
use crate::state::{Consumed, State};

/// Failed reads of a settled file before it is quarantined, by default
/// (`[source] quarantine_after_attempts`).
pub const QUARANTINE_AFTER_ATTEMPTS: u32 = crate::config::defaults::QUARANTINE_AFTER_ATTEMPTS;

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
    /// Settled files left for the next cycle by `max_files_per_cycle` / `max_bytes_in_flight`.
    pub backlog: usize,
    /// Rows whose event time was more than `max_future_secs` ahead of the clock.
    pub future_rows: u64,
    /// The monitor's error budgets, as evaluated at the end of the cycle.
    pub budgets: Vec<super::budget::BudgetStatus>,
    /// Windows whose model performance was evaluated this cycle, oldest first.
    pub model: Vec<super::model::Evaluated>,
    /// What failed while the rest of the cycle went on (a window whose model performance
    /// cannot be evaluated): the monitor is failing in part, one line each.
    pub problems: Vec<String>,
}

/// The files a cycle read, each with the record of its consumption.
pub struct Fetched {
    /// The opened files, in the plan's order.
    pub files: Vec<ParquetFile>,
    /// What consuming each one records.
    pub consumed: Vec<Consumed>,
}

/// One polling cycle of one monitor.
pub async fn cycle(shared: &Arc<Shared>, run: &mut MonitorRun, now: i64) -> Result<CycleOutcome> {
    shared.metrics.runs.get_or_create(&MonitorLabel { monitor: run.monitor.id.clone() }).inc();
    reference::load_once(shared, run).await?;
    let plan = list_and_plan(shared, run, now).await?;
    let (batch, backlog) = plan::take(plan.ready, run.monitor.source.max_files_per_cycle, shared.max_bytes_in_flight);
    let label = MonitorLabel { monitor: run.monitor.id.clone() };
    shared.metrics.backlog.get_or_create(&label).set(backlog.len() as i64);
    if !backlog.is_empty() {
        tracing::info!(monitor = %run.monitor.id, taken = batch.len(), backlog = backlog.len(), "backlog: taking the oldest settled files this cycle, the rest in the next ones");
    }
    let mut outcome = CycleOutcome {
        waiting: plan.waiting,
        next_settle_ms: plan.next_settle_ms,
        backlog: backlog.len(),
        ..CycleOutcome::default()
    };
    // The batch's bytes are held (over every monitor) from the fetch until its window is
    // committed; a file larger than the cap asks for the whole cap and goes alone.
    let bytes: u64 = batch.iter().map(|f| f.size).sum();
    let _in_flight = shared
        .bytes
        .acquire_many(super::byte_permits(bytes.min(shared.max_bytes_in_flight)))
        .await
        .map_err(|_| anyhow::anyhow!("shutting down"))?;
    run.in_hand = batch.iter().map(|f| run.store.display(&f.key).display().to_string()).collect();
    if !batch.is_empty() {
        pause::point(pause::LISTED).await;
    }
    let fetched = fetch(shared, run, &batch, now, &mut outcome).await?;
    let fetched = budget::count(shared, run, fetched, now, &mut outcome).await?;
    // Event-time windows also close on the idle timeout with no new file, and a rows window
    // whose last part was committed just before a crash closes at the next cycle.
    let mut outcome = match run.monitor.window {
        Window::Files if fetched.files.is_empty() => outcome,
        Window::Files => windows::files_window(shared, run, fetched, now, outcome).await?,
        Window::Rows { rows } => windows::rows_windows(shared, run, fetched, rows, now, outcome).await?,
        Window::Time { .. } => windows::time_windows(shared, run, fetched, now, outcome).await?,
    };
    // Labels land whether or not predictions do; windows become final as time passes.
    super::model::cycle(shared, run, now, &mut outcome).await?;
    // Every cycle, not only when a window closes: an alert also resets as event time moves.
    budget::evaluate(shared, run, now, &mut outcome)?;
    Ok(outcome)
}

/// Lists the source, records new and changed files (one transaction), reports consumed files
/// replaced since, and decides which are ready. Paths consumed before are settled from
/// memory; only the others are looked up, one by one, so a poll over a long history reads
/// little and writes nothing.
async fn list_and_plan(shared: &Shared, run: &mut MonitorRun, now: i64) -> Result<plan::Plan> {
    let id = run.monitor.id.clone();
    let listing = run.store.list(run.monitor.source.follow_symlinks, now).await?;
    for skip in &listing.newly_skipped {
        let error = skip.error.as_deref().unwrap_or_default();
        tracing::warn!(monitor = %id, entry = %skip.path, reason = skip.reason.as_str(), error, "source entry skipped: {}", skip.reason.advice());
        shared.metrics.skipped(&id, skip.reason.as_str());
    }
    let listing = listing.files;
    let settle = run.monitor.source.settle.as_millis() as i64;
    let plan = {
        let mut st = shared.state()?;
        let index = match &mut run.consumed {
            Some(index) => index,
            empty => empty.insert(st.consumed_index(&id)?),
        };
        let others = look_up_others(&st, &id, &listing, index)?;
        let lookup = |key: &str| {
            let consumed = |&(size, mtime_ms): &(u64, i64)| plan::Known { size, mtime_ms, taken: true, consumed: true };
            index.get(key).map(consumed).or_else(|| others.get(key).copied())
        };
        let plan = plan::plan(&listing, lookup, settle, now);
        // Listings are in key order: the last key before the first one still wanted.
        let done = listing.iter().take_while(|f| lookup(&f.key).is_some_and(|k| k.taken)).last();
        run.store.consumed_through(done.map(|f| f.key.as_str()));
        st.record_listing(&id, &rows(&plan.observe), &rows(&plan.replaced), now)?;
        for f in &plan.replaced {
            index.insert(f.key.clone(), (f.size, f.mtime_ms));
        }
        // Directories whose files are all consumed are skipped while unchanged.
        run.store.mark_done(|key| index.contains_key(key));
        plan
    };
    for f in &plan.replaced {
        tracing::warn!(monitor = %id, file = %run.store.display(&f.key).display(), size = f.size, mtime_ms = f.mtime_ms, "file replaced after it was consumed (same name, new size or mtime): not read again; write new data under a new name");
    }
    shared.metrics.file(&id, FileOutcome::Replaced, plan.replaced.len() as u64);
    if !plan.observe.is_empty() {
        run.last_new_file_ms = now;
    } else if run.last_new_file_ms == 0 {
        // After a restart: when the state last saw a new file (or now, for a new monitor).
        let last = shared.state().ok().and_then(|st| st.last_file_seen(&id).ok().flatten());
        run.last_new_file_ms = last.unwrap_or(now);
    }
    Ok(plan)
}

/// What the state knows of the listed paths not in the consumed index (new, waiting and
/// quarantined files), by point lookups; paths found consumed join the index.
fn look_up_others<'a>(
    st: &State,
    id: &str,
    listing: &'a [plan::Listed],
    index: &mut HashMap<String, (u64, i64)>,
) -> Result<HashMap<&'a str, plan::Known>> {
    let mut others = HashMap::new();
    for f in listing {
        if index.contains_key(&f.key) {
            continue;
        }
        match st.file(id, &f.key)? {
            Some(r) if r.status == "consumed" => {
                index.insert(f.key.clone(), (r.size, r.mtime_ms));
            }
            Some(r) => {
                let taken = r.status != "seen";
                others
                    .insert(f.key.as_str(), plan::Known { size: r.size, mtime_ms: r.mtime_ms, taken, consumed: false });
            }
            None => {}
        }
    }
    Ok(others)
}

/// Listed files as the state records them: (path, size, mtime).
fn rows(files: &[plan::Listed]) -> Vec<(&str, u64, i64)> {
    files.iter().map(|f| (f.key.as_str(), f.size, f.mtime_ms)).collect()
}

/// Reads and opens the ready files; a file that cannot be read counts a failed attempt (and
/// is quarantined after the configured attempts) while the others go on.
async fn fetch(
    shared: &Shared,
    run: &MonitorRun,
    ready: &[plan::Listed],
    now: i64,
    outcome: &mut CycleOutcome,
) -> Result<Fetched> {
    let mut fetched = Fetched { files: Vec::new(), consumed: Vec::new() };
    for f in ready {
        let shown = run.store.display(&f.key);
        let opened = run.store.open(&f.key).await.map(|pf| pf.with_read_timeout(run.monitor.source.read_timeout));
        match opened {
            Ok(pf) => {
                pause::point(pause::FETCHED).await;
                fetched.consumed.push(Consumed {
                    path: f.key.clone(),
                    size: f.size,
                    mtime_ms: f.mtime_ms,
                    rows: pf.rows,
                    counts: Vec::new(),
                    model: Vec::new(),
                });
                fetched.files.push(pf);
            }
            Err(e) if replaced_since_listing(run, &shown, &e) => {}
            Err(e) if vanished(&e) => {
                tracing::warn!(monitor = %run.monitor.id, file = %shown.display(), "file vanished between listing and reading (deleted or renamed); skipped")
            }
            Err(e) => failed_read(shared, run, &f.key, &shown, &format!("{e:#}"), now, outcome)?,
        }
    }
    Ok(fetched)
}

/// Whether a read failed because the file is gone: not the file's fault, and nothing to retry
/// (if it comes back, the next listing shows it).
fn vanished(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound))
}

/// Whether `e` says the object was replaced since it was listed (a read pinned to the listed
/// ETag answered 412), logged if so. Like a local file rewritten before it was consumed, that
/// is not the object's fault and not a failed read: nothing is counted against it, and the
/// next listing sees its new version, which is read then.
pub(super) fn replaced_since_listing(run: &MonitorRun, shown: &std::path::Path, e: &anyhow::Error) -> bool {
    let replaced = crate::source::object::errors::is_replaced(e);
    if replaced {
        tracing::warn!(monitor = %run.monitor.id, file = %shown.display(), "object replaced between its listing and its read (its ETag changed): not counted as a failed read; its new version is read after the next listing");
    }
    replaced
}

/// Counts a failed read (or decode, or profile) of one file; quarantines it after the last
/// attempt. The file is left out of this cycle either way.
pub(super) fn failed_read(
    shared: &Shared,
    run: &MonitorRun,
    key: &str,
    shown: &std::path::Path,
    msg: &str,
    now: i64,
    outcome: &mut CycleOutcome,
) -> Result<()> {
    let id = &run.monitor.id;
    let mut st = shared.state()?;
    let attempts = st.failed_attempt(id, key, msg, now)?;
    let counted = if attempts >= run.monitor.source.quarantine_after_attempts {
        st.quarantine(id, key, msg, now)?;
        tracing::error!(monitor = %id, file = %shown.display(), error = %msg, "file quarantined after {attempts} failed reads; `drift quarantine release` reads it again");
        outcome.quarantined += 1;
        FileOutcome::Quarantined
    } else {
        tracing::warn!(monitor = %id, file = %shown.display(), error = %msg, attempts, "cannot read file yet; will retry");
        FileOutcome::Retried
    };
    shared.metrics.file(id, counted, 1);
    Ok(())
}
