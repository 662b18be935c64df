//! Helpers for the state's unit tests: a state in a temporary directory, row counts, a routing
//! with sinks, reports and a consumed file.

use std::sync::OnceLock;

use tempfile::TempDir;

use super::{Consumed, State};
use crate::alerts::lifecycle::Timing;
use crate::alerts::route::Routing;
use crate::engine::Report;

/// A fresh state (opened with its lock) in a temporary directory, kept as long as the guard.
pub(super) fn temp() -> (TempDir, State) {
    let dir = tempfile::tempdir().unwrap();
    let st = State::open(dir.path()).unwrap();
    (dir, st)
}

/// `SELECT COUNT(*) FROM {from}`, e.g. `count(&st, "outbox WHERE status = 'pending'")`.
pub(super) fn count(st: &State, from: &str) -> i64 {
    st.conn.query_row(&format!("SELECT COUNT(*) FROM {from}"), [], |r| r.get(0)).unwrap()
}

/// Monitor `m`: warnings to `slack`, critical drift to `slack` and `pager`, operational alerts
/// to both; an alert fires at the first drifted window and resolves at the first clean one.
pub(super) fn routing() -> Routing {
    Routing {
        monitor: "m".into(),
        timing: Timing { fire_after: 1, resolve_after: 1, group_interval_ms: 0, ..Timing::default() },
        warning: vec!["slack".into()],
        critical: vec!["slack".into(), "pager".into()],
        operational: vec!["slack".into(), "pager".into()],
        ..Routing::default()
    }
}

/// A report with critical drift in column `x` (computed once).
pub(super) fn drifting() -> &'static Report {
    static R: OnceLock<Report> = OnceLock::new();
    R.get_or_init(|| crate::alerts::testing::shifted_report(0.5))
}

/// A consumed file of `rows` rows.
pub(super) fn consumed(path: &str, rows: u64) -> Consumed {
    Consumed { path: path.into(), size: 100, mtime_ms: 1, rows, counts: Vec::new(), model: Vec::new() }
}

/// A report without drift (computed once).
pub(super) fn clean() -> &'static Report {
    static R: OnceLock<Report> = OnceLock::new();
    R.get_or_init(|| crate::alerts::testing::shifted_report(0.0))
}
