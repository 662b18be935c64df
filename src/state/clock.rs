//! The event clock of a monitor with event-time windows: the latest event time seen, the point
//! before which rows are late, and the late rows counted.

use anyhow::Result;
use rusqlite::{OptionalExtension, Transaction, params};

use super::State;

/// The event clock of a monitor with event-time windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    /// The latest event time seen.
    pub max_event_ms: Option<i64>,
    /// Rows before this are late (their window closed).
    pub closed_until_ms: Option<i64>,
    /// Wall clock of the last rows seen.
    pub last_data_ms: Option<i64>,
    /// Late rows counted so far.
    pub late_rows: u64,
}

/// How a consumed file moves the event clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockUpdate {
    /// The latest event time in the file (`None`: no timestamped row).
    pub max_event_ms: Option<i64>,
    /// Rows that arrived after their window closed, or without a timestamp.
    pub late_rows: u64,
}

impl State {
    /// The event clock of a monitor with event-time windows.
    pub fn clock(&self, monitor: &str) -> Result<Clock> {
        Ok(self
            .conn
            .query_row(
                "SELECT max_event_ms, closed_until_ms, last_data_ms, late_rows FROM event_clock WHERE monitor = ?1",
                [monitor],
                |r| {
                    Ok(Clock {
                        max_event_ms: r.get(0)?,
                        closed_until_ms: r.get(1)?,
                        last_data_ms: Some(r.get(2)?),
                        late_rows: r.get::<_, i64>(3)? as u64,
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
    }
}

/// Moves the clock for a consumed file, in its transaction: the latest event time only forward,
/// the wall clock of the last data only when the file had timestamped rows, late rows added.
pub(super) fn advance(tx: &Transaction, monitor: &str, c: ClockUpdate, now_ms: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO event_clock (monitor, max_event_ms, last_data_ms, late_rows) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (monitor) DO UPDATE SET
             max_event_ms = MAX(COALESCE(max_event_ms, ?2), COALESCE(?2, max_event_ms)),
             last_data_ms = CASE WHEN ?2 IS NULL THEN last_data_ms ELSE ?3 END,
             late_rows = late_rows + ?4",
        params![monitor, c.max_event_ms, now_ms, c.late_rows as i64],
    )?;
    Ok(())
}

/// Rows before `end_ms` are late from now on (a window ending there closed), in the closing
/// transaction; the point only moves forward.
pub(super) fn close_until(tx: &Transaction, monitor: &str, end_ms: i64, now_ms: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO event_clock (monitor, closed_until_ms, last_data_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (monitor) DO UPDATE SET closed_until_ms = MAX(COALESCE(closed_until_ms, ?2), ?2)",
        params![monitor, end_ms, now_ms],
    )?;
    Ok(())
}
