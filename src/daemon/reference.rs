//! A monitor's reference, loaded once per monitor run and kept in memory: a snapshot as read,
//! or Parquet data profiled into an in-memory snapshot; with `[segments]`, also the
//! reference's rows of each segment.

use std::sync::Arc;

use anyhow::{Result, bail};

use super::{MonitorRun, Shared};
use crate::config::Columns;
use crate::source::{Dataset, Table};

/// Loads the monitor's reference on the blocking pool the first time a cycle needs it.
/// Profiling holds one of the daemon's `max_concurrent_evaluations` permits, like any other
/// CPU- and memory-heavy step.
pub async fn load_once(shared: &Shared, run: &mut MonitorRun) -> Result<()> {
    if run.reference.is_some() {
        return Ok(());
    }
    let _permit = shared.permits.acquire().await.map_err(|_| anyhow::anyhow!("shutting down"))?;
    let path = run.monitor.reference.clone();
    let by = run.monitor.segments.as_ref().map(|s| s.by.clone());
    let keep = run.monitor.columns.clone();
    let id = run.monitor.id.clone();
    let (table, segments) = tokio::task::spawn_blocking(move || -> Result<_> {
        super::fault::point(super::fault::REFERENCE, &id);
        let table = load_reference(&path, &keep)?;
        let segments = match by {
            None => None,
            Some(by) => Some(Arc::new(load_reference_segments(&path, &by, &keep)?)),
        };
        Ok((table, segments))
    })
    .await??;
    run.reference = Some(table);
    run.reference_segments = segments;
    Ok(())
}

/// The reference a monitor compares against, kept in memory for its lifetime: a snapshot as
/// read, or Parquet data profiled once into an in-memory snapshot (exact values for columns up
/// to the default cap, a sketch beyond), so memory stays bounded and no window re-reads the
/// training data. Only the columns `keep` compares are read: the others are in its schema as
/// excluded.
pub fn load_reference(path: &str, keep: &Columns) -> Result<Arc<dyn Table + Send>> {
    if crate::check::is_snapshot(std::path::Path::new(path)) {
        return Ok(Arc::new(crate::snapshot::Snapshot::read(std::path::Path::new(path))?));
    }
    let started = crate::clock::Stopwatch::start();
    let dataset = Dataset::open("reference", &[path.to_owned()])?;
    let exclude = dataset.columns.iter().filter(|c| !keep.wants(&c.name)).map(|c| c.name.clone()).collect();
    let snap = crate::snapshot::Snapshot::build(
        &dataset,
        &crate::snapshot::Selection { exclude, ..Default::default() },
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

/// The reference's rows per segment label, each profiled into an in-memory snapshot of the
/// columns `keep` compares. Needs the reference as Parquet: a snapshot file has no rows to split.
fn load_reference_segments(
    path: &str,
    by: &[String],
    keep: &Columns,
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
    let compared = super::projection::compared(keep, &dataset.columns);
    let mut out = std::collections::HashMap::new();
    for (label, file) in crate::source::split_by_labels(&dataset.files, by, 10_000, Some(&compared))? {
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
