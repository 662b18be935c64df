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
    /// Rows.
    pub rows: u64,
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
    /// Column.
    pub column: String,
    /// Test name.
    pub test: String,
    /// Statistic.
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
            "SELECT id, closed_ms, files, rows, status, drift, severity, start_ms, end_ms FROM windows
             WHERE monitor = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let windows = stmt
            .query_map(params![monitor, limit as i64], |r| {
                Ok(WindowRow {
                    id: r.get(0)?,
                    closed_ms: r.get(1)?,
                    files: r.get::<_, i64>(2)? as u64,
                    rows: r.get::<_, i64>(3)? as u64,
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

    /// Deletes windows (and their evaluations) closed before `before_ms`, quarantine records
    /// older than `quarantine_before_ms` and finished notifications (delivered, dead-lettered,
    /// silenced) older than `notifications_before_ms`. Consumed-file records stay: they are
    /// what keeps a file from being read twice; pending notifications stay until delivered.
    pub fn prune(&mut self, before_ms: i64, quarantine_before_ms: i64, notifications_before_ms: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM windows WHERE closed_ms < ?1", [before_ms])?;
        tx.execute("DELETE FROM files WHERE status = 'quarantined' AND updated_ms < ?1", [quarantine_before_ms])?;
        tx.execute("DELETE FROM outbox WHERE status <> 'pending' AND updated_ms < ?1", [notifications_before_ms])?;
        tx.commit()?;
        Ok(n)
    }
}
