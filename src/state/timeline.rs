//! What the pages of stored windows show around one window: the monitor's previous windows
//! with their reports (drift over time), the alerts each window fired or resolved, and the
//! drifted columns per window (the index's sparkline). Reads only.

use anyhow::Result;
use rusqlite::params;

use super::State;

/// A window of the recent past, for drift over time.
#[derive(Debug, Clone, PartialEq)]
pub struct PastWindow {
    /// Window id.
    pub id: i64,
    /// When it closed (ms since the epoch).
    pub closed_ms: i64,
    /// Its JSON report without pictures (`None`: not evaluated).
    pub report: Option<String>,
}

/// A notification a window caused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowMark {
    /// The window.
    pub window_id: i64,
    /// The alert (`DataDrift`, `LatencySLOBreached`, …).
    pub alertname: String,
    /// Resolved (else fired).
    pub resolved: bool,
}

impl State {
    /// The `limit` windows of `monitor` up to and including `upto`, oldest first.
    pub fn windows_upto(&self, monitor: &str, upto: i64, limit: usize) -> Result<Vec<PastWindow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, closed_ms, report FROM windows WHERE monitor = ?1 AND id <= ?2 ORDER BY id DESC LIMIT ?3",
        )?;
        let mut rows = stmt
            .query_map(params![monitor, upto, limit as i64], |r| {
                Ok(PastWindow { id: r.get(0)?, closed_ms: r.get(1)?, report: r.get(2)? })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// The alerts windows `from..=to` of `monitor` fired or resolved, once per window, alert
    /// and direction whatever the number of sinks (silenced ones included: the alert's state
    /// changed). Notifications older than `[retention] notifications_days` are gone.
    pub fn window_marks(&self, monitor: &str, from: i64, to: i64) -> Result<Vec<WindowMark>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT window_id, alertname, resolved FROM outbox
             WHERE monitor = ?1 AND window_id BETWEEN ?2 AND ?3 ORDER BY window_id, alertname, resolved",
        )?;
        let rows = stmt.query_map(params![monitor, from, to], |r| {
            Ok(WindowMark { window_id: r.get(0)?, alertname: r.get(1)?, resolved: r.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The last `limit` windows of `monitor`, oldest first: (window id, distinct columns that
    /// drifted in the window or any of its segments; `None` when it was not evaluated).
    pub fn drifted_per_window(&self, monitor: &str, limit: usize) -> Result<Vec<(i64, Option<usize>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT w.id, w.status,
                    (SELECT COUNT(DISTINCT e.column_name) FROM evaluations e WHERE e.window_id = w.id AND e.drift)
             FROM windows w WHERE w.monitor = ?1 ORDER BY w.id DESC LIMIT ?2",
        )?;
        let mut rows = stmt
            .query_map(params![monitor, limit as i64], |r| {
                let status: String = r.get(1)?;
                let n: i64 = r.get(2)?;
                Ok((r.get(0)?, (status == "evaluated").then_some(n as usize)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.reverse();
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{clean, consumed, drifting, routing, temp};

    #[test]
    fn past_windows_marks_and_drifted_counts_come_oldest_first() {
        let (_d, mut st) = temp();
        let r = routing();
        let a = st.commit_window(&r, "files", &[consumed("a", 10)], 10, Some(drifting()), 1_000).unwrap();
        let b = st.commit_window(&r, "files", &[consumed("b", 10)], 10, None, 2_000).unwrap();
        let c = st.commit_window(&r, "files", &[consumed("c", 10)], 10, Some(clean()), 3_000).unwrap();
        let past = st.windows_upto("m", c, 2).unwrap();
        assert_eq!(past.iter().map(|w| w.id).collect::<Vec<_>>(), [b, c]);
        assert!(past[0].report.is_none() && past[1].report.is_some());
        let marks = st.window_marks("m", a, c).unwrap();
        let fired: Vec<_> = marks.iter().filter(|m| !m.resolved).map(|m| m.window_id).collect();
        let resolved: Vec<_> = marks.iter().filter(|m| m.resolved).map(|m| m.window_id).collect();
        assert_eq!(fired, [a], "once, though two sinks were paged: {marks:?}");
        assert_eq!(resolved, [c], "{marks:?}");
        assert_eq!(st.drifted_per_window("m", 10).unwrap(), [(a, Some(1)), (b, None), (c, Some(0))]);
    }
}
