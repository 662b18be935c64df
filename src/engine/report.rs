//! The result of one evaluation: what `drift check --format json` prints, what the daemon
//! stores and what alerts quote. The JSON field names are a contract (see `docs/json.md`):
//! fields may be added, these names stay.

use serde::Serialize;

use super::policy::{Policy, Severity};
use crate::stats::KsMethod;

/// Reads back an `f64` that JSON wrote as `null` (serde_json writes NaN and ±inf so) as NaN,
/// so that a stored report deserialises whatever its values.
fn nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    use serde::Deserialize as _;
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Schema version of the JSON report.
pub const REPORT_VERSION: u32 = 1;

/// The whole evaluation.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Report {
    /// Version of this JSON shape.
    pub report_version: u32,
    /// Whether anything drifted (a column, or a reference column missing or retyped).
    pub drift: bool,
    /// Highest severity found.
    pub severity: Severity,
    /// The reference table.
    pub reference: TableSummary,
    /// The current table.
    pub current: TableSummary,
    /// One entry per compared column: drifted first (critical, then warning), then in schema
    /// order.
    pub columns: Vec<ColumnReport>,
    /// Schema differences.
    pub schema: SchemaReport,
    /// Columns not compared, with the reason.
    pub skipped: Vec<Skipped>,
    /// Counts for the summary line.
    pub summary: Summary,
    /// Segments: which were evaluated and which not, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<SegmentsReport>,
    /// Every threshold used.
    pub policy: Policy,
    /// Other kinds of check configured for the window (latency, model quality …), each with
    /// its alerts; absent when none is configured.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub checks: Vec<super::check::CheckResult>,
    /// `drift check --latency`: the latency column's percentiles on both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<super::latency::LatencyComparison>,
    /// The reference, when it is a snapshot file: which one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reference_snapshot: Option<SnapshotId>,
    /// `drift check --model-task`: the model's realized performance on both sides. Not read
    /// back from a stored report: only `drift check` makes it, and the daemon stores none yet.
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub model: Option<crate::quality::Comparison>,
}

/// Which reference snapshot file a report was made against.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SnapshotId {
    /// The file's CRC-32 in hex (its last four bytes, checked when it is read; `drift
    /// reference show` prints it): the same bytes, the same id.
    pub id: String,
    /// When it was built (RFC 3339), as its metadata says.
    pub created_at: String,
    /// The drift version that built it.
    pub drift_version: String,
}

/// Size of one side.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct TableSummary {
    /// Total rows over all files.
    pub rows: u64,
    /// Number of files read.
    pub files: usize,
    /// An event-time window's `current`: rows of its files not evaluated because their window
    /// had closed (or they had no timestamp). Absent when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rows_late: u64,
    /// An event-time window's `current`: rows of its files not evaluated because their event
    /// time was more than `max_future_secs` ahead of the daemon's clock. Absent when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rows_future: u64,
}

/// Whether a count is 0 (left out of the JSON).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Column kinds the engine compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// Integers, floats and decimals, compared as f64.
    Numeric,
    /// Strings, dictionary-encoded strings and booleans (or forced with `--categorical`).
    Categorical,
}

impl ColumnKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Categorical => "categorical",
        }
    }
}

/// Outcome of one column.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ColumnReport {
    /// Column name.
    pub column: String,
    /// The segment (`col=value,...`) this result is for; absent for the whole data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// How it was compared.
    pub kind: ColumnKind,
    /// Whether any of its tests drifted.
    pub drift: bool,
    /// Highest severity among its tests.
    pub severity: Severity,
    /// Reference side summary.
    pub reference: SideSummary,
    /// Current side summary.
    pub current: SideSummary,
    /// Test results.
    pub tests: Vec<TestResult>,
    /// Categories seen in the current data but not in the reference, most frequent first
    /// (at most 20 listed; `new_categories_total` counts them all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_categories: Option<Vec<NewCategory>>,
    /// Number of distinct new categories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_categories_total: Option<usize>,
    /// Share of current values that are new categories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_categories_share: Option<f64>,
    /// Categorical: the 20 categories most frequent over both sides with each side's count
    /// (0 on the reference: new; 0 on the current: vanished), most frequent first, then one
    /// `__rest__` entry pooling every other category (what the HTML report draws).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_counts: Option<Vec<CategoryPair>>,
}

/// One category's counts on both sides.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct CategoryPair {
    /// Label (`__rest__`: every category not listed, pooled).
    pub category: String,
    /// Non-missing reference values in it.
    pub reference: u64,
    /// Non-missing current values in it.
    pub current: u64,
}

/// Per-side description of a column.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SideSummary {
    /// Arrow data type as read.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Rows (values plus missing).
    pub rows: u64,
    /// Non-missing values (what the tests use).
    pub count: u64,
    /// Null values (NaN is counted apart; both are missing).
    pub nulls: u64,
    /// NaN (floats only; excluded from the tests, counted as missing for the null-rate test).
    pub nan: u64,
    /// Missing share: (nulls + nan) / rows.
    #[serde(deserialize_with = "nan_from_null")]
    pub missing_rate: f64,
    /// Numeric: summary statistics over the non-missing values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<NumericSummary>,
    /// Categorical: the most frequent categories (up to 5) with their shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<Vec<CategoryShare>>,
    /// Categorical: number of distinct categories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct: Option<usize>,
}

/// Numeric summary statistics (±inf included as values).
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq)]
pub struct NumericSummary {
    /// Arithmetic mean of the non-missing values.
    #[serde(deserialize_with = "nan_from_null")]
    pub mean: f64,
    /// Population standard deviation.
    #[serde(deserialize_with = "nan_from_null")]
    pub std: f64,
    /// Minimum.
    #[serde(deserialize_with = "nan_from_null")]
    pub min: f64,
    /// Median of the non-missing values (NumPy's linear interpolation between the two middle ranks).
    #[serde(deserialize_with = "nan_from_null")]
    pub median: f64,
    /// Maximum.
    #[serde(deserialize_with = "nan_from_null")]
    pub max: f64,
}

/// One category and its share of the side's non-missing values.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct CategoryShare {
    /// Label.
    pub category: String,
    /// How many of the side's non-missing values are this category.
    pub count: u64,
    /// Share of non-missing values.
    #[serde(deserialize_with = "nan_from_null")]
    pub share: f64,
}

/// A category unseen in the reference.
pub type NewCategory = CategoryShare;

/// Which test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestKind {
    /// Two-sample Kolmogorov-Smirnov.
    Ks,
    /// PSI on numeric bins (significance: chi-square on the bins).
    Psi,
    /// Chi-square over categories (effect: categorical PSI).
    Chi2,
    /// Change in the missing rate.
    NullRate,
    /// Share of a categorical window's values the reference never saw.
    Unseen,
    /// Jensen-Shannon distance, informational.
    Js,
    /// Wasserstein-1, informational.
    Wasserstein,
}

impl TestKind {
    /// Name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            TestKind::Ks => "ks",
            TestKind::Psi => "psi",
            TestKind::Chi2 => "chi2",
            TestKind::NullRate => "null_rate",
            TestKind::Unseen => "unseen",
            TestKind::Js => "js",
            TestKind::Wasserstein => "wasserstein",
        }
    }
}

/// Whether a test could be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    /// Evaluated.
    Ok,
    /// Too few values on a side (see `policy.min_count`), or for chi2 fewer than two bins
    /// that fit the window (see `testable_from`): reported, never drift.
    Insufficient,
    /// Computed for information only: no p-value, never drift.
    Informational,
}

/// The thresholds a test was judged against.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq)]
pub struct Threshold {
    /// Significance level for the adjusted p-value.
    pub alpha: Option<f64>,
    /// Warning floor on `effect`.
    pub floor: Option<f64>,
    /// Critical floor on `effect`.
    pub critical_floor: Option<f64>,
}

/// One test on one column.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TestResult {
    /// Which test.
    pub test: TestKind,
    /// Evaluated, insufficient or informational.
    pub status: TestStatus,
    /// The test's own statistic (KS D, PSI, chi-square, missing-rate difference, ...).
    pub statistic: Option<f64>,
    /// The effect size compared with the floors (KS: D; psi and chi2: `psi_corrected`, or the
    /// PSI under `psi_effect = classic`; null_rate: the absolute change in the missing rate;
    /// unseen: the unseen share beyond the reference's estimate).
    pub effect: Option<f64>,
    /// Raw p-value.
    pub p_value: Option<f64>,
    /// p-value after the multiple-testing correction.
    pub p_value_adjusted: Option<f64>,
    /// The significance level and the warning and critical floors this test was judged with.
    pub threshold: Threshold,
    /// Significant and above the warning floor.
    pub drift: bool,
    /// none, warning or critical.
    pub severity: Severity,
    /// KS and null_rate: how the p-value was computed (null_rate: `exact` is Fisher's exact
    /// test, `asymptotic` the z-test).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<KsMethod>,
    /// psi: the bin edges (reference quantiles, duplicates collapsed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edges: Option<Vec<f64>>,
    /// psi: reference counts per bin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_counts: Option<Vec<u64>>,
    /// psi: current counts per bin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_counts: Option<Vec<u64>>,
    /// psi: the chi-square statistic behind the p-value; chi2: the PSI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chi2_statistic: Option<f64>,
    /// chi2 and psi: degrees of freedom of the chi-square test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dof: Option<u64>,
    /// chi2: the classic categorical PSI (the `effect` under `psi_effect = classic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<f64>,
    /// psi and chi2: `max(0, PSI - dof (1/n + 1/N))`, the PSI beyond its sampling noise (the
    /// `effect` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi_corrected: Option<f64>,
    /// chi2, when insufficient for lack of bins: the smallest window (non-missing values) whose
    /// bins would be testable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub testable_from: Option<u64>,
    /// chi2: number of category bins compared, and whether rare ones were pooled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<usize>,
    /// chi2: reference categories pooled into `__other__` (too rare for the window, or beyond
    /// the category cap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooled: Option<bool>,
    /// null_rate: reference missing rate; unseen: the share the reference expects (its
    /// singletons, plus a capped reference's pooled tail, over N).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_rate: Option<f64>,
    /// null_rate: current missing rate; unseen: the window's share of unseen values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_rate: Option<f64>,
    /// wasserstein: the distance divided by the reference standard deviation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalized: Option<f64>,
    /// ks: the smallest value where the two ECDFs are D apart (absent when D is 0, and
    /// against a sketch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<f64>,
    /// ks: the reference's percentiles 0 to 100 (type 7), its ECDF in 101 points (absent
    /// against a sketch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_quantiles: Option<Vec<f64>>,
    /// ks: the current side's percentiles 0 to 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_quantiles: Option<Vec<f64>>,
    /// True when computed against a sketched reference snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate: Option<bool>,
    /// ks against a sketch: the statistic is within this of the true value; `effect` and the
    /// p-value use `statistic - error_bound`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_bound: Option<f64>,
}

impl TestResult {
    /// A test with only its kind and status set; the comparison fills in the rest.
    pub fn new(test: TestKind, status: TestStatus) -> TestResult {
        TestResult {
            test,
            status,
            statistic: None,
            effect: None,
            p_value: None,
            p_value_adjusted: None,
            threshold: Threshold { alpha: None, floor: None, critical_floor: None },
            drift: false,
            severity: Severity::None,
            method: None,
            edges: None,
            reference_counts: None,
            current_counts: None,
            chi2_statistic: None,
            dof: None,
            psi: None,
            psi_corrected: None,
            testable_from: None,
            categories: None,
            pooled: None,
            reference_rate: None,
            current_rate: None,
            normalized: None,
            location: None,
            reference_quantiles: None,
            current_quantiles: None,
            approximate: None,
            error_bound: None,
        }
    }
}

/// Schema differences between the sides.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default, PartialEq)]
pub struct SchemaReport {
    /// Columns the current data lacks (drift).
    pub only_in_reference: Vec<String>,
    /// Columns new in the current data (reported, not drift).
    pub only_in_current: Vec<String>,
    /// Columns whose kind changed between numeric and categorical (drift).
    pub type_changed: Vec<TypeChange>,
}

impl SchemaReport {
    /// Each finding as (column, finding, drift), in the order stored and exported:
    /// `column_missing` and `type_changed` are drift, `column_added` is reported only.
    pub fn findings(&self) -> impl Iterator<Item = (&str, &'static str, bool)> {
        let missing = self.only_in_reference.iter().map(|c| (c.as_str(), "column_missing", true));
        let retyped = self.type_changed.iter().map(|t| (t.column.as_str(), "type_changed", true));
        let added = self.only_in_current.iter().map(|c| (c.as_str(), "column_added", false));
        missing.chain(retyped).chain(added)
    }
}

/// A column whose type changed kind.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TypeChange {
    /// The column whose kind changed.
    pub column: String,
    /// Reference Arrow type.
    pub reference: String,
    /// Current Arrow type.
    pub current: String,
}

/// A column left out of the comparison.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Skipped {
    /// The column left out of the comparison.
    pub column: String,
    /// Arrow type.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Why.
    pub reason: String,
}

/// Counts behind the summary line.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default, PartialEq)]
pub struct Summary {
    /// Columns compared.
    pub columns: usize,
    /// Columns that drifted.
    pub drifted: usize,
    /// Of which critical.
    pub critical: usize,
    /// p-values in the correction's family.
    pub tests_in_family: usize,
    /// Tests that could not be evaluated for lack of data.
    pub insufficient: usize,
}

/// What happened to the segments of a window.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default, PartialEq)]
pub struct SegmentsReport {
    /// Segments evaluated, with their current rows.
    pub evaluated: Vec<(String, u64)>,
    /// Segments with fewer rows than the minimum: (segment, rows).
    pub too_small: Vec<(String, u64)>,
    /// Segments beyond the cap on their number: how many, and their rows.
    pub over_cap: (usize, u64),
    /// Segments the reference has no rows for.
    pub not_in_reference: Vec<String>,
}
