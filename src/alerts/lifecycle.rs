//! The alert lifecycle as a pure state machine, one [`AlertState`] per alert (a monitor and
//! segment's drift, or an operational condition such as a stale source).
//!
//! Each evaluated window is an [`Observation`]; [`step`] returns the next state and at most one
//! [`Notify`]. An alert fires after `fire_after` consecutive drifted windows (Prometheus' `for`),
//! notifies again while firing only when its drifted columns or severity change or after
//! `repeat_interval`, and resolves after `resolve_after` consecutive clean windows; windows too
//! small to evaluate count neither way. The state serializes, so a restart neither re-pages nor
//! forgets what fired. [`silenced`] decides whether a notification is recorded instead of sent,
//! and [`fingerprint`] names an alert stably across restarts and versions.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::engine::Severity;

/// When an alert fires, repeats and resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Consecutive drifted windows before firing (at least 1).
    pub fire_after: u32,
    /// Consecutive clean windows before resolving (at least 1).
    pub resolve_after: u32,
    /// While firing and unchanged, notify again after this long (ms).
    pub repeat_interval_ms: i64,
    /// While firing, a change of the drifted columns (or a lower severity) is notified at most
    /// this long after the last notification (ms), so columns flickering across small, frequent
    /// windows do not flood a channel; a higher severity is notified at once.
    pub group_interval_ms: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            fire_after: 1,
            resolve_after: 2,
            repeat_interval_ms: 4 * 3600 * 1000,
            group_interval_ms: 5 * 60 * 1000,
        }
    }
}

/// What one evaluated window says about an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Drift at this severity in these columns (empty for an operational condition).
    Drift {
        /// Warning or critical.
        severity: Severity,
        /// The drifted columns (schema findings included).
        columns: BTreeSet<String>,
    },
    /// Evaluated, no drift.
    Clean,
    /// Too few rows to evaluate: counts neither towards firing nor towards resolving.
    Insufficient,
}

/// What is firing, as last notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firing {
    /// When it fired (ms since the epoch): the alert's `startsAt`.
    pub since_ms: i64,
    /// Severity last notified.
    pub severity: Severity,
    /// Drifted columns last notified.
    pub columns: BTreeSet<String>,
    /// When it was last notified.
    pub notified_ms: i64,
    /// The sinks its firing messages went to (not silenced), so that the resolved message
    /// reaches each of them even after the severity, and with it the route, changed. None in
    /// a state stored before this was recorded.
    #[serde(default)]
    pub sinks: Option<BTreeSet<String>>,
}

/// One alert's persisted state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    /// Consecutive drifted windows.
    pub drift_streak: u32,
    /// Consecutive clean windows.
    pub clean_streak: u32,
    /// Set while firing.
    pub firing: Option<Firing>,
}

/// Why a firing notification goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The alert starts firing.
    New,
    /// Still firing, with other columns or another severity.
    Changed,
    /// Still firing, unchanged, for `repeat_interval`.
    Repeat,
}

/// A notification to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify {
    /// Firing (the state's [`Firing`] says what).
    Firing(Reason),
    /// Resolved: the data looks like the reference again.
    Resolved {
        /// When it had fired.
        since_ms: i64,
    },
}

/// The next state after one observation, and the notification it calls for, if any.
pub fn step(state: &AlertState, obs: &Observation, timing: &Timing, now_ms: i64) -> (AlertState, Option<Notify>) {
    let mut next = state.clone();
    match obs {
        Observation::Insufficient => (next, None),
        Observation::Drift { severity, columns } => {
            next.drift_streak = next.drift_streak.saturating_add(1);
            next.clean_streak = 0;
            match &mut next.firing {
                None if next.drift_streak >= timing.fire_after.max(1) => {
                    next.firing = Some(Firing {
                        since_ms: now_ms,
                        severity: *severity,
                        columns: columns.clone(),
                        notified_ms: now_ms,
                        sinks: Some(BTreeSet::new()),
                    });
                    (next, Some(Notify::Firing(Reason::New)))
                }
                None => (next, None),
                Some(f) => {
                    let changed = f.severity != *severity || f.columns != *columns;
                    let since = now_ms - f.notified_ms;
                    let reason = if *severity > f.severity || (changed && since >= timing.group_interval_ms) {
                        Some(Reason::Changed)
                    } else if since >= timing.repeat_interval_ms {
                        Some(if changed { Reason::Changed } else { Reason::Repeat })
                    } else {
                        None
                    };
                    if reason.is_some() {
                        (f.severity, f.columns, f.notified_ms) = (*severity, columns.clone(), now_ms);
                    }
                    (next, reason.map(Notify::Firing))
                }
            }
        }
        Observation::Clean => {
            next.drift_streak = 0;
            match &next.firing {
                None => {
                    next.clean_streak = 0;
                    (next, None)
                }
                Some(f) => {
                    next.clean_streak = next.clean_streak.saturating_add(1);
                    if next.clean_streak < timing.resolve_after.max(1) {
                        return (next, None);
                    }
                    let since_ms = f.since_ms;
                    next.firing = None;
                    next.clean_streak = 0;
                    (next, Some(Notify::Resolved { since_ms }))
                }
            }
        }
    }
}

/// A silence: notifications it covers are recorded, not sent, until it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    /// The monitor it covers.
    pub monitor: String,
    /// Only this column (all when None).
    pub column: Option<String>,
    /// Only this segment (all when None; "" is the whole window).
    pub segment: Option<String>,
    /// When it ends (ms since the epoch).
    pub until_ms: i64,
}

impl Silence {
    fn covers(&self, monitor: &str, segment: &str, column: Option<&str>, now_ms: i64) -> bool {
        now_ms < self.until_ms
            && self.monitor == monitor
            && self.segment.as_deref().is_none_or(|s| s == segment)
            && match (&self.column, column) {
                (None, _) => true,
                (Some(c), Some(column)) => c == column,
                (Some(_), None) => false,
            }
    }
}

/// Whether a notification for these drifted columns of a monitor and segment is silenced: every
/// column is covered by an active silence (an alert without columns needs a silence without a
/// column). A silence on one column does not hide drift in another.
pub fn silenced(silences: &[Silence], monitor: &str, segment: &str, columns: &BTreeSet<String>, now_ms: i64) -> bool {
    if columns.is_empty() {
        return silences.iter().any(|s| s.covers(monitor, segment, None, now_ms));
    }
    columns.iter().all(|c| silences.iter().any(|s| s.covers(monitor, segment, Some(c), now_ms)))
}

/// A stable 16-hex-digit fingerprint of an alert's identity (64-bit FNV-1a over its labels,
/// each followed by a 0xff byte that UTF-8 never contains): the same across restarts, hosts and
/// versions, unlike `std`'s hasher.
pub fn fingerprint(labels: &[(&str, &str)]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        for b in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn drift(sev: Severity, cols: &[&str]) -> Observation {
        Observation::Drift { severity: sev, columns: cols.iter().map(|c| c.to_string()).collect() }
    }

    /// Runs observations one minute apart; returns the notifications by window index.
    fn run(policy: Timing, obs: &[Observation]) -> (AlertState, Vec<(usize, Notify)>) {
        let mut st = AlertState::default();
        let mut out = Vec::new();
        for (i, o) in obs.iter().enumerate() {
            let (next, n) = step(&st, o, &policy, i as i64 * MIN);
            st = next;
            out.extend(n.map(|n| (i, n)));
        }
        (st, out)
    }

    #[test]
    fn fires_once_then_resolves_after_clean_windows() {
        let w = drift(Severity::Warning, &["x"]);
        let (st, n) = run(Timing::default(), &[w.clone(), w.clone(), w, Observation::Clean, Observation::Clean]);
        assert_eq!(n, vec![(0, Notify::Firing(Reason::New)), (4, Notify::Resolved { since_ms: 0 })]);
        assert_eq!(st, AlertState::default());
    }

    #[test]
    fn fire_after_needs_consecutive_drifted_windows() {
        let w = drift(Severity::Critical, &["x"]);
        let p = Timing { fire_after: 3, ..Timing::default() };
        let (_, n) = run(p, &[w.clone(), w.clone(), Observation::Clean, w.clone(), w.clone(), w]);
        assert_eq!(n, vec![(5, Notify::Firing(Reason::New))], "the clean window restarts the count");
    }

    #[test]
    fn insufficient_windows_count_neither_way() {
        let w = drift(Severity::Warning, &["x"]);
        let p = Timing { fire_after: 2, ..Timing::default() };
        let i = Observation::Insufficient;
        let (_, n) = run(p, &[w.clone(), i.clone(), w, Observation::Clean, i, Observation::Clean]);
        assert_eq!(n, vec![(2, Notify::Firing(Reason::New)), (5, Notify::Resolved { since_ms: 2 * MIN })]);
    }

    #[test]
    fn a_drifted_window_between_clean_ones_keeps_it_firing() {
        let w = drift(Severity::Warning, &["x"]);
        let c = Observation::Clean;
        let (st, n) = run(Timing::default(), &[w.clone(), c.clone(), w, c.clone()]);
        assert_eq!(n, vec![(0, Notify::Firing(Reason::New))], "no flapping");
        assert!(st.firing.is_some());
    }

    #[test]
    fn notifies_again_on_change_or_after_the_repeat_interval() {
        let p = Timing { repeat_interval_ms: 3 * MIN, group_interval_ms: 0, ..Timing::default() };
        let x = drift(Severity::Warning, &["x"]);
        let xy = drift(Severity::Warning, &["x", "y"]);
        let xy_crit = drift(Severity::Critical, &["x", "y"]);
        let (st, n) = run(p, &[x.clone(), x, xy.clone(), xy_crit.clone(), xy_crit.clone(), xy_crit.clone(), xy_crit]);
        assert_eq!(
            n,
            vec![
                (0, Notify::Firing(Reason::New)),
                (2, Notify::Firing(Reason::Changed)),
                (3, Notify::Firing(Reason::Changed)),
                (6, Notify::Firing(Reason::Repeat)),
            ]
        );
        let f = st.firing.unwrap();
        assert_eq!((f.since_ms, f.notified_ms, f.severity), (0, 6 * MIN, Severity::Critical));
    }

    #[test]
    fn flickering_columns_are_notified_at_most_once_per_group_interval_but_escalations_at_once() {
        let p = Timing { group_interval_ms: 5 * MIN, ..Timing::default() };
        let x = drift(Severity::Warning, &["x"]);
        let xy = drift(Severity::Warning, &["x", "y"]);
        let xy_crit = drift(Severity::Critical, &["x", "y"]);
        // One window a minute; y comes and goes.
        let obs = [x.clone(), xy.clone(), x.clone(), xy.clone(), x.clone(), xy.clone(), xy.clone(), xy_crit, xy];
        let (st, n) = run(p, &obs);
        assert_eq!(
            n,
            vec![
                (0, Notify::Firing(Reason::New)),
                // Minutes 1 to 4 flicker within the group interval: nothing. At minute 5 the
                // columns still differ from those notified, and the interval has passed.
                (5, Notify::Firing(Reason::Changed)),
                (7, Notify::Firing(Reason::Changed)), // critical: at once
            ]
        );
        assert_eq!(st.firing.unwrap().severity, Severity::Critical, "minute 8's lower severity waits");
    }

    #[test]
    fn the_state_survives_serialization_so_a_restart_does_not_re_page() {
        let w = drift(Severity::Warning, &["x"]);
        let (st, _) = step(&AlertState::default(), &w, &Timing::default(), 0);
        let restored: AlertState = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
        assert_eq!(restored, st);
        assert_eq!(step(&restored, &w, &Timing::default(), MIN).1, None);
    }

    #[test]
    fn silences_cover_columns_segments_and_end() {
        let s = |column: Option<&str>, segment: Option<&str>| Silence {
            monitor: "m".into(),
            column: column.map(Into::into),
            segment: segment.map(Into::into),
            until_ms: 100,
        };
        let cols = |c: &[&str]| c.iter().map(|c| c.to_string()).collect::<BTreeSet<_>>();
        assert!(silenced(&[s(None, None)], "m", "", &cols(&["x", "y"]), 50));
        assert!(!silenced(&[s(None, None)], "m", "", &cols(&["x"]), 100), "ended");
        assert!(!silenced(&[s(None, None)], "other", "", &cols(&["x"]), 50));
        assert!(!silenced(&[s(Some("x"), None)], "m", "", &cols(&["x", "y"]), 50), "y still drifts");
        assert!(silenced(&[s(Some("x"), None), s(Some("y"), None)], "m", "", &cols(&["x", "y"]), 50));
        assert!(!silenced(&[s(None, Some("eu"))], "m", "us", &cols(&["x"]), 50));
        assert!(silenced(&[s(None, Some("eu"))], "m", "eu", &cols(&["x"]), 50));
        assert!(
            !silenced(&[s(Some("x"), None)], "m", "", &cols(&[]), 50),
            "operational alerts need a whole-monitor silence"
        );
        assert!(silenced(&[s(None, None)], "m", "", &cols(&[]), 50));
    }

    #[test]
    fn fingerprints_are_stable_and_separate_labels() {
        // FNV-1a of the empty input is the offset basis: a fixed value, not one that drifts.
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
        // Literals computed independently, not by this code, with Python's FNV-1a 64 over the
        // documented layout (key bytes, 0xff, value bytes, 0xff per label), checked against the
        // published FNV-1a vectors "a" -> af63dc4c8601ec8c and "foobar" -> 85944171f73967e8:
        //     h = 0xcbf29ce484222325
        //     for k, v in labels:
        //         for b in k.encode() + b"\xff" + v.encode() + b"\xff":
        //             h = ((h ^ b) * 0x100000001b3) % 2**64
        // A change of hash, prime, separator or label layout fails here, as it should: stored
        // alert states and every receiver's deduplication would see new names.
        let pinned: [(&[(&str, &str)], &str); 11] = [
            // A drift group (monitor, segment), as the idempotency key uses it.
            (&[("monitor", "checkout"), ("segment", "")], "1698fba81880e1ea"),
            (&[("monitor", "checkout"), ("segment", "eu")], "c67301aa8b16dffc"),
            // One alert per drifted column, as the webhook's alerts[] carry it.
            (&[("monitor", "checkout"), ("segment", ""), ("column", "age")], "21bfc5f4f3a493f9"),
            (&[("monitor", "checkout"), ("segment", ""), ("column", "country")], "90fc39da37d0ba4a"),
            (&[("monitor", "checkout"), ("segment", "eu"), ("column", "age")], "fdfabb6c8f9b9767"),
            // Operational alerts (alertname, monitor, segment).
            (&[("alertname", "DriftSourceStale"), ("monitor", "checkout"), ("segment", "")], "e8adbdb40cdce212"),
            (
                &[("alertname", "DriftMonitorFailing"), ("monitor", "payments"), ("segment", "region=eu")],
                "497b4251e2be6b82",
            ),
            // A longer label set: every label given is hashed, so severity would tell these apart.
            (
                &[
                    ("monitor", "checkout"),
                    ("alertname", "DataDrift"),
                    ("column", "age"),
                    ("segment", "eu"),
                    ("severity", "critical"),
                ],
                "b1edc8cfa27e7a17",
            ),
            (
                &[
                    ("monitor", "checkout"),
                    ("alertname", "DataDrift"),
                    ("column", "age"),
                    ("segment", "eu"),
                    ("severity", "warning"),
                ],
                "da055159e44932ee",
            ),
            // UTF-8 is hashed as bytes.
            (&[("monitor", "zürich-€"), ("segment", "")], "3c88c329150e0da0"),
            // The separator keeps label boundaries apart.
            (&[("a", "bc")], "a0a3542c19b900ab"),
        ];
        for (labels, want) in pinned {
            assert_eq!(fingerprint(labels), want, "{labels:?}");
        }
        assert_eq!(fingerprint(&[("ab", "c")]), "20ba9b3025a8b421");
        assert_ne!(fingerprint(&[("a", "bc")]), fingerprint(&[("ab", "c")]));
        assert_ne!(
            fingerprint(&[("monitor", "checkout"), ("segment", "")]),
            fingerprint(&[("segment", ""), ("monitor", "checkout")]),
            "label order is part of the layout"
        );
    }
}
