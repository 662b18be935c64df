//! An error budget's burn-rate alert (`LatencyBudgetBurn`), stepped every cycle with the
//! budget as evaluated at the watermark, not per window. Pure, like [`super::route`].
//!
//! One alert per level under `budget:ALERTNAME:LEVEL`: `page` takes the critical route,
//! `ticket` the warning route. A level fires when any of its rules has both windows above the
//! rule's burn rate, holds while a rule's short window stays above it, and resolves when every
//! short window has dropped below (`fire_after` and `resolve_after` do not apply; repeat and
//! group intervals, silences and `send_resolved` do). The message names each firing rule's
//! windows and burn rates, and says how much of the period's budget is left.

use std::collections::{BTreeMap, BTreeSet};

use super::lifecycle::{AlertState, Observation, Silence, Timing};
use super::payload::Finding;
use super::route::{BUDGET, Content, Decision, Routing, step_alert};
use crate::clock::rfc3339_ms;
use crate::engine::budget::{BudgetState, Level, RuleState, span};

/// An error budget as evaluated this cycle.
#[derive(Debug, Clone, Copy)]
pub struct Burning<'a> {
    /// The alert (`LatencyBudgetBurn`).
    pub alertname: &'a str,
    /// The kind it belongs to: its detail goes to `drift.<kind>`.
    pub kind: &'a str,
    /// What a good event is (`latency_ms <= 250 ms`).
    pub good: &'a str,
    /// The budget at the watermark.
    pub state: &'a BudgetState,
}

/// The key of a level's alert.
pub fn key(alertname: &str, level: Level) -> String {
    format!("{BUDGET}{alertname}:{}", level.as_str())
}

/// What the budget says about one level's alert.
fn observe(state: &BudgetState, level: Level) -> Observation {
    let rules: Vec<&RuleState> = state.rules.iter().filter(|r| r.rule.level == level).collect();
    let firing: BTreeSet<String> = rules.iter().filter(|r| r.firing()).map(|r| r.name.clone()).collect();
    if !firing.is_empty() {
        Observation::Drift { severity: level.severity(), columns: firing }
    } else if rules.iter().any(|r| r.holding()) {
        // A short window still above its rate: a firing alert holds, a quiet one stays quiet.
        Observation::Insufficient
    } else {
        Observation::Clean
    }
}

/// The budget left, for people: `71.3% of the 30-day error budget left: 990 of 1000 requests
/// with latency_ms <= 250 ms, target 99%; as of ...`.
pub fn budget_line(b: &Burning) -> String {
    let s = b.state;
    let days = num(s.period_days);
    let left = match s.budget_left {
        Some(l) if l < 0.0 => format!("the {days}-day error budget is overspent by {:.1}%", -l * 100.0),
        Some(l) => format!("{:.1}% of the {days}-day error budget left", l * 100.0),
        None => format!("the {days}-day error budget is untouched"),
    };
    format!(
        "{left}: {} of {} requests with {}, target {}%; as of {}",
        s.period.good,
        s.period.total,
        b.good,
        num(s.target * 100.0),
        rfc3339_ms(s.as_of_ms)
    )
}

fn num(x: f64) -> String {
    let t = format!("{x:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A firing rule as a finding: its windows, their burn rates and the rate they exceed.
fn finding(r: &RuleState, period_days: f64) -> Finding {
    let rate = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{x:.1}"));
    Finding {
        column: r.name.clone(),
        test: "burn_rate".into(),
        statistic: r.long_rate,
        effect: r.short_rate,
        floor: Some(r.threshold),
        critical_floor: Some(r.threshold),
        p_value_adjusted: None,
        severity: r.rule.level.severity(),
        summary: Some(format!(
            "burn rate {} over {} and {} over {}, above {} ({}% of the {}-day budget in {})",
            rate(r.long_rate),
            span(r.rule.long_ms),
            rate(r.short_rate),
            span(r.rule.short_ms),
            num(r.threshold),
            num(r.rule.budget_consumed * 100.0),
            num(period_days),
            span(r.rule.long_ms)
        )),
        effect_name: None,
    }
}

/// Steps each level that has rules and queues what it notifies.
pub fn burn(
    routing: &Routing,
    b: &Burning,
    prior: &BTreeMap<String, AlertState>,
    silences: &[Silence],
    now_ms: i64,
) -> Decision {
    let routing = Routing { timing: Timing { fire_after: 1, resolve_after: 1, ..routing.timing }, ..routing.clone() };
    let mut levels: Vec<Level> = b.state.rules.iter().map(|r| r.rule.level).collect();
    levels.sort();
    levels.dedup();
    let mut out = Decision::default();
    for level in levels {
        let content = || {
            let firing = b.state.firing(level).map(|r| finding(r, b.state.period_days)).collect();
            let budget = serde_json::json!({"good": b.good, "level": level, "state": b.state});
            Some(Content {
                alertname: b.alertname.to_owned(),
                segment: String::new(),
                rows_current: b.state.period.total,
                rows_reference: 0,
                findings: firing,
                detail: Some(budget_line(b)),
                details: BTreeMap::from([(b.kind.to_owned(), serde_json::json!({ "budget": budget }))]),
            })
        };
        let key = key(b.alertname, level);
        step_alert(&routing, 0, &key, observe(b.state, level), content, prior, silences, now_ms, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::budget::{Budget, Counts, evaluate, workbook_rules};

    const H: i64 = 3_600_000;

    fn routing() -> Routing {
        Routing {
            monitor: "api".into(),
            warning: vec!["slack".into()],
            critical: vec!["slack".into(), "pager".into()],
            timing: Timing { fire_after: 3, resolve_after: 3, ..Timing::default() },
            ..Routing::default()
        }
    }

    /// A budget at `at` whose events are 1000 a minute, `bad(minute)` of them bad.
    fn state(at: i64, bad: impl Fn(i64) -> u64) -> BudgetState {
        let b = Budget { target: 0.99, period_ms: 30 * 24 * H, rules: workbook_rules() };
        evaluate(&b, at, &mut |from, to| {
            let mut c = Counts::default();
            for m in (from.max(0)..to).step_by(60_000) {
                c.total += 1000;
                c.good += 1000 - bad(m);
            }
            c
        })
    }

    /// A page fires at once on both windows (fire_after ignored) to the critical route, names
    /// the rule, its burn rates and the budget left; holds while the short window burns; and
    /// resolves when the short window drops (resolve_after ignored). The ticket stays quiet.
    #[test]
    fn a_page_fires_on_both_windows_holds_on_the_short_one_and_resolves_when_it_drops() {
        let r = routing();
        let mut prior = BTreeMap::new();
        let step = |prior: &mut BTreeMap<String, AlertState>, at: i64, bad: &dyn Fn(i64) -> u64| {
            let s = state(at, bad);
            let b =
                Burning { alertname: "LatencyBudgetBurn", kind: "latency", good: "latency_ms <= 250 ms", state: &s };
            let d = burn(&r, &b, prior, &[], at);
            prior.extend(d.states.clone());
            d.outgoing
        };
        let start = 40 * 24 * H;
        // 20% bad for the last hour: burn rate 20 over 1 h and 5 min: the 1h/5m page fires.
        let bad_hour = move |m: i64| if m >= start - H { 200 } else { 0 };
        let out = step(&mut prior, start, &bad_hour);
        let sinks: Vec<&str> = out.iter().map(|o| o.sink.as_str()).collect();
        assert_eq!(sinks, ["slack", "pager"], "a page is critical");
        let n = &out[0].notification;
        assert_eq!((n.alertname.as_str(), n.window, n.segment.as_str()), ("LatencyBudgetBurn", 0, ""));
        assert_eq!(n.findings.iter().map(|f| f.column.as_str()).collect::<Vec<_>>(), ["1h/5m"]);
        let said = n.findings[0].summary.as_deref().unwrap();
        assert_eq!(said, "burn rate 20.0 over 1h and 20.0 over 5m, above 14.4 (2% of the 30-day budget in 1h)");
        let line = n.detail.as_deref().unwrap();
        assert!(
            line.starts_with(
                "97.2% of the 30-day error budget left: 43188000 of 43200000 requests with latency_ms <= 250 ms"
            ),
            "60 min x 20% of 43200 x 1%: {line}"
        );
        assert_eq!(n.details["latency"]["budget"]["level"], "page");
        assert!(prior.contains_key("budget:LatencyBudgetBurn:page") && !prior.contains_key(""));
        assert!(prior["budget:LatencyBudgetBurn:ticket"].firing.is_none(), "3 d at 0.28: no ticket");

        // The burning stops 5 minutes later. At +10 min the 1h/5m short window is clean, but the
        // 6h/30m one still burns at 16.7 > 6 (its long window at 3.6 < 6): the page holds.
        let healed = move |m: i64| if (start - H..start + 5 * 60_000).contains(&m) { 200 } else { 0 };
        assert!(step(&mut prior, start + 5 * 60_000, &healed).is_empty(), "still firing, unchanged");
        assert!(step(&mut prior, start + 10 * 60_000, &healed).is_empty(), "holding on the 30 min window");
        // At +35 min every short window is clean: resolved, on both sinks that were paged.
        let out = step(&mut prior, start + 35 * 60_000, &healed);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].notification.resolved && out[0].notification.findings.is_empty());
    }

    /// The Slack message of a page and of its resolution, against the committed snapshots
    /// `tests/data/slack/budget-{firing,resolved}.json` (`DRIFT_BLESS=1` rewrites them outside CI).
    #[test]
    fn the_slack_messages_of_a_burn_match_their_snapshots() {
        let r = Routing { external_url: Some("https://drift.example/monitors/api".into()), ..routing() };
        let start = 1_795_132_800_000; // 2026-11-20T00:00:00Z
        let s = state(start, |m| if m >= start - 6 * H { 120 } else { 0 });
        let b = Burning { alertname: "LatencyBudgetBurn", kind: "latency", good: "latency_ms <= 250 ms", state: &s };
        let d = burn(&r, &b, &BTreeMap::new(), &[], start);
        let page = &d.outgoing[0].notification;
        assert_eq!(page.findings.len(), 1, "6 h at 12 > 6; 1 h at 12 < 14.4: {:?}", page.findings);
        let text = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap() + "\n";
        crate::alerts::testing::snapshot("slack/budget-firing.json", &text(super::super::slack::message(page)));
        let prior: BTreeMap<String, AlertState> = d.states.into_iter().collect();
        let s = state(start + H, |m| if (start - 6 * H..start).contains(&m) { 120 } else { 0 });
        let b = Burning { state: &s, ..b };
        let d = burn(&r, &b, &prior, &[], start + H);
        let resolved = &d.outgoing[0].notification;
        assert!(resolved.resolved);
        crate::alerts::testing::snapshot("slack/budget-resolved.json", &text(super::super::slack::message(resolved)));
    }
}
