//! A window's pictures: the aggregates its HTML report draws (the 101 percentiles of each side
//! of every KS test, the PSI bins' edges and counts, the top categories of each side), kept
//! apart from the window's JSON report in `window_pictures`, zstd-compressed, so that they can
//! be dropped after `[retention] report_days` while the numbers stay for `drift history`.
//!
//! [`split`] takes them out of a report before it is stored; [`State::stored_report`] puts
//! them back. The layout of the compressed JSON: one object per column of the report, in its
//! order, `{"category_counts": [...], "tests": [{...}, ...]}` with, per test, the fields named in
//! [`TEST_FIELDS`] it had. A report stored before schema 5 still carries them inline; the
//! upgrade ([`migrate`]) moves them out.

use anyhow::{Context, Result};
use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use super::State;
use crate::engine::Report;

/// The fields of a test result that are pictures, not numbers.
const TEST_FIELDS: &[&str] =
    &["reference_quantiles", "current_quantiles", "edges", "reference_counts", "current_counts"];

/// The field of a column report that is a picture.
const COLUMN_FIELD: &str = "category_counts";

/// zstd level: the pictures are written once per window and read rarely.
const LEVEL: i32 = 9;

/// Takes the pictures out of a report's JSON: `(the report without them, the pictures)`;
/// `None` when the report has none (no numeric or categorical column).
pub(super) fn split_value(report: &mut Value) -> Option<Value> {
    let columns = report.get_mut("columns")?.as_array_mut()?;
    let mut pictures = Vec::with_capacity(columns.len());
    let mut any = false;
    for column in columns {
        let mut entry = Map::new();
        let Some(obj) = column.as_object_mut() else {
            pictures.push(Value::Object(entry));
            continue;
        };
        if let Some(counts) = obj.remove(COLUMN_FIELD) {
            entry.insert(COLUMN_FIELD.to_owned(), counts);
            any = true;
        }
        let mut tests = Vec::new();
        for test in obj.get_mut("tests").and_then(Value::as_array_mut).into_iter().flatten() {
            let mut fields = Map::new();
            if let Some(t) = test.as_object_mut() {
                for name in TEST_FIELDS {
                    if let Some(v) = t.remove(*name) {
                        fields.insert((*name).to_owned(), v);
                        any = true;
                    }
                }
            }
            tests.push(Value::Object(fields));
        }
        entry.insert("tests".to_owned(), Value::Array(tests));
        pictures.push(Value::Object(entry));
    }
    any.then_some(Value::Array(pictures))
}

/// Puts pictures taken by [`split_value`] back into the report they came from.
fn merge_value(report: &mut Value, pictures: &Value) {
    let (Some(columns), Some(pictures)) =
        (report.get_mut("columns").and_then(Value::as_array_mut), pictures.as_array())
    else {
        return;
    };
    for (column, entry) in columns.iter_mut().zip(pictures) {
        let Some(obj) = column.as_object_mut() else { continue };
        if let Some(counts) = entry.get(COLUMN_FIELD) {
            obj.insert(COLUMN_FIELD.to_owned(), counts.clone());
        }
        let tests = obj.get_mut("tests").and_then(Value::as_array_mut);
        let stored = entry.get("tests").and_then(Value::as_array);
        if let (Some(tests), Some(stored)) = (tests, stored) {
            for (test, fields) in tests.iter_mut().zip(stored) {
                if let (Some(t), Some(f)) = (test.as_object_mut(), fields.as_object()) {
                    t.extend(f.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
    }
}

/// Compresses pictures for the table.
fn encode(pictures: &Value) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(pictures).context("cannot store the report's pictures")?;
    zstd::bulk::compress(&json, LEVEL).context("cannot compress the report's pictures")
}

/// The inverse of [`encode`].
fn decode(bytes: &[u8]) -> Result<Value> {
    let json = zstd::stream::decode_all(bytes).context("the stored pictures are damaged")?;
    serde_json::from_slice(&json).context("the stored pictures are damaged")
}

/// A report as stored: its JSON without the pictures, and the compressed pictures.
pub(super) fn split(report: &Report) -> Result<(String, Option<Vec<u8>>)> {
    let mut value = serde_json::to_value(report).map_err(|e| anyhow::anyhow!("cannot store the report: {e}"))?;
    let pictures = split_value(&mut value).map(|p| encode(&p)).transpose()?;
    Ok((value.to_string(), pictures))
}

/// Stores a window's pictures (in the window's transaction).
pub(super) fn insert(
    tx: &rusqlite::Transaction,
    window_id: i64,
    monitor: &str,
    now_ms: i64,
    bytes: &[u8],
) -> Result<()> {
    tx.execute(
        "INSERT INTO window_pictures (window_id, monitor, closed_ms, pictures) VALUES (?1, ?2, ?3, ?4)",
        params![window_id, monitor, now_ms, bytes],
    )?;
    Ok(())
}

/// Schema 5's upgrade: moves the pictures of every report stored inline (schema 3 or 4) into
/// `window_pictures`, leaving the reports as schema 5 writes them. One transaction.
pub(super) fn migrate(conn: &rusqlite::Connection) -> Result<usize> {
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let rows: Vec<(i64, String, i64, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, monitor, closed_ms, report FROM windows
             WHERE report IS NOT NULL AND id NOT IN (SELECT window_id FROM window_pictures)",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<rusqlite::Result<_>>()?
    };
    let mut moved = 0;
    for (id, monitor, closed_ms, json) in rows {
        // A report that does not parse is left as it is: `drift report` names it.
        let Ok(mut value) = serde_json::from_str::<Value>(&json) else { continue };
        let Some(pictures) = split_value(&mut value) else { continue };
        insert(&tx, id, &monitor, closed_ms, &encode(&pictures)?)?;
        tx.execute("UPDATE windows SET report = ?1 WHERE id = ?2", params![value.to_string(), id])?;
        moved += 1;
    }
    tx.commit()?;
    Ok(moved)
}

/// A stored window's report, with its pictures when they are still kept.
#[derive(Debug, Clone)]
pub struct StoredReport {
    /// The window.
    pub window_id: i64,
    /// The monitor.
    pub monitor: String,
    /// When it closed (ms since the epoch).
    pub closed_ms: i64,
    /// The report; without pictures when `pictures` is false.
    pub report: Report,
    /// Whether the pictures were kept (false past `report_days`).
    pub pictures: bool,
}

impl State {
    /// The evaluated window `window_id` of `monitor` (the latest evaluated one when `None`),
    /// its report with the pictures put back; `None` when there is no such window or it was
    /// not evaluated.
    pub fn stored_report(&self, monitor: &str, window_id: Option<i64>) -> Result<Option<StoredReport>> {
        // A state not upgraded yet (read-only, beside a daemon of schema 3) has no table of
        // pictures: its reports carry them inline.
        let upgraded: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'window_pictures')",
            [],
            |r| r.get(0),
        )?;
        let (pictures, join) =
            if upgraded { ("p.pictures", "LEFT JOIN window_pictures p ON p.window_id = w.id") } else { ("NULL", "") };
        let row: Option<(i64, i64, String, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                &format!(
                    "SELECT w.id, w.closed_ms, w.report, {pictures} FROM windows w {join}
                     WHERE w.monitor = ?1 AND w.report IS NOT NULL AND (?2 IS NULL OR w.id = ?2)
                     ORDER BY w.id DESC LIMIT 1"
                ),
                params![monitor, window_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((id, closed_ms, json, pictures)) = row else { return Ok(None) };
        let mut value: Value =
            serde_json::from_str(&json).with_context(|| format!("window {id}: the stored report is damaged"))?;
        let inline = has_pictures(&value);
        if let Some(bytes) = &pictures {
            merge_value(&mut value, &decode(bytes).with_context(|| format!("window {id}"))?);
        }
        let report: Report = serde_json::from_value(value)
            .with_context(|| format!("window {id}: the stored report cannot be read by this drift"))?;
        Ok(Some(StoredReport {
            window_id: id,
            monitor: monitor.to_owned(),
            closed_ms,
            report,
            pictures: inline || pictures.is_some(),
        }))
    }

    /// Deletes the pictures of windows closed before `before_ms`, except each monitor's latest
    /// window's (the daemon's page always has one to show). Returns how many were deleted.
    pub fn prune_pictures(&mut self, before_ms: i64) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM window_pictures WHERE closed_ms < ?1
             AND window_id NOT IN (SELECT MAX(window_id) FROM window_pictures GROUP BY monitor)",
            [before_ms],
        )?)
    }
}

/// Whether a report's JSON still carries pictures inline (stored before schema 5 and read
/// without the upgrade, through a read-only connection).
fn has_pictures(report: &Value) -> bool {
    let mut copy = report.clone();
    split_value(&mut copy).is_some()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{consumed, drifting, routing, temp};

    #[test]
    fn a_stored_report_reads_back_equal_with_its_pictures_outside_the_report_column() {
        let (_d, mut st) = temp();
        let report = drifting();
        let id = st.commit_window(&routing(), "files", &[consumed("a", 10)], 10, Some(report), 1_000).unwrap();
        let json = st.report(id).unwrap().unwrap();
        assert!(!json.contains("reference_quantiles") && !json.contains("category_counts"), "{json}");
        let stored = st.stored_report("m", None).unwrap().expect("the latest window");
        assert_eq!(stored.window_id, id);
        assert!(stored.pictures);
        assert_eq!(serde_json::to_value(&stored.report).unwrap(), serde_json::to_value(report).unwrap());
    }

    #[test]
    fn pictures_past_retention_are_dropped_but_each_monitors_latest_is_kept() {
        let (_d, mut st) = temp();
        let report = drifting();
        let first = st.commit_window(&routing(), "files", &[consumed("a", 10)], 10, Some(report), 1_000).unwrap();
        let last = st.commit_window(&routing(), "files", &[consumed("b", 10)], 10, Some(report), 2_000).unwrap();
        assert_eq!(st.prune_pictures(10_000).unwrap(), 1, "the older of two");
        let old = st.stored_report("m", Some(first)).unwrap().unwrap();
        assert!(!old.pictures, "dropped");
        assert!(old.report.columns.iter().all(|c| c.tests.iter().all(|t| t.reference_quantiles.is_none())));
        assert_eq!(old.report.summary, report.summary, "the numbers stay");
        assert!(st.stored_report("m", Some(last)).unwrap().unwrap().pictures, "the latest stays");
    }
}
