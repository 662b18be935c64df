//! One file's failure stays that file's, at every stage after its footer was read: a damaged
//! page, a type the decoder refuses, a missing timestamp column or a panic of the Parquet reader
//! while a file is profiled (rows and time windows) or while a batch is evaluated (files
//! windows) counts a failed read against that file ([`failed_read`]: quarantined after
//! `[source] quarantine_after_attempts`), and the window goes on without it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;

use super::cycle::{CycleOutcome, failed_read, replaced_since_listing};
use super::{MonitorRun, Shared};
use crate::engine::Report;
use crate::source::{Dataset, ParquetFile, file_of, guarded};
use crate::state::Consumed;

/// Runs one file's `work` (splitting, profiling) off the reactor; `None` when it failed, which
/// was counted against the file (`consumed`), so the caller skips it this cycle.
pub async fn per_file<T: Send + 'static>(
    shared: &Arc<Shared>,
    run: &MonitorRun,
    consumed: &Consumed,
    shown: PathBuf,
    now: i64,
    outcome: &mut CycleOutcome,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<Option<T>> {
    let path = shown.clone();
    let error = match tokio::task::spawn_blocking(move || guarded(&path, work)).await {
        Ok(Ok(v)) => return Ok(Some(v)),
        Ok(Err(e)) if replaced_since_listing(run, &shown, &e) => return Ok(None),
        Ok(Err(e)) => format!("{e:#}"),
        Err(e) => format!("{}: cannot profile: {e}", shown.display()),
    };
    failed_read(shared, run, &consumed.path, &shown, &error, now, outcome)?;
    Ok(None)
}

/// A files window's evaluation (None below `min_rows`) and its rows. A file the evaluation
/// fails on is counted against, dropped from `files` and `consumed`, and the rest evaluated
/// again; `Ok(None)` when no file is left.
pub async fn evaluate_files(
    shared: &Arc<Shared>,
    run: &MonitorRun,
    files: &mut Vec<ParquetFile>,
    consumed: &mut Vec<Consumed>,
    mut dataset: Dataset,
    now: i64,
    outcome: &mut CycleOutcome,
) -> Result<Option<(Option<Report>, u64)>> {
    loop {
        let rows: u64 = files.iter().map(|f| f.rows).sum();
        if rows < run.monitor.min_rows {
            return Ok(Some((None, rows)));
        }
        let evaluated = {
            let _permit = shared.permits.acquire().await.map_err(|_| anyhow::anyhow!("shutting down"))?;
            tokio::task::block_in_place(|| {
                super::fault::point(super::fault::EVALUATE, &run.monitor.id);
                super::windows::evaluate_batch(run, &dataset)
            })
        };
        let e = match evaluated {
            Ok(report) => return Ok(Some((Some(report), rows))),
            Err(e) => e,
        };
        let Some(i) = file_of(&e).and_then(|p| files.iter().position(|f| f.path == p)) else {
            return Err(e);
        };
        let f = files.remove(i);
        let c = consumed.remove(i);
        if !replaced_since_listing(run, &f.path, &e) {
            failed_read(shared, run, &c.path, &f.path, &format!("{e:#}"), now, outcome)?;
        }
        if files.is_empty() {
            return Ok(None);
        }
        dataset = Dataset::from_files("current", files.clone())?;
    }
}
