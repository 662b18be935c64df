//! The generic webhook payload: the Alertmanager webhook v4 shape, so tools that speak
//! Alertmanager can take it, plus drift's own `drift` object. Pure: built from a
//! [`Notification`] with its times already decided.
//!
//! One message per monitor window groups every drifted column: `alerts[]` holds one entry per
//! column (labels `monitor`, `column`, `segment`, `severity`, `alertname` = `DataDrift`), and
//! `drift.columns` the statistics behind them. `drift.payload_version` is bumped on any
//! incompatible change; `drift.idempotency_key` is also sent as the `Idempotency-Key` header.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::lifecycle::fingerprint;
use crate::clock::rfc3339_ms;
use crate::engine::{Report, Severity};

/// Version of the `drift` object.
pub const PAYLOAD_VERSION: u32 = 1;

/// Alertmanager's "no end yet" time for a firing alert.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One drifted test or schema finding of a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The column the test ran on (or the schema finding is about).
    pub column: String,
    /// Test (`ks`, `psi`, `chi2`, `null_rate`) or schema finding (`column_missing`, `type_changed`).
    pub test: String,
    /// The test's own statistic (KS D, PSI, chi-square, z; none for schema findings).
    pub statistic: Option<f64>,
    /// The effect compared with the floors (KS: D; psi and chi2: PSI; null_rate: the absolute
    /// change of the missing rate).
    #[serde(default)]
    pub effect: Option<f64>,
    /// Warning floor.
    pub floor: Option<f64>,
    /// The floor above which the effect is critical (none for schema findings).
    pub critical_floor: Option<f64>,
    /// Adjusted p-value.
    pub p_value_adjusted: Option<f64>,
    /// Warning or critical.
    pub severity: Severity,
    /// Reference versus current in a few words (median or top category, missing rate).
    pub summary: Option<String>,
    /// For `psi` and `chi2`, which PSI `effect` is: `psi_corrected` (PSI less its noise, the
    /// default) or `psi` (`psi_effect = "classic"`); absent for other tests and in messages
    /// queued before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect_name: Option<String>,
}

/// Reference versus current for a column: the CLI's column note, plus the share of the
/// reference's top category for a categorical column.
fn side_by_side(c: &crate::engine::ColumnReport) -> String {
    let mut parts = vec![crate::engine::text::column_note(c)];
    if let Some(top) = c.reference.top.as_ref().and_then(|t| t.first()) {
        let now =
            c.current.top.as_ref().and_then(|t| t.iter().find(|x| x.category == top.category)).map_or(0.0, |x| x.share);
        parts.push(format!("{:?} {:.1}% -> {:.1}%", top.category, top.share * 100.0, now * 100.0));
    }
    parts.retain(|p| !p.is_empty());
    parts.join("; ")
}

/// The drifted tests of a report's whole window (`segment` None, with its schema findings) or
/// of one segment, most severe column first.
pub fn findings(report: &Report, segment: Option<&str>) -> Vec<Finding> {
    let mut out: Vec<Finding> = report
        .schema
        .findings()
        .filter(|f| f.2 && segment.is_none())
        .map(|(column, test, _)| Finding {
            column: column.to_owned(),
            test: test.to_owned(),
            statistic: None,
            effect: None,
            floor: None,
            critical_floor: None,
            p_value_adjusted: None,
            severity: Severity::Critical,
            summary: None,
            effect_name: None,
        })
        .collect();
    for c in report.columns.iter().filter(|c| c.drift && c.segment.as_deref() == segment) {
        let summary = side_by_side(c);
        for t in c.tests.iter().filter(|t| t.drift) {
            out.push(Finding {
                summary: Some(summary.clone()).filter(|s| !s.is_empty()),
                column: c.column.clone(),
                test: t.test.as_str().to_owned(),
                statistic: t.statistic,
                effect: t.effect,
                floor: t.threshold.floor,
                critical_floor: t.threshold.critical_floor,
                p_value_adjusted: t.p_value_adjusted,
                severity: t.severity,
                effect_name: matches!(t.test, crate::engine::TestKind::Psi | crate::engine::TestKind::Chi2).then(
                    || match report.policy.psi_effect {
                        crate::engine::PsiEffect::Corrected => "psi_corrected".to_owned(),
                        crate::engine::PsiEffect::Classic => "psi".to_owned(),
                    },
                ),
            });
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// The `alertname` of data drift.
pub const DATA_DRIFT: &str = "DataDrift";
/// A monitor's source has had no new file for `stale_after_secs`.
pub const SOURCE_STALE: &str = "DriftSourceStale";
/// A monitor failed several cycles in a row.
pub const MONITOR_FAILING: &str = "DriftMonitorFailing";
/// A notification was dead-lettered on another sink: a lost page pages.
pub const NOTIFICATION_LOST: &str = "DriftNotificationDeadLettered";
/// A monitor has quarantined files not released yet (`drift quarantine list`).
pub const FILES_QUARANTINED: &str = "DriftFilesQuarantined";

/// A notification about one monitor (and segment) window, firing or resolved; or an
/// operational alert about the monitor itself; or a test message. Stored as JSON in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// [`DATA_DRIFT`] or one of the operational alert names.
    pub alertname: String,
    /// For operational alerts: what is wrong and what to do, one line.
    pub detail: Option<String>,
    /// A test message from `drift alert test` (marked as such, never an alert).
    pub test: bool,
    /// When it was decided (ms since the epoch).
    pub at_ms: i64,
    /// Monitor id.
    pub monitor: String,
    /// Segment label ("" for the whole data).
    pub segment: String,
    /// Resolved (else firing).
    pub resolved: bool,
    /// Highest severity.
    pub severity: Severity,
    /// When the alert started firing (ms since the epoch).
    pub starts_at_ms: i64,
    /// When it resolved.
    pub ends_at_ms: Option<i64>,
    /// The window that caused it.
    pub window: i64,
    /// Current rows in the window.
    pub rows_current: u64,
    /// Reference rows.
    pub rows_reference: u64,
    /// What drifted (empty when resolved).
    pub findings: Vec<Finding>,
    /// Link to a dashboard or the status API, from the config.
    pub external_url: Option<String>,
    /// Receiver (sink) name.
    pub receiver: String,
    /// Another kind of check's own numbers, by kind (`latency`, …): sent as `drift.<kind>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, Value>,
}

impl Notification {
    /// A firing notification of `alertname` about `monitor`, decided at `at_ms`, with nothing
    /// else said yet: the whole window, no window, no rows, no findings, no receiver.
    pub fn new(alertname: &str, monitor: &str, at_ms: i64) -> Notification {
        Notification {
            alertname: alertname.into(),
            detail: None,
            test: false,
            at_ms,
            monitor: monitor.into(),
            segment: String::new(),
            resolved: false,
            severity: Severity::None,
            starts_at_ms: at_ms,
            ends_at_ms: None,
            window: 0,
            rows_current: 0,
            rows_reference: 0,
            findings: Vec::new(),
            external_url: None,
            receiver: String::new(),
            details: BTreeMap::new(),
        }
    }

    /// The message `drift alert test` sends: marked as a test everywhere it shows.
    pub fn test(sink: &str, external_url: Option<String>, now_ms: i64) -> Notification {
        Notification {
            detail: Some("a test message from `drift alert test`: delivery works; nothing to do".into()),
            test: true,
            external_url,
            receiver: sink.into(),
            ..Notification::new("DriftTest", "drift-test", now_ms)
        }
    }

    /// Whether this is about data drift (rather than the monitor's health or a test).
    pub fn is_drift(&self) -> bool {
        self.alertname == DATA_DRIFT && !self.test
    }

    /// Whether this is another kind of check's alert about a window (it carries its kind's
    /// detail).
    pub fn is_check(&self) -> bool {
        !self.test && self.alertname != DATA_DRIFT && !self.details.is_empty() && self.window != 0
    }

    /// Whether this is an error budget's burn-rate alert: a kind's alert evaluated every cycle,
    /// about no window (it carries its kind's detail, and window 0).
    pub fn is_budget(&self) -> bool {
        !self.test && self.alertname != DATA_DRIFT && !self.details.is_empty() && self.window == 0
    }

    /// Whether this is about a window (data drift or another kind of check), with findings to
    /// show, rather than about the monitor's health or a test.
    pub fn is_about_a_window(&self) -> bool {
        self.is_drift() || self.is_check()
    }

    /// The drifted columns, each once, in the findings' order (most severe first).
    pub(crate) fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for f in &self.findings {
            if !out.contains(&f.column.as_str()) {
                out.push(&f.column);
            }
        }
        out
    }

    /// The stable key deduplicating deliveries of this message: group, window and status.
    /// Drift: one per group, window and status. Operational alerts and tests, which have no
    /// window: one per alert, decision time and status.
    pub fn idempotency_key(&self) -> String {
        let status = if self.resolved { "resolved" } else { "firing" };
        let group = [("monitor", self.monitor.as_str()), ("segment", self.segment.as_str())];
        if self.test {
            format!("test-{}", self.at_ms)
        } else if self.alertname == DATA_DRIFT {
            format!("{}-{}-{status}", fingerprint(&group), self.window)
        } else if self.is_check() {
            // Another kind of check: one per alert, window and status.
            let labels = [("alertname", self.alertname.as_str()), group[0], group[1]];
            format!("{}-{}-{status}", fingerprint(&labels), self.window)
        } else if self.is_budget() {
            // A burn-rate alert: one per alert and level (its severity), decision time and status.
            let labels =
                [("alertname", self.alertname.as_str()), group[0], group[1], ("severity", self.severity.as_str())];
            format!("{}-{}-{status}", fingerprint(&labels), self.at_ms)
        } else {
            let labels = [("alertname", self.alertname.as_str()), group[0], group[1]];
            format!("{}-{}-{status}", fingerprint(&labels), self.at_ms)
        }
    }
}

/// The webhook body.
pub fn webhook(n: &Notification) -> Value {
    let status = if n.resolved { "resolved" } else { "firing" };
    let starts = rfc3339_ms(n.starts_at_ms);
    let ends = n.ends_at_ms.map_or_else(|| ZERO_TIME.to_owned(), rfc3339_ms);
    let columns = n.columns();
    let alerts: Vec<Value> = if columns.is_empty() {
        vec![alert(n, None, n.severity, status, &starts, &ends)]
    } else {
        columns
            .iter()
            .map(|c| {
                let sev = n.findings.iter().filter(|f| f.column == *c).map(|f| f.severity).max().unwrap_or(n.severity);
                alert(n, Some(c), sev, status, &starts, &ends)
            })
            .collect()
    };
    let group_key = format!("{{}}:{{monitor={:?}, segment={:?}}}", n.monitor, n.segment);
    // `drift.columns` holds drift findings only; another kind's numbers go under its name.
    let columns: &[Finding] = if n.alertname == DATA_DRIFT { &n.findings } else { &[] };
    let mut body = json!({
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": n.receiver,
        "groupLabels": {"monitor": n.monitor, "segment": n.segment},
        "commonLabels": {"monitor": n.monitor, "segment": n.segment, "alertname": n.alertname},
        "commonAnnotations": {"summary": summary(n)},
        "externalURL": n.external_url.clone().unwrap_or_default(),
        "alerts": alerts,
        "drift": {
            "payload_version": PAYLOAD_VERSION,
            "idempotency_key": n.idempotency_key(),
            "test": n.test,
            "detail": n.detail,
            "window": n.window,
            "severity": n.severity,
            "rows": {"current": n.rows_current, "reference": n.rows_reference},
            "columns": columns,
        },
    });
    for (kind, detail) in &n.details {
        body["drift"][kind] = detail.clone();
    }
    body
}

fn alert(n: &Notification, column: Option<&str>, severity: Severity, status: &str, starts: &str, ends: &str) -> Value {
    let column = column.unwrap_or("");
    let labels = [("monitor", n.monitor.as_str()), ("segment", n.segment.as_str()), ("column", column)];
    json!({
        "status": status,
        "labels": {"alertname": n.alertname, "monitor": n.monitor, "segment": n.segment, "column": column, "severity": severity},
        "annotations": {"summary": summary(n)},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": n.external_url.clone().unwrap_or_default(),
        "fingerprint": fingerprint(&labels),
    })
}

pub(crate) fn summary(n: &Notification) -> String {
    let segment = if n.segment.is_empty() { String::new() } else { format!(" [{}]", n.segment) };
    if n.test {
        return format!("[TEST] drift test message for sink {}: not an alert, nothing to do", n.receiver);
    }
    if n.is_budget() {
        let rules: Vec<String> =
            n.findings.iter().map(|f| format!("{} {}", f.column, f.summary.as_deref().unwrap_or_default())).collect();
        let budget = n.detail.as_deref().unwrap_or_default();
        return if n.resolved {
            format!("{}{segment}: {} resolved; {budget}", n.monitor, n.alertname)
        } else {
            format!("{}{segment}: {} {}: {}; {budget}", n.monitor, n.severity.as_str(), n.alertname, rules.join("; "))
        };
    }
    if n.is_check() {
        // Another kind of check about a window.
        if n.resolved {
            return format!("{}{segment}: {} resolved (window {})", n.monitor, n.alertname, n.window);
        }
        let what: Vec<String> =
            n.findings.iter().map(|f| f.summary.clone().unwrap_or_else(|| f.column.clone())).collect();
        return format!(
            "{}{segment}: {} {}: {} (window {}, {} rows)",
            n.monitor,
            n.severity.as_str(),
            n.alertname,
            what.join("; "),
            n.window,
            n.rows_current
        );
    }
    if n.alertname != DATA_DRIFT {
        let what = n.detail.as_deref().unwrap_or_default();
        return if n.resolved {
            format!("{}{segment}: {} resolved", n.monitor, n.alertname)
        } else {
            format!("{}{segment}: {}: {what}", n.monitor, n.alertname)
        };
    }
    if n.resolved {
        return format!("{}{segment}: no drift any more (window {})", n.monitor, n.window);
    }
    let columns = n.columns();
    format!(
        "{}{segment}: {} drift in {} column(s): {} (window {}, {} rows)",
        n.monitor,
        n.severity.as_str(),
        columns.len(),
        columns.join(", "),
        n.window,
        n.rows_current
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firing() -> Notification {
        let f = |column: &str, test: &str, statistic, severity| Finding {
            column: column.into(),
            test: test.into(),
            statistic,
            effect: statistic,
            floor: Some(0.1),
            critical_floor: Some(0.2),
            p_value_adjusted: Some(1e-9),
            severity,
            summary: Some("median 0.5 -> 1".into()),
            effect_name: None,
        };
        Notification {
            severity: Severity::Critical,
            window: 42,
            rows_current: 8000,
            rows_reference: 20000,
            findings: vec![
                f("age", "ks", Some(0.31), Severity::Critical),
                f("age", "psi", Some(0.4), Severity::Critical),
                f("country", "chi2", Some(0.12), Severity::Warning),
                f("age", "null_rate", Some(0.02), Severity::Warning),
            ],
            external_url: Some("https://drift.example/monitors/checkout".into()),
            receiver: "oncall".into(),
            ..Notification::new(DATA_DRIFT, "checkout", 1_795_000_000_000)
        }
    }

    #[test]
    fn firing_payload_has_the_alertmanager_v4_shape_and_groups_columns() {
        let v = webhook(&firing());
        assert_eq!(v["version"], "4");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["groupKey"], r#"{}:{monitor="checkout", segment=""}"#);
        let alerts = v["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 2, "one alert per drifted column, one message");
        assert_eq!(alerts[0]["labels"]["column"], "age");
        assert_eq!(alerts[0]["labels"]["severity"], "critical");
        assert_eq!(alerts[1]["labels"]["severity"], "warning");
        // 1795000000 s is 2026-11-18T11:06:40Z (Python: datetime.fromtimestamp(1795000000, utc)).
        assert_eq!(alerts[0]["startsAt"], "2026-11-18T11:06:40Z");
        assert_eq!(alerts[0]["endsAt"], ZERO_TIME);
        assert_ne!(alerts[0]["fingerprint"], alerts[1]["fingerprint"]);
        assert_eq!(v["drift"]["columns"].as_array().unwrap().len(), 4);
        assert_eq!(v["drift"]["columns"][0]["statistic"], 0.31);
        assert_eq!(v["drift"]["rows"], json!({"current": 8000, "reference": 20000}));
        assert_eq!(
            v["commonAnnotations"]["summary"],
            "checkout: critical drift in 2 column(s): age, country (window 42, 8000 rows)"
        );
    }

    #[test]
    fn findings_list_drifted_tests_and_schema_changes_of_a_real_report() {
        use arrow_array::{ArrayRef, Float64Array, StringArray};
        use std::sync::Arc;
        let n = 2000;
        let x = |shift: f64| {
            Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64 / n as f64 + shift))) as ArrayRef
        };
        let k = Arc::new(StringArray::from_iter_values((0..n).map(|i| ["a", "b"][i % 2]))) as ArrayRef;
        let table = crate::alerts::testing::table;
        let reference = table(vec![("x", x(0.0)), ("y", x(0.0)), ("gone", x(0.0)), ("k", k.clone())]);
        let current = table(vec![("x", x(0.5)), ("y", x(0.0)), ("k", k)]);
        let report = crate::check::run_check(
            &reference,
            &current,
            &crate::check::CheckOptions::default(),
            &crate::engine::Policy::default(),
            &|_, _| {},
        )
        .unwrap();
        let got: Vec<(String, String)> = findings(&report, None).into_iter().map(|f| (f.column, f.test)).collect();
        assert_eq!(got[0], ("gone".to_owned(), "column_missing".to_owned()));
        assert!(got.contains(&("x".to_owned(), "ks".to_owned())), "{got:?}");
        assert!(got.iter().all(|(c, _)| c == "x" || c == "gone"), "y and k did not drift: {got:?}");
        let x = findings(&report, None).into_iter().find(|f| f.column == "x").unwrap();
        assert_eq!(x.summary.as_deref(), Some("median 0.4998 -> 0.9998"));
    }

    #[test]
    fn resolved_payload_and_idempotency_keys() {
        let fire = firing();
        let mut res = firing();
        (res.resolved, res.ends_at_ms, res.findings) = (true, Some(1_795_000_600_000), Vec::new());
        let v = webhook(&res);
        assert_eq!(v["status"], "resolved");
        assert_eq!(v["alerts"][0]["status"], "resolved");
        assert_eq!(v["alerts"][0]["endsAt"], "2026-11-18T11:16:40Z");
        assert_eq!(v["commonAnnotations"]["summary"], "checkout: no drift any more (window 42)");
        // Literals computed independently (Python FNV-1a 64 over the documented label layout, see
        // lifecycle's fingerprint test), not by this code: receivers deduplicate on these keys, so
        // a change of hash, layout or key format must fail here.
        // Drift: fingerprint(monitor, segment) - window - status.
        assert_eq!(fire.idempotency_key(), "1698fba81880e1ea-42-firing");
        assert_eq!(res.idempotency_key(), "1698fba81880e1ea-42-resolved");
        let eu = Notification { segment: "eu".into(), window: 7, ..firing() };
        assert_eq!(eu.idempotency_key(), "c67301aa8b16dffc-7-firing");
        // Operational: fingerprint(alertname, monitor, segment) - decision time - status.
        let stale = Notification::new(SOURCE_STALE, "checkout", 1_795_000_000_000);
        assert_eq!(stale.idempotency_key(), "e8adbdb40cdce212-1795000000000-firing");
        let failing = Notification { segment: "region=eu".into(), ..Notification::new(MONITOR_FAILING, "payments", 5) };
        assert_eq!(failing.idempotency_key(), "497b4251e2be6b82-5-firing");
        // A test message: one per send time.
        assert_eq!(Notification::test("oncall", None, 1_795_000_000_000).idempotency_key(), "test-1795000000000");
        assert_eq!(webhook(&fire)["drift"]["idempotency_key"], "1698fba81880e1ea-42-firing");
        // Each alert's fingerprint: (monitor, segment, column).
        let alerts = webhook(&fire)["alerts"].clone();
        assert_eq!(alerts[0]["fingerprint"], "21bfc5f4f3a493f9", "checkout / age");
        assert_eq!(alerts[1]["fingerprint"], "90fc39da37d0ba4a", "checkout / country");
        assert_eq!(webhook(&eu)["alerts"][0]["fingerprint"], "fdfabb6c8f9b9767", "checkout [eu] / age");
    }

    /// Another kind of check's notification: its numbers under `drift.<kind>`, `drift.columns`
    /// kept for drift only, and a delivery key of its own (never drift's for the same window).
    #[test]
    fn another_kind_of_check_sends_its_detail_under_its_kind_with_a_key_of_its_own() {
        let mut n = Notification::new("LatencySLOBreached", "checkout", 1_000);
        n.window = 7;
        n.severity = Severity::Critical;
        n.findings = vec![Finding {
            column: "p99".into(),
            test: "slo".into(),
            statistic: Some(412.0),
            effect: Some(412.0),
            floor: Some(250.0),
            critical_floor: Some(400.0),
            p_value_adjusted: None,
            severity: Severity::Critical,
            summary: Some("p99 412 ms >= 400 ms".into()),
            effect_name: None,
        }];
        n.details.insert("latency".into(), json!({"p99_ms": 412.0}));
        let body = webhook(&n);
        assert_eq!(body["drift"]["latency"], json!({"p99_ms": 412.0}));
        assert_eq!(body["drift"]["columns"], json!([]));
        assert_eq!(body["alerts"][0]["labels"]["alertname"], "LatencySLOBreached");
        let drift = Notification { alertname: DATA_DRIFT.into(), details: BTreeMap::new(), ..n.clone() };
        assert_ne!(n.idempotency_key(), drift.idempotency_key());
        assert!(n.idempotency_key().ends_with("-7-firing"), "{}", n.idempotency_key());
        assert!(summary(&n).contains("LatencySLOBreached: p99 412 ms >= 400 ms (window 7"), "{}", summary(&n));
        let slack = crate::alerts::slack::message(&n);
        let header = slack["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(header, "🔴 LatencySLOBreached in checkout: 1 finding(s)");
    }
}
