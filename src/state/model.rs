//! Model quality's late-label join (issue #13): per prediction only what the join needs (the
//! id's hash, the prediction, the score, the segment), written by the transaction that consumes
//! its file, so a crash loses and doubles nothing; label files consumed like a source, each in
//! one transaction with the labels it brings; per closed window its status (pending, partial,
//! final) and evaluation, which also steps `ModelPerformanceDegraded`.
//!
//! The join's rules: a label goes to every prediction of its id; among several labels of an id
//! the latest `label_time` wins, then the later in consumption order (a label with a time is
//! later than one without), the others counted as duplicates. A label ahead of its prediction
//! waits in `model_pending_labels` until the prediction lands (matched then) or
//! `max_delay_secs` passes (counted as unmatched). A final window's predictions are deleted:
//! only its evaluation stays.

use anyhow::Result;
use rusqlite::{OptionalExtension, Transaction, params};

use super::State;
use super::alerts::{alert_states, apply};
use super::files::Consumed;
use super::silences::active_silences;
use crate::alerts::route::{Routing, check, check_key};
use crate::engine::check::CheckResult;

/// A label's time for ordering: no time sorts before every time.
const NO_TIME: i64 = i64::MIN;

/// One prediction kept for the join.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    /// The open window it joins (0 for row and files windows; the event-time window's key).
    pub key: i64,
    /// `quality::id_hash` of its id.
    pub id_hash: u64,
    /// Its segment label ("" without segments).
    pub segment: String,
    /// The predicted class (classification).
    pub prediction: Option<String>,
    /// Binary: the score; regression: the predicted value.
    pub value: Option<f64>,
    /// A label already in the prediction file.
    pub label: Option<String>,
}

/// One label row of a label file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelIn {
    /// `quality::id_hash` of its id.
    pub id_hash: u64,
    /// The label, as text.
    pub label: String,
    /// Its `label_time` (ms), if the file has one.
    pub time: Option<i64>,
}

/// What consuming one label file did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LabelCounts {
    /// Label rows read.
    pub rows: u64,
    /// Labels that found their prediction.
    pub matched: u64,
    /// Labels for an id labelled before.
    pub duplicates: u64,
    /// Labels kept waiting for their prediction.
    pub pending: u64,
    /// Labels of ids outside the sample.
    pub sampled_out: u64,
}

/// A monitor's join so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct JoinCounts {
    /// Label rows read from label files.
    pub label_rows: u64,
    /// Labels that found their prediction.
    pub matched: u64,
    /// Labels for an id already labelled.
    pub duplicates: u64,
    /// Labels whose prediction never came within `max_delay_secs`.
    pub unmatched: u64,
    /// Labels of ids outside `sample_rate`.
    pub sampled_out: u64,
    /// Windows finalized early by `max_pending_predictions`.
    pub early_windows: u64,
    /// Labels waiting for their prediction now.
    pub pending_labels: u64,
    /// Predictions held for the join now (open and not final windows).
    pub held_predictions: u64,
}

/// A closed window whose performance is not final yet.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelWindow {
    /// The window's id.
    pub window_id: i64,
    /// When it closed (ms).
    pub closed_ms: i64,
    /// Predictions kept for the join.
    pub rows: u64,
    /// Of them, labelled now.
    pub labelled: u64,
    /// `pending` or `partial`.
    pub status: String,
    /// Its last evaluation (JSON), once evaluated.
    pub report: Option<String>,
}

/// A window's evaluation as stored (for `drift history` and the pages).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelWindowRow {
    /// The window's id.
    pub window_id: i64,
    /// `pending`, `partial` or `final`.
    pub status: String,
    /// Finalized early by `max_pending_predictions`.
    pub early: bool,
    /// Predictions kept for the join.
    pub rows: u64,
    /// Labelled at the last evaluation.
    pub labelled: Option<u64>,
    /// The whole window's status.
    pub verdict: Option<String>,
    /// The evaluation (JSON), once evaluated.
    pub report: Option<String>,
}

/// What one evaluation of a window stores.
pub struct ModelStep<'a> {
    /// The window.
    pub window_id: i64,
    /// `partial` or `final`.
    pub status: &'static str,
    /// Finalized early by `max_pending_predictions`.
    pub early: bool,
    /// Labelled rows evaluated.
    pub labelled: u64,
    /// The whole window's status (breached, clean, insufficient).
    pub verdict: &'a str,
    /// The evaluation, JSON.
    pub report: &'a str,
    /// The alerts to step (None: none; `engine::model::to_step` says which).
    pub result: Option<&'a CheckResult>,
    /// A newer window has been evaluated: this one's breaches may start an alert, but one
    /// already firing is left to the newer windows (its clean run towards `resolve_after`
    /// is not reset, no repeat is sent about an old window).
    pub older: bool,
    /// The model reference's rows, for the messages.
    pub reference_rows: u64,
}

/// The `files` key of a monitor's label files (`MONITOR:labels`: not a monitor id, which has
/// no ':').
pub fn labels_key(monitor: &str) -> String {
    format!("{monitor}:labels")
}

fn join_row(tx: &Transaction, monitor: &str) -> Result<()> {
    tx.execute("INSERT INTO model_join (monitor) VALUES (?1) ON CONFLICT (monitor) DO NOTHING", [monitor])?;
    Ok(())
}

/// Stores a consumed file's predictions (after its `files` row is written), matching labels
/// that arrived before them; `window_id` for a files window, which closes in this transaction.
pub(super) fn add_rows(tx: &Transaction, monitor: &str, file: &Consumed, window_id: Option<i64>) -> Result<()> {
    if file.model.is_empty() {
        return Ok(());
    }
    let file_id: i64 =
        tx.query_row("SELECT rowid FROM files WHERE monitor = ?1 AND path = ?2", params![monitor, file.path], |r| {
            r.get(0)
        })?;
    let mut pending = tx.prepare_cached(
        "SELECT label, label_time, label_order FROM model_pending_labels WHERE monitor = ?1 AND id_hash = ?2",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO model_rows (monitor, window_key, window_id, file_id, id_hash, segment, prediction, value, label,
             label_time, label_order)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut matched = Vec::new();
    for r in &file.model {
        let hash = r.id_hash as i64;
        let waiting: Option<(String, Option<i64>, i64)> =
            pending.query_row(params![monitor, hash], |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?))).optional()?;
        // A label of the file itself is the earliest (order 0): a label file's wins over it.
        let (label, time, order) = match (waiting, &r.label) {
            (Some((l, t, o)), _) => {
                matched.push(hash);
                (Some(l), t, Some(o))
            }
            (None, Some(l)) => (Some(l.clone()), None, Some(0)),
            (None, None) => (None, None, None),
        };
        insert.execute(params![
            monitor,
            r.key,
            window_id,
            file_id,
            hash,
            r.segment,
            r.prediction,
            r.value,
            label,
            time,
            order
        ])?;
    }
    matched.sort_unstable();
    matched.dedup();
    if !matched.is_empty() {
        let mut del = tx.prepare_cached("DELETE FROM model_pending_labels WHERE monitor = ?1 AND id_hash = ?2")?;
        for h in &matched {
            del.execute(params![monitor, h])?;
        }
        join_row(tx, monitor)?;
        tx.execute(
            "UPDATE model_join SET matched = matched + ?2 WHERE monitor = ?1",
            params![monitor, matched.len() as i64],
        )?;
    }
    Ok(())
}

/// Binds an open window's predictions (those of the files of its parts up to `last_seq`) to
/// the window closing as `window_id`, and records it as pending labels; before its parts are
/// deleted, in the close's transaction.
pub(super) fn close(
    tx: &Transaction,
    monitor: &str,
    key: i64,
    last_seq: i64,
    window_id: i64,
    now_ms: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE model_rows SET window_id = ?4
         WHERE monitor = ?1 AND window_id IS NULL AND window_key = ?2 AND file_id IN (
             SELECT f.rowid FROM files f WHERE f.monitor = ?1 AND f.path IN (
                 SELECT file FROM window_parts WHERE monitor = ?1 AND window_key = ?2 AND seq <= ?3))",
        params![monitor, key, last_seq, window_id],
    )?;
    window(tx, monitor, window_id, now_ms)
}

/// Records a closed window with predictions as waiting for labels, with its labelled rows so
/// far (counted once here; each label applied later adds to it).
pub(super) fn window(tx: &Transaction, monitor: &str, window_id: i64, now_ms: i64) -> Result<()> {
    let (rows, labelled): (i64, i64) = tx.query_row(
        "SELECT COUNT(*), COUNT(label) FROM model_rows WHERE monitor = ?1 AND window_id = ?2",
        params![monitor, window_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if rows > 0 {
        tx.execute(
            "INSERT INTO model_windows (monitor, window_id, closed_ms, rows, labelled_now, status)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending')",
            params![monitor, window_id, now_ms, rows, labelled],
        )?;
    }
    Ok(())
}

/// Applies one label (in consumption order `order`) to its predictions, or keeps it waiting.
fn apply_label(
    tx: &Transaction,
    monitor: &str,
    l: &LabelIn,
    order: i64,
    now_ms: i64,
    c: &mut LabelCounts,
) -> Result<()> {
    let hash = l.id_hash as i64;
    let known: Option<bool> = tx
        .prepare_cached("SELECT label IS NOT NULL FROM model_rows WHERE monitor = ?1 AND id_hash = ?2 LIMIT 1")?
        .query_row(params![monitor, hash], |r| r.get(0))
        .optional()?;
    match known {
        Some(labelled) => {
            if labelled {
                c.duplicates += 1;
            } else {
                c.matched += 1;
                // The closed windows of its predictions have one more labelled row each.
                tx.prepare_cached(
                    "UPDATE model_windows SET labelled_now = labelled_now + (
                         SELECT COUNT(*) FROM model_rows r WHERE r.monitor = ?1 AND r.id_hash = ?2
                             AND r.window_id = model_windows.window_id AND r.label IS NULL)
                     WHERE monitor = ?1 AND window_id IN (
                         SELECT window_id FROM model_rows WHERE monitor = ?1 AND id_hash = ?2 AND label IS NULL)",
                )?
                .execute(params![monitor, hash])?;
            }
            tx.prepare_cached(
                "UPDATE model_rows SET label = ?3, label_time = ?4, label_order = ?5
                 WHERE monitor = ?1 AND id_hash = ?2
                   AND (label IS NULL OR (COALESCE(label_time, ?6), label_order) < (COALESCE(?4, ?6), ?5))",
            )?
            .execute(params![monitor, hash, l.label, l.time, order, NO_TIME])?;
        }
        None => {
            let before: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM model_pending_labels WHERE monitor = ?1 AND id_hash = ?2)",
                )?
                .query_row(params![monitor, hash], |r| r.get(0))?;
            if before {
                c.duplicates += 1;
            } else {
                c.pending += 1;
            }
            tx.prepare_cached(
                "INSERT INTO model_pending_labels (monitor, id_hash, label, label_time, label_order, arrived_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (monitor, id_hash) DO UPDATE SET label = ?3, label_time = ?4, label_order = ?5
                 WHERE (COALESCE(label_time, ?7), label_order) < (COALESCE(?4, ?7), ?5)",
            )?
            .execute(params![monitor, hash, l.label, l.time, order, now_ms, NO_TIME])?;
        }
    }
    Ok(())
}

impl State {
    /// In one transaction: applies a label file's rows (in file order) to the monitor's
    /// predictions, keeping those ahead of their prediction, and marks the file consumed (under
    /// [`labels_key`]). `keep(hash)` is the sample: other ids are counted, not stored.
    pub fn add_labels(
        &mut self,
        monitor: &str,
        file: &Consumed,
        labels: &[LabelIn],
        keep: impl Fn(u64) -> bool,
        now_ms: i64,
    ) -> Result<LabelCounts> {
        let tx = self.conn.transaction()?;
        join_row(&tx, monitor)?;
        let first: i64 =
            tx.query_row("SELECT next_order FROM model_join WHERE monitor = ?1", [monitor], |r| r.get(0))?;
        let mut c = LabelCounts { rows: labels.len() as u64, ..LabelCounts::default() };
        for (i, l) in labels.iter().enumerate() {
            if keep(l.id_hash) {
                apply_label(&tx, monitor, l, first + i as i64, now_ms, &mut c)?;
            } else {
                c.sampled_out += 1;
            }
        }
        tx.execute(
            "UPDATE model_join SET next_order = ?2, label_rows = label_rows + ?3, matched = matched + ?4,
                 duplicates = duplicates + ?5, sampled_out = sampled_out + ?6 WHERE monitor = ?1",
            params![
                monitor,
                first + labels.len() as i64,
                c.rows as i64,
                c.matched as i64,
                c.duplicates as i64,
                c.sampled_out as i64
            ],
        )?;
        tx.execute(
            "INSERT INTO files (monitor, path, size, mtime_ms, first_seen_ms, status, rows, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 'consumed', ?6, ?5)
             ON CONFLICT (monitor, path) DO UPDATE SET size = ?3, mtime_ms = ?4, status = 'consumed',
                 rows = ?6, updated_ms = ?5",
            params![labels_key(monitor), file.path, file.size as i64, file.mtime_ms, now_ms, file.rows as i64],
        )?;
        super::test_panic(&self.panic_in, monitor);
        tx.commit()?;
        Ok(c)
    }

    /// Forgets the labels that waited for their prediction since before `before_ms`, counting
    /// them as unmatched; returns how many.
    pub fn expire_labels(&mut self, monitor: &str, before_ms: i64) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM model_pending_labels WHERE monitor = ?1 AND arrived_ms < ?2",
            params![monitor, before_ms],
        )? as i64;
        if n > 0 {
            join_row(&tx, monitor)?;
            tx.execute("UPDATE model_join SET unmatched = unmatched + ?2 WHERE monitor = ?1", params![monitor, n])?;
        }
        tx.commit()?;
        Ok(n as u64)
    }

    /// The monitor's closed windows whose performance is not final, oldest first, with their
    /// labelled rows now.
    pub fn model_windows(&self, monitor: &str) -> Result<Vec<ModelWindow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT window_id, closed_ms, rows, status, labelled_now, report
             FROM model_windows WHERE monitor = ?1 AND status != 'final' ORDER BY window_id",
        )?;
        let rows = stmt.query_map([monitor], |r| {
            Ok(ModelWindow {
                window_id: r.get(0)?,
                closed_ms: r.get(1)?,
                rows: r.get::<_, i64>(2)? as u64,
                status: r.get(3)?,
                labelled: r.get::<_, i64>(4)? as u64,
                report: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The newest window of `monitor` evaluated so far (partial or final), if any.
    pub fn model_newest_evaluated(&self, monitor: &str) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT MAX(window_id) FROM model_windows WHERE monitor = ?1 AND evaluated_ms IS NOT NULL",
            [monitor],
            |r| r.get(0),
        )?)
    }

    /// A closed window's predictions: (segment, prediction, value, label).
    #[allow(clippy::type_complexity)]
    pub fn model_rows(
        &self,
        monitor: &str,
        window_id: i64,
    ) -> Result<Vec<(String, Option<String>, Option<f64>, Option<String>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT segment, prediction, value, label FROM model_rows WHERE monitor = ?1 AND window_id = ?2 ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![monitor, window_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The monitor's join counts, and what it holds now.
    pub fn model_join(&self, monitor: &str) -> Result<JoinCounts> {
        let mut c: JoinCounts = self
            .conn
            .query_row(
                "SELECT label_rows, matched, duplicates, unmatched, sampled_out, early_windows FROM model_join
                 WHERE monitor = ?1",
                [monitor],
                |r| {
                    let n = |i: usize| r.get::<_, i64>(i).map(|v| v as u64);
                    Ok(JoinCounts {
                        label_rows: n(0)?,
                        matched: n(1)?,
                        duplicates: n(2)?,
                        unmatched: n(3)?,
                        sampled_out: n(4)?,
                        early_windows: n(5)?,
                        ..JoinCounts::default()
                    })
                },
            )
            .optional()?
            .unwrap_or_default();
        let count = |sql: &str| self.conn.query_row(sql, [monitor], |r| r.get::<_, i64>(0)).map(|v| v as u64);
        c.pending_labels = count("SELECT COUNT(*) FROM model_pending_labels WHERE monitor = ?1")?;
        c.held_predictions = count("SELECT COUNT(*) FROM model_rows WHERE monitor = ?1")?;
        Ok(c)
    }

    /// The monitor's latest `limit` windows with a model evaluation or waiting for one, newest
    /// first (none in a state older than schema 7).
    pub fn model_history(&self, monitor: &str, limit: usize) -> Result<Vec<ModelWindowRow>> {
        self.model_windows_upto(monitor, i64::MAX, limit)
    }

    /// [`State::model_history`] of the windows up to `upto` (for a stored window's page: the
    /// window's own evaluation and the ones before it).
    pub fn model_windows_upto(&self, monitor: &str, upto: i64, limit: usize) -> Result<Vec<ModelWindowRow>> {
        let table: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'model_windows')",
            [],
            |r| r.get(0),
        )?;
        if !table {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT window_id, status, early, rows, labelled, verdict, report FROM model_windows
             WHERE monitor = ?1 AND window_id <= ?2 ORDER BY window_id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![monitor, upto, limit as i64], |r| {
            Ok(ModelWindowRow {
                window_id: r.get(0)?,
                status: r.get(1)?,
                early: r.get(2)?,
                rows: r.get::<_, i64>(3)? as u64,
                labelled: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                verdict: r.get(5)?,
                report: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// In one transaction: stores a window's evaluation (deleting its predictions when final)
    /// and, when `step.result` is given, steps its alerts, queueing what they notify. Returns
    /// the notifications queued (silenced ones not counted).
    pub fn observe_model(&mut self, routing: &Routing, step: &ModelStep<'_>, now_ms: i64) -> Result<usize> {
        let monitor = routing.monitor.as_str();
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE model_windows SET status = ?3, early = ?4, evaluated_ms = ?5, labelled = ?6, verdict = ?7, report = ?8
             WHERE monitor = ?1 AND window_id = ?2",
            params![
                monitor,
                step.window_id,
                step.status,
                step.early,
                now_ms,
                step.labelled as i64,
                step.verdict,
                step.report
            ],
        )?;
        if step.status == "final" {
            tx.execute(
                "DELETE FROM model_rows WHERE monitor = ?1 AND window_id = ?2",
                params![monitor, step.window_id],
            )?;
        }
        if step.early {
            join_row(&tx, monitor)?;
            tx.execute("UPDATE model_join SET early_windows = early_windows + 1 WHERE monitor = ?1", [monitor])?;
        }
        let mut queued = 0;
        if let Some(result) = step.result {
            let prior = alert_states(&tx, monitor)?;
            let filtered;
            let result = if step.older {
                let firing = |segment: &str| {
                    prior.get(&check_key(&result.alertname, segment)).is_some_and(|s| s.firing.is_some())
                };
                let alerts = result.alerts.iter().filter(|a| !firing(&a.segment)).cloned().collect();
                let (kind, alertname, detail) = (result.kind.clone(), result.alertname.clone(), result.detail.clone());
                filtered = CheckResult { kind, alertname, alerts, detail };
                &filtered
            } else {
                result
            };
            let silences = active_silences(&tx, monitor, now_ms)?;
            let d = check(routing, step.window_id, result, step.reference_rows, &prior, &silences, now_ms);
            apply(&tx, monitor, &d, now_ms)?;
            queued = d.outgoing.iter().filter(|o| !o.silenced).count();
        }
        super::test_panic(&self.panic_in, monitor);
        tx.commit()?;
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{consumed, count, routing, temp};
    use super::*;
    use crate::engine::Severity;
    use crate::engine::check::{CheckAlert, CheckFinding, CheckStatus};

    fn prediction(id: u64) -> ModelRow {
        ModelRow { key: 0, id_hash: id, segment: String::new(), prediction: Some("1".into()), value: None, label: None }
    }

    fn label(id: u64, label: &str, time: Option<i64>) -> LabelIn {
        LabelIn { id_hash: id, label: label.into(), time }
    }

    fn labels_of(st: &State, window: i64) -> Vec<Option<String>> {
        st.model_rows("m", window).unwrap().into_iter().map(|r| r.3).collect()
    }

    /// Predictions of a files window; labels before and after them, duplicated; the sample.
    #[test]
    fn labels_match_before_or_after_their_prediction_and_the_latest_by_time_then_order_wins() {
        let (_dir, mut st) = temp();
        // Ahead of its prediction: id 1 (twice: the later time wins though written first).
        let early = [label(1, "late-time", Some(20)), label(1, "early-time", Some(10)), label(9, "ghost", None)];
        let c = st.add_labels("m", &consumed("l0", 3), &early, |_| true, 1).unwrap();
        assert_eq!((c.rows, c.pending, c.duplicates, c.matched), (3, 2, 1, 0));
        let mut file = consumed("p", 3);
        file.model = vec![prediction(1), prediction(2), prediction(3)];
        let w = st.commit_window(&routing(), "files", &[file], 3, None, 2).unwrap();
        assert_eq!(labels_of(&st, w), [Some("late-time".into()), None, None]);
        // After: id 2 without a time, then with one (a time beats none); id 3 twice without
        // times (the later in order wins); id 4 outside the sample.
        let after = [label(2, "timed", Some(5)), label(2, "untimed", None), label(3, "a", None), label(3, "b", None)];
        let c = st.add_labels("m", &consumed("l1", 4), &after, |id| id != 4, 3).unwrap();
        assert_eq!((c.matched, c.duplicates), (2, 2));
        let c = st.add_labels("m", &consumed("l2", 1), &[label(4, "x", None)], |id| id != 4, 3).unwrap();
        assert_eq!(c.sampled_out, 1);
        assert_eq!(labels_of(&st, w), [Some("late-time".into()), Some("timed".into()), Some("b".into())]);
        let j = st.model_join("m").unwrap();
        assert_eq!((j.label_rows, j.matched, j.duplicates, j.sampled_out, j.pending_labels), (8, 3, 3, 1, 1));
        // The ghost expires unmatched; label files are consumed under their own key.
        assert_eq!(st.expire_labels("m", 2).unwrap(), 1);
        assert_eq!(st.model_join("m").unwrap().unmatched, 1);
        assert_eq!(count(&st, "files WHERE monitor = 'm:labels' AND status = 'consumed'"), 3);
        assert_eq!(st.model_windows("m").unwrap()[0].labelled, 3);
    }

    /// A label file's transaction that fails stores none of its labels nor its consumption; a
    /// final evaluation deletes the window's predictions.
    fn evaluation(alerts: &[(&str, CheckStatus)]) -> CheckResult {
        let finding = CheckFinding {
            subject: "roc_auc".into(),
            test: "roc_auc".into(),
            value: Some(0.6),
            floor: Some(0.8),
            critical_floor: None,
            severity: Severity::Warning,
            summary: Some("roc_auc 0.6 below 0.8".into()),
        };
        let alert = |(segment, status): &(&str, CheckStatus)| CheckAlert {
            segment: (*segment).to_owned(),
            status: *status,
            findings: if *status == CheckStatus::Breached { vec![finding.clone()] } else { Vec::new() },
            rows: 100,
        };
        CheckResult {
            kind: "model".into(),
            alertname: "ModelPerformanceDegraded".into(),
            alerts: alerts.iter().map(alert).collect(),
            detail: serde_json::json!({}),
        }
    }

    fn clean_streak(st: &State, segment: &str) -> u64 {
        let key = check_key("ModelPerformanceDegraded", segment);
        let json: String = st
            .conn
            .query_row("SELECT state FROM alert_state WHERE monitor = 'm' AND key = ?1", [key], |r| r.get(0))
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&json).unwrap()["clean_streak"].as_u64().unwrap()
    }

    /// resolve_after = 2: window 2 fires, window 3 is clean (one of two towards resolving);
    /// then window 1's final turns breached. It does not reset the firing alert's clean run
    /// nor send about it, but it does start the south's alert, which was not firing.
    #[test]
    fn an_older_windows_breach_starts_an_alert_but_leaves_a_firing_one_to_the_newer_windows() {
        use CheckStatus::{Breached, Clean};
        let (_dir, mut st) = temp();
        let mut routing = routing();
        routing.timing.resolve_after = 2;
        fn step(window_id: i64, result: &CheckResult, older: bool) -> ModelStep<'_> {
            ModelStep {
                window_id,
                status: "partial",
                early: false,
                labelled: 100,
                verdict: "breached",
                report: "{}",
                result: Some(result),
                reference_rows: 1000,
                older,
            }
        }
        let (fire, clean) = (evaluation(&[("", Breached)]), evaluation(&[("", Clean)]));
        assert_eq!(st.observe_model(&routing, &step(2, &fire, false), 1).unwrap(), 1, "window 2 fires");
        assert_eq!(st.observe_model(&routing, &step(3, &clean, false), 2).unwrap(), 0);
        assert_eq!(clean_streak(&st, ""), 1);
        let old = evaluation(&[("", Breached), ("south", Breached)]);
        assert_eq!(st.observe_model(&routing, &step(1, &old, true), 3).unwrap(), 1, "only the south's alert starts");
        assert_eq!(clean_streak(&st, ""), 1, "the whole window's clean run is not reset by window 1");
        assert_eq!(st.observe_model(&routing, &step(4, &clean, false), 4).unwrap(), 1, "window 4 resolves it");
    }

    #[test]
    fn a_failed_label_transaction_stores_nothing_and_a_final_window_keeps_only_its_evaluation() {
        let (_dir, mut st) = temp();
        let mut file = consumed("p", 2);
        file.model = vec![prediction(1), prediction(2)];
        let w = st.commit_window(&routing(), "files", &[file], 2, None, 1).unwrap();
        st.conn
            .execute_batch("CREATE TEMP TRIGGER fail BEFORE INSERT ON files BEGIN SELECT RAISE(ABORT, 'no'); END")
            .unwrap();
        assert!(st.add_labels("m", &consumed("l", 1), &[label(1, "1", None)], |_| true, 2).is_err());
        st.conn.execute_batch("DROP TRIGGER fail").unwrap();
        assert_eq!(labels_of(&st, w), [None, None], "no label of the failed file");
        assert_eq!(st.model_join("m").unwrap().label_rows, 0);
        let step = ModelStep {
            window_id: w,
            status: "final",
            early: false,
            labelled: 0,
            verdict: "insufficient",
            report: "{}",
            result: None,
            reference_rows: 0,
            older: false,
        };
        assert_eq!(st.observe_model(&routing(), &step, 3).unwrap(), 0);
        assert_eq!(count(&st, "model_rows"), 0);
        assert!(st.model_windows("m").unwrap().is_empty(), "final: not waiting any more");
        assert_eq!(st.model_history("m", 5).unwrap()[0].status, "final");

        // Retention: a final evaluation goes with its window, one still waiting stays.
        let mut file = consumed("p2", 1);
        file.model = vec![prediction(3)];
        let waiting = st.commit_window(&routing(), "files", &[file], 1, None, 4).unwrap();
        st.prune(10, 0, 0).unwrap();
        let left: Vec<i64> = st.model_history("m", 5).unwrap().iter().map(|w| w.window_id).collect();
        assert_eq!(left, [waiting]);
    }
}
