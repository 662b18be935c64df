//! The event clock of a monitor with event-time windows: the latest event time seen, the point
//! before which rows are late, and the late rows counted.

use anyhow::Result;
use rusqlite::OptionalExtension;

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
