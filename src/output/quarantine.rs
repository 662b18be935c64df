//! `drift quarantine list`, and the line `drift quarantine release` prints.

use std::fmt::Write as _;

use crate::clock::rfc3339_ms;

/// A quarantined file as `drift quarantine list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuarantineLine<'a> {
    /// Its monitor.
    pub monitor: &'a str,
    /// Its path as listed, relative to the monitor's source (what `release` takes).
    pub path: &'a str,
    /// Failed attempts before it was set aside.
    pub attempts: u32,
    /// When, ms since the epoch.
    pub since_ms: i64,
    /// The last failure, one line.
    pub error: &'a str,
}

/// `drift quarantine list`: one line per file in the order given (newest first).
pub fn quarantine_list(rows: &[QuarantineLine]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no quarantined files\n");
    }
    for r in rows {
        let _ = writeln!(
            out,
            "{}  {}  since {}  after {} failed read(s): {}",
            r.monitor,
            r.path,
            rfc3339_ms(r.since_ms),
            r.attempts,
            r.error
        );
    }
    out
}

/// `drift quarantine release`: what was released.
pub fn quarantine_released(monitor: &str, paths: &[String]) -> String {
    format!(
        "released {} file(s) of monitor {monitor}; its next cycle reads them again: {}\n",
        paths.len(),
        paths.join(", ")
    )
}
