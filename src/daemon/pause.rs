//! Named points in a cycle where a test can hold the daemon, so that a `kill -9` or a SIGTERM
//! lands at a known place rather than at whatever moment a sleep happened to end.
//!
//! With `DRIFT_TEST_PAUSE_AT=POINT` (or `POINT:MILLIS`) the daemon logs
//! `test pause point reached` with `point=POINT` each time it gets there and then waits: for
//! `MILLIS` and carries on, or (without them) until it is killed. Without the variable a point
//! costs one check of a value read once. It is a test hook, never set in production; the
//! points are where crash safety is decided:
//!
//! - [`LISTED`]: the source has been listed and the ready files chosen; none is read yet (a
//!   test removes one here to see a file vanish between listing and reading).
//! - [`FETCHED`]: a settled file has been read and opened; nothing about it is committed.
//! - [`COMMIT`]: just before the transaction that consumes files (a files window, a window
//!   part) or closes a window: the evaluation is done, nothing is stored.
//! - [`COMMITTED`]: just after that transaction, before the notifications it queued are sent.
//! - [`LABELS`]: a label file has been read; the transaction applying its labels is next.
//! - [`MODEL`]: a window's model performance is evaluated; the transaction storing it and
//!   stepping its alert is next.

use std::sync::OnceLock;
use std::time::Duration;

/// The source has been listed; no ready file is read yet.
pub const LISTED: &str = "listed";
/// A settled file has been read and opened.
pub const FETCHED: &str = "fetched";
/// Just before a consuming or closing transaction.
pub const COMMIT: &str = "commit";
/// Just after it.
pub const COMMITTED: &str = "committed";

/// A label file read, its transaction next.
pub const LABELS: &str = "labels";
/// A window's model performance evaluated, its transaction next.
pub const MODEL: &str = "model";

/// The environment variable naming the point.
pub const VARIABLE: &str = "DRIFT_TEST_PAUSE_AT";

/// (point, how long; None: until killed), read once.
fn configured() -> Option<&'static (String, Option<Duration>)> {
    static AT: OnceLock<Option<(String, Option<Duration>)>> = OnceLock::new();
    AT.get_or_init(|| std::env::var(VARIABLE).ok().map(|v| parse(&v))).as_ref()
}

fn parse(value: &str) -> (String, Option<Duration>) {
    match value.split_once(':') {
        Some((point, ms)) => (point.to_owned(), ms.parse().ok().map(Duration::from_millis)),
        None => (value.to_owned(), None),
    }
}

/// Holds the task here when the test hook names this point.
pub async fn point(name: &'static str) {
    let Some((at, how_long)) = configured() else { return };
    if at != name {
        return;
    }
    tracing::warn!(point = name, "test pause point reached ({VARIABLE})");
    // A day stands for "until killed"; the sleep stays cancellable, so a drain can abandon it.
    tokio::time::sleep(how_long.unwrap_or(Duration::from_secs(86_400))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_with_or_without_a_duration() {
        assert_eq!(parse("commit"), ("commit".to_owned(), None));
        assert_eq!(parse("commit:1500"), ("commit".to_owned(), Some(Duration::from_millis(1500))));
    }
}
