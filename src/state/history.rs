//! History: stored windows with their tests and reports, and pruning what is old.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

use super::State;

/// One stored window, for `drift history`.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRow {
    /// Window id.
    pub id: i64,
    /// When it closed (ms since the epoch).
    pub closed_ms: i64,
    /// Files and rows in it.
    pub files: u64,
    /// Current rows in the window.
    pub rows: u64,
    /// Event-time windows: rows of its files not evaluated, late and future (its report's
    /// `current.rows_late`, `current.rows_future`; 0 without a report).
    pub dropped: super::Dropped,
    /// `evaluated` or `insufficient`.
    pub status: String,
    /// Whether it drifted.
    pub drift: bool,
    /// Highest severity.
    pub severity: String,
    /// Event-time windows: `[start, end)` in ms.
    pub span: Option<(i64, i64)>,
    /// Every test of the window.
    pub tests: Vec<TestRow>,
}

/// One stored test result.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRow {
    /// Segment ('' for the whole window).
    pub segment: String,
    /// The column tested, or the column of a schema finding.
    pub column: String,
    /// Test name.
    pub test: String,
    /// The test's statistic (KS D, PSI, chi-square, z); none for schema findings.
    pub statistic: Option<f64>,
    /// Adjusted p-value.
    pub p_value_adjusted: Option<f64>,
    /// Whether it drifted.
    pub drift: bool,
    /// none, warning or critical.
    pub severity: String,
}

impl State {
    /// The JSON report of a window, if it was evaluated.
    pub fn report(&self, window_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT report FROM windows WHERE id = ?1", [window_id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// The latest `limit` windows of a monitor, newest first, with their tests.
    pub fn history(&self, monitor: &str, limit: usize) -> Result<Vec<WindowRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, closed_ms, files, rows, status, drift, severity, start_ms, end_ms,
                 COALESCE(json_extract(report, '$.current.rows_late'), 0),
                 COALESCE(json_extract(report, '$.current.rows_future'), 0)
             FROM windows WHERE monitor = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let windows = stmt
            .query_map(params![monitor, limit as i64], |r| {
                Ok(WindowRow {
                    id: r.get(0)?,
                    closed_ms: r.get(1)?,
                    files: r.get::<_, i64>(2)? as u64,
                    rows: r.get::<_, i64>(3)? as u64,
                    dropped: super::Dropped {
                        late_rows: r.get::<_, i64>(9)? as u64,
                        future_rows: r.get::<_, i64>(10)? as u64,
                    },
                    status: r.get(4)?,
                    drift: r.get(5)?,
                    severity: r.get(6)?,
                    span: match (r.get::<_, Option<i64>>(7)?, r.get::<_, Option<i64>>(8)?) {
                        (Some(a), Some(b)) => Some((a, b)),
                        _ => None,
                    },
                    tests: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(windows.len());
        let mut tests = self.conn.prepare_cached(
            "SELECT segment, column_name, test, statistic, p_value_adjusted, drift, severity FROM evaluations
             WHERE window_id = ?1 ORDER BY rowid",
        )?;
        for mut w in windows {
            w.tests = tests
                .query_map([w.id], |r| {
                    Ok(TestRow {
                        segment: r.get(0)?,
                        column: r.get(1)?,
                        test: r.get(2)?,
                        statistic: r.get(3)?,
                        p_value_adjusted: r.get(4)?,
                        drift: r.get(5)?,
                        severity: r.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push(w);
        }
        Ok(out)
    }

    /// Deletes windows (and their evaluations, and their final model evaluations) closed before
    /// `before_ms`, quarantine records
    /// older than `quarantine_before_ms` and finished notifications (delivered, dead-lettered,
    /// silenced) older than `notifications_before_ms`. Consumed-file records stay: they are
    /// what keeps a file from being read twice; pending notifications stay until delivered.
    pub fn prune(&mut self, before_ms: i64, quarantine_before_ms: i64, notifications_before_ms: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM windows WHERE closed_ms < ?1", [before_ms])?;
        // A model evaluation goes with its window once final; one still waiting for labels stays.
        tx.execute("DELETE FROM model_windows WHERE status = 'final' AND closed_ms < ?1", [before_ms])?;
        tx.execute("DELETE FROM files WHERE status = 'quarantined' AND updated_ms < ?1", [quarantine_before_ms])?;
        tx.execute("DELETE FROM outbox WHERE status <> 'pending' AND updated_ms < ?1", [notifications_before_ms])?;
        tx.commit()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{consumed, count, drifting, routing, temp};
    use super::super::{Closing, Part};
    use crate::alerts::lifecycle::Silence;
    use crate::alerts::payload::{MONITOR_FAILING, SOURCE_STALE};
    use crate::alerts::route::Operational;

    #[test]
    fn history_lists_windows_newest_first_with_their_tests_and_reports() {
        let (_dir, mut st) = temp();
        let r = routing();
        let evaluated = st.commit_window(&r, "files", &[consumed("a", 10)], 10, Some(drifting()), 10).unwrap();
        let insufficient = st.commit_window(&r, "files", &[consumed("b", 3)], 3, None, 20).unwrap();
        let closing = Closing { kind: "time", key: 0, last_seq: 0, files: 2, rows: 8, span: Some((0, 1_000)) };
        let timed = st.close_window(&r, &closing, Some(drifting()), 30).unwrap();

        let latest = st.history("m", 2).unwrap();
        assert_eq!(latest.iter().map(|w| w.id).collect::<Vec<_>>(), [timed, insufficient], "newest first, limited");
        assert_eq!((latest[0].span, latest[0].files, latest[0].rows), (Some((0, 1_000)), 2, 8));
        let w = &latest[1];
        assert_eq!((w.status.as_str(), w.drift, w.severity.as_str(), w.span), ("insufficient", false, "none", None));
        assert_eq!(w.tests, []);

        let w = &st.history("m", 10).unwrap()[2];
        assert_eq!((w.id, w.closed_ms, w.files, w.rows), (evaluated, 10, 1, 10));
        assert_eq!((w.status.as_str(), w.drift, w.severity.as_str()), ("evaluated", true, "critical"));
        let tests = drifting().columns.iter().map(|c| c.tests.len()).sum::<usize>();
        assert_eq!(w.tests.len(), tests, "every test of the report");
        assert!(w.tests.iter().all(|t| t.column == "x" && t.segment.is_empty()));
        assert!(w.tests.iter().any(|t| t.drift && t.severity == "critical" && t.p_value_adjusted.is_some()));

        assert!(st.report(evaluated).unwrap().is_some());
        let stored = st.stored_report("m", Some(evaluated)).unwrap().unwrap();
        let report = serde_json::to_value(&stored.report).unwrap();
        assert_eq!(
            report,
            serde_json::to_value(drifting()).unwrap(),
            "the stored report (with its pictures) is the report"
        );
        assert_eq!(st.report(insufficient).unwrap(), None);
        assert_eq!(st.report(999).unwrap(), None);
        assert_eq!(st.history("other", 10).unwrap(), []);
    }

    #[test]
    fn prune_removes_old_windows_with_their_tests_old_quarantine_and_finished_notifications() {
        let (_dir, mut st) = temp();
        let r = routing();
        // Old: a window (with its tests and two notifications) and a quarantined file.
        let old = st.commit_window(&r, "files", &[consumed("a", 10)], 10, Some(drifting()), 1_000).unwrap();
        st.observe("m", "q-old", 1, 1, 1_000).unwrap();
        st.quarantine("m", "q-old", "bad footer", 1_000).unwrap();
        let part = Part {
            seq: 0,
            key: 0,
            segment: String::new(),
            file: String::new(),
            rows: 5,
            profile: vec![1],
            checks: Vec::new(),
        };
        st.add_parts("m", &consumed("p", 5), &[part], None, 1_000).unwrap();
        let drift_rows: Vec<_> = st.notifications(None, None, 10).unwrap().into_iter().map(|n| n.id).collect();
        st.outbox_delivered(drift_rows[0], None, 1_500).unwrap();
        st.outbox_dead(drift_rows[1], "HTTP 410", None, 1_600).unwrap();
        let stale = Operational::condition(SOURCE_STALE, Some("no new file"), 1);
        st.observe_operational(&r, &stale, 1_000).unwrap();
        let stale_rows: Vec<_> = st.notifications(None, None, 2).unwrap().into_iter().map(|n| n.id).collect();
        st.outbox_delivered(stale_rows[0], None, 5_000).unwrap();
        let silence = Silence { monitor: "m".into(), column: None, segment: None, until_ms: 2_000 };
        st.silence_add(&silence, "maintenance", 1_100).unwrap();
        st.observe_operational(&r, &Operational::condition(MONITOR_FAILING, Some("cycle failed"), 1), 1_200).unwrap();
        assert_eq!(count(&st, "outbox WHERE status = 'silenced'"), 2);
        // New: a window and a quarantined file.
        let new = st.commit_window(&r, "files", &[consumed("b", 10)], 10, Some(drifting()), 5_000).unwrap();
        st.observe("m", "q-new", 1, 1, 5_000).unwrap();
        st.quarantine("m", "q-new", "bad footer", 5_000).unwrap();
        let tests_of = |st: &super::State, id: i64| count(st, &format!("evaluations WHERE window_id = {id}"));
        assert!(tests_of(&st, old) > 0);
        let new_tests = tests_of(&st, new);

        assert_eq!(st.prune(3_000, 3_000, 3_000).unwrap(), 1, "windows deleted");
        assert_eq!(st.history("m", 10).unwrap().iter().map(|w| w.id).collect::<Vec<_>>(), [new]);
        assert_eq!(tests_of(&st, old), 0, "the old window's tests go with it");
        assert_eq!(count(&st, "evaluations"), new_tests);
        let files = st.files("m").unwrap();
        assert!(!files.contains_key("q-old"), "old quarantine record");
        assert!(files.contains_key("q-new"));
        assert_eq!(files["a"].status, "consumed", "consumed records stay: they keep a file from being read twice");
        assert_eq!(st.open_rows("m", 0).unwrap(), 5, "open windows stay");
        let left: Vec<(i64, String)> =
            st.notifications(None, None, 10).unwrap().into_iter().map(|n| (n.id, n.status)).rev().collect();
        assert_eq!(
            left,
            [(stale_rows[1], "pending".into()), (stale_rows[0], "delivered".into())],
            "pending and recent"
        );
    }
}
