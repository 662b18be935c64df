//! The tests that count: chi-square and PSI over category bins that fit the window, the share
//! of values the reference never saw, and the missing-rate test (exact on small counts).
//!
//! Under the default policy (`min_expected` = 5) a categorical column gets `chi2` over the
//! bins [`stats::fit_categories`] chooses for the window's size (insufficient, naming the
//! window that would do, when fewer than two fit) and `unseen`. With `min_expected = 0` it gets
//! the classic table (one bin per category of the union, pooled only beyond
//! `max_categories`) and no `unseen` test, as before.

use super::{ColumnData, Policy, TestKind, TestResult, TestStatus, floors_threshold, psi_corrected, psi_effect};
use crate::stats::{self, CategoryCounts, CategoryTable, Fitted, KsMethod};

/// `chi2` (and JS when asked), then `unseen`, for one categorical column with enough values.
pub(super) fn categorical_tests(r: &CategoryCounts, c: &CategoryCounts, policy: &Policy, tests: &mut Vec<TestResult>) {
    if policy.min_expected == 0.0 {
        push_chi2(&stats::align_categories(r, c, policy.max_categories), policy, tests);
        return;
    }
    let reference = r.capped(policy.max_categories);
    match stats::fit_categories(&reference, c, policy.min_expected) {
        Fitted::Table(table) => push_chi2(&table, policy, tests),
        Fitted::Insufficient { testable_from } => {
            let mut t = TestResult::new(TestKind::Chi2, TestStatus::Insufficient);
            t.testable_from = testable_from;
            t.categories = Some(1);
            t.pooled = Some(true);
            tests.push(t);
        }
    }
    tests.push(unseen_test(&reference, c, policy));
}

/// Chi-square on the table; its PSI (classic and corrected) is the effect.
fn push_chi2(table: &CategoryTable, policy: &Policy, tests: &mut Vec<TestResult>) {
    let psi = stats::psi(&table.reference, &table.current, policy.psi_eps);
    let chi = stats::chi2_homogeneity(&table.reference, &table.current);
    let corrected = psi_corrected(psi, chi.dof, &table.reference, &table.current);
    let mut t = TestResult::new(TestKind::Chi2, TestStatus::Ok);
    t.statistic = Some(chi.statistic);
    t.effect = Some(psi_effect(policy, psi, corrected));
    t.psi = Some(psi);
    t.psi_corrected = Some(corrected);
    t.p_value = Some(chi.p_value);
    t.dof = Some(chi.dof);
    t.categories = Some(table.labels.len());
    t.pooled = Some(table.pooled);
    t.threshold = floors_threshold(policy.alpha, policy.psi);
    tests.push(t);
    if policy.extras.js {
        let mut j = TestResult::new(TestKind::Js, TestStatus::Informational);
        j.statistic = Some(stats::js_distance(&table.reference, &table.current));
        tests.push(j);
    }
}

/// The window's share of values unseen in the (capped) reference against the reference's own
/// estimate of it, exact binomial, one-sided; the effect is the excess share.
fn unseen_test(reference: &CategoryCounts, current: &CategoryCounts, policy: &Policy) -> TestResult {
    let u = stats::unseen(reference, current);
    let mut t = TestResult::new(TestKind::Unseen, TestStatus::Ok);
    t.statistic = Some(u.share());
    t.effect = Some((u.share() - u.expected).max(0.0));
    t.p_value = Some(u.p_value());
    t.reference_rate = Some(u.expected);
    t.current_rate = Some(u.share());
    t.threshold = floors_threshold(policy.alpha, policy.unseen);
    t
}

/// The smallest expected count of the 2 x 2 table (side x missing or not).
fn smallest_expected(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    let total = (n1 + n2) as f64;
    let missing = (x1 + x2) as f64;
    n1.min(n2) as f64 * missing.min(total - missing) / total
}

/// The missing-rate test: Fisher's exact test when a cell expects fewer than `min_expected`
/// values, the two-proportion z-test otherwise (and always when `min_expected` is 0).
pub(super) fn null_rate_test(r: &ColumnData, c: &ColumnData, policy: &Policy) -> TestResult {
    if r.rows < policy.min_count || c.rows < policy.min_count {
        return TestResult::new(TestKind::NullRate, TestStatus::Insufficient);
    }
    let (x1, n1, x2, n2) = (r.missing(), r.rows, c.missing(), c.rows);
    let rr = x1 as f64 / n1 as f64;
    let cr = x2 as f64 / n2 as f64;
    let mut t = TestResult::new(TestKind::NullRate, TestStatus::Ok);
    t.statistic = Some(cr - rr);
    t.effect = Some((cr - rr).abs());
    if policy.min_expected > 0.0 && smallest_expected(x1, n1, x2, n2) < policy.min_expected {
        t.p_value = Some(stats::fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]));
        t.method = Some(KsMethod::Exact);
    } else {
        t.p_value = Some(stats::two_proportion_p(x1, n1, x2, n2));
        t.method = Some(KsMethod::Asymptotic);
    }
    t.reference_rate = Some(rr);
    t.current_rate = Some(cr);
    t.threshold = floors_threshold(policy.alpha, policy.null_rate);
    t
}

/// The `k` categories most frequent over both sides (ties by label) with each side's count,
/// then `__rest__` pooling the others (absent when nothing is left). Linear in the distinct
/// categories.
pub(super) fn pairs(r: &CategoryCounts, c: &CategoryCounts, k: usize) -> Vec<super::CategoryPair> {
    let mut both: std::collections::HashMap<&str, u64> = r.iter().collect();
    for (label, n) in c.iter() {
        *both.entry(label).or_insert(0) += n;
    }
    let top = crate::stats::binning::most_frequent(both.into_iter().collect(), k);
    let mut out: Vec<super::CategoryPair> = top
        .into_iter()
        .map(|(category, _)| super::CategoryPair { reference: r.get(&category), current: c.get(&category), category })
        .collect();
    let (rl, cl): (u64, u64) = out.iter().fold((0, 0), |(a, b), p| (a + p.reference, b + p.current));
    if rl < r.total() || cl < c.total() {
        out.push(super::CategoryPair {
            category: "__rest__".to_owned(),
            reference: r.total() - rl,
            current: c.total() - cl,
        });
    }
    out
}
