//! What keeps one monitor's trouble its own: each cycle runs under guard, and the daemon knows
//! which of its loops are alive.
//!
//! - **A panic is a failed cycle.** [`cycle`] catches a panic anywhere in a monitor's cycle
//!   (in its evaluation on a thread `block_in_place` lent it, or while it holds the state lock)
//!   and returns it as the cycle's error, naming the files the cycle had taken; the monitor's
//!   loop counts it like any failure (status, `drift_errors_total`, `DriftMonitorFailing` after
//!   `failing_after`) and carries on with backoff. `panic = "unwind"` is what makes this work.
//! - **A cycle has a deadline.** A cycle running longer than `cycle_timeout_secs` is cancelled
//!   at its next await and counted as failed (nothing it did is committed: commits are single
//!   transactions after the awaits). CPU work cannot be interrupted; a cycle stuck in it stays
//!   overdue, and [`Liveness`] tells the watchdog.
//! - **Liveness.** A loop (each monitor, the delivery worker) is alive while it sleeps, backoff
//!   included, or while its current pass is younger than the cycle timeout plus
//!   [`CANCEL_GRACE`] (the time a cancellable cycle is given to be cancelled, so a busy machine
//!   does not count it stuck in between). The systemd
//!   watchdog is pinged only while every loop is alive (see `daemon::watchdog`), and
//!   `/healthz` answers 503 otherwise (a Kubernetes liveness probe restarts the pod as systemd
//!   restarts the unit).

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow};
use futures::FutureExt as _;

use super::{CycleOutcome, MonitorRun, Shared};

/// One monitor cycle with its panics caught and its time bounded by `timeout`.
pub async fn cycle(shared: &Arc<Shared>, run: &mut MonitorRun, now: i64, timeout: Duration) -> Result<CycleOutcome> {
    let id = run.monitor.id.clone();
    shared.liveness.working(&id, now);
    run.in_hand.clear();
    let result = tokio::time::timeout(timeout, AssertUnwindSafe(super::cycle(shared, run, now)).catch_unwind()).await;
    shared.liveness.resting(&id);
    let files = if run.in_hand.is_empty() { "no file".to_owned() } else { run.in_hand.join(", ") };
    match result {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(panic)) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(monitor = %id, files = %files, panic = %message, "monitor cycle panicked; counted as a failed cycle");
            Err(anyhow!("the cycle panicked while working on {files}: {message}"))
        }
        Err(_) => {
            tracing::error!(monitor = %id, files = %files, cycle_timeout_secs = timeout.as_secs(), "monitor cycle cancelled after cycle_timeout_secs; counted as a failed cycle");
            Err(anyhow!(
                "the cycle was cancelled after cycle_timeout_secs = {} while working on {files}",
                timeout.as_secs()
            ))
        }
    }
}

/// The text a panic carried (`panic!` with a literal or a formatted message), or a stand-in.
pub fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// For each loop (a monitor id, or [`DELIVERY`]): since when its current pass runs (ms since
/// the epoch), or None while it sleeps.
#[derive(Debug, Default)]
pub struct Liveness {
    passes: Mutex<BTreeMap<String, Option<i64>>>,
    /// `cycle_timeout_secs` in ms (set at start and on reload).
    limit_ms: AtomicU64,
}

/// How long past the cycle timeout a pass still counts as alive: a cancellable cycle is
/// cancelled at the timeout, and the task running it may need a moment to be scheduled.
pub const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// The delivery worker's name in [`Liveness`] (monitor ids cannot hold parentheses).
pub const DELIVERY: &str = "(delivery)";

impl Liveness {
    fn passes(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Option<i64>>> {
        // Nothing here can be half-updated: a poisoned map is as good as any.
        self.passes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the longest pass that still counts as alive (`cycle_timeout_secs`).
    pub fn set_limit(&self, limit: Duration) {
        self.limit_ms.store(limit.as_millis() as u64, Ordering::Relaxed);
    }

    /// Why the daemon is not alive at `now` (a loop in one pass longer than the limit and
    /// [`CANCEL_GRACE`]), or None.
    pub fn stuck(&self, now: i64) -> Option<String> {
        let limit = Duration::from_millis(self.limit_ms.load(Ordering::Relaxed));
        let overdue = self.overdue(now, limit + CANCEL_GRACE);
        if overdue.is_empty() {
            return None;
        }
        let list: Vec<String> = overdue.iter().map(|(who, age)| format!("{who} for {} s", age.as_secs())).collect();
        Some(format!("in one pass longer than cycle_timeout_secs ({} s): {}", limit.as_secs(), list.join(", ")))
    }

    /// `who` starts a pass at `now`.
    pub fn working(&self, who: &str, now: i64) {
        self.passes().insert(who.to_owned(), Some(now));
    }

    /// `who` finished its pass and sleeps.
    pub fn resting(&self, who: &str) {
        self.passes().insert(who.to_owned(), None);
    }

    /// `who` has stopped for good (a reload replaced it).
    pub fn forget(&self, who: &str) {
        self.passes().remove(who);
    }

    /// The loops whose current pass started `limit` or longer before `now`, with its age.
    pub fn overdue(&self, now: i64, limit: Duration) -> Vec<(String, Duration)> {
        overdue(&self.passes(), now, limit)
    }
}

fn overdue(passes: &BTreeMap<String, Option<i64>>, now: i64, limit: Duration) -> Vec<(String, Duration)> {
    passes
        .iter()
        .filter_map(|(who, since)| {
            let age = Duration::from_millis((now - (*since)?).max(0) as u64);
            (age >= limit).then(|| (who.clone(), age))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_is_alive_while_it_sleeps_or_within_the_limit_of_its_pass() {
        let l = Liveness::default();
        let limit = Duration::from_secs(900);
        l.working("a", 0);
        l.working("b", 0);
        l.resting("b");
        l.working("c", 500_000);
        assert_eq!(l.overdue(899_999, limit), []);
        assert_eq!(l.overdue(900_000, limit), [("a".to_owned(), limit)]);
        l.resting("a");
        assert_eq!(l.overdue(2_000_000, limit), [("c".to_owned(), Duration::from_secs(1500))]);
        l.set_limit(limit);
        assert_eq!(l.stuck(1_401_999), None, "within the grace");
        assert_eq!(l.stuck(2_000_000).unwrap(), "in one pass longer than cycle_timeout_secs (900 s): c for 1500 s");
        l.forget("c");
        assert_eq!(l.overdue(2_000_000, limit), []);
        assert_eq!(l.stuck(2_000_000), None);
    }

    #[test]
    fn panic_messages_are_read_from_both_payload_kinds() {
        let literal = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        let formatted = std::panic::catch_unwind(|| panic!("formatted {}", 1)).unwrap_err();
        assert_eq!(panic_message(literal.as_ref()), "plain");
        assert_eq!(panic_message(formatted.as_ref()), "formatted 1");
    }
}
