//! Alert state: each alert's streaks and what is firing, stepped by closed windows and
//! operational observations in the transaction that records them.

use std::collections::BTreeMap;

use anyhow::Result;
use rusqlite::params;

use super::State;
use super::outbox::enqueue;
use super::silences::active_silences;
use crate::alerts::lifecycle::AlertState;
use crate::alerts::route::{self, Decision, Operational, Routing};
use crate::engine::Report;

/// The monitor's stored alert states, by key. An unreadable one is logged and left out (the
/// alert starts over, and the next change overwrites it) rather than stopping evaluations.
pub(super) fn alert_states(tx: &rusqlite::Transaction, monitor: &str) -> Result<BTreeMap<String, AlertState>> {
    let mut stmt = tx.prepare_cached("SELECT key, state FROM alert_state WHERE monitor = ?1")?;
    let rows = stmt.query_map([monitor], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (key, json) = row?;
        match serde_json::from_str(&json) {
            Ok(state) => {
                out.insert(key, state);
            }
            Err(e) => tracing::error!(monitor, key, error = %e, "alert state unreadable; the alert starts over"),
        }
    }
    Ok(out)
}

/// Stores a routing decision: the alert states and the outbox rows.
pub(super) fn apply(tx: &rusqlite::Transaction, monitor: &str, d: &Decision, now_ms: i64) -> Result<()> {
    for (key, state) in &d.states {
        tx.execute(
            "INSERT INTO alert_state (monitor, key, state, updated_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (monitor, key) DO UPDATE SET state = ?3, updated_ms = ?4",
            params![monitor, key, serde_json::to_string(state)?, now_ms],
        )?;
    }
    enqueue(tx, &d.outgoing, now_ms)
}

/// Steps a monitor's drift alerts for a closed window, in the window's transaction.
pub(super) fn alert_window(
    tx: &rusqlite::Transaction,
    routing: &Routing,
    window_id: i64,
    report: Option<&Report>,
    now_ms: i64,
) -> Result<()> {
    let prior = alert_states(tx, &routing.monitor)?;
    let silences = active_silences(tx, &routing.monitor, now_ms)?;
    let d = route::window(routing, window_id, report, &prior, &silences, now_ms);
    apply(tx, &routing.monitor, &d, now_ms)
}

/// Steps an operational alert in a transaction and queues what it sends; with `only_if_known`,
/// nothing happens for an alert that has no state yet (a delivery that succeeds does not create
/// a row per sink and monitor). Returns how many notifications were queued (not silenced).
pub(super) fn step_operational(
    tx: &rusqlite::Transaction,
    routing: &Routing,
    op: &Operational,
    only_if_known: bool,
    now_ms: i64,
) -> Result<usize> {
    let prior = alert_states(tx, &routing.monitor)?.remove(&op.key);
    if only_if_known && prior.is_none() {
        return Ok(0);
    }
    let silences = active_silences(tx, &routing.monitor, now_ms)?;
    let d = route::operational(routing, op, prior.as_ref(), &silences, now_ms);
    apply(tx, &routing.monitor, &d, now_ms)?;
    Ok(d.outgoing.iter().filter(|o| !o.silenced).count())
}

impl State {
    /// Steps an operational alert and queues what it sends, in one transaction. Returns how
    /// many notifications were queued (silenced ones not counted).
    pub fn observe_operational(&mut self, routing: &Routing, op: &Operational, now_ms: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let queued = step_operational(&tx, routing, op, false, now_ms)?;
        tx.commit()?;
        Ok(queued)
    }

    /// The alerts of a monitor that are firing now, by key (segment label, or `op:NAME`).
    pub fn firing(&mut self, monitor: &str) -> Result<Vec<(String, crate::alerts::lifecycle::Firing)>> {
        let tx = self.conn.transaction()?;
        let states = alert_states(&tx, monitor)?;
        Ok(states.into_iter().filter_map(|(k, s)| s.firing.map(|f| (k, f))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{clean, count, drifting, routing, temp};
    use super::*;
    use crate::alerts::payload::MONITOR_FAILING;
    use crate::engine::Severity;

    /// Commits a window; returns (alertname, resolved) of what it queued.
    fn window(st: &mut State, report: Option<&Report>, now_ms: i64) -> Vec<(String, bool)> {
        let before = count(st, "outbox");
        st.commit_window(&routing(), "files", &[], 0, report, now_ms).unwrap();
        let all = st.notifications(None, None, 100).unwrap();
        all.into_iter().take((count(st, "outbox") - before) as usize).map(|r| (r.alertname, r.resolved)).collect()
    }

    #[test]
    fn drift_fires_once_holds_through_insufficient_windows_and_resolves_when_clean() {
        let (_dir, mut st) = temp();
        assert_eq!(window(&mut st, Some(drifting()), 10).len(), 2, "slack and pager");
        let firing = st.firing("m").unwrap();
        assert_eq!(firing.len(), 1);
        let (key, f) = &firing[0];
        assert_eq!((key.as_str(), f.severity, f.since_ms), ("", Severity::Critical, 10));
        assert!(f.columns.contains("x"));
        assert_eq!(window(&mut st, Some(drifting()), 20), [], "no re-page while it holds");
        assert_eq!(window(&mut st, None, 30), [], "an insufficient window says nothing");
        assert_eq!(st.firing("m").unwrap().len(), 1);
        let resolved = window(&mut st, Some(clean()), 40);
        assert_eq!(resolved, [("DataDrift".to_owned(), true), ("DataDrift".to_owned(), true)]);
        assert_eq!(st.firing("m").unwrap(), []);
        assert_eq!(st.firing("other").unwrap(), []);
    }

    #[test]
    fn an_unreadable_alert_state_starts_over_instead_of_failing_the_window() {
        let (_dir, mut st) = temp();
        window(&mut st, Some(drifting()), 10);
        st.conn.execute("UPDATE alert_state SET state = 'not json'", []).unwrap();
        assert_eq!(st.firing("m").unwrap(), [], "left out when unreadable");
        assert_eq!(window(&mut st, Some(drifting()), 20).len(), 2, "fires again from scratch");
        assert_eq!(st.firing("m").unwrap()[0].1.since_ms, 20, "and the state is readable again");
    }

    #[test]
    fn an_operational_alert_counts_its_streak_across_opens_and_resolves() {
        let dir = tempfile::tempdir().unwrap();
        let failing = Operational::condition(MONITOR_FAILING, Some("cycle failed"), 2);
        let r = routing();
        assert_eq!(State::open(dir.path()).unwrap().observe_operational(&r, &failing, 10).unwrap(), 0);
        let mut st = State::open(dir.path()).unwrap();
        assert_eq!(
            st.observe_operational(&r, &failing, 20).unwrap(),
            2,
            "the second failure in a row, after a restart"
        );
        assert_eq!(st.firing("m").unwrap()[0].0, format!("op:{MONITOR_FAILING}"));
        assert_eq!(st.observe_operational(&r, &failing, 30).unwrap(), 0, "no re-page while it holds");
        let fixed = Operational::condition(MONITOR_FAILING, None, 2);
        assert_eq!(st.observe_operational(&r, &fixed, 40).unwrap(), 2, "resolved on both sinks");
        assert_eq!(st.firing("m").unwrap(), []);
    }
}
