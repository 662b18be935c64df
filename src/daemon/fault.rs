//! Test hook: named points where a test makes one monitor's work panic, to prove that a panic
//! is contained (the monitor's cycle fails, the others and the daemon carry on) and never
//! poisons the state lock.
//!
//! With `DRIFT_TEST_PANIC_AT=POINT:MONITOR` the daemon panics each time monitor `MONITOR`
//! reaches `POINT`. Without the variable a point costs one check of a value read once. It is a
//! test hook, never set in production (like `DRIFT_TEST_PAUSE_AT`, [`super::pause`]):
//!
//! - [`EVALUATE`]: inside the evaluation of a window, on the thread `block_in_place` lends it.
//! - [`STATE`]: while the state lock is held, just before a window's transaction.

use std::sync::OnceLock;

/// Inside a window's evaluation.
pub const EVALUATE: &str = "evaluate";
/// With the state lock held.
pub const STATE: &str = "state";

/// The environment variable naming the point and the monitor.
pub const VARIABLE: &str = "DRIFT_TEST_PANIC_AT";

/// (point, monitor), read once.
fn configured() -> Option<&'static (String, String)> {
    static AT: OnceLock<Option<(String, String)>> = OnceLock::new();
    AT.get_or_init(|| std::env::var(VARIABLE).ok().and_then(|v| parse(&v))).as_ref()
}

fn parse(value: &str) -> Option<(String, String)> {
    let (point, monitor) = value.split_once(':')?;
    Some((point.to_owned(), monitor.to_owned()))
}

/// Panics here when the test hook names this point and monitor.
pub fn point(name: &'static str, monitor: &str) {
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
