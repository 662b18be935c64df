//! `drift silence list`, and the lines `drift silence add` and `expire` print.

use std::fmt::Write as _;

use crate::clock::rfc3339_ms;

/// What a silence covers: a monitor, or only a column or segment of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilenceScope<'a> {
    /// The monitor.
    pub monitor: &'a str,
    /// Only this column, if given.
    pub column: Option<&'a str>,
    /// Only this segment label, if given (`""` is the whole window).
    pub segment: Option<&'a str>,
}

/// A stored silence as `drift silence list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilenceLine<'a> {
    /// Id (for `drift silence expire`).
    pub id: i64,
    /// What it covers.
    pub scope: SilenceScope<'a>,
    /// When it ends (or ended), ms since the epoch.
    pub until_ms: i64,
    /// When it was expired by hand, if it was.
    pub expired_ms: Option<i64>,
    /// Why it was added.
    pub reason: &'a str,
}

/// `monitor demo, column age, segment "eu"`.
fn describe(s: &SilenceScope) -> String {
    let mut out = format!("monitor {}", s.monitor);
    if let Some(c) = s.column {
        let _ = write!(out, ", column {c}");
    }
    if let Some(g) = s.segment {
        let _ = write!(out, ", segment {g:?}");
    }
    out
}

/// `drift silence add`: the new silence.
pub fn silence_added(id: i64, scope: &SilenceScope, until_ms: i64) -> String {
    format!("silence {id} added: {} until {}\n", describe(scope), rfc3339_ms(until_ms))
}

/// `drift silence expire`.
pub fn silence_expired(id: i64) -> String {
    format!("silence {id} expired\n")
}

/// `drift silence list`: one line per silence in the order given, each saying whether it runs
/// until a time, ended at it (`now_ms` is past it), or was expired by hand; `all` is the
/// `--all` flag, which the empty list names.
pub fn silence_list(rows: &[SilenceLine], all: bool, now_ms: i64) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        let _ = writeln!(out, "no {}silences", if all { "" } else { "active " });
    }
    for r in rows {
        let state = match r.expired_ms {
            Some(t) => format!("expired {}", rfc3339_ms(t)),
            None if r.until_ms <= now_ms => format!("ended {}", rfc3339_ms(r.until_ms)),
            None => format!("until {}", rfc3339_ms(r.until_ms)),
        };
        let _ = writeln!(out, "{:>4}  {}  {state}  reason: {}", r.id, describe(&r.scope), r.reason);
    }
    out
}
