//! `drift check --latency`: a latency column's percentiles on both sides, side by side with
//! their ratio, and the SLOs the current side is held to. Pure data: built by
//! `crate::checks::latency::compare`, rendered by `crate::output`.

use serde::Serialize;

/// The latency table of a `drift check` run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LatencyComparison {
    /// The latency column.
    pub column: String,
    /// Its unit when numeric (`ms`, `s`, `us`, `ns`); values below are in ms.
    pub unit: String,
    /// The reference side.
    pub reference: LatencySide,
    /// The current side.
    pub current: LatencySide,
    /// One row per percentile, ascending.
    pub percentiles: Vec<PercentileRow>,
    /// One row per SLO (`--latency-slo`).
    pub slo: Vec<SloRow>,
    /// Whether the current side breaches any SLO.
    pub breached: bool,
}

/// One side's latency values.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LatencySide {
    /// Values counted.
    pub count: u64,
    /// Rows whose latency is null or NaN.
    pub missing: u64,
    /// The largest value (ms).
    pub max_ms: Option<f64>,
    /// Whether the percentiles are exact (else within 1% relative, from a sketch).
    pub exact: bool,
}

/// One percentile on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PercentileRow {
    /// The quantile (0.99).
    pub quantile: f64,
    /// Its name (`p99`).
    pub label: String,
    /// The reference's value (ms).
    pub reference_ms: Option<f64>,
    /// The current side's value (ms).
    pub current_ms: Option<f64>,
    /// current / reference.
    pub ratio: Option<f64>,
}

/// One SLO held against the current side.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SloRow {
    /// The quantile (0.99).
    pub quantile: f64,
    /// Its name (`p99`).
    pub label: String,
    /// The threshold (ms).
    pub threshold_ms: f64,
    /// The current side's value at that quantile (ms).
    pub current_ms: Option<f64>,
    /// Current values above the threshold (exact).
    pub above: u64,
    /// Breached: more than `(1 - quantile)` of the values above the threshold.
    pub breached: bool,
}

/// What the latency check says about a window (`drift.latency` in the webhook payload, and
/// the `detail` of its check result in the stored report).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LatencyDetail {
    /// The latency column.
    pub column: String,
    /// Its unit when numeric; every value below is in ms.
    pub unit: String,
    /// The whole window (segment "") and each evaluated segment.
    pub summaries: Vec<LatencySummary>,
    /// The error budget's good and total requests in the whole window, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<ObjectiveCounts>,
}

/// A window's requests against the error budget (`[latency.objective]`), counted exactly.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ObjectiveCounts {
    /// A good request's latency is at most this (ms).
    pub threshold_ms: f64,
    /// The share of good requests required.
    pub target: f64,
    /// The budget's period (days).
    pub period_days: u32,
    /// Requests at or below the threshold.
    pub good: u64,
    /// Requests with a latency.
    pub total: u64,
}

/// The latency of a window or one of its segments.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LatencySummary {
    /// Segment label ("" for the whole window).
    pub segment: String,
    /// Requests with a latency.
    pub count: u64,
    /// Rows whose latency is null or NaN.
    pub missing: u64,
    /// Whether the percentiles are exact (else within 1% relative, from a sketch).
    pub exact: bool,
    /// The configured percentiles and every SLO's, ascending.
    pub percentiles: Vec<Percentile>,
    /// The largest latency (ms).
    pub max_ms: Option<f64>,
    /// Requests per second: over a time window's length, else over the span of the event
    /// times; absent without either.
    pub rps: Option<f64>,
    /// Each SLO's state.
    pub slo: Vec<SloState>,
    /// Exact counts of requests at or below each configured threshold (the SLOs' and the
    /// objective's), ascending: the good requests of an objective at that threshold.
    pub at_or_below: Vec<AtOrBelow>,
}

/// Requests at or below a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct AtOrBelow {
    /// The threshold (ms).
    pub ms: f64,
    /// Requests with a latency at or below it.
    pub requests: u64,
}

/// One percentile of a window.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Percentile {
    /// The quantile (0.99).
    pub quantile: f64,
    /// Its name (`p99`).
    pub label: String,
    /// Its value (ms).
    pub ms: Option<f64>,
}

/// One SLO of a window, decided from exact counts.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SloState {
    /// The quantile (0.99).
    pub quantile: f64,
    /// Its name (`p99`).
    pub label: String,
    /// The percentile's value (ms).
    pub ms: Option<f64>,
    /// The warning threshold (ms).
    pub warning_ms: Option<f64>,
    /// The critical threshold (ms).
    pub critical_ms: Option<f64>,
    /// Requests above the warning threshold.
    pub above_warning: Option<u64>,
    /// Requests above the critical threshold.
    pub above_critical: Option<u64>,
    /// `ok`, `warning` or `critical`.
    pub state: String,
}
