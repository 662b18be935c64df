//! The event clock of a monitor with event-time windows: the latest event time seen, the point
//! before which rows are late, and the late rows counted; and the rows no window evaluates
//! (late, future), charged to the window their file gave its latest rows to for its report.

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
    /// Rows too far ahead of the daemon's clock (`max_future_secs`): not evaluated, not
    /// moving the clock, only charged to a window's report.
    pub future_rows: u64,
}

/// Rows of a window's files that it did not evaluate, for its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dropped {
    /// Late rows (their window had closed, or no timestamp).
    pub late_rows: u64,
    /// Future rows (more than `max_future_secs` ahead of the clock).
    pub future_rows: u64,
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

    /// The rows not evaluated that the window `key` of `monitor` will report when it closes:
    /// those charged to it and those charged to no window (its file gave rows to none).
    pub fn dropped(&self, monitor: &str, key: i64) -> Result<Dropped> {
        let (late, future): (i64, i64) = self.conn.query_row(
            "SELECT COALESCE(SUM(late_rows), 0), COALESCE(SUM(future_rows), 0) FROM window_dropped
             WHERE monitor = ?1 AND (window_key = ?2 OR window_key IS NULL)",
            params![monitor, key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Dropped { late_rows: late as u64, future_rows: future as u64 })
    }
}

/// Charges a consumed file's late and future rows, in its transaction, to `key`: the window it
/// gave its latest rows to, or `None` (it gave rows to none) for the monitor's next window.
pub(super) fn charge(tx: &Transaction, monitor: &str, file: &str, key: Option<i64>, c: ClockUpdate) -> Result<()> {
    if c.late_rows > 0 || c.future_rows > 0 {
        tx.execute(
            "INSERT INTO window_dropped (monitor, window_key, file, late_rows, future_rows) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![monitor, key, file, c.late_rows as i64, c.future_rows as i64],
        )?;
    }
    Ok(())
}

/// Forgets what [`State::dropped`] read for window `key`, in its closing transaction (the
/// monitor's files are not consumed while it closes a window, so nothing was added since).
pub(super) fn reported(tx: &Transaction, monitor: &str, key: i64) -> Result<()> {
    tx.execute(
        "DELETE FROM window_dropped WHERE monitor = ?1 AND (window_key = ?2 OR window_key IS NULL)",
        params![monitor, key],
    )?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::super::testing::{consumed, routing, temp};
    use super::super::{Closing, State};
    use super::*;

    /// Consumes file `path` with this clock progress.
    fn rows(st: &mut State, path: &str, max_event_ms: Option<i64>, late_rows: u64, now_ms: i64) {
        let clock = ClockUpdate { max_event_ms, late_rows, future_rows: 0 };
        st.add_parts("m", &consumed(path, 1), &[], Some(clock), now_ms).unwrap();
    }

    fn close(st: &mut State, span: (i64, i64), now_ms: i64) {
        let closing = Closing { kind: "time", key: span.0, last_seq: 0, files: 0, rows: 0, span: Some(span) };
        st.close_window(&routing(), &closing, None, now_ms).unwrap();
    }

    #[test]
    fn the_clock_moves_forward_only_and_counts_late_rows() {
        let (_dir, mut st) = temp();
        st.add_parts("m", &consumed("rows-window", 1), &[], None, 50).unwrap();
        assert_eq!(st.clock("m").unwrap(), Clock::default(), "row windows have no clock");

        rows(&mut st, "a", Some(5_000), 0, 100);
        let at = |max, closed, data, late| Clock {
            max_event_ms: max,
            closed_until_ms: closed,
            last_data_ms: data,
            late_rows: late,
        };
        assert_eq!(st.clock("m").unwrap(), at(Some(5_000), None, Some(100), 0));
        rows(&mut st, "b", Some(3_000), 2, 200);
        assert_eq!(st.clock("m").unwrap(), at(Some(5_000), None, Some(200), 2), "older events do not move it back");
        rows(&mut st, "c", None, 4, 300);
        assert_eq!(st.clock("m").unwrap(), at(Some(5_000), None, Some(200), 6), "no timestamped row: no new data");

        close(&mut st, (0, 4_000), 400);
        assert_eq!(st.clock("m").unwrap().closed_until_ms, Some(4_000));
        close(&mut st, (0, 2_000), 500);
        assert_eq!(st.clock("m").unwrap().closed_until_ms, Some(4_000), "the late point does not move back");
        assert_eq!(st.history("m", 1).unwrap()[0].span, Some((0, 2_000)), "the window keeps its span");
        assert_eq!(st.clock("n").unwrap(), Clock::default(), "per monitor");
    }

    #[test]
    fn a_window_closed_before_any_data_starts_the_clock() {
        let (_dir, mut st) = temp();
        close(&mut st, (0, 1_000), 700);
        assert_eq!(
            st.clock("m").unwrap(),
            Clock { max_event_ms: None, closed_until_ms: Some(1_000), last_data_ms: Some(700), late_rows: 0 }
        );
    }
}
