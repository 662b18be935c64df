//! A window's realized performance judged against the model's thresholds: the whole window and
//! each segment, as a [`CheckResult`] (kind `model`, alert `ModelPerformanceDegraded`) that
//! the alert lifecycle steps like any other kind's, and whose detail is the payload's
//! `drift.model` object.
//!
//! Rules, in one place:
//! - A metric is computed on the window's labelled rows. A fixed threshold is `min`/`max`; a
//!   learned one is mean ± 3σ of the metric over consecutive reference chunks **of as many rows
//!   as the window's metric was computed on** (its labelled rows), so the band is as wide as the
//!   window's own sampling noise whatever its coverage; fewer than [`FEW_CHUNKS`] chunks is
//!   said, none is not evaluable.
//! - An undefined metric (one class only, …) is never a breach: its check is not evaluable, with
//!   the reason.
//! - An alert (whole window or segment) is breached when one of its checks is, clean when every
//!   check has a value within its bounds, else not evaluable. Below `min_coverage`, or with
//!   fewer labelled rows than the segment minimum, it is not evaluable.
//! - A window is evaluated twice (partial, then final), and newer windows may be evaluated in
//!   between, so [`to_step`] says which of an evaluation's alerts step the lifecycle: an alert
//!   whose status is the same as at the window's last evaluation does not (a window counts once
//!   towards `fire_after`); a changed one does when the window is the newest evaluated one, and
//!   an older window's only when it turned breached (and the state steps it only if that alert
//!   is not already firing). An older window's final verdict can page (the labels showed the
//!   model was wrong then) but never resolve, reset or repeat an alert newer windows speak for.

use std::collections::BTreeMap;

use anyhow::Result;

use super::Severity;
use super::check::{CheckAlert, CheckFinding, CheckResult, CheckStatus};
use crate::quality::{
    Band, Bounds, FEW_CHUNKS, Metric, ModelColumns, Performance, Rows, Threshold, Value, chunk_ranges, learned_band,
    performance,
};

/// The kind's name: the key of its object in the webhook payload (`drift.model`).
pub const KIND: &str = "model";

/// The alert a breach raises.
pub const ALERTNAME: &str = "ModelPerformanceDegraded";

/// What judging a window needs besides its rows.
pub struct Judging<'a> {
    /// The model's columns and task.
    pub columns: &'a ModelColumns,
    /// Per metric, its threshold.
    pub thresholds: &'a BTreeMap<Metric, Threshold>,
    /// The model reference's rows (its own labels).
    pub reference: &'a Rows,
    /// A window (or segment) with less coverage than this is not evaluable.
    pub min_coverage: f64,
    /// A segment with fewer labelled rows than this is not evaluable.
    pub segment_min_rows: u64,
    /// The label of the segments pooled beyond the cap: not judged.
    pub pooled: &'a str,
}

/// One metric's value against its threshold.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MetricCheck {
    /// The metric's name.
    pub metric: &'static str,
    /// Its value, if defined.
    pub value: Option<f64>,
    /// The bounds it is held to (None: none could be learned).
    pub bounds: Option<Bounds>,
    /// `fixed` or `learned`.
    pub threshold: &'static str,
    /// A learned threshold's band.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band: Option<Band>,
    /// The rows of each reference chunk a learned band was computed over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_rows: Option<u64>,
    /// Outside its bounds.
    pub breached: bool,
    /// Why it is not evaluable, or a warning about its band.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The whole window's or one segment's performance, judged.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Judged {
    /// Segment label ("" for the whole window).
    pub segment: String,
    /// Predictions kept for the join.
    pub rows: u64,
    /// Of them, labelled.
    pub labelled: u64,
    /// `labelled / rows` (None without rows).
    pub coverage: Option<f64>,
    /// Every metric of the task.
    pub performance: Performance,
    /// The thresholded metrics.
    pub checks: Vec<MetricCheck>,
    /// Breached, clean or not evaluable.
    pub status: CheckStatus,
    /// Why not evaluable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Judges a window's rows (`segments[i]` is row i's segment label, "" without segments).
pub fn judge(j: &Judging<'_>, rows: &Rows, segments: &[String]) -> Result<(Judged, Vec<Judged>)> {
    let whole = judge_one(j, "", rows, j.min_coverage, 1)?;
    let mut by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in segments.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
        by.entry(s.as_str()).or_default().push(i);
    }
    let mut out = Vec::new();
    for (label, index) in by {
        if label == j.pooled {
            continue;
        }
        let sub = rows.subset(index.into_iter());
        out.push(judge_one(j, label, &sub, j.min_coverage, j.segment_min_rows.max(1))?);
    }
    Ok((whole, out))
}

fn judge_one(j: &Judging<'_>, segment: &str, rows: &Rows, min_coverage: f64, min_rows: u64) -> Result<Judged> {
    let total = rows.label.len() as u64;
    let labelled = rows.labelled();
    let coverage = (total > 0).then(|| labelled as f64 / total as f64);
    let performance = performance("window", j.columns, rows)?;
    let checks: Vec<MetricCheck> =
        j.thresholds.iter().map(|(m, t)| check(j, *m, *t, &performance)).collect::<Result<_>>()?;
    let short = if performance.rows < min_rows {
        Some(format!("{} labelled rows with a prediction, fewer than {min_rows}", performance.rows))
    } else if coverage.is_none_or(|c| c < min_coverage) {
        Some(format!(
            "{:.0}% of the rows labelled, below min_coverage {:.0}%",
            coverage.unwrap_or(0.0) * 100.0,
            min_coverage * 100.0
        ))
    } else {
        None
    };
    let status = if short.is_some() {
        CheckStatus::Insufficient
    } else if checks.iter().any(|c| c.breached) {
        CheckStatus::Breached
    } else if checks.iter().all(|c| c.value.is_some() && c.bounds.is_some()) {
        CheckStatus::Clean
    } else {
        CheckStatus::Insufficient
    };
    Ok(Judged {
        segment: segment.to_owned(),
        rows: total,
        labelled,
        coverage,
        performance,
        checks,
        status,
        note: short,
    })
}

/// One metric against its threshold.
fn check(j: &Judging<'_>, metric: Metric, t: Threshold, p: &Performance) -> Result<MetricCheck> {
    let value = p.get(metric).unwrap_or(Value::Undefined("not measured"));
    let mut c = MetricCheck {
        metric: metric.name(),
        value: value.get(),
        bounds: None,
        threshold: "fixed",
        band: None,
        chunk_rows: None,
        breached: false,
        note: None,
    };
    match t {
        Threshold::Fixed { min, max } => c.bounds = Some(Bounds { min, max }),
        Threshold::Learned => {
            c.threshold = "learned";
            let size = p.rows as usize;
            c.chunk_rows = Some(p.rows);
            let values = chunk_ranges(j.reference.label.len(), size)
                .map(|r| performance("model reference", j.columns, &j.reference.subset(r)).map(|q| q.get(metric)))
                .collect::<Result<Vec<_>>>()?;
            let values: Vec<Value> =
                values.into_iter().map(|v| v.unwrap_or(Value::Undefined("not measured"))).collect();
            match learned_band(&values) {
                Some(band) => {
                    c.bounds = Some(Bounds::of(&band));
                    if band.few_chunks() {
                        c.note = Some(format!(
                            "band learned from {} reference chunks of {size} rows (fewer than {FEW_CHUNKS}): a longer model reference makes it reliable",
                            band.chunks
                        ));
                    }
                    c.band = Some(band);
                }
                None => {
                    c.note = Some(format!(
                        "no band: the model reference ({} rows) has no chunk of {size} rows where {} is defined",
                        j.reference.label.len(),
                        metric.name()
                    ));
                }
            }
        }
    }
    match value {
        Value::Undefined(why) => c.note = Some(format!("undefined: {why}")),
        Value::Defined(v) => c.breached = c.bounds.is_some_and(|b| b.breached(v)),
    }
    Ok(c)
}

/// The judged window as a check result: one alert for the whole window and one per segment;
/// `detail` is the payload's `drift.model` object.
pub fn result(whole: &Judged, segments: &[Judged], detail: serde_json::Value) -> CheckResult {
    let alert = |j: &Judged| CheckAlert {
        segment: j.segment.clone(),
        status: j.status,
        findings: j.checks.iter().filter(|c| c.breached).map(|c| finding(j, c)).collect(),
        rows: j.labelled,
    };
    CheckResult {
        kind: KIND.to_owned(),
        alertname: ALERTNAME.to_owned(),
        alerts: std::iter::once(whole).chain(segments).map(alert).collect(),
        detail,
    }
}

/// The alerts of `result`, an evaluation of one window, that step the lifecycle (None: none).
/// `before` is each alert's (segment's) status at the window's last evaluation, empty at its
/// first; `newest` says no newer window has been evaluated.
pub fn to_step(mut result: CheckResult, before: &BTreeMap<String, CheckStatus>, newest: bool) -> Option<CheckResult> {
    result.alerts.retain(|a| {
        let changed = before.get(&a.segment) != Some(&a.status);
        changed && (newest || a.status == CheckStatus::Breached)
    });
    (!result.alerts.is_empty()).then_some(result)
}

fn finding(j: &Judged, c: &MetricCheck) -> CheckFinding {
    let value = c.value.unwrap_or(f64::NAN);
    let crossed = c.bounds.and_then(|b| b.crossed(value)).unwrap_or_default();
    let how = match &c.band {
        Some(b) => format!(
            " (learned: mean {:.4} ± 3σ over {} reference chunks of {} rows{})",
            b.mean,
            b.chunks,
            c.chunk_rows.unwrap_or(0),
            if b.few_chunks() { format!(", fewer than {FEW_CHUNKS}: an unreliable band") } else { String::new() }
        ),
        None => " (fixed)".to_owned(),
    };
    let coverage = j.coverage.map_or(String::new(), |c| format!(" ({:.0}%)", c * 100.0));
    CheckFinding {
        subject: c.metric.to_owned(),
        test: c.metric.to_owned(),
        value: c.value,
        floor: c.bounds.and_then(|b| b.min),
        critical_floor: c.bounds.and_then(|b| b.max),
        severity: Severity::Warning,
        summary: Some(format!(
            "{} {value:.4} {crossed}{how} at {} of {} labelled{coverage}",
            c.metric, j.labelled, j.rows
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(statuses: &[(&str, CheckStatus)]) -> CheckResult {
        CheckResult {
            kind: KIND.to_owned(),
            alertname: ALERTNAME.to_owned(),
            alerts: statuses
                .iter()
                .map(|(segment, status)| CheckAlert {
                    segment: (*segment).to_owned(),
                    status: *status,
                    findings: Vec::new(),
                    rows: 1,
                })
                .collect(),
            detail: serde_json::Value::Null,
        }
    }

    fn stepped(now: &[(&str, CheckStatus)], before: &[(&str, CheckStatus)], newest: bool) -> Vec<String> {
        let before = before.iter().map(|(s, c)| ((*s).to_owned(), *c)).collect();
        to_step(evaluation(now), &before, newest)
            .map_or(Vec::new(), |r| r.alerts.into_iter().map(|a| a.segment).collect())
    }

    use CheckStatus::{Breached, Clean, Insufficient};

    #[test]
    fn a_breach_of_a_band_from_few_chunks_says_so_in_its_message() {
        let summary = |chunks: usize| {
            let band = Band { mean: 0.8, std: 0.01, lower: 0.77, upper: 0.83, chunks, undefined_chunks: 0 };
            let check = MetricCheck {
                metric: "roc_auc",
                value: Some(0.7),
                bounds: Some(Bounds { min: Some(0.77), max: Some(0.83) }),
                threshold: "learned",
                band: Some(band),
                chunk_rows: Some(500),
                breached: true,
                note: None,
            };
            let j = Judged {
                segment: String::new(),
                rows: 1000,
                labelled: 500,
                coverage: Some(0.5),
                performance: Performance { rows: 500, metrics: Vec::new() },
                checks: vec![check],
                status: Breached,
                note: None,
            };
            let r = result(&j, &[], serde_json::Value::Null);
            r.alerts[0].findings[0].summary.clone().unwrap()
        };
        assert!(
            summary(3).contains("over 3 reference chunks of 500 rows, fewer than 6: an unreliable band"),
            "{}",
            summary(3)
        );
        assert!(!summary(6).contains("fewer than"), "{}", summary(6));
    }

    #[test]
    fn a_window_steps_each_alert_once_and_again_only_where_its_status_changed() {
        let now = [("", Breached), ("north", Clean), ("south", Breached)];
        assert_eq!(stepped(&now, &[], true), ["", "north", "south"], "first evaluation");
        let before = [("", Breached), ("north", Breached), ("south", Insufficient)];
        assert_eq!(stepped(&now, &before, true), ["north", "south"], "final: only the segments that changed");
        assert_eq!(stepped(&now, &now, true), Vec::<String>::new(), "final, unchanged: nothing counted twice");
    }

    #[test]
    fn an_older_windows_final_can_fire_but_never_resolve_what_newer_windows_speak_for() {
        // Window 1 goes final after window 2 was evaluated: its whole window turned clean (no
        // resolve), its south segment turned breached (new information: it pages).
        let now = [("", Clean), ("south", Breached), ("north", Insufficient)];
        let before = [("", Breached), ("south", Clean), ("north", Clean)];
        assert_eq!(stepped(&now, &before, false), ["south"]);
        // First evaluated after a newer window (its labels came late): the same rule.
        assert_eq!(stepped(&now, &[], false), ["south"]);
        assert!(to_step(evaluation(&[("", Clean)]), &BTreeMap::new(), false).is_none());
    }
}
