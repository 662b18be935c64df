//! Error budgets: good and total events per minute of event time (`budget_minutes`), added in
//! the transaction that consumes the file they came from (so each file counts exactly once,
//! whatever crashes), summed over the burn-rate windows, and pruned past the budget's
//! retention when its alert is stepped.

use anyhow::Result;
use rusqlite::{OptionalExtension, Transaction, params};

use super::State;
use super::alerts::{alert_states, apply};
use super::silences::active_silences;
use crate::alerts::burn::{Burning, burn};
use crate::alerts::route::Routing;
use crate::engine::budget::{Counts, MinuteCount};

/// Adds a consumed file's events to their minutes, in its transaction.
pub(super) fn add_counts(tx: &Transaction, monitor: &str, counts: &[MinuteCount]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO budget_minutes (monitor, kind, minute_ms, good, total) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (monitor, kind, minute_ms) DO UPDATE SET good = good + ?4, total = total + ?5",
    )?;
    for c in counts {
        stmt.execute(params![monitor, c.kind, c.minute_ms, c.good as i64, c.total as i64])?;
    }
    Ok(())
}

impl State {
    /// The events of a monitor's budget `kind` in the minutes starting in `[from_ms, to_ms)`.
    pub fn budget_sum(&self, monitor: &str, kind: &str, from_ms: i64, to_ms: i64) -> Result<Counts> {
        let (good, total): (i64, i64) = self.conn.query_row(
            "SELECT COALESCE(SUM(good), 0), COALESCE(SUM(total), 0) FROM budget_minutes
             WHERE monitor = ?1 AND kind = ?2 AND minute_ms >= ?3 AND minute_ms < ?4",
            params![monitor, kind, from_ms, to_ms],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Counts { good: good as u64, total: total as u64 })
    }

    /// The latest minute with events of a monitor's budget `kind` (None also in a state the
    /// daemon has not brought to schema 4 yet, read by `drift history`).
    pub fn budget_latest(&self, monitor: &str, kind: &str) -> Result<Option<i64>> {
        let table: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'budget_minutes')",
            [],
            |r| r.get(0),
        )?;
        if !table {
            return Ok(None);
        }
        Ok(self
            .conn
            .query_row(
                "SELECT MAX(minute_ms) FROM budget_minutes WHERE monitor = ?1 AND kind = ?2",
                params![monitor, kind],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// In one transaction: steps a budget's burn-rate alert (queueing what it sends) and deletes
    /// its minutes before `keep_from_ms`. Returns how many notifications were queued (silenced
    /// ones not counted).
    pub fn observe_budget(&mut self, routing: &Routing, b: &Burning, keep_from_ms: i64, now_ms: i64) -> Result<usize> {
        let monitor = routing.monitor.as_str();
        let tx = self.conn.transaction()?;
        let prior = alert_states(&tx, monitor)?;
        let silences = active_silences(&tx, monitor, now_ms)?;
        let d = burn(routing, b, &prior, &silences, now_ms);
        apply(&tx, monitor, &d, now_ms)?;
        tx.execute(
            "DELETE FROM budget_minutes WHERE monitor = ?1 AND kind = ?2 AND minute_ms < ?3",
            params![monitor, b.kind, keep_from_ms],
        )?;
        tx.commit()?;
        Ok(d.outgoing.iter().filter(|o| !o.silenced).count())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{consumed, count, drifting, routing, temp};
    use super::*;
    use crate::engine::budget::{Budget, evaluate, workbook_rules};

    fn minutes(counts: &[(i64, u64, u64)]) -> Vec<MinuteCount> {
        counts
            .iter()
            .map(|&(m, good, total)| MinuteCount { kind: "latency".into(), minute_ms: m * 60_000, good, total })
            .collect()
    }

    /// A file's minutes are stored with its consumption, by either commit, added to what other
    /// files put in the same minutes; a commit that fails stores none of them.
    #[test]
    fn a_files_minutes_are_stored_with_its_consumption_and_only_then() {
        let (_dir, mut st) = temp();
        let mut a = consumed("a", 30);
        a.counts = minutes(&[(1, 9, 10), (2, 18, 20)]);
        st.add_parts("m", &a, &[], None, 1).unwrap();
        let mut b = consumed("b", 5);
        b.counts = minutes(&[(2, 5, 5)]);
        st.commit_window(&routing(), "files", &[b], 5, Some(drifting()), 2).unwrap();
        assert_eq!(st.budget_sum("m", "latency", 60_000, 180_000).unwrap(), Counts { good: 32, total: 35 });
        assert_eq!(st.budget_sum("m", "latency", 120_000, 180_000).unwrap(), Counts { good: 23, total: 25 });
        assert_eq!(st.budget_sum("other", "latency", 0, i64::MAX).unwrap(), Counts::default());
        assert_eq!(st.budget_latest("m", "latency").unwrap(), Some(120_000));

        // The consumption fails at its last step: neither the file nor its minutes are stored.
        st.conn
            .execute_batch("CREATE TEMP TRIGGER fail BEFORE INSERT ON files BEGIN SELECT RAISE(ABORT, 'no'); END")
            .unwrap();
        let mut c = consumed("c", 7);
        c.counts = minutes(&[(3, 0, 7)]);
        assert!(st.add_parts("m", &c, &[], None, 3).is_err());
        assert!(st.commit_window(&routing(), "files", &[c], 7, None, 3).is_err());
        st.conn.execute_batch("DROP TRIGGER fail").unwrap();
        assert_eq!(st.budget_latest("m", "latency").unwrap(), Some(120_000), "no minute of c's");
    }

    /// Stepping the alert prunes the minutes before the retention, in the same transaction.
    #[test]
    fn observing_a_budget_steps_its_alert_and_prunes_old_minutes() {
        let (_dir, mut st) = temp();
        let mut a = consumed("a", 30);
        a.counts = minutes(&[(1, 0, 10), (100, 0, 10), (200, 0, 10)]);
        st.add_parts("m", &a, &[], None, 1).unwrap();
        let b = Budget { target: 0.99, period_ms: 30 * 86_400_000, rules: workbook_rules() };
        let s = evaluate(&b, 201 * 60_000, &mut |f, t| st.budget_sum("m", "latency", f, t).unwrap());
        let burning = Burning { alertname: "LatencyBudgetBurn", kind: "latency", good: "ok", state: &s };
        let queued = st.observe_budget(&routing(), &burning, 100 * 60_000, 5).unwrap();
        assert_eq!(queued, 3, "every request bad: the page to slack and pager, the ticket to slack");
        assert_eq!(st.budget_sum("m", "latency", 0, i64::MAX).unwrap().total, 20, "minute 1 pruned");
        assert_eq!(count(&st, "alert_state WHERE key LIKE 'budget:%'"), 2, "page and ticket");
        assert_eq!(st.firing("m").unwrap().len(), 2, "a 100% bad hour also burns 3 days' budget");
        // Page and ticket decided in the same cycle are two messages for receivers: one key
        // each (the page's shared by its two sinks), none of a window.
        let rows = st.notifications(Some("m"), None, 10).unwrap();
        let mut keys: Vec<&str> = rows.iter().map(|r| r.idempotency_key.as_str()).collect();
        keys.dedup();
        assert_eq!(keys.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|r| r.window_id.is_none() && r.alertname == "LatencyBudgetBurn"));
    }
}
