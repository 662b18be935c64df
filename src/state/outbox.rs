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
    /// Sink.
    pub sink: String,
    /// Monitor.
    pub monitor: String,
    /// Alert name.
    pub alertname: String,
    /// Causing window.
    pub window_id: Option<i64>,
    /// Resolved message.
    pub resolved: bool,
    /// The key sent as `Idempotency-Key`.
    pub idempotency_key: String,
    /// pending, delivered, dead or silenced.
    pub status: String,
    /// Attempts.
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
