//! Model quality in the daemon (issue #13): each consumed file's predictions kept for the join
//! ([`extract`], stored with the file's consumption), label files consumed like a source
//! ([`super::labels`]), and every cycle
//! each closed window's realized performance evaluated when its labels reach `min_coverage`
//! (partial) and again when it is final (`max_delay_secs` after it closed, or early when the
//! predictions held pass `max_pending_predictions`), stepping `ModelPerformanceDegraded`.
//!
//! Which of an evaluation's alerts step the lifecycle is `engine::model::to_step`'s rule: an
//! alert unchanged since the window's last evaluation does not, and an older window's final
//! verdict can fire but never resolve what newer windows speak for.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::cycle::CycleOutcome;
use super::store::SourceStore;
use super::{MonitorRun, Shared};
use crate::checks::quality::{LabelSource, numbers, read_rows, texts};
use crate::config::ModelQuality;
use crate::engine::check::CheckStatus;
use crate::engine::model::{Judged, Judging, judge, result, to_step};
use crate::quality::{LabelDrift, ModelColumns, Rows, label_drift};
use crate::quality::{Task, id_hash, sampled};
use crate::source::{Dataset, ParquetFile};
use crate::state::{JoinCounts, ModelRow, ModelStep, ModelWindow};

/// What a monitor with `[model]` keeps between cycles.
pub struct ModelRun {
    /// The label files' source, if labels come in files of their own.
    pub(super) labels: Option<SourceStore>,
    /// Label files consumed, by key (as the source's index).
    pub(super) consumed: Option<HashMap<String, (u64, i64)>>,
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
            // Checked here, not when the window is evaluated days later: a bad value is the
            // producer's, named with its file (which keeps no prediction for the join).
            match v {
                Some(x) if !x.is_finite() => {
                    // The value is the score for a binary model, the prediction for regression.
                    let column = if m.task == Task::Binary { m.score.as_deref() } else { None };
                    anyhow::bail!("column {:?}: {x} is not a finite number", column.unwrap_or(&m.prediction))
                }
                Some(x) if m.task == Task::Binary && !(0.0..=1.0).contains(&x) => anyhow::bail!(
                    "column {:?}: score {x} is not a probability in [0, 1]",
                    m.score.as_deref().unwrap_or_default()
                ),
                _ => {}
            }
            let hash = id_hash(&id);
            if !sampled(hash, m.labels.sample_rate) {
                continue;
            }
            out.push(ModelRow { key, id_hash: hash, segment: segment.to_owned(), prediction: p, value: v, label: l });
        }
    }
    Ok(out)
}

/// A whole file's predictions kept for the join (files windows), by segment: `segments` is
/// the segment columns and the labels kept apart, `columns` those read of the file.
pub fn file_rows(
    file: &ParquetFile,
    segments: Option<(&[String], usize)>,
    columns: Option<&[String]>,
    m: &ModelQuality,
) -> Result<Vec<ModelRow>> {
    let groups = match segments {
        None => vec![(String::new(), file.clone())],
        Some((by, max)) => crate::source::split_by_labels(std::slice::from_ref(file), by, max, columns)?,
    };
    Ok(groups.iter().flat_map(|(segment, f)| extract_or_warn(f, 0, segment, m)).collect())
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
    super::labels::consume(shared, run, &m, now, outcome).await?;
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
    // A window that cannot be evaluated (a label that is not a number for a regression, a
    // positive class the labels do not write) stays waiting and the others are evaluated; the
    // cycle goes on and says so, so the monitor is failing in part (status, `drift_errors_total`,
    // DriftMonitorFailing) rather than silently stuck, while its drift windows, budgets and
    // polling carry on.
    let mut failed = Vec::new();
    for (w, status, early) in due {
        let reference = run.model.as_ref().and_then(|r| r.reference.clone()).context("model reference")?;
        match evaluate(shared, run, &m, &reference, &w, status, early, now).await {
            Ok(e) => outcome.model.push(e),
            Err(e) => failed.push((w.window_id, e)),
        }
    }
    let join = shared.state()?.model_join(&id)?;
    let waiting = shared.state()?.model_windows(&id)?.len();
    shared.metrics.model.join(&id, &join, waiting);
    if let Some((window, e)) = failed.first() {
        outcome.problems.push(format!(
            "model performance not evaluated for {} window(s) (they are tried again next cycle); window {window}: {e:#}",
            failed.len()
        ));
    }
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
            // Its rows leave with it: the overflow is smaller by them.
            over = over.saturating_sub(w.rows);
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
    let (whole, by_segment) = tokio::task::block_in_place(|| judge(&judging, &rows, &segments))?;
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
    let newest = shared.state()?.model_newest_evaluated(id)?.is_none_or(|n| n <= w.window_id);
    let check = to_step(result(&whole, &by_segment, detail.clone()), &statuses(w.report.as_deref()), newest);
    let step = ModelStep {
        window_id: w.window_id,
        status,
        early,
        labelled: whole.labelled,
        verdict,
        report: &serde_json::to_string(&detail)?,
        result: check.as_ref(),
        older: !newest,
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

/// Each alert's (whole window "" and segments) status in a stored evaluation; empty before the
/// first.
fn statuses(report: Option<&str>) -> BTreeMap<String, CheckStatus> {
    let Some(report) = report.and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()) else {
        return BTreeMap::new();
    };
    let whole = std::iter::once(&report["whole"]);
    let segments = report["segments"].as_array().into_iter().flatten();
    whole
        .chain(segments)
        .filter_map(|j| {
            let status = serde_json::from_value(j["status"].clone()).ok()?;
            Some((j["segment"].as_str()?.to_owned(), status))
        })
        .collect()
}

fn verdict_name(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Breached => "breached",
        CheckStatus::Clean => "clean",
        CheckStatus::Insufficient => "insufficient",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

    use super::*;

    fn model(sample_rate: f64) -> ModelQuality {
        ModelQuality {
            task: Task::Binary,
            id: "id".into(),
            prediction: "p".into(),
            score: Some("s".into()),
            positive: Some("1".into()),
            reference: String::new(),
            thresholds: Default::default(),
            labels: crate::config::Labels {
                path: None,
                column: "label".into(),
                time_column: "label_time".into(),
                max_delay: std::time::Duration::from_secs(60),
                min_coverage: 0.5,
                sample_rate,
                max_pending_predictions: 10,
                settle: std::time::Duration::ZERO,
            },
        }
    }

    fn file(n: usize) -> ParquetFile {
        let ids: Vec<Option<String>> = (0..n).map(|i| (i != 3).then(|| format!("r{i}"))).collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(StringArray::from(ids))),
            ("p", Arc::new(StringArray::from(vec!["1"; n]))),
            ("s", Arc::new(Float64Array::from(vec![0.7; n]))),
        ];
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        crate::source::open_bytes(std::path::Path::new("f.parquet"), bytes::Bytes::from(buf)).unwrap()
    }

    /// Rows without an id are not kept; the sample is deterministic by id and about its rate;
    /// no label column: no labels.
    #[test]
    fn predictions_are_sampled_by_id_hash_and_rows_without_an_id_dropped() {
        let f = file(4000);
        let all = extract(&f, 7, "seg", &model(1.0)).unwrap();
        assert_eq!(all.len(), 3999, "the row without an id is dropped");
        assert!(all.iter().all(|r| r.key == 7 && r.segment == "seg" && r.label.is_none() && r.value == Some(0.7)));
        let some = extract(&f, 7, "seg", &model(0.25)).unwrap();
        assert!((900..1100).contains(&some.len()), "{}", some.len());
        assert_eq!(some, extract(&f, 7, "seg", &model(0.25)).unwrap(), "the same ids every time");
        assert!(some.iter().all(|r| sampled(r.id_hash, 0.25)));
    }

    fn window(window_id: i64, closed_ms: i64, rows: u64, labelled: u64) -> ModelWindow {
        let status = "pending".to_owned();
        ModelWindow { window_id, closed_ms, rows, labelled, status, report: None }
    }

    /// max_delay is 60 s and the cap 10 predictions; 14 held.
    #[test]
    fn windows_are_final_past_max_delay_and_early_only_for_what_still_passes_the_cap() {
        let m = model(1.0);
        fn names(due: Vec<(ModelWindow, &'static str, bool)>) -> Vec<(i64, &'static str, bool)> {
            due.into_iter().map(|(w, s, e)| (w.window_id, s, e)).collect()
        }
        // Window 1 (5 rows) is past max_delay: its rows leave, 9 remain, under the cap.
        let ws = [window(1, 0, 5, 0), window(2, 50_000, 4, 0), window(3, 55_000, 5, 3)];
        assert_eq!(names(due(&m, &ws, 14, 61_000)), [(1, "final", false), (3, "partial", false)]);
        // 18 held: window 1's 5 leave and window 2's 4 more finalize early.
        let due_now = names(due(&m, &ws, 18, 61_000));
        assert_eq!(due_now, [(1, "final", false), (2, "final", true), (3, "partial", false)]);
    }

    #[test]
    fn a_stored_evaluation_gives_each_alerts_status() {
        let report = r#"{"whole": {"segment": "", "status": "breached"},
            "segments": [{"segment": "north", "status": "clean"}, {"segment": "south", "status": "insufficient"}]}"#;
        let got = statuses(Some(report));
        let want = [("", CheckStatus::Breached), ("north", CheckStatus::Clean), ("south", CheckStatus::Insufficient)];
        assert_eq!(got, want.into_iter().map(|(s, c)| (s.to_owned(), c)).collect());
        assert!(statuses(None).is_empty());
    }
}
