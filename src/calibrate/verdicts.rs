//! From the simulated windows' column results to the figures: each window judged as the monitor
//! judges one (one correction family over its columns, the policy's floors), the false-drift
//! rate of the windows and of each column with a Wilson interval, and the pages the real alert
//! lifecycle and routing ([`crate::alerts::route::window`]) send over that sequence at the
//! monitor's cadence. Pure: no I/O, no clock; the sequence's times are `i * cadence`.

use std::collections::{BTreeMap, BTreeSet};

use crate::alerts::lifecycle::AlertState;
use crate::alerts::route::{self, Routing};
use crate::engine::{self, ColumnReport, Policy, Report, SchemaReport, TableSummary};

/// 30 days in milliseconds.
const MONTH_MS: f64 = 30.0 * 86_400_000.0;

/// The two-sided 95% normal quantile.
const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval (95%) for `k` successes in `n` trials: honest at 0 of n, where
/// the plain estimate says "never".
pub fn wilson(k: usize, n: usize) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At the ends the bounds are exactly 0 and 1 (not a rounding error away).
    let lo = if k == 0.0 { 0.0 } else { (centre - half).max(0.0) };
    let hi = if k == n { 1.0 } else { (centre + half).min(1.0) };
    [lo, hi]
}

/// Every simulated window judged: `by_column[c][w]` is column `c`'s result in window `w`.
pub fn judge_windows(by_column: Vec<Vec<ColumnReport>>, reference_rows: u64, policy: &Policy) -> Vec<Report> {
    let windows = by_column.iter().map(Vec::len).max().unwrap_or(0);
    let mut columns: Vec<std::vec::IntoIter<ColumnReport>> = by_column.into_iter().map(Vec::into_iter).collect();
    (0..windows)
        .map(|_| {
            let cols: Vec<ColumnReport> = columns.iter_mut().filter_map(Iterator::next).collect();
            let rows = cols.iter().map(|c| c.current.rows).max().unwrap_or(0);
            engine::judge(
                cols,
                SchemaReport::default(),
                Vec::new(),
                TableSummary { rows: reference_rows, files: 0, ..Default::default() },
                TableSummary { rows, files: 0, ..Default::default() },
                policy,
            )
        })
        .collect()
}

/// How often one column drifted over the simulated windows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnTally {
    /// Windows in which it drifted.
    pub drifted: usize,
    /// Windows in which each of its tests drifted, by test name.
    pub by_test: BTreeMap<String, usize>,
}

/// Per column (by name, in first-seen order) how many windows drifted.
pub fn tally(reports: &[Report]) -> Vec<(String, ColumnTally)> {
    let mut out: Vec<(String, ColumnTally)> = Vec::new();
    for r in reports {
        for c in &r.columns {
            let at = match out.iter().position(|(n, _)| *n == c.column) {
                Some(i) => i,
                None => {
                    out.push((c.column.clone(), ColumnTally::default()));
                    out.len() - 1
                }
            };
            let t = &mut out[at].1;
            t.drifted += usize::from(c.drift);
            for test in c.tests.iter().filter(|t| t.drift) {
                *t.by_test.entry(test.test.as_str().to_owned()).or_default() += 1;
            }
        }
    }
    out
}

/// Pages (firing notifications of the whole-window alert that reach a sink: new, changed and
/// repeated ones; resolved messages are not pages) over the windows, one every `cadence_ms`.
pub fn pages(reports: &[Report], routing: &Routing, cadence_ms: i64) -> usize {
    let mut prior: BTreeMap<String, AlertState> = BTreeMap::new();
    let mut pages = 0;
    for (i, r) in reports.iter().enumerate() {
        let decision = route::window(routing, i as i64, Some(r), &prior, &[], i as i64 * cadence_ms);
        let firing: BTreeSet<i64> = decision
            .outgoing
            .iter()
            .filter(|o| !o.notification.resolved && !o.silenced)
            .map(|o| o.notification.window)
            .collect();
        pages += firing.len();
        prior.extend(decision.states);
    }
    pages
}

/// Pages per 30 days from `pages` over `windows` windows one every `cadence_ms`.
pub fn per_month(pages: usize, windows: usize, cadence_ms: i64) -> f64 {
    let span = windows as f64 * cadence_ms.max(1) as f64;
    pages as f64 * MONTH_MS / span
}

/// The reports with `column`'s drift taken out (as if it were excluded; the correction family
/// would shrink by its tests, which this leaves alone, so the figure is a close estimate).
pub fn without_column(reports: &[Report], column: &str) -> Vec<Report> {
    reports
        .iter()
        .map(|r| {
            let mut r = r.clone();
            for c in r.columns.iter_mut().filter(|c| c.column == column) {
                c.drift = false;
                c.severity = engine::Severity::None;
                c.tests.iter_mut().for_each(|t| {
                    t.drift = false;
                    t.severity = engine::Severity::None;
                });
            }
            r.drift = r.columns.iter().any(|c| c.drift);
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_values() {
        // SciPy: binomtest(k, n).proportion_ci(method="wilson") (tests/data/golden/wilson.json
        // holds more, from make_calibration_goldens.py).
        let [lo, hi] = wilson(0, 200);
        assert!(lo == 0.0 && (hi - 0.018_845_326_377_266_575).abs() < 1e-12, "{hi}");
        let [lo, hi] = wilson(10, 200);
        assert!(
            (lo - 0.027_382_645_600_763_93).abs() < 1e-12 && (hi - 0.089_578_148_138_775_99).abs() < 1e-12,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), [0.0, 1.0]);
    }

    #[test]
    fn a_month_of_hourly_windows() {
        assert!((per_month(1, 720, 3_600_000) - 1.0).abs() < 1e-12);
        assert!((per_month(2, 200, 3_600_000) - 7.2).abs() < 1e-12);
    }
}
