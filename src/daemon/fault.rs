//! Test hook: named points where a test makes one monitor's work panic, to prove that a panic
//! is contained (the monitor's cycle fails, the others and the daemon carry on) and never
//! poisons the state lock.
//!
//! With `DRIFT_TEST_PANIC_AT=POINT:MONITOR` the daemon panics each time monitor `MONITOR`
//! reaches `POINT`; with `DRIFT_TEST_BLOCK_AT=POINT:MONITOR:MILLIS` it blocks the thread there
//! for `MILLIS` (work no timeout can cancel, as a stuck computation). Without the variable a point costs one check of a value read once. It is a
//! test hook, never set in production (like `DRIFT_TEST_PAUSE_AT`, [`super::pause`]):
//!
//! - [`EVALUATE`]: inside the evaluation of a window, on the thread `block_in_place` lends it.
//! - [`STATE`]: inside the transaction that commits or closes a window, after its rows are
//!   written and before it commits, with the state lock held ([`crate::state::State::set_test_panic`]).
//! - [`PROFILE`]: inside the profiling of one file into window parts (rows and time windows),
//!   on its blocking thread, holding an evaluation permit and the batch's bytes in flight.
//! - [`REFERENCE`]: inside the loading (profiling) of the monitor's reference, holding an
//!   evaluation permit.

use std::sync::OnceLock;

/// Inside a window's evaluation.
pub const EVALUATE: &str = "evaluate";
/// Inside a window's transaction.
pub const STATE: &str = "state";
/// Inside the profiling of one file into window parts.
pub const PROFILE: &str = "profile";
/// Inside the loading of the reference.
pub const REFERENCE: &str = "reference";

/// The environment variable naming the point and the monitor.
pub const VARIABLE: &str = "DRIFT_TEST_PANIC_AT";
/// The environment variable naming a point, a monitor and how long to block there.
pub const BLOCK_VARIABLE: &str = "DRIFT_TEST_BLOCK_AT";

/// (point, monitor), read once.
fn configured() -> Option<&'static (String, String)> {
    static AT: OnceLock<Option<(String, String)>> = OnceLock::new();
    AT.get_or_init(|| std::env::var(VARIABLE).ok().and_then(|v| parse(&v))).as_ref()
}

/// (point, monitor, how long), read once.
fn blocking() -> Option<&'static (String, String, std::time::Duration)> {
    static AT: OnceLock<Option<(String, String, std::time::Duration)>> = OnceLock::new();
    AT.get_or_init(|| {
        let v = std::env::var(BLOCK_VARIABLE).ok()?;
        let (at, ms) = v.rsplit_once(':')?;
        let (point, monitor) = parse(at)?;
        Some((point, monitor, std::time::Duration::from_millis(ms.parse().ok()?)))
    })
    .as_ref()
}

fn parse(value: &str) -> Option<(String, String)> {
    let (point, monitor) = value.split_once(':')?;
    Some((point.to_owned(), monitor.to_owned()))
}

/// The monitor whose window transactions panic (`state:MONITOR`), for
/// [`crate::state::State::set_test_panic`].
pub fn state_monitor() -> Option<String> {
    configured().filter(|(point, _)| point == STATE).map(|(_, monitor)| monitor.clone())
}

/// Blocks, then panics here when the test hooks name this point and monitor.
pub fn point(name: &'static str, monitor: &str) {
    if let Some((at, who, how_long)) = blocking()
        && at == name
        && who == monitor
    {
        tracing::warn!(point = name, monitor, "test block point reached ({BLOCK_VARIABLE})");
        std::thread::sleep(*how_long);
    }
    let Some((at, who)) = configured() else { return };
    if at == name && who == monitor {
        panic!("test panic point {name} reached by monitor {monitor} ({VARIABLE})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_names_a_monitor() {
        assert_eq!(parse("state:model"), Some(("state".to_owned(), "model".to_owned())));
        assert_eq!(parse("state"), None);
    }
}
