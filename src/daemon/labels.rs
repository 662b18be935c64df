//! A monitor's label files (`[labels] path`), consumed like a source: listed, settled, each
//! taken once and applied in one transaction with its consumption (`State::add_labels`, under
//! the state key `MONITOR:labels`); a file that cannot be read counts a failed attempt and is
//! quarantined after the source's `quarantine_after_attempts`, the others going on.

use std::collections::HashMap;

use anyhow::Result;

use super::cycle::CycleOutcome;
use super::metrics::FileOutcome;
use super::model::columns;
use super::store::SourceStore;
use super::{MonitorRun, Shared, pause, plan};
use crate::checks::quality::read_labels;
use crate::config::ModelQuality;
use crate::quality::sampled;
use crate::source::Dataset;
use crate::state::{Consumed, LabelIn, labels_key};

/// Lists the label files, takes the settled ones and consumes each in one transaction.
pub async fn consume(
    shared: &Shared,
    run: &mut MonitorRun,
    m: &ModelQuality,
    now: i64,
    outcome: &mut CycleOutcome,
) -> Result<()> {
    let Some(store) = run.model.as_ref().and_then(|r| r.labels.clone()) else { return Ok(()) };
    for f in ready(shared, run, &store, m, now).await? {
        match read(&store, m, &f).await {
            Ok((rows, labels)) => {
                let c = Consumed {
                    path: f.key.clone(),
                    size: f.size,
                    mtime_ms: f.mtime_ms,
                    rows,
                    counts: Vec::new(),
                    model: Vec::new(),
                };
                apply(shared, run, m, &store, &c, &labels, now).await?;
            }
            Err(e) => failed(shared, run, &store, &f.key, &format!("{e:#}"), now, outcome)?,
        }
    }
    Ok(())
}

/// The settled label files not taken yet, oldest first (the listing recorded).
async fn ready(
    shared: &Shared,
    run: &mut MonitorRun,
    store: &SourceStore,
    m: &ModelQuality,
    now: i64,
) -> Result<Vec<plan::Listed>> {
    let id = run.monitor.id.clone();
    let key = labels_key(&id);
    let listing = store.list(run.monitor.source.follow_symlinks, now).await?;
    for skip in &listing.newly_skipped {
        tracing::warn!(monitor = %id, entry = %skip.path, reason = skip.reason.as_str(), "label entry skipped: {}", skip.reason.advice());
    }
    let Some(model) = run.model.as_mut() else { return Ok(Vec::new()) };
    let mut st = shared.state()?;
    let index = match &mut model.consumed {
        Some(i) => i,
        empty => empty.insert(st.consumed_index(&key)?),
    };
    let mut others = HashMap::new();
    for f in listing.files.iter().filter(|f| !index.contains_key(&f.key)) {
        if let Some(r) = st.file(&key, &f.key)? {
            let taken = r.status != "seen";
            let known = plan::Known { size: r.size, mtime_ms: r.mtime_ms, taken, consumed: r.status == "consumed" };
            others.insert(f.key.clone(), known);
        }
    }
    let lookup = |k: &str| {
        let consumed = |&(size, mtime_ms): &(u64, i64)| plan::Known { size, mtime_ms, taken: true, consumed: true };
        index.get(k).map(consumed).or_else(|| others.get(k).copied())
    };
    let p = plan::plan(&listing.files, lookup, m.labels.settle.as_millis() as i64, now);
    st.record_listing(&key, &listed(&p.observe), &listed(&p.replaced), now)?;
    for f in &p.replaced {
        tracing::warn!(monitor = %id, file = %store.display(&f.key).display(), "label file replaced after it was consumed: not read again; write new labels under a new name");
    }
    Ok(p.ready)
}

/// Listed files as the state records them: (path, size, mtime).
fn listed(files: &[plan::Listed]) -> Vec<(&str, u64, i64)> {
    files.iter().map(|f| (f.key.as_str(), f.size, f.mtime_ms)).collect()
}

/// A label file's rows, and its labels in file order (rows without an id or label skipped).
async fn read(store: &SourceStore, m: &ModelQuality, f: &plan::Listed) -> Result<(u64, Vec<LabelIn>)> {
    let file = store.open(&f.key).await?;
    for (column, key) in [(&m.id, "[model] id"), (&m.labels.column, "[labels] column")] {
        if !file.has_column(column) {
            anyhow::bail!(
                "no column {column:?} ({key}) in the label file; name the label files' column in {key}, then \
                 `drift quarantine release` the label files quarantined meanwhile"
            );
        }
    }
    let rows = file.rows;
    let (cols, id, time) = (columns(m), m.id.clone(), m.labels.time_column.clone());
    let labels = tokio::task::spawn_blocking(move || -> Result<Vec<LabelIn>> {
        let data = Dataset::from_files("labels", vec![file])?;
        let rows = read_labels(&data, &cols, &id, &time)?;
        Ok(rows.into_iter().map(|r| LabelIn { id_hash: r.id, label: r.label, time: r.time }).collect())
    })
    .await??;
    Ok((rows, labels))
}

/// Applies a read label file in one transaction with its consumption.
async fn apply(
    shared: &Shared,
    run: &mut MonitorRun,
    m: &ModelQuality,
    store: &SourceStore,
    c: &Consumed,
    labels: &[LabelIn],
    now: i64,
) -> Result<()> {
    let id = &run.monitor.id;
    let rate = m.labels.sample_rate;
    pause::point(pause::LABELS).await;
    let counts = shared.state()?.add_labels(id, c, labels, |h| sampled(h, rate), now)?;
    shared.metrics.file(id, FileOutcome::Consumed, 1);
    tracing::info!(monitor = %id, file = %store.display(&c.path).display(), labels = counts.rows, matched = counts.matched, duplicates = counts.duplicates, waiting = counts.pending, "label file consumed");
    if let Some(i) = run.model.as_mut().and_then(|r| r.consumed.as_mut()) {
        i.insert(c.path.clone(), (c.size, c.mtime_ms));
    }
    Ok(())
}

/// Counts a failed read of a label file; quarantines it after the source's attempts.
fn failed(
    shared: &Shared,
    run: &MonitorRun,
    store: &SourceStore,
    path: &str,
    msg: &str,
    now: i64,
    outcome: &mut CycleOutcome,
) -> Result<()> {
    let id = &run.monitor.id;
    let shown = store.display(path);
    let mut st = shared.state()?;
    let attempts = st.failed_attempt(&labels_key(id), path, msg, now)?;
    if attempts >= run.monitor.source.quarantine_after_attempts {
        st.quarantine(&labels_key(id), path, msg, now)?;
        tracing::error!(monitor = %id, file = %shown.display(), error = %msg, "label file quarantined after {attempts} failed reads; `drift quarantine release` reads it again");
        outcome.quarantined += 1;
        shared.metrics.file(id, FileOutcome::Quarantined, 1);
    } else {
        tracing::warn!(monitor = %id, file = %shown.display(), error = %msg, attempts, "cannot read label file yet; will retry");
        shared.metrics.file(id, FileOutcome::Retried, 1);
    }
    Ok(())
}
