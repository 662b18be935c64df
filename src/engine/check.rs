//! What a kind of check other than drift says about a window, in the shape the alerting
//! understands: per alert (the whole window, or one segment) whether it is breached, with
//! findings to show, plus the kind's own detail for the payload (`drift.<kind>`) and the stored
//! report. Drift itself is the [`super::Report`]; these ride along in [`super::Report::checks`].
//! Pure data: the checks are computed in `crate::checks`.

use serde::Serialize;

use super::Severity;

/// One kind's evaluation of a window.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CheckResult {
    /// The kind (`latency`, …): the key of its table in a monitor file and of its object in
    /// the webhook payload.
    pub kind: String,
    /// The alert it raises (`LatencySLOBreached`, …).
    pub alertname: String,
    /// One entry per alert: the whole window (`segment` "") and each evaluated segment.
    pub alerts: Vec<CheckAlert>,
    /// The kind's own numbers, as it wants them stored and sent.
    pub detail: serde_json::Value,
}

/// What a check says about one alert of a window.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CheckAlert {
    /// Segment label ("" for the whole window).
    pub segment: String,
    /// Breached, clean, or not evaluable.
    pub status: CheckStatus,
    /// What is wrong (empty when clean).
    pub findings: Vec<CheckFinding>,
    /// Rows the check looked at.
    pub rows: u64,
}

/// The outcome of a check for one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Over a threshold: counts towards firing.
    Breached,
    /// Within every threshold: counts towards resolving.
    Clean,
    /// Not enough data: counts neither way.
    Insufficient,
}

/// One thing a check found, shown in messages like a drifted test.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CheckFinding {
    /// What it is about (a percentile, a metric, a column).
    pub subject: String,
    /// The measure (`slo`, `roc_auc`, …).
    pub test: String,
    /// The measured value.
    pub value: Option<f64>,
    /// The warning threshold.
    pub floor: Option<f64>,
    /// The critical threshold.
    pub critical_floor: Option<f64>,
    /// Warning or critical.
    pub severity: Severity,
    /// A few words for people (`p99 412 ms ≥ 400 ms`).
    pub summary: Option<String>,
}
