//! Helpers for the state's unit tests: a state in a temporary directory, row counts, a routing
//! with sinks and a consumed file.

use tempfile::TempDir;

use super::{Consumed, State};
use crate::alerts::route::Routing;

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
/// to both.
pub(super) fn routing() -> Routing {
    Routing {
        monitor: "m".into(),
        warning: vec!["slack".into()],
        critical: vec!["slack".into(), "pager".into()],
        operational: vec!["slack".into(), "pager".into()],
        ..Routing::default()
    }
}

/// A consumed file of `rows` rows.
pub(super) fn consumed(path: &str, rows: u64) -> Consumed {
    Consumed { path: path.into(), size: 100, mtime_ms: 1, rows }
}
