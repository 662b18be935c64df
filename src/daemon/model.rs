//! Model quality in the daemon (issue #13): each consumed file's predictions kept for the join
//! ([`extract`], stored with the file's consumption), label files consumed like a source
//! (settled, exactly once, retried then quarantined under `MONITOR:labels`), and every cycle
//! each closed window's realized performance evaluated when its labels reach `min_coverage`
//! (partial) and again when it is final (`max_delay_secs` after it closed, or early when the
//! predictions held pass `max_pending_predictions`), stepping `ModelPerformanceDegraded`.
//!
//! The alert is stepped once per window at its first evaluation, and again at its final one
//! only if the whole window's verdict changed, so a window counts once towards `fire_after`.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::cycle::CycleOutcome;
use super::metrics::FileOutcome;
use super::store::SourceStore;
use super::{MonitorRun, Shared, plan};
use crate::checks::quality::{LabelSource, numbers, read_labels, read_rows, texts};
use crate::config::ModelQuality;
use crate::engine::check::CheckStatus;
use crate::engine::model::{Judged, Judging, LabelDrift, judge, label_drift, result};
use crate::quality::{ModelColumns, Rows};
use crate::quality::{Task, id_hash, sampled};
use crate::source::{Dataset, ParquetFile};
use crate::state::{Consumed, JoinCounts, LabelIn, ModelRow, ModelStep, ModelWindow, labels_key};

/// What a monitor with `[model]` keeps between cycles.
pub struct ModelRun {
    /// The label files' source, if labels come in files of their own.
    labels: Option<SourceStore>,
    /// Label files consumed, by key (as the source's index).
    consumed: Option<HashMap<String, (u64, i64)>>,
    /// The model reference's rows, loaded at the first evaluation.
    reference: Option<Arc<Rows>>,
}

impl ModelRun {
    /// Prepares the label source of a monitor's model.
    pub fn new(m: &ModelQuality) -> Result<ModelRun> {
        let labels =
            m.labels.path.as_deref().map(|p| SourceStore::new(p, None)).transpose().context("[labels] path")?;
        Ok(ModelRun { labels, consumed: None, reference: None })
    }
}

/// The model's columns as the metrics read them.
pub fn columns(m: &ModelQuality) -> ModelColumns {
    ModelColumns {
        task: m.task,
        prediction: m.prediction.clone(),
        score: m.score.clone(),
        label: m.labels.column.clone(),
        positive: m.positive.clone().unwrap_or_default(),
    }
}

/// The columns of a prediction file the join reads (those the file has of them are read).
pub fn needed(m: &ModelQuality) -> Vec<String> {
    let mut out = vec![m.id.clone(), m.prediction.clone(), m.labels.column.clone()];
    out.extend(m.score.iter().cloned());
    out
}

/// The predictions of some rows (one file's rows of one window and segment) kept for the join:
/// those whose id is in the sample and not null. A label column in the file gives labels too.
pub fn extract(file: &ParquetFile, key: i64, segment: &str, m: &ModelQuality) -> Result<Vec<ModelRow>> {
    let has = |c: &str| file.has_column(c);
    if !has(&m.id) {
        anyhow::bail!("no id column {:?} ([model] id) in the file", m.id);
    }
    if !has(&m.prediction) {
        anyhow::bail!("no prediction column {:?} ([model] prediction) in the file", m.prediction);
    }
    let mut names: Vec<&str> = vec![&m.id, &m.prediction];
    names.extend(m.score.as_deref().filter(|s| has(s)));
    if has(&m.labels.column) {
        names.push(&m.labels.column);
    }
    let mut out = Vec::new();
    for batch in file.read_columns(&names)? {
        let n = batch.num_rows();
        let col = |name: &str| batch.column_by_name(name).cloned();
        let named = |name: &str, r: Result<Vec<Option<String>>>| r.with_context(|| format!("column {name:?}"));
        let ids = named(&m.id, texts(col(&m.id).context("id")?.as_ref()))?;
        let labels = match col(&m.labels.column) {
            Some(a) => named(&m.labels.column, texts(a.as_ref()))?,
            None => vec![None; n],
        };
        let (pred, value) = if m.task == Task::Regression {
            let p = col(&m.prediction).context("prediction")?;
            (vec![None; n], numbers(p.as_ref()).with_context(|| format!("column {:?}", m.prediction))?)
        } else {
            let p = named(&m.prediction, texts(col(&m.prediction).context("prediction")?.as_ref()))?;
            let s = match m.score.as_deref().and_then(col) {
                Some(a) => {
                    numbers(a.as_ref()).with_context(|| format!("column {:?}", m.score.as_deref().unwrap_or("")))?
                }
                None => vec![None; n],
            };
            (p, s)
        };
        for (((id, p), v), l) in ids.into_iter().zip(pred).zip(value).zip(labels) {
            let Some(id) = id else { continue };
            let hash = id_hash(&id);
            if !sampled(hash, m.labels.sample_rate) {
                continue;
            }
            out.push(ModelRow { key, id_hash: hash, segment: segment.to_owned(), prediction: p, value: v, label: l });
        }
    }
    Ok(out)
}

/// [`extract`], or none with a warning naming the file: a prediction file the join cannot
/// read (no id column, a class column of another type) is still evaluated for drift.
pub fn extract_or_warn(file: &ParquetFile, key: i64, segment: &str, m: &ModelQuality) -> Vec<ModelRow> {
    extract(file, key, segment, m).unwrap_or_else(|e| {
        tracing::warn!(file = %file.path.display(), error = %format!("{e:#}"), "predictions not kept for the model's label join (drift is still evaluated): fix the file or [model]");
        Vec::new()
    })
}

/// What one evaluation of a window said, for `run --once` and the cycle's outcome.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The window.
    pub window_id: i64,
    /// `partial` or `final`.
    pub status: &'static str,
    /// Finalized early by `max_pending_predictions`.
    pub early: bool,
    /// The whole window.
    pub whole: Judged,
    /// Its segments.
    pub segments: Vec<Judged>,
    /// Its labels against the model reference's.
    pub label_drift: LabelDrift,
    /// The monitor's join counts after it.
    pub join: JoinCounts,
}

/// What `/api/v1/monitors` says of a monitor's model: its last evaluated window.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelSummary {
    /// The window.
    pub window: i64,
    /// `partial` or `final`.
    pub status: &'static str,
    /// Finalized early by `max_pending_predictions`.
    pub early: bool,
    /// The whole window's verdict: `breached`, `clean` or `insufficient`.
    pub verdict: &'static str,
    /// Predictions kept for the join, and of them labelled.
    pub rows: u64,
    /// Of them, labelled.
    pub labelled: u64,
    /// The thresholded metrics.
    pub checks: Vec<crate::engine::model::MetricCheck>,
    /// The join's counts after it.
    pub join: JoinCounts,
}

impl ModelSummary {
    /// The summary of an evaluation.
    pub fn of(e: &Evaluated) -> ModelSummary {
        ModelSummary {
            window: e.window_id,
            status: e.status,
            early: e.early,
            verdict: verdict_name(e.whole.status),
            rows: e.whole.rows,
            labelled: e.whole.labelled,
            checks: e.whole.checks.clone(),
            join: e.join,
        }
    }
}

/// One cycle of the monitor's model: consume label files, forget labels that waited too long,
/// evaluate the windows that are due, update the metrics.
pub async fn cycle(shared: &Arc<Shared>, run: &mut MonitorRun, now: i64, outcome: &mut CycleOutcome) -> Result<()> {
    let Some(m) = run.monitor.model.clone() else { return Ok(()) };
    let id = run.monitor.id.clone();
    labels(shared, run, &m, now, outcome).await?;
    let expired = shared.state()?.expire_labels(&id, now - m.labels.max_delay.as_millis() as i64)?;
    if expired > 0 {
        tracing::warn!(monitor = %id, labels = expired, max_delay_secs = m.labels.max_delay.as_secs(), "labels whose prediction never came within max_delay_secs: counted as unmatched (check [model] id and the label files' ids)");
    }
    let windows = shared.state()?.model_windows(&id)?;
    let due = due(&m, &windows, shared.state()?.model_join(&id)?.held_predictions, now);
    if !due.is_empty() && run.model.as_ref().is_some_and(|r| r.reference.is_none()) {
        let reference = load_reference(&m).await?;
        if let Some(r) = run.model.as_mut() {
            r.reference = Some(reference);
        }
    }
    for (w, status, early) in due {
        let reference = run.model.as_ref().and_then(|r| r.reference.clone()).context("model reference")?;
        let e = evaluate(shared, run, &m, &reference, &w, status, early, now).await?;
        outcome.model.push(e);
    }
    let join = shared.state()?.model_join(&id)?;
    let waiting = shared.state()?.model_windows(&id)?.len();
    shared.metrics.model.join(&id, &join, waiting);
    Ok(())
}

/// The windows to evaluate now, oldest first: (window, status, finalized early).
fn due(m: &ModelQuality, windows: &[ModelWindow], held: u64, now: i64) -> Vec<(ModelWindow, &'static str, bool)> {
    let max_delay = m.labels.max_delay.as_millis() as i64;
    let mut over = held.saturating_sub(m.labels.max_pending_predictions);
    let mut out = Vec::new();
    for w in windows {
        let coverage = if w.rows == 0 { 0.0 } else { w.labelled as f64 / w.rows as f64 };
        if now - w.closed_ms >= max_delay {
            out.push((w.clone(), "final", false));
        } else if over > 0 {
            over = over.saturating_sub(w.rows);
            out.push((w.clone(), "final", true));
        } else if w.status == "pending" && coverage >= m.labels.min_coverage {
            out.push((w.clone(), "partial", false));
        }
    }
    out
}

async fn load_reference(m: &ModelQuality) -> Result<Arc<Rows>> {
    let m = m.clone();
    tokio::task::spawn_blocking(move || -> Result<Arc<Rows>> {
        let data = Dataset::open("model reference", std::slice::from_ref(&m.reference))
            .with_context(|| format!("[model] reference {}", m.reference))?;
        let rows = read_rows(&data, "model reference", &columns(&m), &LabelSource::Own)
            .with_context(|| format!("[model] reference {}", m.reference))?;
        Ok(Arc::new(rows))
    })
    .await?
}

/// Evaluates one window, stores the evaluation and steps the alert in one transaction.
#[allow(clippy::too_many_arguments)]
async fn evaluate(
    shared: &Shared,
    run: &MonitorRun,
    m: &ModelQuality,
    reference: &Rows,
    w: &ModelWindow,
    status: &'static str,
    early: bool,
    now: i64,
) -> Result<Evaluated> {
    let id = &run.monitor.id;
    let stored = shared.state()?.model_rows(id, w.window_id)?;
    let mut rows = Rows::default();
    let mut segments = Vec::with_capacity(stored.len());
    for (segment, prediction, value, label) in stored {
        segments.push(segment);
        if m.task != Task::Regression {
            rows.pred.push(prediction);
        }
        rows.number.push(value);
        rows.label.push(label);
    }
    let cols = columns(m);
    let judging = Judging {
        columns: &cols,
        thresholds: &m.thresholds,
        reference,
        min_coverage: m.labels.min_coverage,
        segment_min_rows: run.monitor.segments.as_ref().map_or(1, |s| s.min_rows),
        pooled: crate::source::OTHER_SEGMENT,
    };
    let (whole, by_segment) = tokio::task::block_in_place(|| judge(&judging, &rows, &segments))
        .with_context(|| format!("monitor {id}: window {}", w.window_id))?;
    let drift = label_drift(&cols, reference, &rows);
    let join = shared.state()?.model_join(id)?;
    let detail = serde_json::json!({
        "window": w.window_id,
        "status": status,
        "early": early,
        "task": m.task.name(),
        "whole": whole,
        "segments": by_segment,
        "label_drift": drift,
        "join": join,
    });
    let verdict = verdict_name(whole.status);
    let check = result(&whole, &by_segment, detail.clone());
    let step = ModelStep {
        window_id: w.window_id,
        status,
        early,
        labelled: whole.labelled,
        verdict,
        report: &serde_json::to_string(&detail)?,
        result: (w.verdict.as_deref() != Some(verdict)).then_some(&check),
        reference_rows: reference.label.len() as u64,
    };
    super::pause::point(super::pause::MODEL).await;
    let queued = shared.state()?.observe_model(&run.routing, &step, now)?;
    if queued > 0 {
        shared.outbox.notify_one();
    }
    let judged: Vec<&Judged> = std::iter::once(&whole).chain(&by_segment).collect();
    shared.metrics.model.window(id, status, &judged);
    tracing::info!(monitor = %id, window = w.window_id, status, early, labelled = whole.labelled, rows = whole.rows, verdict, "model performance evaluated");
    if early {
        tracing::warn!(monitor = %id, window = w.window_id, max_pending_predictions = m.labels.max_pending_predictions, "window finalized before max_delay_secs: the predictions waiting for labels passed max_pending_predictions (raise it, or lower [labels] sample_rate)");
    }
    Ok(Evaluated { window_id: w.window_id, status, early, whole, segments: by_segment, label_drift: drift, join })
}

/// Listed files as the state records them: (path, size, mtime).
fn listed(files: &[plan::Listed]) -> Vec<(&str, u64, i64)> {
    files.iter().map(|f| (f.key.as_str(), f.size, f.mtime_ms)).collect()
}

fn verdict_name(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Breached => "breached",
        CheckStatus::Clean => "clean",
        CheckStatus::Insufficient => "insufficient",
    }
}

/// Lists the label files, takes the settled ones and consumes each in one transaction; a file
/// that cannot be read counts a failed attempt, quarantined after the source's attempts.
async fn labels(
    shared: &Shared,
    run: &mut MonitorRun,
    m: &ModelQuality,
    now: i64,
    outcome: &mut CycleOutcome,
) -> Result<()> {
    let id = run.monitor.id.clone();
    let key = labels_key(&id);
    let Some(model) = run.model.as_mut() else { return Ok(()) };
    let Some(store) = model.labels.clone() else { return Ok(()) };
    let listing = store.list(run.monitor.source.follow_symlinks, now).await?;
    for skip in &listing.newly_skipped {
        tracing::warn!(monitor = %id, entry = %skip.path, reason = skip.reason.as_str(), "label entry skipped: {}", skip.reason.advice());
    }
    let ready = {
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
        p.ready
    };
    let cols = columns(m);
    for f in ready {
        let shown = store.display(&f.key);
        let read = async {
            let file = store.open(&f.key).await?;
            let rows = file.rows;
            let (cols, idc, time) = (cols.clone(), m.id.clone(), m.labels.time_column.clone());
            let labels = tokio::task::spawn_blocking(move || -> Result<Vec<LabelIn>> {
                let data = Dataset::from_files("labels", vec![file])?;
                let rows = read_labels(&data, &cols, &idc, &time)?;
                Ok(rows.into_iter().map(|r| LabelIn { id_hash: r.id, label: r.label, time: r.time }).collect())
            })
            .await??;
            anyhow::Ok((rows, labels))
        };
        match read.await {
            Ok((rows, labels)) => {
                let c = Consumed {
                    path: f.key.clone(),
                    size: f.size,
                    mtime_ms: f.mtime_ms,
                    rows,
                    counts: Vec::new(),
                    model: Vec::new(),
                };
                let rate = m.labels.sample_rate;
                super::pause::point(super::pause::LABELS).await;
                let counts = shared.state()?.add_labels(&id, &c, &labels, |h| sampled(h, rate), now)?;
                shared.metrics.file(&id, FileOutcome::Consumed, 1);
                tracing::info!(monitor = %id, file = %shown.display(), labels = counts.rows, matched = counts.matched, duplicates = counts.duplicates, waiting = counts.pending, "label file consumed");
                if let Some(i) = run.model.as_mut().and_then(|r| r.consumed.as_mut()) {
                    i.insert(f.key.clone(), (f.size, f.mtime_ms));
                }
            }
            Err(e) => {
                let msg = format!("{e:#}");
                let mut st = shared.state()?;
                let attempts = st.failed_attempt(&key, &f.key, &msg, now)?;
                if attempts >= run.monitor.source.quarantine_after_attempts {
                    st.quarantine(&key, &f.key, &msg, now)?;
                    tracing::error!(monitor = %id, file = %shown.display(), error = %msg, "label file quarantined after {attempts} failed reads; `drift quarantine release` reads it again");
                    outcome.quarantined += 1;
                    shared.metrics.file(&id, FileOutcome::Quarantined, 1);
                } else {
                    tracing::warn!(monitor = %id, file = %shown.display(), error = %msg, attempts, "cannot read label file yet; will retry");
                    shared.metrics.file(&id, FileOutcome::Retried, 1);
                }
            }
        }
    }
    Ok(())
}
