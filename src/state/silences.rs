//! Silences: added and expired by hand (`drift silence`), read when alerts are stepped.

use anyhow::Result;
use rusqlite::{Connection, params};

use super::State;
use crate::alerts::lifecycle::Silence;

/// A silence as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceRow {
    /// Id (for `drift silence expire`).
    pub id: i64,
    /// The silence.
    pub silence: Silence,
    /// Why.
    pub reason: String,
    /// When it was added.
    pub created_ms: i64,
    /// When it was expired by hand.
    pub expired_ms: Option<i64>,
}

/// Silences of a monitor that have not ended or been expired by `now_ms`.
pub(super) fn active_silences(conn: &Connection, monitor: &str, now_ms: i64) -> Result<Vec<Silence>> {
    let mut stmt = conn.prepare_cached(
        "SELECT column_name, segment, until_ms FROM silences
         WHERE monitor = ?1 AND until_ms > ?2 AND expired_ms IS NULL",
    )?;
    let rows = stmt.query_map(params![monitor, now_ms], |r| {
        Ok(Silence { monitor: monitor.to_owned(), column: r.get(0)?, segment: r.get(1)?, until_ms: r.get(2)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl State {
    /// Adds a silence; returns its id.
    pub fn silence_add(&mut self, silence: &Silence, reason: &str, now_ms: i64) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO silences (monitor, column_name, segment, until_ms, reason, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![silence.monitor, silence.column, silence.segment, silence.until_ms, reason, now_ms],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Every silence, newest first.
    pub fn silences(&self) -> Result<Vec<SilenceRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, monitor, column_name, segment, until_ms, reason, created_ms, expired_ms FROM silences
             ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SilenceRow {
                id: r.get(0)?,
                silence: Silence { monitor: r.get(1)?, column: r.get(2)?, segment: r.get(3)?, until_ms: r.get(4)? },
                reason: r.get(5)?,
                created_ms: r.get(6)?,
                expired_ms: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Ends a silence now; false if there is no such active silence.
    pub fn silence_expire(&mut self, id: i64, now_ms: i64) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE silences SET expired_ms = ?2 WHERE id = ?1 AND expired_ms IS NULL AND until_ms > ?2",
            params![id, now_ms],
        )?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{count, drifting, routing, temp};
    use super::*;
    use crate::alerts::payload::SOURCE_STALE;
    use crate::alerts::route::Operational;

    fn silence(column: Option<&str>, until_ms: i64) -> Silence {
        Silence { monitor: "m".into(), column: column.map(Into::into), segment: None, until_ms }
    }

    #[test]
    fn silences_are_listed_newest_first_and_expire_once_while_active() {
        let (_dir, mut st) = temp();
        let first = st.silence_add(&silence(None, 1_000), "deploy", 10).unwrap();
        let second = st.silence_add(&silence(Some("x"), 50), "known shift in x", 20).unwrap();
        let listed = st.silences().unwrap();
        assert_eq!(listed.iter().map(|s| s.id).collect::<Vec<_>>(), [second, first]);
        assert_eq!(
            listed[0],
            SilenceRow {
                id: second,
                silence: silence(Some("x"), 50),
                reason: "known shift in x".into(),
                created_ms: 20,
                expired_ms: None
            }
        );
        assert!(!st.silence_expire(second, 60).unwrap(), "already ended");
        assert!(st.silence_expire(first, 100).unwrap());
        assert!(!st.silence_expire(first, 110).unwrap(), "already expired");
        assert!(!st.silence_expire(999, 110).unwrap(), "no such silence");
        assert_eq!(st.silences().unwrap()[1].expired_ms, Some(100));
    }

    /// How many of a critical drift window's notifications are sent (not silenced), with
    /// `silences` added at 0 and the window at 100.
    fn sent(silences: &[Silence], expire: bool) -> i64 {
        let (_dir, mut st) = temp();
        for s in silences {
            let id = st.silence_add(s, "test", 0).unwrap();
            if expire {
                assert!(st.silence_expire(id, 50).unwrap());
            }
        }
        st.commit_window(&routing(), "files", &[], 0, Some(drifting()), 100).unwrap();
        assert_eq!(count(&st, "outbox"), 2, "silenced ones are recorded too");
        let pending = count(&st, "outbox WHERE status = 'pending'");
        assert_eq!(st.outbox_heads().unwrap().len() as i64, pending, "silenced ones are never delivered");
        pending
    }

    #[test]
    fn an_active_silence_records_the_drift_instead_of_sending_it() {
        assert_eq!(sent(&[], false), 2);
        assert_eq!(sent(&[silence(None, 1_000)], false), 0, "the whole monitor");
        assert_eq!(sent(&[silence(Some("x"), 1_000)], false), 0, "the drifted column");
        assert_eq!(sent(&[silence(Some("y"), 1_000)], false), 2, "another column");
        assert_eq!(sent(&[silence(None, 100)], false), 2, "ended");
        assert_eq!(sent(&[silence(None, 1_000)], true), 2, "expired by hand");
        let other = Silence { monitor: "n".into(), ..silence(None, 1_000) };
        assert_eq!(sent(&[other], false), 2, "another monitor");
    }

    #[test]
    fn a_silence_of_the_monitor_quiets_its_operational_alerts() {
        let (_dir, mut st) = temp();
        st.silence_add(&silence(None, 1_000), "maintenance", 0).unwrap();
        let stale = Operational::condition(SOURCE_STALE, Some("no new file"), 1);
        assert_eq!(st.observe_operational(&routing(), &stale, 100).unwrap(), 0, "silenced ones are not counted");
        assert_eq!(count(&st, "outbox WHERE status = 'silenced'"), 2);
    }
}
