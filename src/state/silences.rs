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
