//! `drift history`: a monitor's stored windows, newest first, as text or JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::json;
use crate::clock::rfc3339_ms;

/// One stored window as `drift history` shows it (an element of `history --format json`, the
/// contract in `docs/json.md`). The fields are declared, and so serialized, in alphabetical
/// order: the order the JSON has had since it was first printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryWindow<'a> {
    /// When the window closed, in milliseconds since the Unix epoch.
    pub closed_ms: i64,
    /// Whether any test of the window (or of one of its segments) drifted.
    pub drift: bool,
    /// Event-time windows: the end of `[start, end)`, ms since the epoch; `null` otherwise.
    pub end_ms: Option<i64>,
    /// How many files the window took.
    pub files: u64,
    /// With `[model]`: the window's model performance (`status` pending, partial or final;
    /// once evaluated its `verdict`, `labelled` and the stored `evaluation`, the `drift.model`
    /// object); absent for a monitor without `[model]` or a window without predictions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<serde_json::Value>,
    /// How many rows those files held.
    pub rows: u64,
    /// Event-time windows: rows of its files too far in the future to evaluate (its report's
    /// `current.rows_future`); absent when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub rows_future: u64,
    /// Event-time windows: rows of its files late for their window (its report's
    /// `current.rows_late`); absent when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub rows_late: u64,
    /// The highest severity: `none`, `warning` or `critical`.
    pub severity: &'a str,
    /// Event-time windows: the start of `[start, end)`, ms since the epoch; `null` otherwise.
    pub start_ms: Option<i64>,
    /// `evaluated`, or `insufficient` when it had too few rows to be judged.
    pub status: &'a str,
    /// Every stored test of the window and its segments.
    pub tests: Vec<HistoryTest<'a>>,
    /// The window's id, increasing within a state database.
    pub window: i64,
}

/// Whether a count is 0 (left out of the JSON).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One stored test of a window (alphabetical fields, as [`HistoryWindow`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryTest<'a> {
    /// The column (or, for a schema change, the column missing, added or retyped).
    pub column: &'a str,
    /// Whether the test drifted.
    pub drift: bool,
    /// The p-value after the correction; `null` for tests without one (schema changes).
    pub p_value_adjusted: Option<f64>,
    /// The segment label (`col=value,...`); `""` for the whole window.
    pub segment: &'a str,
    /// `none`, `warning` or `critical`.
    pub severity: &'a str,
    /// The test's statistic; `null` for tests without one.
    pub statistic: Option<f64>,
    /// The test's name as in the report (`ks`, `psi`, `chi2`, `null_rate`, `column_missing`, ...).
    pub test: &'a str,
}

/// `drift history --format json`: an array of windows, newest first.
pub fn history_json(windows: &[HistoryWindow]) -> String {
    json(windows)
}

/// `drift history`: one line per window, newest first, naming the tests that drifted.
pub fn history_table(windows: &[HistoryWindow]) -> String {
    let mut out = String::new();
    if windows.is_empty() {
        out.push_str("no windows yet\n");
    }
    for w in windows {
        let drifted: Vec<String> =
            w.tests.iter().filter(|t| t.drift).map(|t| format!("{}:{} {}", t.column, t.test, t.severity)).collect();
        let dropped: Vec<String> = [(w.rows_late, "late"), (w.rows_future, "future")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        let _ = writeln!(
            out,
            "window {:>5}  {}  {:>3} files  {:>9} rows  {:<12}  {}{}{}{}",
            w.window,
            rfc3339_ms(w.closed_ms),
            w.files,
            w.rows,
            w.status,
            if w.drift { format!("DRIFT ({})", w.severity) } else { "ok".into() },
            if drifted.is_empty() { String::new() } else { format!(": {}", drifted.join(", ")) },
            if dropped.is_empty() { String::new() } else { format!(" (not evaluated: {})", dropped.join(", ")) },
            w.model.as_ref().map_or(String::new(), model_cell)
        );
    }
    out
}

/// `; model partial, 70% labelled: roc_auc 0.6512 DEGRADED` (or `; model pending labels`).
fn model_cell(m: &serde_json::Value) -> String {
    let status = m["status"].as_str().unwrap_or("pending");
    let Some(e) = m.get("evaluation") else { return format!("; model {status} labels") };
    let whole = &e["whole"];
    let coverage = whole["coverage"].as_f64().map_or(String::new(), |c| format!(", {:.0}% labelled", c * 100.0));
    let metrics: Vec<String> = whole["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| match c["value"].as_f64() {
            Some(v) => format!("{} {v:.4}", c["metric"].as_str().unwrap_or("?")),
            None => format!("{} undefined", c["metric"].as_str().unwrap_or("?")),
        })
        .collect();
    let verdict = match m["verdict"].as_str() {
        Some("breached") => "DEGRADED",
        Some("clean") => "ok",
        _ => "not evaluable",
    };
    format!("; model {status}{coverage}: {} {verdict}", metrics.join(", "))
}
