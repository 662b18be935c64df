//! What a closed window or an operational observation sends, and to which sinks. Pure: the
//! prior alert states and active silences come in, the next states and the outgoing
//! notifications come out, and [`crate::state`] stores both in the transaction that stores
//! the window, so an evaluation and the notifications it causes commit together.
//!
//! Alerts are kept per monitor under a key: a segment label for data drift (`""` for the
//! whole window), `op:ALERTNAME` for the operational alerts (stale source, failing monitor) and
//! `op:DriftNotificationDeadLettered:SINK` for lost notifications. A firing notification goes
//! to the sinks of its severity; a resolved one to every sink the alert paged, except those
//! with `send_resolved = false`. A silenced notification is still returned, marked, so it is
//! recorded rather than sent.

use std::collections::{BTreeMap, BTreeSet};

use super::lifecycle::{AlertState, Notify, Observation, Silence, Timing, silenced, step};
use super::payload::{DATA_DRIFT, FILES_QUARANTINED, Finding, NOTIFICATION_LOST, Notification, findings};
use crate::engine::check::{CheckAlert, CheckResult, CheckStatus};
use crate::engine::{Report, Severity};

/// Key prefix of operational alerts in the alert state.
pub const OPERATIONAL: &str = "op:";

/// Key prefix of the alerts of other kinds of check (`check:ALERTNAME:SEGMENT`).
pub const CHECK: &str = "check:";

/// Key prefix of the alerts a kind evaluates every cycle rather than per window
/// (`budget:ALERTNAME:LEVEL`, [`super::burn`]).
pub const BUDGET: &str = "budget:";

/// The state's key of another kind of check's alert about one segment ("" the whole window).
pub fn check_key(alertname: &str, segment: &str) -> String {
    format!("{CHECK}{alertname}:{segment}")
}

/// An alert state's key as (alertname, segment): a segment label for data drift, `op:NAME`
/// for an operational alert, `op:NAME:SINK` for lost notifications (segment `sink=SINK`),
/// `check:NAME:SEGMENT` for another kind of check, `budget:NAME:LEVEL` for an error budget's
/// alert (the whole monitor).
pub fn split_key(key: &str) -> (String, String) {
    if let Some(rest) = key.strip_prefix(BUDGET) {
        return (rest.split_once(':').map_or(rest, |(name, _)| name).to_owned(), String::new());
    }
    if let Some(rest) = key.strip_prefix(CHECK) {
        let (name, segment) = rest.split_once(':').unwrap_or((rest, ""));
        return (name.to_owned(), segment.to_owned());
    }
    match key.strip_prefix(OPERATIONAL) {
        Some(op) => match op.split_once(':') {
            Some((name, sink)) => (name.to_owned(), format!("sink={sink}")),
            None => (op.to_owned(), String::new()),
        },
        None => (DATA_DRIFT.to_owned(), key.to_owned()),
    }
}

/// How one monitor's notifications are routed, compiled from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Routing {
    /// Monitor id.
    pub monitor: String,
    /// When alerts fire, repeat and resolve.
    pub timing: Timing,
    /// Sinks for warnings.
    pub warning: Vec<String>,
    /// Sinks for critical drift.
    pub critical: Vec<String>,
    /// Sinks for operational alerts (stale source, failing monitor, lost notification).
    pub operational: Vec<String>,
    /// Failed cycles in a row before the monitor-failing alert fires.
    pub failing_after: u32,
    /// Sinks that do not want resolved messages.
    pub no_resolved: BTreeSet<String>,
    /// A link for the messages.
    pub external_url: Option<String>,
}

impl Routing {
    fn sinks(&self, severity: Severity) -> &[String] {
        if severity == Severity::Critical { &self.critical } else { &self.warning }
    }
}

/// One notification for one sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Sink name (also the notification's `receiver`).
    pub sink: String,
    /// What to send.
    pub notification: Notification,
    /// Covered by a silence: recorded, not sent.
    pub silenced: bool,
}

/// The next alert states (by key) and what to send.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// States to store, by key.
    pub states: Vec<(String, AlertState)>,
    /// Notifications to queue.
    pub outgoing: Vec<Outgoing>,
}

/// What a window says about the alert under `key`.
fn observe(report: Option<&Report>, key: &str) -> Observation {
    let Some(r) = report else { return Observation::Insufficient };
    let segment = (!key.is_empty()).then_some(key);
    if let Some(s) = segment
        && !r.segments.as_ref().is_some_and(|g| g.evaluated.iter().any(|(label, _)| label == s))
    {
        return Observation::Insufficient;
    }
    let mut columns = BTreeSet::new();
    let mut severity = Severity::None;
    for c in r.columns.iter().filter(|c| c.drift && c.segment.as_deref() == segment) {
        columns.insert(c.column.clone());
        severity = severity.max(c.tests.iter().map(|t| t.severity).max().unwrap_or(Severity::Warning));
    }
    if segment.is_none() {
        for (column, _, drift) in r.schema.findings() {
            if drift {
                columns.insert(column.to_owned());
                severity = Severity::Critical;
            }
        }
    }
    if columns.is_empty() { Observation::Clean } else { Observation::Drift { severity, columns } }
}

/// The notifications one closed window causes. `prior` holds the monitor's stored alert
/// states by key (operational keys are ignored here).
pub fn window(
    routing: &Routing,
    window_id: i64,
    report: Option<&Report>,
    prior: &BTreeMap<String, AlertState>,
    silences: &[Silence],
    now_ms: i64,
) -> Decision {
    let mut keys: BTreeSet<String> =
        prior.keys().filter(|k| ![OPERATIONAL, CHECK, BUDGET].iter().any(|p| k.starts_with(p))).cloned().collect();
    keys.insert(String::new());
    if let Some(g) = report.and_then(|r| r.segments.as_ref()) {
        keys.extend(g.evaluated.iter().map(|(label, _)| label.clone()));
    }
    let mut out = Decision::default();
    for key in keys {
        let content = || report.map(|r| drift_content(r, &key));
        step_alert(routing, window_id, &key, observe(report, &key), content, prior, silences, now_ms, &mut out);
    }
    // Other kinds of check: every alert they report now, and those known from before (absent
    // now: not evaluable, counts neither way).
    let mut check_keys: BTreeSet<String> = prior.keys().filter(|k| k.starts_with(CHECK)).cloned().collect();
    for c in report.map_or(&[][..], |r| &r.checks[..]) {
        check_keys.extend(c.alerts.iter().map(|a| check_key(&c.alertname, &a.segment)));
    }
    for key in check_keys {
        let (alertname, segment) = split_key(&key);
        let found = report.and_then(|r| {
            r.checks
                .iter()
                .filter(|c| c.alertname == alertname)
                .find_map(|c| c.alerts.iter().find(|a| a.segment == segment).map(|a| (c, a)))
        });
        let obs = found.map_or(Observation::Insufficient, |(_, a)| check_observation(a));
        let content = || match (report, found) {
            (Some(r), Some((c, a))) => Some(check_content(r.reference.rows, c, a)),
            _ => None,
        };
        step_alert(routing, window_id, &key, obs, content, prior, silences, now_ms, &mut out);
    }
    out
}

/// The notifications one kind's result about a window causes, stepped apart from the window's
/// close: model quality's, evaluated when the window's labels arrive. Only `result`'s alerts
/// (`check:ALERTNAME:SEGMENT`) are stepped; `reference_rows` is what the messages say the
/// reference had.
pub fn check(
    routing: &Routing,
    window_id: i64,
    result: &CheckResult,
    reference_rows: u64,
    prior: &BTreeMap<String, AlertState>,
    silences: &[Silence],
    now_ms: i64,
) -> Decision {
    let mut out = Decision::default();
    for a in &result.alerts {
        let key = check_key(&result.alertname, &a.segment);
        let content = || Some(check_content(reference_rows, result, a));
        step_alert(routing, window_id, &key, check_observation(a), content, prior, silences, now_ms, &mut out);
    }
    out
}

/// What a notification about one alert says: its name, rows, findings, one line for people
/// and the kind's own detail.
pub(super) struct Content {
    pub(super) alertname: String,
    pub(super) segment: String,
    pub(super) rows_current: u64,
    pub(super) rows_reference: u64,
    pub(super) findings: Vec<Finding>,
    pub(super) detail: Option<String>,
    pub(super) details: BTreeMap<String, serde_json::Value>,
}

/// Data drift's content for the whole window (`key` "") or a segment.
fn drift_content(r: &Report, key: &str) -> Content {
    let segment = (!key.is_empty()).then_some(key);
    let rows_current = match segment {
        None => r.current.rows,
        Some(s) => r
            .segments
            .as_ref()
            .and_then(|g| g.evaluated.iter().find(|(l, _)| l == s))
            .map_or(r.current.rows, |(_, rows)| *rows),
    };
    Content {
        alertname: DATA_DRIFT.to_owned(),
        segment: key.to_owned(),
        rows_current,
        rows_reference: r.reference.rows,
        findings: findings(r, segment),
        detail: None,
        details: BTreeMap::new(),
    }
}

/// What one alert of another kind of check says, for the lifecycle.
fn check_observation(a: &CheckAlert) -> Observation {
    match a.status {
        CheckStatus::Insufficient => Observation::Insufficient,
        CheckStatus::Clean => Observation::Clean,
        CheckStatus::Breached => Observation::Drift {
            severity: a.findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Warning).max(Severity::Warning),
            columns: a.findings.iter().map(|f| f.subject.clone()).collect(),
        },
    }
}

/// Another kind of check's content: its findings shown like drifted tests, its detail under
/// its kind.
fn check_content(reference_rows: u64, c: &CheckResult, a: &CheckAlert) -> Content {
    let findings = a
        .findings
        .iter()
        .map(|f| Finding {
            column: f.subject.clone(),
            test: f.test.clone(),
            statistic: f.value,
            effect: f.value,
            floor: f.floor,
            critical_floor: f.critical_floor,
            p_value_adjusted: None,
            severity: f.severity,
            summary: f.summary.clone(),
            effect_name: None,
        })
        .collect();
    Content {
        alertname: c.alertname.clone(),
        segment: a.segment.clone(),
        rows_current: a.rows,
        rows_reference: reference_rows,
        findings,
        detail: None,
        details: BTreeMap::from([(c.kind.clone(), c.detail.clone())]),
    }
}

/// Steps one alert with what the window says and queues what it notifies; `content` is called
/// only when it does.
#[allow(clippy::too_many_arguments)]
pub(super) fn step_alert(
    routing: &Routing,
    window_id: i64,
    key: &str,
    obs: Observation,
    content: impl FnOnce() -> Option<Content>,
    prior: &BTreeMap<String, AlertState>,
    silences: &[Silence],
    now_ms: i64,
    out: &mut Decision,
) {
    let before = prior.get(key).cloned().unwrap_or_default();
    let (mut after, notify) = step(&before, &obs, &routing.timing, now_ms);
    // The content (findings and their words) is built only for a step that notifies.
    if let Some(notify) = notify
        && let Some(content) = content()
    {
        out.outgoing.extend(notification(routing, window_id, content, notify, &before, &mut after, silences, now_ms));
    }
    if after != before || !prior.contains_key(key) {
        out.states.push((key.to_owned(), after));
    }
}

/// The notification one alert's step calls for, addressed; records in `after` the sinks a
/// firing message went to.
#[allow(clippy::too_many_arguments)]
fn notification(
    routing: &Routing,
    window_id: i64,
    content: Content,
    notify: Notify,
    before: &AlertState,
    after: &mut AlertState,
    silences: &[Silence],
    now_ms: i64,
) -> Vec<Outgoing> {
    let segment = content.segment.clone();
    let base = Notification {
        segment: content.segment,
        window: window_id,
        rows_current: content.rows_current,
        rows_reference: content.rows_reference,
        external_url: routing.external_url.clone(),
        detail: content.detail,
        details: content.details,
        ..Notification::new(&content.alertname, &routing.monitor, now_ms)
    };
    let (n, sinks, columns) = match notify {
        Notify::Firing(_) => {
            let firing = after.firing.clone().expect("firing after a firing notification");
            let n = Notification {
                severity: firing.severity,
                starts_at_ms: firing.since_ms,
                findings: content.findings,
                ..base
            };
            (n, routing.sinks(firing.severity).to_vec(), firing.columns)
        }
        Notify::Resolved { since_ms } => {
            let last = before.firing.clone().expect("resolved after firing");
            let n = Notification {
                resolved: true,
                severity: last.severity,
                starts_at_ms: since_ms,
                ends_at_ms: Some(now_ms),
                ..base
            };
            // Every sink that was paged hears that it is over, and only those (a state written
            // before sinks were recorded falls back to the route of the last severity).
            let paged: Vec<String> = match last.sinks {
                Some(sinks) => sinks.into_iter().collect(),
                None => routing.sinks(last.severity).to_vec(),
            };
            let sinks = paged.into_iter().filter(|s| !routing.no_resolved.contains(s)).collect();
            (n, sinks, last.columns)
        }
    };
    let quiet = silenced(silences, &routing.monitor, &segment, &columns, now_ms);
    if !quiet && let Some(f) = after.firing.as_mut() {
        f.sinks.get_or_insert_default().extend(sinks.iter().cloned());
    }
    addressed(n, sinks, quiet).collect()
}

fn addressed(n: Notification, sinks: Vec<String>, silenced: bool) -> impl Iterator<Item = Outgoing> {
    sinks.into_iter().map(move |sink| Outgoing {
        notification: Notification { receiver: sink.clone(), ..n.clone() },
        sink,
        silenced,
    })
}

/// An operational alert observed: what it is called, under which key its state is kept, and
/// a sink it must not go to (a failing sink cannot carry the news of its own failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operational<'a> {
    /// The alert's name (`DriftSourceStale`, ...).
    pub alertname: &'a str,
    /// Its key in the alert state.
    pub key: String,
    /// Some(one line) while the condition holds.
    pub problem: Option<&'a str>,
    /// Observations in a row before it fires.
    pub fire_after: u32,
    /// Not to this sink.
    pub except: Option<&'a str>,
}

impl<'a> Operational<'a> {
    /// A condition of the monitor (stale source, failing cycles).
    pub fn condition(alertname: &'a str, problem: Option<&'a str>, fire_after: u32) -> Operational<'a> {
        Operational { alertname, key: format!("{OPERATIONAL}{alertname}"), problem, fire_after, except: None }
    }

    /// Delivery of the monitor's notifications to `sink`: `problem` is Some when one was
    /// dead-lettered there, None when one was delivered. One alert per monitor and sink, so a
    /// revoked webhook pages once, not once per lost notification, and resolves when the sink
    /// takes notifications again.
    pub fn delivery(sink: &'a str, problem: Option<&'a str>) -> Operational<'a> {
        Operational {
            alertname: NOTIFICATION_LOST,
            key: format!("{OPERATIONAL}{NOTIFICATION_LOST}:{sink}"),
            problem,
            fire_after: 1,
            except: Some(sink),
        }
    }
}

/// An operational condition observed. Fires after `fire_after` observations in a row (the
/// streak is stored, so it counts across restarts and `--once` runs), resolves on the first
/// observation without the problem, repeats like drift.
pub fn operational(
    routing: &Routing,
    op: &Operational,
    prior: Option<&AlertState>,
    silences: &[Silence],
    now_ms: i64,
) -> Decision {
    let timing = Timing { fire_after: op.fire_after, resolve_after: 1, ..routing.timing };
    let obs = match op.problem {
        Some(_) => Observation::Drift { severity: Severity::Critical, columns: BTreeSet::new() },
        None => Observation::Clean,
    };
    let before = prior.cloned().unwrap_or_default();
    let (after, notify) = step(&before, &obs, &timing, now_ms);
    let mut out = Decision::default();
    if after != before || prior.is_none() {
        out.states.push((op.key.clone(), after.clone()));
    }
    let Some(notify) = notify else { return out };
    let (resolved, starts, ends) = match notify {
        Notify::Firing(_) => (false, after.firing.as_ref().map_or(now_ms, |f| f.since_ms), None),
        Notify::Resolved { since_ms } => (true, since_ms, Some(now_ms)),
    };
    let detail = match (op.problem, op.except) {
        // A quarantine's problem already says how many files are quarantined now; a streak of
        // cycles says nothing about them.
        (Some(p), _) if after.drift_streak > 1 && op.alertname != FILES_QUARANTINED => {
            Some(format!("{p} ({} times in a row)", after.drift_streak))
        }
        (None, Some(sink)) => Some(format!("sink {sink:?} takes notifications again")),
        (problem, _) => problem.map(str::to_owned),
    };
    let n = Notification {
        detail,
        resolved,
        severity: Severity::Critical,
        starts_at_ms: starts,
        ends_at_ms: ends,
        external_url: routing.external_url.clone(),
        ..Notification::new(op.alertname, &routing.monitor, now_ms)
    };
    let sinks: Vec<String> = routing
        .operational
        .iter()
        .filter(|s| !(resolved && routing.no_resolved.contains(*s)) && Some(s.as_str()) != op.except)
        .cloned()
        .collect();
    let quiet = silenced(silences, &routing.monitor, "", &BTreeSet::new(), now_ms);
    out.outgoing.extend(addressed(n, sinks, quiet));
    out
}

/// What to say when `what` was dead-lettered on `sink`; None when nothing should be said: no
/// alert about a lost alert about a lost alert, and nothing for test messages.
pub fn lost(sink: &str, what: &Notification, reason: &str) -> Option<String> {
    if what.test || what.alertname == NOTIFICATION_LOST {
        return None;
    }
    Some(format!(
        "a {} notification ({}) could not be delivered to sink {sink:?}: {reason}; check the sink's \
         configuration, and `drift alert list` for what else is affected",
        if what.resolved { "resolved" } else { "firing" },
        what.alertname,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing() -> Routing {
        Routing {
            monitor: "m".into(),
            warning: vec!["slack".into()],
            critical: vec!["slack".into(), "pager".into()],
            operational: vec!["slack".into(), "pager".into()],
            no_resolved: ["pager".to_owned()].into(),
            ..Routing::default()
        }
    }

    /// A report of a calm window carrying another kind of check's result for the whole window.
    fn with_check(status: CheckStatus) -> Report {
        use crate::engine::check::CheckFinding;
        let mut r = crate::alerts::testing::shifted_report(0.0);
        let findings = match status {
            CheckStatus::Breached => vec![CheckFinding {
                subject: "p99".into(),
                test: "slo".into(),
                value: Some(412.0),
                floor: Some(250.0),
                critical_floor: Some(400.0),
                severity: Severity::Critical,
                summary: Some("p99 412 ms >= 400 ms".into()),
            }],
            _ => Vec::new(),
        };
        r.checks = vec![CheckResult {
            kind: "latency".into(),
            alertname: "LatencySLOBreached".into(),
            alerts: vec![CheckAlert { segment: String::new(), status, findings, rows: 2000 }],
            detail: serde_json::json!({"p99_ms": 412.0}),
        }];
        r
    }

    /// Another kind of check's alert goes through the same lifecycle and routing as drift's,
    /// under its own key and name: fires on a breach (critical: both sinks), holds through a
    /// window without the check, resolves after clean windows, and never touches drift's alert.
    #[test]
    fn another_kind_of_checks_alerts_fire_route_and_resolve_like_drift() {
        let r = Routing { timing: Timing { resolve_after: 2, group_interval_ms: 0, ..Timing::default() }, ..routing() };
        let mut prior = BTreeMap::new();
        let apply = |d: &Decision, prior: &mut BTreeMap<String, AlertState>| {
            for (k, s) in &d.states {
                prior.insert(k.clone(), s.clone());
            }
        };
        let d = window(&r, 1, Some(&with_check(CheckStatus::Breached)), &prior, &[], 1000);
        apply(&d, &mut prior);
        let sinks: Vec<&str> = d.outgoing.iter().map(|o| o.sink.as_str()).collect();
        assert_eq!(sinks, ["slack", "pager"], "critical");
        let n = &d.outgoing[0].notification;
        assert_eq!((n.alertname.as_str(), n.window, n.rows_current), ("LatencySLOBreached", 1, 2000));
        assert_eq!(n.findings[0].column, "p99");
        assert_eq!(n.details["latency"], serde_json::json!({"p99_ms": 412.0}));
        assert!(prior.contains_key("check:LatencySLOBreached:"), "{:?}", prior.keys());
        assert!(prior[""].firing.is_none(), "drift's own alert is not touched");
        assert_eq!(
            split_key("check:LatencySLOBreached:region=a:b"),
            ("LatencySLOBreached".into(), "region=a:b".into())
        );

        // A window without the check's result (too small): counts neither way.
        let d = window(&r, 2, None, &prior, &[], 2000);
        apply(&d, &mut prior);
        assert!(d.outgoing.is_empty());
        assert!(prior["check:LatencySLOBreached:"].firing.is_some());
        // Two clean windows: resolved, to the sink that wants it.
        let d = window(&r, 3, Some(&with_check(CheckStatus::Clean)), &prior, &[], 3000);
        apply(&d, &mut prior);
        assert!(d.outgoing.is_empty(), "resolve_after = 2");
        let d = window(&r, 4, Some(&with_check(CheckStatus::Clean)), &prior, &[], 4000);
        let sinks: Vec<&str> = d.outgoing.iter().map(|o| o.sink.as_str()).collect();
        assert_eq!(sinks, ["slack"], "pager has send_resolved = false");
        assert!(d.outgoing[0].notification.resolved);
        assert_eq!(d.outgoing[0].notification.alertname, "LatencySLOBreached");
    }

    #[test]
    fn operational_alerts_fire_once_resolve_and_skip_sinks_without_resolved() {
        let r = routing();
        let d = operational(
            &r,
            &Operational::condition("DriftSourceStale", Some("no new file for 6 h"), 1),
            None,
            &[],
            1000,
        );
        assert_eq!(d.outgoing.len(), 2);
        assert_eq!(d.outgoing[0].notification.detail.as_deref(), Some("no new file for 6 h"));
        let state = d.states[0].1.clone();
        let again = operational(
            &r,
            &Operational::condition("DriftSourceStale", Some("no new file for 6 h"), 1),
            Some(&state),
            &[],
            2000,
        );
        assert!(again.outgoing.is_empty(), "no re-page while it holds");
        let fixed = operational(&r, &Operational::condition("DriftSourceStale", None, 1), Some(&state), &[], 3000);
        let sinks: Vec<&str> = fixed.outgoing.iter().map(|o| o.sink.as_str()).collect();
        assert_eq!(sinks, ["slack"], "pager has send_resolved = false");
        assert!(fixed.outgoing[0].notification.resolved);
    }

    #[test]
    fn lost_notifications_page_the_other_sinks_once_per_sink_and_never_loop() {
        let r = routing();
        let failing = Operational::condition("DriftMonitorFailing", Some("cycle failed"), 2);
        let d = operational(&r, &failing, None, &[], 1000);
        assert!(d.outgoing.is_empty(), "fires after 2 failed cycles");
        let d = operational(&r, &failing, Some(&d.states[0].1), &[], 1500);
        let first = &d.outgoing[0].notification;
        assert_eq!(first.detail.as_deref(), Some("cycle failed (2 times in a row)"));

        let why = lost("slack", first, "HTTP 400: invalid_payload").unwrap();
        let d = operational(&r, &Operational::delivery("slack", Some(&why)), None, &[], 2000);
        assert_eq!(d.outgoing.len(), 1);
        assert_eq!(d.outgoing[0].sink, "pager", "not to the sink that failed");
        assert_eq!(d.outgoing[0].notification.alertname, NOTIFICATION_LOST);
        assert!(d.outgoing[0].notification.detail.as_deref().unwrap().contains("invalid_payload"));
        assert_eq!(d.states[0].0, "op:DriftNotificationDeadLettered:slack");
        let state = d.states[0].1.clone();
        let again = operational(&r, &Operational::delivery("slack", Some(&why)), Some(&state), &[], 2500);
        assert!(again.outgoing.is_empty(), "a second lost notification on the same sink does not page again");
        let back = operational(&r, &Operational::delivery("slack", None), Some(&state), &[], 3000);
        assert!(back.outgoing.is_empty(), "pager has send_resolved = false, and slack is the sink itself");
        assert!(back.states[0].1.firing.is_none(), "resolved once slack delivers again");
        assert!(lost("pager", &d.outgoing[0].notification, "HTTP 500").is_none(), "no loop");
    }

    #[test]
    fn a_repeated_quarantine_alert_says_how_many_files_are_quarantined_now_not_a_streak() {
        let r = Routing {
            timing: Timing { repeat_interval_ms: 1000, group_interval_ms: 0, ..Timing::default() },
            ..routing()
        };
        let one = "1 quarantined file(s) not evaluated, newest first: b.parquet";
        let d = operational(&r, &Operational::condition(FILES_QUARANTINED, Some(one), 1), None, &[], 1000);
        assert_eq!(d.outgoing[0].notification.detail.as_deref(), Some(one));
        let three = "3 quarantined file(s) not evaluated, newest first: d.parquet, c.parquet, b.parquet";
        let state = d.states[0].1.clone();
        let d = operational(&r, &Operational::condition(FILES_QUARANTINED, Some(three), 1), Some(&state), &[], 2500);
        assert_eq!(d.outgoing.len(), 2, "repeated after repeat_interval");
        assert_eq!(d.outgoing[0].notification.detail.as_deref(), Some(three), "the count now, no streak");
    }

    #[test]
    fn the_resolved_message_reaches_every_sink_that_was_paged_and_only_those() {
        let r = Routing {
            no_resolved: BTreeSet::new(),
            timing: Timing { resolve_after: 1, group_interval_ms: 0, ..Timing::default() },
            ..routing()
        };
        let report = crate::alerts::testing::shifted_report;
        let (warning, critical, clean) = (report(0.15), report(0.5), report(0.0));
        assert_eq!((warning.severity, critical.severity), (Severity::Warning, Severity::Critical));
        let mut states = BTreeMap::new();
        let mut run = |report: &Report, silences: &[Silence], t: i64| {
            let d = window(&r, t, Some(report), &states, silences, t);
            states.extend(d.states);
            d.outgoing.iter().filter(|o| !o.silenced).map(|o| o.sink.clone()).collect::<Vec<_>>()
        };
        assert_eq!(run(&warning, &[], 1), ["slack"]);
        assert_eq!(run(&critical, &[], 2), ["slack", "pager"], "escalated: the pager is paged");
        assert_eq!(run(&warning, &[], 3), ["slack"], "back to a warning: its route");
        assert_eq!(run(&clean, &[], 4), ["pager", "slack"], "resolved on both, though the last route was slack only");
        // Fired while silenced: nobody was paged, so nobody gets a resolved message.
        let silence = Silence { monitor: "m".into(), column: None, segment: None, until_ms: 6 };
        assert!(run(&critical, std::slice::from_ref(&silence), 5).is_empty());
        assert!(run(&clean, &[], 7).is_empty(), "the silence ended, but nothing was sent to resolve");
    }

    #[test]
    fn insufficient_windows_keep_the_state_and_send_nothing() {
        let r = routing();
        let d = window(&r, 7, None, &BTreeMap::new(), &[], 1000);
        assert!(d.outgoing.is_empty());
        assert_eq!(d.states, vec![(String::new(), AlertState::default())]);
    }
}
