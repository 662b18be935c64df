//! Latency as a distribution (`[latency]`): every window reports the request count, the
//! configured percentiles, the maximum and the requests per second of its latency column, per
//! segment too, and fires `LatencySLOBreached` when a percentile exceeds its SLO.
//!
//! Each part of a window keeps a [`Summary`] of its rows (exact values up to a limit, else a
//! 1% relative-error sketch; exact counts at or below each SLO threshold), merged exactly when
//! the window closes. Percentiles are values at a rank (NumPy's `inverted_cdf`); an SLO breach
//! is decided from the exact counts: `p99 > T` exactly when fewer than `ceil(0.99 n)` values
//! are at or below `T`, never from the sketch.

pub mod compare;
pub mod config;
mod read;
pub mod summary;

use std::sync::Arc;

use anyhow::{Context, Result};

pub use config::{LatencyConfig, Objective, Slo, Unit};
pub use summary::Summary;

use super::{CheckInput, ErrorBudget, PartRows, PartState, Problems, WindowCheck};
use crate::engine::Severity;
use crate::engine::budget::{Budget, MINUTE_MS, MinuteCount};
use crate::engine::check::{CheckAlert, CheckFinding, CheckResult, CheckStatus};
use crate::engine::latency::{AtOrBelow, LatencyDetail, LatencySummary, ObjectiveCounts, Percentile, SloState};
use crate::stats::quantile::exceeds;

/// The alert a breached SLO fires.
pub const SLO_BREACHED: &str = "LatencySLOBreached";
/// The alert the objective's burn-rate rules fire.
pub const BUDGET_BURN: &str = "LatencyBudgetBurn";

/// The latency check of a monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency(pub LatencyConfig);

/// Compiles `[latency]` (the registry's entry).
pub fn compile(v: &toml::Value) -> Result<Arc<dyn WindowCheck>, Problems> {
    Ok(Arc::new(Latency(config::compile(v)?)))
}

impl Latency {
    /// The summary of some files' rows.
    pub fn summarise(&self, files: &[crate::source::ParquetFile], timestamp: Option<&str>) -> Result<Summary> {
        let c = &self.0;
        let mut names = vec![c.column.as_str()];
        names.extend(timestamp);
        let (mut values, mut missing, mut events) = (Vec::new(), 0u64, None::<(i64, i64)>);
        for f in files {
            for batch in f.read_columns(&names)? {
                for v in read::latencies(&batch, &c.column, c.unit).with_context(|| format!("{}", f.path.display()))? {
                    match v {
                        Some(x) => values.push(x),
                        None => missing += 1,
                    }
                }
                if let Some(ts) = timestamp {
                    let s = read::event_span(&batch, ts).with_context(|| format!("{}", f.path.display()))?;
                    events = match (events, s) {
                        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
                        (a, b) => a.or(b),
                    };
                }
            }
        }
        Ok(Summary::of(values, missing, &c.thresholds(), events))
    }

    /// The quantiles a window reports: the configured percentiles and every SLO's.
    pub fn quantiles(&self) -> Vec<f64> {
        let mut qs: Vec<f64> =
            self.0.percentiles.iter().copied().chain(self.0.slo.iter().map(|s| s.quantile)).collect();
        qs.sort_by(f64::total_cmp);
        qs.dedup();
        qs
    }

    /// One alert (the whole window or a segment) and its part of the detail.
    fn judge(&self, segment: &str, s: &Summary, span: Option<(i64, i64)>) -> (CheckAlert, LatencySummary) {
        let qs = self.quantiles();
        let values = s.quantiles(&qs);
        let at = |q: f64| qs.iter().position(|x| *x == q).and_then(|i| values[i]);
        let mut findings = Vec::new();
        let mut slos = Vec::new();
        for slo in &self.0.slo {
            let above =
                |t: Option<f64>| t.and_then(|t| s.good_at(t).map(|g| (t, g, exceeds(s.count, g, slo.quantile))));
            let (warn, crit) = (above(slo.warning_ms), above(slo.critical_ms));
            let breach = crit
                .filter(|c| c.2)
                .map(|c| (c, Severity::Critical))
                .or(warn.filter(|w| w.2).map(|w| (w, Severity::Warning)));
            let value = at(slo.quantile);
            slos.push(SloState {
                quantile: slo.quantile,
                label: label(slo.quantile),
                ms: value,
                warning_ms: slo.warning_ms,
                critical_ms: slo.critical_ms,
                above_warning: warn.map(|w| s.count - w.1),
                above_critical: crit.map(|c| s.count - c.1),
                state: breach.map_or("ok", |(_, sev)| sev.as_str()).to_owned(),
            });
            if let Some(((t, good, _), severity)) = breach {
                findings.push(finding(slo, value, t, good, s.count, severity));
            }
        }
        let detail = LatencySummary {
            segment: segment.to_owned(),
            count: s.count,
            missing: s.missing,
            exact: s.exact(),
            percentiles: qs
                .iter()
                .zip(&values)
                .map(|(q, v)| Percentile { quantile: *q, label: label(*q), ms: *v })
                .collect(),
            max_ms: s.max,
            rps: rate(s, span),
            slo: slos,
            at_or_below: s.good.iter().map(|&(ms, requests)| AtOrBelow { ms, requests }).collect(),
        };
        let status = if s.count == 0 {
            CheckStatus::Insufficient
        } else if findings.is_empty() {
            CheckStatus::Clean
        } else {
            CheckStatus::Breached
        };
        (CheckAlert { segment: segment.to_owned(), status, findings, rows: s.count }, detail)
    }
}

/// A breached SLO, as the alert shows it: which percentile, its value, the threshold.
fn finding(slo: &Slo, value: Option<f64>, t: f64, good: u64, count: u64, severity: Severity) -> CheckFinding {
    let share = 100.0 * (count - good) as f64 / count as f64;
    let shown = value.map_or("?".to_owned(), ms);
    CheckFinding {
        subject: label(slo.quantile),
        test: "slo".into(),
        value,
        floor: slo.warning_ms,
        critical_floor: slo.critical_ms,
        severity,
        summary: Some(format!(
            "{} {shown} > {} ({} SLO): {share:.2}% of {count} requests above {}",
            label(slo.quantile),
            ms(t),
            severity.as_str(),
            ms(t)
        )),
    }
}

/// Requests per second: over a time window's length, else over the span of the event times
/// (None without one, or when every row has the same time).
pub fn rate(s: &Summary, span: Option<(i64, i64)>) -> Option<f64> {
    let ms = match (span, s.events) {
        (Some((a, b)), _) => b - a,
        (None, Some((a, b))) => b - a,
        (None, None) => 0,
    };
    (ms > 0).then(|| (s.count + s.missing) as f64 * 1000.0 / ms as f64)
}

/// `p99`, `p99.9`, `p50` for a quantile.
pub fn label(q: f64) -> String {
    let p = format!("{:.4}", q * 100.0);
    format!("p{}", p.trim_end_matches('0').trim_end_matches('.'))
}

/// Milliseconds for people: `412 ms`, `1.25 ms`, `0.031 ms`.
pub fn ms(x: f64) -> String {
    let digits = if x.abs() >= 100.0 {
        0
    } else if x.abs() >= 1.0 {
        2
    } else {
        3
    };
    format!("{x:.digits$} ms")
}

impl WindowCheck for Latency {
    fn columns(&self) -> Option<Vec<String>> {
        Some(vec![self.0.column.clone()])
    }

    fn evaluate(&self, w: &CheckInput<'_>) -> Result<CheckResult> {
        // A window whose first parts were stored before `[latency]` was configured has no
        // summary of all its rows: not evaluable, rather than a failing monitor.
        let Some(state) = w.state else {
            return Ok(CheckResult {
                kind: "latency".into(),
                alertname: SLO_BREACHED.into(),
                alerts: vec![CheckAlert {
                    segment: String::new(),
                    status: CheckStatus::Insufficient,
                    findings: Vec::new(),
                    rows: 0,
                }],
                detail: serde_json::to_value(LatencyDetail {
                    column: self.0.column.clone(),
                    unit: self.0.unit.as_str().to_owned(),
                    summaries: Vec::new(),
                    objective: None,
                })?,
            });
        };
        let whole = Summary::from_bytes(&state.whole)?;
        let (alert, detail) = self.judge("", &whole, w.span);
        let (mut alerts, mut details) = (vec![alert], vec![detail]);
        for (label, _) in w.segments {
            if let Some(b) = state.segments.get(label) {
                let (alert, detail) = self.judge(label, &Summary::from_bytes(b)?, w.span);
                alerts.push(alert);
                details.push(detail);
            }
        }
        Ok(CheckResult {
            kind: "latency".into(),
            alertname: SLO_BREACHED.into(),
            alerts,
            detail: serde_json::to_value(LatencyDetail {
                column: self.0.column.clone(),
                unit: self.0.unit.as_str().to_owned(),
                summaries: details,
                objective: self.0.objective.as_ref().map(|o| ObjectiveCounts {
                    threshold_ms: o.threshold_ms,
                    target: o.target,
                    period_days: o.period_days,
                    good: whole.good_at(o.threshold_ms).unwrap_or_default(),
                    total: whole.count,
                }),
            })?,
        })
    }

    fn part_state(&self) -> Option<&dyn PartState> {
        Some(self)
    }

    fn budget(&self) -> Option<&dyn ErrorBudget> {
        self.0.objective.as_ref().filter(|o| !o.burn.is_empty()).map(|_| self as &dyn ErrorBudget)
    }
}

impl ErrorBudget for Latency {
    fn name(&self) -> &'static str {
        "latency"
    }

    fn key(&self) -> &'static str {
        "latency.objective"
    }

    fn alertname(&self) -> &'static str {
        BUDGET_BURN
    }

    fn budget(&self) -> Budget {
        self.0.objective.as_ref().map(Objective::budget).expect("only with an objective")
    }

    fn good(&self) -> String {
        let o = self.0.objective.as_ref().expect("only with an objective");
        format!("{} <= {}", self.0.column, ms(o.threshold_ms))
    }

    fn count(&self, rows: &PartRows<'_>, until_ms: i64) -> Result<Vec<MinuteCount>> {
        let (Some(o), Some(ts)) = (&self.0.objective, rows.timestamp_column) else { return Ok(Vec::new()) };
        let mut by_minute = std::collections::BTreeMap::<i64, (u64, u64)>::new();
        for f in rows.files {
            for batch in f.read_columns(&[self.0.column.as_str(), ts])? {
                let at = |e: anyhow::Error| e.context(format!("{}", f.path.display()));
                let values = read::latencies(&batch, &self.0.column, self.0.unit).map_err(at)?;
                let times = read::event_times(&batch, ts).map_err(at)?;
                for (v, t) in values.into_iter().zip(times) {
                    if let (Some(v), Some(t)) = (v, t)
                        && t <= until_ms
                    {
                        let c = by_minute.entry(t.div_euclid(MINUTE_MS) * MINUTE_MS).or_default();
                        c.0 += u64::from(v <= o.threshold_ms);
                        c.1 += 1;
                    }
                }
            }
        }
        let kind = "latency".to_owned();
        Ok(by_minute
            .into_iter()
            .map(|(minute_ms, (good, total))| MinuteCount { kind: kind.clone(), minute_ms, good, total })
            .collect())
    }
}

impl PartState for Latency {
    fn name(&self) -> &'static str {
        "latency"
    }

    fn profile(&self, rows: &PartRows<'_>) -> Result<Vec<u8>> {
        Ok(self.summarise(rows.files, rows.timestamp_column)?.to_bytes())
    }

    fn merge(&self, parts: &[&[u8]]) -> Result<Vec<u8>> {
        let parts = parts.iter().map(|b| Summary::from_bytes(b)).collect::<Result<Vec<_>>>()?;
        Ok(Summary::merge(parts)?.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts stored before `[latency]` was configured leave the window without a summary: the
    /// check says insufficient (counts neither way) instead of failing the monitor.
    #[test]
    fn a_window_without_a_latency_summary_is_insufficient_not_an_error() {
        let c = Latency(config::compile(&toml::from_str("column = \"latency_ms\"").unwrap()).unwrap());
        let report = crate::alerts::testing::shifted_report(0.0);
        let table = crate::alerts::testing::table(vec![(
            "x",
            Arc::new(arrow_array::Float64Array::from(vec![1.0])) as arrow_array::ArrayRef,
        )]);
        let input = CheckInput { report: &report, current: &table, segments: &[], state: None, span: None };
        let r = c.evaluate(&input).unwrap();
        assert_eq!((r.alerts.len(), r.alerts[0].status), (1, CheckStatus::Insufficient));
    }

    #[test]
    fn percentile_labels_and_milliseconds_read_as_people_write_them() {
        assert_eq!([0.5, 0.9, 0.99, 0.999, 0.9999].map(label), ["p50", "p90", "p99", "p99.9", "p99.99"]);
        assert_eq!([412.4, 1.254, 0.0314].map(ms), ["412 ms", "1.25 ms", "0.031 ms"]);
    }
}
