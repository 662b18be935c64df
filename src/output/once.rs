//! What `drift run --once` prints per monitor: each window it closed (the report table, or why
//! it was not evaluated), else what it did with the files it found.

use super::report::{Format, render};
use crate::engine::Report;

/// One monitor's cycle, as `run --once` shows it.
pub struct OnceMonitor<'a> {
    /// Monitor id.
    pub id: &'a str,
    /// Its `min_rows`.
    pub min_rows: u64,
    /// Windows closed, oldest first: (id, report if evaluated).
    pub windows: &'a [(i64, Option<Report>)],
    /// Files consumed.
    pub consumed: usize,
    /// Files not settled yet.
    pub waiting: usize,
    /// Rows in open windows after the cycle.
    pub open_rows: u64,
    /// Files quarantined by this cycle.
    pub quarantined: usize,
    /// Rows whose event time was more than `max_future_secs` ahead of the clock.
    pub future_rows: u64,
}

/// The lines for one monitor.
pub fn once_monitor(m: &OnceMonitor) -> String {
    let id = m.id;
    let mut out = String::new();
    for (wid, report) in m.windows {
        match report {
            Some(r) => {
                out.push_str(&format!("{id}: window {wid}: {} files, {} rows:\n", r.current.files, r.current.rows));
                out.push_str(&render(r, Format::Table, false));
            }
            None => out.push_str(&format!(
                "{id}: window {wid}: fewer rows than min_rows ({}): insufficient, not evaluated\n",
                m.min_rows
            )),
        }
    }
    if m.future_rows > 0 {
        out.push_str(&format!(
            "{id}: {} rows more than max_future_secs ahead of the clock: counted as future, not evaluated\n",
            m.future_rows
        ));
    }
    if m.windows.is_empty() && m.consumed > 0 {
        out.push_str(&format!("{id}: {} files added to open windows ({} rows so far)\n", m.consumed, m.open_rows));
    } else if m.windows.is_empty() {
        out.push_str(&format!("{id}: no new settled files ({} waiting to settle)\n", m.waiting));
    }
    if m.quarantined > 0 {
        out.push_str(&format!(
            "{id}: {} file(s) quarantined after failed reads (see `drift quarantine list`)\n",
            m.quarantined
        ));
    }
    out
}
