//! `drift check --latency`: a latency column's percentiles on both sides, side by side with
//! their ratio, and the SLOs the current side is held to. Pure data: built by
//! `crate::checks::latency::compare`, rendered by `crate::output`.

use serde::Serialize;

/// The latency table of a `drift check` run.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
