//! Error budgets as `drift history` shows them: the budget left over the period, and each
//! burn-rate rule's windows and rates, at the watermark.

use std::fmt::Write as _;

use crate::clock::rfc3339_ms;
use crate::engine::budget::{BudgetState, left, span};
use crate::engine::text::num;

/// One budget: its alert, what a good event is, and its state at the watermark.
pub struct BudgetLine<'a> {
    /// The alert its rules raise (`LatencyBudgetBurn`).
    pub alertname: &'a str,
    /// What a good event is (`latency_ms <= 250 ms`).
    pub good: &'a str,
    /// The budget at the watermark.
    pub state: &'a BudgetState,
}

/// `error budget (...): 71.3% left of 30 d ...` and one line per rule.
pub fn budget_table(budgets: &[BudgetLine]) -> String {
    let mut out = String::new();
    for b in budgets {
        let s = b.state;
        let _ = writeln!(
            out,
            "error budget ({}, target {}% over {} d): left {}; {} bad of {} requests; as of {}",
            b.good,
            num(s.target * 100.0),
            num(s.period_days),
            left(s.budget_left),
            s.period.total - s.period.good.min(s.period.total),
            s.period.total,
            rfc3339_ms(s.as_of_ms)
        );
        for r in &s.rules {
            let rate = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{x:.2}"));
            let _ = writeln!(
                out,
                "  {} {:<7} {:<6} burn rate {} over {}, {} over {} (fires above {}){}",
                b.alertname,
                r.rule.level.as_str(),
                r.name,
                rate(r.long_rate),
                span(r.rule.long_ms),
                rate(r.short_rate),
                span(r.rule.short_ms),
                num(r.threshold),
                if r.firing() { ": FIRING" } else { "" }
            );
        }
    }
    out
}
