//! `drift alert list`, and the lines `drift alert test` and `drift alert retry` print.

use std::fmt::Write as _;

use crate::clock::rfc3339_ms;

/// A notification of the outbox as `drift alert list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationLine<'a> {
    /// Outbox id (for `drift alert retry`).
    pub id: i64,
    /// When it was queued, ms since the epoch.
    pub created_ms: i64,
    /// The sink it goes to.
    pub sink: &'a str,
    /// The monitor it is about.
    pub monitor: &'a str,
    /// `DataDrift`, or an operational alert's name.
    pub alertname: &'a str,
    /// The window that caused it, if one did.
    pub window_id: Option<i64>,
    /// A resolved message (rather than a firing one).
    pub resolved: bool,
    /// `pending`, `delivered`, `dead` or `silenced`.
    pub status: &'a str,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The last delivery error (redacted).
    pub last_error: Option<&'a str>,
}

/// `drift alert list`: one line per notification, in the order given (newest first); `status`
/// is the `--status` filter, which the empty list names.
pub fn notification_list(rows: &[NotificationLine], status: Option<&str>) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        let _ = writeln!(out, "no notifications{}", status.map_or(" yet".to_owned(), |s| format!(" {s}")));
    }
    for r in rows {
        let _ = writeln!(
            out,
            "{:>5}  {}  {:<10} {:<14} {:<30} {:<8} {:<9} attempts {}{}",
            r.id,
            rfc3339_ms(r.created_ms),
            r.sink,
            r.monitor,
            format!("{}{}", r.alertname, r.window_id.map_or(String::new(), |w| format!(" window {w}"))),
            if r.resolved { "resolved" } else { "firing" },
            r.status,
            r.attempts,
            r.last_error.map_or(String::new(), |e| format!("  last error: {e}"))
        );
    }
    out
}

/// `drift alert test`: the sink took the test message.
pub fn test_delivered(sink: &str) -> String {
    format!("sink {sink}: test message delivered\n")
}

/// `drift alert test` (on stderr): the sink did not take it, and what it answered.
pub fn test_not_delivered(sink: &str, error: &str) -> String {
    format!("drift: sink {sink}: test message not delivered: {error}\n")
}

/// `drift alert retry`: `n` dead letters queued again.
pub fn requeued(n: usize) -> String {
    format!(
        "{n} notification(s) queued again; the running daemon delivers them within a minute, in their original order \
         (`drift run --once` delivers them now)\n"
    )
}
