//! The outbox: notifications queued with what caused them, delivered in order per sink by
//! the daemon's worker, retried, dead-lettered and queued again by hand.

use anyhow::Result;
use rusqlite::params;

use super::State;
use super::alerts::step_operational;
use crate::alerts::payload::Notification;
use crate::alerts::route::{Operational, Outgoing, Routing};

/// A notification waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Outbox row id (delivery order within a sink).
    pub id: i64,
    /// Sink name.
    pub sink: String,
    /// What to send.
    pub notification: Notification,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_ms: i64,
    /// Not before this.
    pub next_attempt_ms: i64,
}

/// One sink's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    /// Sink name.
    pub sink: String,
    /// Pending notifications.
    pub depth: u64,
    /// When the oldest was queued.
    pub oldest_ms: i64,
}

/// A notification as `drift alert list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Outbox id.
    pub id: i64,
    /// The sink it goes to (a name from `[sinks]`).
    pub sink: String,
    /// The monitor it is about.
    pub monitor: String,
    /// `DataDrift` or an operational alert's name.
    pub alertname: String,
    /// Causing window.
    pub window_id: Option<i64>,
    /// Resolved message.
    pub resolved: bool,
    /// The key sent as `Idempotency-Key`.
    pub idempotency_key: String,
    /// pending, delivered, dead or silenced.
    pub status: String,
    /// Delivery attempts so far (0 while it waits for its first).
    pub attempts: u32,
    /// Queued at.
    pub created_ms: i64,
    /// Last change.
    pub updated_ms: i64,
    /// Last error (redacted).
    pub last_error: Option<String>,
}

/// Queues notifications in the outbox (silenced ones are recorded as such).
pub(super) fn enqueue(tx: &rusqlite::Transaction, outgoing: &[Outgoing], now_ms: i64) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO outbox (sink, monitor, alertname, window_id, resolved, idempotency_key, notification, status,
             created_ms, next_attempt_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9)",
    )?;
    for o in outgoing {
        let n = &o.notification;
        stmt.execute(params![
            o.sink,
            n.monitor,
            n.alertname,
            (n.window > 0).then_some(n.window),
            n.resolved,
            n.idempotency_key(),
            serde_json::to_string(n)?,
            if o.silenced { "silenced" } else { "pending" },
            now_ms
        ])?;
    }
    Ok(())
}

impl State {
    /// The oldest pending notification of every sink: each sink delivers in order.
    pub fn outbox_heads(&self) -> Result<Vec<Pending>> {
        loop {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, sink, notification, attempts, created_ms, next_attempt_ms FROM outbox
                 WHERE id IN (SELECT MIN(id) FROM outbox WHERE status = 'pending' GROUP BY sink) ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            let mut unreadable = Vec::new();
            for row in rows {
                let (id, sink, json, attempts, created_ms, next_attempt_ms) = row?;
                match serde_json::from_str(&json) {
                    Ok(notification) => out.push(Pending {
                        id,
                        sink,
                        notification,
                        attempts: attempts as u32,
                        created_ms,
                        next_attempt_ms,
                    }),
                    Err(e) => unreadable.push((id, format!("the stored notification is unreadable: {e}"))),
                }
            }
            if unreadable.is_empty() {
                return Ok(out);
            }
            // One damaged row must not stop a sink's queue: it is dead-lettered and the sink's
            // next notification becomes its head.
            for (id, error) in unreadable {
                tracing::error!(id, error = %error, "notification dead-lettered");
                self.conn
                    .execute("UPDATE outbox SET status = 'dead', last_error = ?2 WHERE id = ?1", params![id, error])?;
            }
        }
    }

    /// Marks a notification delivered; with `recovered` (the monitor's routing and the sink),
    /// resolves, in the same transaction, a firing lost-notification alert of that sink.
    pub fn outbox_delivered(&mut self, id: i64, recovered: Option<(&Routing, &str)>, now_ms: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, updated_ms = ?2, last_error = NULL
             WHERE id = ?1",
            params![id, now_ms],
        )?;
        if let Some((routing, sink)) = recovered {
            step_operational(&tx, routing, &Operational::delivery(sink, None), true, now_ms)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub fn outbox_retry(&mut self, id: i64, next_ms: i64, error: &str, now_ms: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, updated_ms = ?3, last_error = ?4
             WHERE id = ?1",
            params![id, next_ms, now_ms, error],
        )?;
        Ok(())
    }

    /// Dead-letters a notification and, in the same transaction, steps the lost-notification
    /// alert of its monitor and sink (`lost`: the routing and what to say), queueing what that
    /// sends to the monitor's other operational sinks.
    pub fn outbox_dead(
        &mut self,
        id: i64,
        error: &str,
        lost: Option<(&Routing, &str, &str)>,
        now_ms: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE outbox SET status = 'dead', attempts = attempts + 1, updated_ms = ?2, last_error = ?3
             WHERE id = ?1",
            params![id, now_ms, error],
        )?;
        if let Some((routing, sink, what)) = lost {
            step_operational(&tx, routing, &Operational::delivery(sink, Some(what)), false, now_ms)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Pending notifications per sink.
    pub fn outbox_stats(&self) -> Result<Vec<QueueStats>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sink, COUNT(*), MIN(created_ms) FROM outbox WHERE status = 'pending' GROUP BY sink ORDER BY sink",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(QueueStats { sink: r.get(0)?, depth: r.get::<_, i64>(1)? as u64, oldest_ms: r.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The latest `limit` notifications, newest first (optionally of one monitor, in one
    /// status).
    pub fn notifications(&self, monitor: Option<&str>, status: Option<&str>, limit: usize) -> Result<Vec<OutboxRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, sink, monitor, alertname, window_id, resolved, status, attempts, created_ms, updated_ms,
                 last_error, idempotency_key
             FROM outbox WHERE (?1 IS NULL OR monitor = ?1) AND (?3 IS NULL OR status = ?3) ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![monitor, limit as i64, status], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                sink: r.get(1)?,
                monitor: r.get(2)?,
                alertname: r.get(3)?,
                window_id: r.get(4)?,
                resolved: r.get(5)?,
                status: r.get(6)?,
                attempts: r.get::<_, i64>(7)? as u32,
                created_ms: r.get(8)?,
                updated_ms: r.get(9)?,
                last_error: r.get(10)?,
                idempotency_key: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Queues dead-lettered notifications again (by id, or every one of `sink`): pending, due
    /// now, attempts and age counted afresh. They keep their ids, so each sink still receives
    /// in the original order. Returns how many.
    pub fn outbox_requeue(&mut self, ids: &[i64], sink: Option<&str>, now_ms: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        let requeue = "UPDATE outbox SET status = 'pending', attempts = 0, created_ms = ?2, next_attempt_ms = ?2,
                 updated_ms = ?2";
        if let Some(sink) = sink {
            n += tx.execute(&format!("{requeue} WHERE status = 'dead' AND sink = ?1"), params![sink, now_ms])?;
        }
        for id in ids {
            n += tx.execute(&format!("{requeue} WHERE status = 'dead' AND id = ?1"), params![id, now_ms])?;
        }
        tx.commit()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{count, drifting, routing, temp};
    use super::*;
    use crate::alerts::payload::{DATA_DRIFT, MONITOR_FAILING, NOTIFICATION_LOST, SOURCE_STALE};

    /// Queues a critical drift window's notifications (one per sink: slack, pager).
    fn drift(st: &mut State, now_ms: i64) {
        st.commit_window(&routing(), "files", &[], 0, Some(drifting()), now_ms).unwrap();
    }

    /// Fires operational alert `name` (one notification per sink).
    fn condition(st: &mut State, name: &str, now_ms: i64) {
        let op = Operational::condition(name, Some("something is wrong"), 1);
        assert_eq!(st.observe_operational(&routing(), &op, now_ms).unwrap(), 2);
    }

    /// Outbox ids of a sink, oldest first.
    fn ids(st: &State, sink: &str) -> Vec<i64> {
        let mut all: Vec<i64> =
            st.notifications(None, None, 100).unwrap().into_iter().filter(|r| r.sink == sink).map(|r| r.id).collect();
        all.reverse();
        all
    }

    fn heads(st: &State) -> Vec<(i64, String)> {
        st.outbox_heads().unwrap().into_iter().map(|p| (p.id, p.sink)).collect()
    }

    /// The head of one sink's queue.
    fn head(st: &State, sink: &str) -> Pending {
        st.outbox_heads().unwrap().into_iter().find(|p| p.sink == sink).unwrap()
    }

    fn row(st: &State, id: i64) -> OutboxRow {
        st.notifications(None, None, 100).unwrap().into_iter().find(|r| r.id == id).unwrap()
    }

    #[test]
    fn each_sink_delivers_in_order_and_a_retry_keeps_its_place() {
        let (_dir, mut st) = temp();
        drift(&mut st, 10);
        condition(&mut st, SOURCE_STALE, 20);
        let (slack, pager) = (ids(&st, "slack"), ids(&st, "pager"));
        assert_eq!((slack.len(), pager.len()), (2, 2));
        assert_eq!(heads(&st), [(slack[0], "slack".into()), (pager[0], "pager".into())]);
        let head = &st.outbox_heads().unwrap()[0];
        assert_eq!(head.notification.alertname, DATA_DRIFT);
        assert_eq!((head.attempts, head.created_ms, head.next_attempt_ms), (0, 10, 10));
        let stats = st.outbox_stats().unwrap();
        assert_eq!(
            stats,
            [
                QueueStats { sink: "pager".into(), depth: 2, oldest_ms: 10 },
                QueueStats { sink: "slack".into(), depth: 2, oldest_ms: 10 }
            ]
        );

        st.outbox_retry(slack[0], 100, "HTTP 503", 30).unwrap();
        let head = &st.outbox_heads().unwrap()[0];
        assert_eq!((head.id, head.attempts, head.next_attempt_ms), (slack[0], 1, 100), "a retry stays the head");
        assert_eq!(row(&st, slack[0]).last_error.as_deref(), Some("HTTP 503"));

        st.outbox_delivered(slack[0], None, 40).unwrap();
        let done = row(&st, slack[0]);
        assert_eq!((done.status.as_str(), done.attempts, done.last_error, done.updated_ms), ("delivered", 2, None, 40));
        assert_eq!(heads(&st), [(pager[0], "pager".into()), (slack[1], "slack".into())], "slack's next");
        assert_eq!(st.outbox_stats().unwrap()[1], QueueStats { sink: "slack".into(), depth: 1, oldest_ms: 20 });
    }

    #[test]
    fn a_dead_letter_pages_the_other_sinks_once_and_a_delivery_on_its_sink_resolves_it() {
        let (_dir, mut st) = temp();
        let r = routing();
        drift(&mut st, 10);
        condition(&mut st, SOURCE_STALE, 20);
        let (slack, pager) = (ids(&st, "slack"), ids(&st, "pager"));
        st.outbox_dead(slack[0], "HTTP 400: invalid_payload", Some((&r, "slack", "slack refused it")), 30).unwrap();
        let dead = row(&st, slack[0]);
        assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 1));
        let lost = ids(&st, "pager").into_iter().filter(|id| !pager.contains(id)).collect::<Vec<_>>();
        assert_eq!(lost.len(), 1, "the other sink is told");
        assert_eq!(row(&st, lost[0]).alertname, NOTIFICATION_LOST);
        assert_eq!(ids(&st, "slack").len(), 2, "not the sink that failed");
        let key = format!("op:{NOTIFICATION_LOST}:slack");
        assert!(st.firing("m").unwrap().iter().any(|(k, _)| *k == key));

        st.outbox_dead(slack[1], "HTTP 400", Some((&r, "slack", "again")), 40).unwrap();
        assert_eq!(ids(&st, "pager").len(), 3, "a second loss on the same sink does not page again");

        st.outbox_delivered(pager[0], Some((&r, "pager")), 50).unwrap();
        assert_eq!(count(&st, "alert_state WHERE key LIKE '%:pager'"), 0, "no alert state for a sink that never lost");
        condition(&mut st, MONITOR_FAILING, 60);
        let next = *ids(&st, "slack").last().unwrap();
        st.outbox_delivered(next, Some((&r, "slack")), 70).unwrap();
        assert!(!st.firing("m").unwrap().iter().any(|(k, _)| *k == key), "slack delivers again: resolved");
        let resolved = row(&st, *ids(&st, "pager").last().unwrap());
        assert_eq!((resolved.alertname.as_str(), resolved.resolved), (NOTIFICATION_LOST, true));
    }

    #[test]
    fn a_dead_letter_and_its_lost_alert_commit_together() {
        let (_dir, mut st) = temp();
        drift(&mut st, 10);
        let slack = ids(&st, "slack");
        st.conn
            .execute_batch("CREATE TEMP TRIGGER fail BEFORE INSERT ON alert_state BEGIN SELECT RAISE(ABORT, 'no'); END")
            .unwrap();
        assert!(st.outbox_dead(slack[0], "HTTP 400", Some((&routing(), "slack", "refused")), 30).is_err());
        st.conn.execute_batch("DROP TRIGGER fail").unwrap();
        assert_eq!(row(&st, slack[0]).status, "pending", "not dead-lettered without its alert");
        assert_eq!(count(&st, "outbox"), 2, "nothing queued");
    }

    #[test]
    fn dead_letters_queued_again_keep_their_ids_and_so_their_order() {
        let (_dir, mut st) = temp();
        drift(&mut st, 10);
        condition(&mut st, SOURCE_STALE, 20);
        condition(&mut st, MONITOR_FAILING, 30);
        let (slack, pager) = (ids(&st, "slack"), ids(&st, "pager"));
        st.outbox_dead(slack[0], "HTTP 404", None, 40).unwrap();
        st.outbox_dead(slack[1], "HTTP 404", None, 41).unwrap();
        st.outbox_dead(pager[0], "HTTP 404", None, 42).unwrap();
        assert_eq!(head(&st, "slack").id, slack[2]);

        assert_eq!(st.outbox_requeue(&[], Some("slack"), 50).unwrap(), 2);
        let again = head(&st, "slack");
        assert_eq!(again.id, slack[0], "the oldest is the head again");
        assert_eq!((again.attempts, again.created_ms, again.next_attempt_ms), (0, 50, 50), "counted afresh");
        assert_eq!(ids(&st, "slack"), slack, "no new rows");
        assert_eq!(st.outbox_requeue(&[], Some("slack"), 51).unwrap(), 0, "none left dead");

        assert_eq!(st.outbox_requeue(&[pager[1]], None, 52).unwrap(), 0, "a pending one is not a dead letter");
        assert_eq!(st.outbox_requeue(&[pager[0], 999], None, 53).unwrap(), 1);
        assert_eq!(head(&st, "pager").id, pager[0]);
    }

    #[test]
    fn a_damaged_notification_is_dead_lettered_and_its_sink_goes_on() {
        let (_dir, mut st) = temp();
        drift(&mut st, 10);
        condition(&mut st, SOURCE_STALE, 20);
        let slack = ids(&st, "slack");
        st.conn.execute("UPDATE outbox SET notification = '{' WHERE id = ?1", [slack[0]]).unwrap();
        assert!(heads(&st).contains(&(slack[1], "slack".into())));
        let damaged = row(&st, slack[0]);
        assert_eq!(damaged.status, "dead");
        assert!(damaged.last_error.unwrap().contains("unreadable"));
    }

    #[test]
    fn notifications_are_listed_newest_first_by_monitor_and_status() {
        let (_dir, mut st) = temp();
        drift(&mut st, 10);
        let other = Routing { monitor: "n".into(), ..routing() };
        let op = Operational::condition(SOURCE_STALE, Some("stale"), 1);
        st.observe_operational(&other, &op, 20).unwrap();
        let all = st.notifications(None, None, 10).unwrap();
        assert_eq!(all.len(), 4);
        assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        assert_eq!(st.notifications(None, None, 1).unwrap()[0].id, all[0].id);
        let m = st.notifications(Some("m"), None, 10).unwrap();
        assert!(m.len() == 2 && m.iter().all(|r| r.monitor == "m" && r.alertname == DATA_DRIFT));
        assert!(m.iter().all(|r| r.window_id.is_some() && !r.idempotency_key.is_empty()));
        st.outbox_dead(m[0].id, "HTTP 410", None, 30).unwrap();
        let dead = st.notifications(None, Some("dead"), 10).unwrap();
        assert_eq!(dead.iter().map(|r| r.id).collect::<Vec<_>>(), [m[0].id]);
        assert_eq!(st.notifications(Some("n"), Some("dead"), 10).unwrap(), []);
    }
}
