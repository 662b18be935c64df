//! The Slack message: Block Kit with a `text` fallback (mobile notifications show only
//! `text`). Pure, rendered from a [`Notification`].
//!
//! A header with the monitor and the number of drifted columns; a context line with severity,
//! window, row counts and segment; one section per drifted column (each drifted test with its
//! effect (D, PSI, change of the missing rate) against the floor it crossed and its adjusted
//! p-value, then reference versus
//! current); a link when the config sets an external URL. The resolved form is a header and
//! the context only. Slack's limits hold: at most 50 blocks, 150 characters in a header and
//! 3000 in a section; columns beyond them are counted in a "+N more columns" line.

use serde_json::{Value, json};

use super::payload::{Finding, Notification, summary};
use crate::engine::Severity;
use crate::engine::text::{num, pval};

/// Slack's block limit per message.
const MAX_BLOCKS: usize = 50;
/// Slack's limit on a section's text.
const MAX_SECTION: usize = 3000;
/// Slack's limit on a header's text.
const MAX_HEADER: usize = 150;

/// The message body for an incoming webhook.
pub fn message(n: &Notification) -> Value {
    if n.is_budget() {
        return budget(n);
    }
    if !n.is_about_a_window() {
        return operational(n);
    }
    let segment = if n.segment.is_empty() { String::new() } else { format!(" [{}]", n.segment) };
    let columns = n.columns();
    let header = if n.resolved && n.is_drift() {
        format!("✅ Resolved: {}{segment}", n.monitor)
    } else if n.resolved {
        format!("✅ Resolved: {}{segment} — {}", n.monitor, n.alertname)
    } else {
        let icon = if n.severity == Severity::Critical { "🔴" } else { "🟠" };
        if n.is_drift() {
            format!("{icon} Drift in {}{segment}: {} column(s)", n.monitor, columns.len())
        } else {
            format!("{icon} {} in {}{segment}: {} finding(s)", n.alertname, n.monitor, columns.len())
        }
    };
    let mut context = vec![
        format!("*{}*", if n.resolved { "resolved" } else { n.severity.as_str() }),
        format!("window {}", n.window),
        format!("{} rows (reference {})", n.rows_current, n.rows_reference),
    ];
    if !n.segment.is_empty() {
        context.push(format!("segment `{}`", escape(&n.segment)));
    }
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&header, MAX_HEADER), "emoji": true}}),
        json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context.join("  ·  ")}]}),
    ];
    if !n.resolved {
        let link = n.external_url.as_ref().map(|url| {
            json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("<{}|Open in drift>", escape(url))}})
        });
        // Room for the columns, keeping one block for "+N more" and one for the link.
        let room = MAX_BLOCKS - blocks.len() - 1 - usize::from(link.is_some());
        let shown = if columns.len() > room { room } else { columns.len() };
        for c in &columns[..shown] {
            let findings: Vec<&Finding> = n.findings.iter().filter(|f| f.column == *c).collect();
            blocks.push(section(truncate(&column_text(c, &findings), MAX_SECTION)));
        }
        if shown < columns.len() {
            blocks.push(section(format!("+{} more columns", columns.len() - shown)));
        }
        blocks.extend(link);
    }
    json!({"text": escape(&summary(n)), "blocks": blocks})
}

/// An operational alert (stale source, failing monitor, lost notification) or a test message:
/// a header and the one-line explanation.
fn operational(n: &Notification) -> Value {
    let header = if n.test {
        "🧪 drift test message (not an alert)".to_owned()
    } else if n.resolved {
        format!("✅ Resolved: {} — {}", n.monitor, title(&n.alertname))
    } else {
        format!("⚠️ {}: {}", n.monitor, title(&n.alertname))
    };
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&header, MAX_HEADER), "emoji": true}}),
        section(truncate(&escape(&summary(n)), MAX_SECTION)),
    ];
    if let Some(url) = n.external_url.as_ref().filter(|_| !n.resolved) {
        blocks.push(section(format!("<{}|Open in drift>", escape(url))));
    }
    json!({"text": escape(&summary(n)), "blocks": blocks})
}

/// An error budget's burn-rate alert: a header with the level, the budget left, and one section
/// per firing rule with its windows and burn rates.
fn budget(n: &Notification) -> Value {
    let header = if n.resolved {
        format!("✅ Resolved: {} — {}", n.monitor, n.alertname)
    } else {
        let icon = if n.severity == Severity::Critical { "🔴" } else { "🟠" };
        format!("{icon} {} in {}: {} rule(s) burning", n.alertname, n.monitor, n.findings.len())
    };
    let level = if n.severity == Severity::Critical { "page" } else { "ticket" };
    let context = format!("*{}*  ·  {level}", if n.resolved { "resolved" } else { n.severity.as_str() });
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&header, MAX_HEADER), "emoji": true}}),
        json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}),
    ];
    for f in n.findings.iter().take(MAX_BLOCKS - 4) {
        let text = format!("*{}* — {level}\n{}", escape(&f.column), escape(f.summary.as_deref().unwrap_or_default()));
        blocks.push(section(truncate(&text, MAX_SECTION)));
    }
    if let Some(d) = &n.detail {
        blocks.push(section(truncate(&escape(d), MAX_SECTION)));
    }
    if let Some(url) = n.external_url.as_ref().filter(|_| !n.resolved) {
        blocks.push(section(format!("<{}|Open in drift>", escape(url))));
    }
    json!({"text": escape(&summary(n)), "blocks": blocks})
}

/// What an operational alert means, for a header a person reads on a phone.
fn title(alertname: &str) -> String {
    use crate::alerts::payload::{FILES_QUARANTINED, MONITOR_FAILING, NOTIFICATION_LOST, SOURCE_STALE};
    let plain = match alertname {
        SOURCE_STALE => "no new data",
        MONITOR_FAILING => "monitor failing",
        NOTIFICATION_LOST => "notifications not delivered",
        FILES_QUARANTINED => "files quarantined",
        other => return other.to_owned(),
    };
    format!("{plain} ({alertname})")
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn column_text(column: &str, findings: &[&Finding]) -> String {
    let severity = findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Warning);
    let mut lines = vec![format!("*{}* — {}", escape(column), severity.as_str())];
    for f in findings {
        // The effect is what the floors are compared with; name it, since for chi2 it is the
        // PSI and not the chi-square statistic.
        lines.push(match f.effect.or(f.statistic) {
            None => format!("`{}`", f.test),
            Some(e) => {
                let what = match f.test.as_str() {
                    "ks" => "D ",
                    "psi" | "chi2" if f.effect_name.as_deref() == Some("psi_corrected") => "PSI (corrected) ",
                    "psi" | "chi2" => "PSI ",
                    "null_rate" => "Δ missing ",
                    "unseen" => "new values ",
                    _ => "",
                };
                let floor = if f.severity == Severity::Critical { f.critical_floor } else { f.floor };
                let floor = floor.map_or(String::new(), |x| format!(" ≥ {}", num(x)));
                let p = f.p_value_adjusted.map_or(String::new(), |p| format!(" (p {})", pval(Some(p))));
                format!("`{}` {what}{}{floor}{p}", f.test, num(e))
            }
        });
    }
    if let Some(s) = findings.iter().find_map(|f| f.summary.as_deref()) {
        lines.push(escape(s));
    }
    lines.join("\n")
}

/// Escapes the three characters Slack's mrkdwn reserves.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// At most `max` characters, ending in "…" when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(column: &str, test: &str, statistic: Option<f64>, severity: Severity) -> Finding {
        Finding {
            column: column.into(),
            test: test.into(),
            statistic,
            effect: statistic,
            floor: statistic.map(|_| 0.1),
            critical_floor: statistic.map(|_| 0.2),
            p_value_adjusted: statistic.map(|_| 3.2e-12),
            severity,
            summary: statistic.map(|_| "median 41.5 -> 47.25; missing 0.0% -> 2.5%".into()),
            effect_name: matches!(test, "psi" | "chi2").then(|| "psi_corrected".into()),
        }
    }

    fn notification(findings: Vec<Finding>) -> Notification {
        Notification {
            segment: "region=eu".into(),
            severity: Severity::Critical,
            window: 42,
            rows_current: 8000,
            rows_reference: 20000,
            findings,
            external_url: Some("https://drift.example/monitors/checkout".into()),
            receiver: "slack".into(),
            ..Notification::new(crate::alerts::payload::DATA_DRIFT, "checkout", 1_795_000_000_000)
        }
    }

    /// Compares with the committed snapshot `tests/data/slack/{name}.json`; `DRIFT_BLESS=1`
    /// rewrites it outside CI (review the diff), see [`crate::alerts::testing::snapshot`].
    fn snapshot(name: &str, got: &Value) {
        let text = serde_json::to_string_pretty(got).unwrap() + "\n";
        crate::alerts::testing::snapshot(&format!("slack/{name}.json"), &text);
    }

    #[test]
    fn firing_and_resolved_messages_match_their_snapshots() {
        let n = notification(vec![
            finding("basket_value", "ks", Some(0.31), Severity::Critical),
            finding("basket_value", "psi", Some(0.4), Severity::Critical),
            finding("legacy_flag", "column_missing", None, Severity::Critical),
            finding("a<b>&c", "chi2", Some(0.12), Severity::Warning),
        ]);
        snapshot("firing", &message(&n));
        let mut r = n.clone();
        (r.resolved, r.ends_at_ms, r.findings) = (true, Some(1_795_000_600_000), Vec::new());
        snapshot("resolved", &message(&r));
    }

    /// `DriftFilesQuarantined` as routing repeats it, a cycle after it fired with one file.
    fn repeated_quarantine() -> Notification {
        use crate::alerts::route::{Operational, Routing, operational};
        let routing = Routing {
            monitor: "checkout".into(),
            operational: vec!["slack".into()],
            timing: crate::alerts::lifecycle::Timing {
                repeat_interval_ms: 1,
                group_interval_ms: 0,
                ..Default::default()
            },
            ..Routing::default()
        };
        let name = crate::alerts::payload::FILES_QUARANTINED;
        let first = "1 quarantined file(s) not evaluated, newest first: day=02/b.parquet; the newest failed with: \
                     column \"x\": corrupt data; fix or replace them, then `drift quarantine release --monitor \
                     checkout` reads them again";
        let now = "2 quarantined file(s) not evaluated, newest first: day=02/c.parquet, day=02/b.parquet; the newest \
                   failed with: column \"x\": corrupt data; fix or replace them, then `drift quarantine release \
                   --monitor checkout` reads them again";
        let fired = operational(&routing, &Operational::condition(name, Some(first), 1), None, &[], 1_795_000_000_000);
        let state = fired.states[0].1.clone();
        let again =
            operational(&routing, &Operational::condition(name, Some(now), 1), Some(&state), &[], 1_795_003_600_000);
        again.outgoing[0].notification.clone()
    }

    #[test]
    fn operational_and_test_messages_match_their_snapshot() {
        let mut n = notification(Vec::new());
        n.alertname = crate::alerts::payload::SOURCE_STALE.into();
        n.segment = String::new();
        n.detail = Some("no new file in /data/checkout for 21600 s (stale_after_secs = 21600)".into());
        let t = Notification::test("slack", None, 1_795_000_000_000);
        let q = repeated_quarantine();
        snapshot("operational", &json!({"stale": message(&n), "test": message(&t), "quarantined_repeat": message(&q)}));
        assert!(message(&t)["text"].as_str().unwrap().starts_with("[TEST]"));
    }

    #[test]
    fn the_effect_is_compared_with_the_floor_not_the_chi_square_statistic() {
        let mut f = finding("country", "chi2", Some(1619.16), Severity::Critical);
        (f.effect, f.critical_floor) = (Some(0.31), Some(0.25));
        let m = message(&notification(vec![f]));
        let text = m["blocks"][2]["text"]["text"].as_str().unwrap();
        assert!(text.contains("`chi2` PSI (corrected) 0.31 ≥ 0.25"), "{text}");
        assert!(!text.contains("1619"), "{text}");
        // Under psi_effect = "classic" the effect is the plain PSI.
        let mut f = finding("country", "chi2", Some(0.31), Severity::Critical);
        f.effect_name = Some("psi".into());
        let m = message(&notification(vec![f]));
        let text = m["blocks"][2]["text"]["text"].as_str().unwrap();
        assert!(text.contains("`chi2` PSI 0.31"), "{text}");
    }

    #[test]
    fn slack_limits_hold_for_many_and_long_columns() {
        let long = "x".repeat(5000);
        let mut findings: Vec<Finding> =
            (0..80).map(|i| finding(&format!("col{i}"), "ks", Some(0.3), Severity::Critical)).collect();
        findings.insert(0, finding(&long, "ks", Some(0.3), Severity::Critical));
        let m = message(&notification(findings));
        let blocks = m["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), MAX_BLOCKS);
        assert_eq!(blocks[MAX_BLOCKS - 2]["text"]["text"], "+35 more columns", "81 columns, 46 shown");
        assert!(blocks[MAX_BLOCKS - 1]["text"]["text"].as_str().unwrap().contains("Open in drift"));
        for b in blocks {
            if let Some(t) = b["text"]["text"].as_str() {
                assert!(t.chars().count() <= MAX_SECTION, "{} chars", t.chars().count());
            }
        }
        assert!(blocks[0]["text"]["text"].as_str().unwrap().chars().count() <= MAX_HEADER);
        assert!(m["text"].as_str().unwrap().starts_with("checkout [region=eu]: critical drift in 81 column(s)"));
    }
}
