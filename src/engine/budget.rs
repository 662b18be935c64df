//! Error budgets and their burn rates: the SRE workbook's multi-window, multi-burn-rate alerts
//! on a kind's good and total events (an SLI). Pure: the events come in as counts per minute of
//! event time, summed over the windows by the caller.
//!
//! An objective asks that `target` of the events be good over `period`; its error budget is the
//! `1 - target` share of them that may be bad. The **burn rate** of a window is its bad share
//! over the budget's share: 1 spends exactly the budget over the period. A rule spends
//! `budget_consumed` of the budget in its long window, so its rate is
//! `budget_consumed × period / long window` (2% of 30 days in 1 h: 14.4); it fires while both
//! its long and its short window burn faster than that, and the short window lets it reset
//! soon after the burning stops.

use serde::Serialize;

use super::Severity;

/// One minute of event time, in ms: the buckets the counts are kept in.
pub const MINUTE_MS: i64 = 60_000;

/// Good and total events of one kind in one minute of event time (`minute_ms` a multiple of
/// [`MINUTE_MS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteCount {
    /// The kind whose events they are (`latency`).
    pub kind: String,
    /// The minute's start, ms since the epoch.
    pub minute_ms: i64,
    /// Good events (a latency at or below the objective's threshold).
    pub good: u64,
    /// Every event counted.
    pub total: u64,
}

/// How loud a rule is: a page (critical route) or a ticket (warning route).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Someone must act now.
    Page,
    /// Someone must act within days.
    Ticket,
}

impl Level {
    /// `page` or `ticket`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Page => "page",
            Level::Ticket => "ticket",
        }
    }

    /// The route it takes: pages are critical, tickets warnings.
    pub fn severity(self) -> Severity {
        match self {
            Level::Page => Severity::Critical,
            Level::Ticket => Severity::Warning,
        }
    }
}

/// One multi-window rule: `budget_consumed` of the period's budget spent in `long_ms`, confirmed
/// by `short_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BurnRule {
    /// Page or ticket.
    pub level: Level,
    /// The share of the period's budget spent in the long window (0.02).
    pub budget_consumed: f64,
    /// The long window (ms).
    pub long_ms: i64,
    /// The short window (ms), shorter than the long one.
    pub short_ms: i64,
}

impl BurnRule {
    /// The burn rate both windows must exceed: `budget_consumed × period / long window`.
    pub fn rate(&self, period_ms: i64) -> f64 {
        self.budget_consumed * period_ms as f64 / self.long_ms as f64
    }

    /// `1h/5m`, for messages and alert findings.
    pub fn name(&self) -> String {
        format!("{}/{}", span(self.long_ms), span(self.short_ms))
    }
}

/// The workbook's rules (table 5-8): page at 2% of the budget in 1 h (5 min) or 5% in 6 h
/// (30 min); ticket at 10% in 3 d (6 h).
pub fn workbook_rules() -> Vec<BurnRule> {
    const H: i64 = 3_600_000;
    vec![
        BurnRule { level: Level::Page, budget_consumed: 0.02, long_ms: H, short_ms: 5 * MINUTE_MS },
        BurnRule { level: Level::Page, budget_consumed: 0.05, long_ms: 6 * H, short_ms: 30 * MINUTE_MS },
        BurnRule { level: Level::Ticket, budget_consumed: 0.10, long_ms: 72 * H, short_ms: 6 * H },
    ]
}

/// An objective with its burn-rate rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// The share of good events required, in (0, 1).
    pub target: f64,
    /// The period the budget is spent over (ms).
    pub period_ms: i64,
    /// The rules alerting on it (empty: the budget is reported, never alerted on).
    pub rules: Vec<BurnRule>,
}

impl Budget {
    /// How far back counts are needed: the period or the longest window, whichever is longer.
    pub fn retention_ms(&self) -> i64 {
        self.rules.iter().map(|r| r.long_ms).fold(self.period_ms, i64::max)
    }
}

/// Good and total events over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Good events.
    pub good: u64,
    /// Every event.
    pub total: u64,
}

/// The burn rate of some events: their bad share over the budget's share (None without events).
pub fn burn_rate(c: Counts, target: f64) -> Option<f64> {
    (c.total > 0).then(|| (c.total - c.good.min(c.total)) as f64 / c.total as f64 / (1.0 - target))
}

/// A rule as evaluated at one point of event time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleState {
    /// The rule.
    #[serde(flatten)]
    pub rule: BurnRule,
    /// `1h/5m`.
    pub name: String,
    /// The rate both windows must exceed.
    pub threshold: f64,
    /// The long window's burn rate (None: no events in it).
    pub long_rate: Option<f64>,
    /// The short window's burn rate.
    pub short_rate: Option<f64>,
}

impl RuleState {
    /// Both windows burn faster than the threshold: the rule fires.
    pub fn firing(&self) -> bool {
        self.long_rate.is_some_and(|r| r > self.threshold) && self.short_rate.is_some_and(|r| r > self.threshold)
    }

    /// The short window still burns faster than the threshold: a firing alert holds.
    pub fn holding(&self) -> bool {
        self.short_rate.is_some_and(|r| r > self.threshold)
    }
}

/// A budget as evaluated at one point of event time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetState {
    /// The point of event time evaluated (the watermark, down to the minute), ms.
    pub as_of_ms: i64,
    /// The target.
    pub target: f64,
    /// The period (days).
    pub period_days: f64,
    /// The events of the period ending at `as_of_ms`.
    pub period: Counts,
    /// The share of the period's budget not spent yet (negative when overspent; None without
    /// events).
    pub budget_left: Option<f64>,
    /// Every rule.
    pub rules: Vec<RuleState>,
}

impl BudgetState {
    /// The rules of a level that fire now.
    pub fn firing(&self, level: Level) -> impl Iterator<Item = &RuleState> {
        self.rules.iter().filter(move |r| r.rule.level == level && r.firing())
    }
}

/// The share of the budget left after these events: `1 - bad / ((1 - target) × total)`.
pub fn budget_left(c: Counts, target: f64) -> Option<f64> {
    burn_rate(c, target).map(|r| 1.0 - r)
}

/// A share of the budget left, for people: `71.3%`, `none (overspent by 12.5%)`, and `all`
/// without events.
pub fn left(share: Option<f64>) -> String {
    match share {
        None => "all".to_owned(),
        Some(l) if l < 0.0 => format!("none (overspent by {:.1}%)", -l * 100.0),
        Some(l) => format!("{:.1}%", l * 100.0),
    }
}

/// Evaluates a budget at `as_of_ms` (aligned down to the minute); `sum(from, to)` gives the
/// events of the minutes starting in `[from, to)`.
pub fn evaluate(b: &Budget, as_of_ms: i64, sum: &mut dyn FnMut(i64, i64) -> Counts) -> BudgetState {
    let at = as_of_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    let mut rate = |len: i64| burn_rate(sum(at.saturating_sub(len), at), b.target);
    let rules = b
        .rules
        .iter()
        .map(|r| RuleState {
            rule: *r,
            name: r.name(),
            threshold: r.rate(b.period_ms),
            long_rate: rate(r.long_ms),
            short_rate: rate(r.short_ms),
        })
        .collect();
    let period = sum(at.saturating_sub(b.period_ms), at);
    BudgetState {
        as_of_ms: at,
        target: b.target,
        period_days: b.period_ms as f64 / 86_400_000.0,
        period,
        budget_left: budget_left(period, b.target),
        rules,
    }
}

/// A window length as people write it: `5m`, `1h`, `3d`, `90s`.
pub fn span(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        _ if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        _ if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        _ if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    /// The workbook's table 5-8 (a 30-day, 99.9% objective): 2% in 1 h is a burn rate of 14.4,
    /// 5% in 6 h is 6, 10% in 3 d is 1; the optional 10% in 1 d is 3.
    #[test]
    fn the_burn_rates_are_the_workbooks() {
        let rates: Vec<(String, f64)> = workbook_rules().iter().map(|r| (r.name(), r.rate(30 * DAY))).collect();
        let want = [("1h/5m", 14.4), ("6h/30m", 6.0), ("3d/6h", 1.0)];
        for ((name, rate), (n, w)) in rates.iter().zip(want) {
            assert_eq!(name, n);
            assert!((rate - w).abs() < 1e-12, "{name}: {rate} vs {w}");
        }
        let optional = BurnRule { level: Level::Ticket, budget_consumed: 0.1, long_ms: DAY, short_ms: 2 * 3_600_000 };
        assert!((optional.rate(30 * DAY) - 3.0).abs() < 1e-12);
        assert_eq!(optional.name(), "1d/2h");
        // The workbook's own check: at a burn rate of 14.4 a 99.9% objective's 30-day budget
        // of 0.1% errors is spent at 1.44% errors, and 2% of it goes in one hour.
        let c = Counts { good: 98_560, total: 100_000 };
        assert!((burn_rate(c, 0.999).unwrap() - 14.4).abs() < 1e-9);
        assert!((14.4 * 3_600_000.0 / (30 * DAY) as f64 - 0.02).abs() < 1e-12);
        assert_eq!(burn_rate(Counts::default(), 0.99), None);
    }

    /// Both windows must exceed the rate; the short one alone holds a firing alert; the budget
    /// left is over the period; the windows are the minutes before the evaluated point.
    #[test]
    fn a_rule_fires_only_when_both_windows_burn_and_the_budget_left_is_over_the_period() {
        let b = Budget { target: 0.99, period_ms: 30 * DAY, rules: workbook_rules() };
        assert_eq!(b.retention_ms(), 30 * DAY);
        // One minute every minute: 1000 events; the last 10 minutes 20% bad, before that 0.1%.
        let at = 100 * DAY + 30_000;
        let mut asked = Vec::new();
        let mut sum = |from: i64, to: i64| {
            asked.push((from, to));
            let minutes = (to - from) / MINUTE_MS;
            let recent = minutes.min(10) as u64;
            let old = minutes as u64 - recent;
            Counts { good: recent * 800 + old * 999, total: minutes as u64 * 1000 }
        };
        let s = evaluate(&b, at, &mut sum);
        assert_eq!(s.as_of_ms, 100 * DAY, "down to the minute");
        assert!(asked.contains(&(100 * DAY - 3_600_000, 100 * DAY)), "{asked:?}");
        let page = &s.rules[0];
        assert!((page.short_rate.unwrap() - 20.0).abs() < 1e-9, "5 min all bad: 20% / 1%");
        // 1 h: 10 minutes at 20%, 50 at 0.1%.
        let long = (10.0 * 200.0 + 50.0 * 1.0) / 60_000.0 / 0.01;
        assert!((page.long_rate.unwrap() - long).abs() < 1e-9);
        assert!(!page.firing() && page.holding(), "3.4 < 14.4 over the hour: not firing, but holding");
        assert_eq!(s.firing(Level::Page).count(), 0);
        let bad = 10 * 200 + (30 * 1440 - 10); // 200 a minute for 10 minutes, then 1 a minute
        let left = 1.0 - bad as f64 / (30.0 * 1440.0 * 1000.0 * 0.01);
        assert!((s.budget_left.unwrap() - left).abs() < 1e-12, "{:?} vs {left}", s.budget_left);
        assert_eq!(span(90_000), "90s");
    }
}
