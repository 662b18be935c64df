//! The engine: compares one column's reference and current data, then judges a whole
//! evaluation under a [`Policy`]. Pure and synchronous like `stats` (no I/O, clock or logging):
//! the `source` module decodes Parquet into [`ColumnData`], the CLI and the daemon call
//! [`compare_column`] (the expensive part, one column at a time, on any thread) and then
//! [`judge`] once, which applies the multiple-testing correction across every p-value of the
//! evaluation and the decision policy.

pub mod budget;
mod categorical;
pub mod check;
pub mod latency;
pub mod model;
pub mod policy;
pub mod report;
mod sketched;
pub mod text;

use sketched::{Side, approximate_tests};

pub use policy::{Extras, Floors, Policy, PsiEffect, Severity};
pub use report::*;

use crate::stats::sketch::{CdfSketch, KsInterval};
use std::borrow::Cow;
use std::sync::Arc;

use crate::stats::{self, CategoryCounts, KsMode, Moments, NumericComparison, Sample, SortedSample};

/// One side of one column, as decoded.
#[derive(Debug, Clone)]
pub struct ColumnData {
    /// Arrow type, for the report.
    pub data_type: String,
    /// Rows, including missing.
    pub rows: u64,
    /// Null values (counted, then dropped: nulls never reach the statistics).
    pub nulls: u64,
    /// NaN values (floats).
    pub nan: u64,
    /// The non-missing values.
    pub values: Values,
}

/// Non-missing values of one side.
#[derive(Debug, Clone)]
pub enum Values {
    /// Numeric values; `None` when every row was missing.
    Numeric(Option<Sample>),
    /// Numeric values already sorted and kept in memory (an exact snapshot), shared between
    /// evaluations: comparing against them costs `O(m log n)`.
    Sorted(Arc<SortedColumn>),
    /// Numeric values known through a snapshot's sketch.
    Sketched(Box<SketchedNumeric>),
    /// Category frequencies.
    Categorical(CategoryCounts),
}

/// Sorted values with their summary, computed once.
#[derive(Debug)]
pub struct SortedColumn {
    /// The values.
    pub sample: SortedSample,
    /// Their summary.
    pub moments: Moments,
}

impl SortedColumn {
    /// Computes the summary once.
    pub fn new(sample: SortedSample) -> SortedColumn {
        SortedColumn { moments: Moments::of(&sample), sample }
    }
}

/// A numeric reference summarised by a sketch: results against it are approximate, with a
/// stated bound.
#[derive(Debug, Clone)]
pub struct SketchedNumeric {
    /// The CDF sketch.
    pub sketch: CdfSketch,
    /// PSI edges stored at build time, for `bins` bins.
    pub edges: Vec<f64>,
    /// Reference counts in those bins.
    pub edge_counts: Vec<u64>,
    /// How many bins the edges were computed for.
    pub bins: usize,
    /// Whether the edges and counts are exact (built from all values) or came from merging
    /// sketches.
    pub edges_exact: bool,
    /// Exact summary statistics.
    pub moments: Moments,
}

impl ColumnData {
    /// Gives up the numeric values' allocation for reuse (empty for categorical data).
    pub fn into_buffer(self) -> Vec<f64> {
        match self.values {
            Values::Numeric(Some(s)) => s.into_values(),
            _ => Vec::new(),
        }
    }

    fn count(&self) -> u64 {
        match &self.values {
            Values::Numeric(s) => s.as_ref().map_or(0, |s| s.len() as u64),
            Values::Sorted(s) => s.sample.len() as u64,
            Values::Sketched(s) => s.sketch.len(),
            Values::Categorical(c) => c.total(),
        }
    }

    pub(crate) fn missing(&self) -> u64 {
        self.nulls + self.nan
    }

    fn summary(&self, moments: Option<Moments>) -> SideSummary {
        let count = self.count();
        let mut s = SideSummary {
            data_type: self.data_type.clone(),
            rows: self.rows,
            count,
            nulls: self.nulls,
            nan: self.nan,
            missing_rate: if self.rows == 0 { 0.0 } else { self.missing() as f64 / self.rows as f64 },
            stats: None,
            top: None,
            distinct: None,
        };
        s.stats =
            moments.map(|x| NumericSummary { mean: x.mean, std: x.std, min: x.min, median: x.median, max: x.max });
        match &self.values {
            Values::Numeric(_) | Values::Sorted(_) | Values::Sketched(_) => {}
            Values::Categorical(c) => {
                s.distinct = Some(c.distinct());
                s.top = Some(shares(c.top(5), c.total()));
            }
        }
        s
    }
}

fn shares(v: Vec<(String, u64)>, total: u64) -> Vec<CategoryShare> {
    v.into_iter()
        .map(|(category, count)| CategoryShare { category, count, share: count as f64 / total.max(1) as f64 })
        .collect()
}

/// Runs every test of one column; p-values are raw and nothing is judged yet.
///
/// # Panics
/// If the two sides hold different kinds of values (the caller reports that as a schema
/// change instead of comparing).
pub fn compare_column(name: &str, reference: &ColumnData, current: &ColumnData, policy: &Policy) -> ColumnReport {
    let mut tests = Vec::new();
    let mut fresh = None;
    let enough = reference.count() >= policy.min_count && current.count() >= policy.min_count;
    let (kind, moments) = match (&reference.values, &current.values) {
        (Values::Numeric(r), Values::Numeric(c)) => {
            (ColumnKind::Numeric, compare_samples(r.as_ref(), c.as_ref(), enough, policy, &mut tests))
        }
        (Values::Sorted(_), Values::Numeric(_) | Values::Sorted(_)) | (Values::Numeric(_), Values::Sorted(_)) => {
            (ColumnKind::Numeric, compare_sorted(&reference.values, &current.values, enough, policy, &mut tests))
        }
        (Values::Sketched(_), Values::Numeric(_) | Values::Sorted(_) | Values::Sketched(_))
        | (Values::Numeric(_) | Values::Sorted(_), Values::Sketched(_)) => {
            (ColumnKind::Numeric, compare_sketched(&reference.values, &current.values, enough, policy, &mut tests))
        }
        (Values::Categorical(r), Values::Categorical(c)) => {
            fresh = Some(compare_categories(r, c, enough, policy, &mut tests));
            (ColumnKind::Categorical, (None, None))
        }
        _ => panic!("compare_column({name}): the sides hold different kinds of values"),
    };
    tests.push(categorical::null_rate_test(reference, current, policy));
    ColumnReport {
        column: name.to_owned(),
        segment: None,
        kind,
        drift: false,
        severity: Severity::None,
        reference: reference.summary(moments.0),
        current: current.summary(moments.1),
        tests,
        new_categories_total: fresh.as_ref().map(|f| f.total),
        new_categories_share: fresh.as_ref().map(|f| f.share),
        new_categories: fresh.map(|f| f.shown),
        category_counts: match (&reference.values, &current.values) {
            (Values::Categorical(r), Values::Categorical(c)) => Some(categorical::pairs(r, c, 20)),
            _ => None,
        },
    }
}

/// The moments of each side, where a comparison computed or knew them.
type SideMoments = (Option<Moments>, Option<Moments>);

/// The numeric tests' places when a side has too few values to compare.
fn push_insufficient_numeric(tests: &mut Vec<TestResult>) {
    tests.push(TestResult::new(TestKind::Ks, TestStatus::Insufficient));
    tests.push(TestResult::new(TestKind::Psi, TestStatus::Insufficient));
}

/// Two sides of raw numeric values (`None`: every row missing).
fn compare_samples(
    r: Option<&Sample>,
    c: Option<&Sample>,
    enough: bool,
    policy: &Policy,
    tests: &mut Vec<TestResult>,
) -> SideMoments {
    match (r, c) {
        (Some(r), Some(c)) if enough => {
            let cmp = numeric_tests(r, c, policy, tests);
            (Some(cmp.reference), Some(cmp.current))
        }
        _ => {
            push_insufficient_numeric(tests);
            (None, None)
        }
    }
}

/// Numeric sides of which at least one is already sorted (an exact snapshot) and none is a
/// sketch: the other side is sorted and both are compared exactly.
fn compare_sorted<'a>(
    r: &'a Values,
    c: &'a Values,
    enough: bool,
    policy: &Policy,
    tests: &mut Vec<TestResult>,
) -> SideMoments {
    let exact = |v: &'a Values| -> Option<(Cow<'a, SortedSample>, Option<Moments>)> {
        match v {
            Values::Sorted(s) => Some((Cow::Borrowed(&s.sample), Some(s.moments))),
            Values::Numeric(Some(x)) => Some((Cow::Owned(x.sorted()), None)),
            _ => None,
        }
    };
    match (exact(r), exact(c)) {
        (Some((rs, rm)), Some((cs, cm))) if enough => {
            let cmp = stats::bucketed::compare_sorted_with(&rs, &cs, policy.bins, KsMode::Auto, rm, cm);
            exact_tests(&cmp, Some((&rs, &cs)), policy, tests);
            (Some(cmp.reference), Some(cmp.current))
        }
        (r, c) => {
            push_insufficient_numeric(tests);
            (r.and_then(|x| x.1), c.and_then(|x| x.1))
        }
    }
}

/// Numeric sides of which at least one is a snapshot's sketch: the approximate tests.
fn compare_sketched<'a>(
    r: &'a Values,
    c: &'a Values,
    enough: bool,
    policy: &Policy,
    tests: &mut Vec<TestResult>,
) -> SideMoments {
    let side = |v: &'a Values| match v {
        Values::Sketched(s) => Some(Side::Sketch(s)),
        Values::Numeric(Some(x)) => Some(Side::Sample(x)),
        Values::Sorted(s) => Some(Side::Sorted(s)),
        _ => None,
    };
    match (side(r), side(c)) {
        (Some(r), Some(c)) if enough => {
            let (rm, cm) = approximate_tests(r, c, policy, tests);
            (Some(rm), Some(cm))
        }
        (r, c) => {
            push_insufficient_numeric(tests);
            (r.and_then(Side::known_moments), c.and_then(Side::known_moments))
        }
    }
}

/// Categories the current data has and the reference lacks.
struct NewCategories {
    /// The most frequent of them, with their shares of the current values.
    shown: Vec<CategoryShare>,
    /// How many there are.
    total: usize,
    /// Their share of the current values.
    share: f64,
}

/// Two sides of category counts: the categorical tests and the new categories.
fn compare_categories(
    r: &CategoryCounts,
    c: &CategoryCounts,
    enough: bool,
    policy: &Policy,
    tests: &mut Vec<TestResult>,
) -> NewCategories {
    if enough {
        categorical::categorical_tests(r, c, policy, tests);
    } else {
        tests.push(TestResult::new(TestKind::Chi2, TestStatus::Insufficient));
    }
    let fresh = c.missing_from(r);
    let fresh_count: u64 = fresh.iter().map(|f| f.1).sum();
    let total = fresh.len();
    let share = if c.total() == 0 { 0.0 } else { fresh_count as f64 / c.total() as f64 };
    let fresh = stats::binning::most_frequent(fresh, 20);
    NewCategories { shown: shares(fresh, c.total()), total, share }
}

pub(crate) fn floors_threshold(alpha: f64, f: Floors) -> Threshold {
    Threshold { alpha: Some(alpha), floor: Some(f.warning), critical_floor: Some(f.critical) }
}

fn numeric_tests(r: &Sample, c: &Sample, policy: &Policy, tests: &mut Vec<TestResult>) -> NumericComparison {
    // Wasserstein needs the whole order of both samples; everything else sorts only what it must.
    let sorted = policy.extras.wasserstein.then(|| (r.sorted(), c.sorted()));
    let cmp = match &sorted {
        Some((rs, cs)) => stats::bucketed::compare_sorted(rs, cs, policy.bins, KsMode::Auto),
        None => stats::bucketed::compare(r, c, policy.bins, KsMode::Auto),
    };
    exact_tests(&cmp, sorted.as_ref().map(|(a, b)| (a, b)), policy, tests);
    cmp
}

/// The KS and PSI tests of an exact comparison (and Wasserstein when asked and the sorted
/// samples are at hand).
fn exact_tests(
    cmp: &NumericComparison,
    sorted: Option<(&SortedSample, &SortedSample)>,
    policy: &Policy,
    tests: &mut Vec<TestResult>,
) {
    let ks = cmp.ks;
    let mut t = TestResult::new(TestKind::Ks, TestStatus::Ok);
    t.statistic = Some(ks.statistic);
    t.effect = Some(ks.statistic);
    t.p_value = Some(ks.p_value);
    t.method = Some(ks.method);
    t.threshold = floors_threshold(policy.alpha, policy.ks);
    t.location = cmp.ks_location;
    t.reference_quantiles = Some(cmp.reference_quantiles.clone());
    t.current_quantiles = Some(cmp.current_quantiles.clone());
    tests.push(t);
    push_psi(&cmp.edges, &cmp.reference_counts, &cmp.current_counts, policy, tests, None);
    if policy.extras.wasserstein
        && let Some((rs, cs)) = sorted
    {
        let w = stats::wasserstein(rs, cs);
        let sd = cmp.reference.std;
        let mut t = TestResult::new(TestKind::Wasserstein, TestStatus::Informational);
        t.statistic = Some(w);
        t.normalized = (sd > 0.0).then(|| w / sd);
        tests.push(t);
    }
}

/// The PSI test (significance from the chi-square test on the same bins) and, if asked, JS.
fn push_psi(
    edges: &[f64],
    rc: &[u64],
    cc: &[u64],
    policy: &Policy,
    tests: &mut Vec<TestResult>,
    approximate: Option<bool>,
) {
    let psi = stats::psi(rc, cc, policy.psi_eps);
    let chi = stats::chi2_homogeneity(rc, cc);
    let mut t = TestResult::new(TestKind::Psi, TestStatus::Ok);
    t.statistic = Some(psi);
    let corrected = psi_corrected(psi, chi.dof, rc, cc);
    t.psi_corrected = Some(corrected);
    t.effect = Some(psi_effect(policy, psi, corrected));
    t.p_value = Some(chi.p_value);
    t.chi2_statistic = Some(chi.statistic);
    t.dof = Some(chi.dof);
    t.threshold = floors_threshold(policy.alpha, policy.psi);
    t.edges = Some(edges.to_vec());
    t.reference_counts = Some(rc.to_vec());
    t.current_counts = Some(cc.to_vec());
    t.approximate = approximate;
    tests.push(t);
    if policy.extras.js {
        let mut j = TestResult::new(TestKind::Js, TestStatus::Informational);
        j.statistic = Some(stats::js_distance(rc, cc));
        tests.push(j);
    }
}

/// `max(0, PSI - dof (1/n + 1/N))` for the bins' counts.
fn psi_corrected(psi: f64, dof: u64, rc: &[u64], cc: &[u64]) -> f64 {
    stats::psi_corrected(psi, dof, cc.iter().sum(), rc.iter().sum())
}

/// The PSI the floors see.
fn psi_effect(policy: &Policy, psi: f64, corrected: f64) -> f64 {
    match policy.psi_effect {
        PsiEffect::Classic => psi,
        PsiEffect::Corrected => corrected,
    }
}

/// Applies the multiple-testing correction over every p-value of the evaluation and the
/// decision policy, orders the columns (drifted first) and builds the report.
pub fn judge(
    mut columns: Vec<ColumnReport>,
    schema: SchemaReport,
    skipped: Vec<Skipped>,
    reference: TableSummary,
    current: TableSummary,
    policy: &Policy,
) -> Report {
    let mut family = Vec::new();
    for (ci, col) in columns.iter().enumerate() {
        for (ti, t) in col.tests.iter().enumerate() {
            if let (TestStatus::Ok, Some(p)) = (t.status, t.p_value) {
                family.push((ci, ti, p));
            }
        }
    }
    let raw: Vec<f64> = family.iter().map(|f| f.2).collect();
    let adjusted = policy.correction.adjust(&raw);
    for (&(ci, ti, _), adj) in family.iter().zip(adjusted) {
        let t = &mut columns[ci].tests[ti];
        t.p_value_adjusted = Some(adj);
        let floors = match t.test {
            TestKind::Ks => policy.ks,
            TestKind::Psi | TestKind::Chi2 => policy.psi,
            TestKind::NullRate => policy.null_rate,
            TestKind::Unseen => policy.unseen,
            TestKind::Js | TestKind::Wasserstein => continue,
        };
        let effect = t.effect.unwrap_or(0.0);
        if adj < policy.alpha {
            t.severity = floors.severity(effect);
            t.drift = t.severity > Severity::None;
        }
    }
    let mut summary = Summary { columns: columns.len(), tests_in_family: family.len(), ..Summary::default() };
    for col in &mut columns {
        col.severity = col.tests.iter().map(|t| t.severity).max().unwrap_or(Severity::None);
        col.drift = col.tests.iter().any(|t| t.drift);
        summary.drifted += usize::from(col.drift);
        summary.critical += usize::from(col.severity == Severity::Critical);
        summary.insufficient += col.tests.iter().filter(|t| t.status == TestStatus::Insufficient).count();
    }
    // Stable: drifted first by severity, otherwise schema order.
    columns.sort_by_key(|c| std::cmp::Reverse(c.severity));
    let schema_drift = !schema.only_in_reference.is_empty() || !schema.type_changed.is_empty();
    let mut severity = columns.iter().map(|c| c.severity).max().unwrap_or(Severity::None);
    if schema_drift {
        severity = Severity::Critical;
    }
    Report {
        report_version: REPORT_VERSION,
        drift: summary.drifted > 0 || schema_drift,
        severity,
        reference,
        current,
        columns,
        schema,
        skipped,
        summary,
        segments: None,
        policy: policy.clone(),
        checks: Vec::new(),
        latency: None,
        reference_snapshot: None,
        model: None,
    }
}
