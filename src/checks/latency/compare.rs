//! `drift check --latency`: the percentile table of both sides and the SLOs of the current.

use anyhow::{Context, Result, bail};

use super::{Latency, Summary, label};
use crate::engine::latency::{LatencyComparison, LatencySide, PercentileRow, SloRow};
use crate::source::Dataset;
use crate::stats::quantile::exceeds;

/// Compares a latency column of two datasets; an SLO's threshold is its `critical_ms` (the
/// command line gives one threshold per percentile).
pub fn compare(check: &Latency, reference: &Dataset, current: &Dataset) -> Result<LatencyComparison> {
    let column = &check.0.column;
    let (r, c) = (summarise(check, reference, "reference")?, summarise(check, current, "current")?);
    let qs = check.quantiles();
    let (rv, cv) = (r.quantiles(&qs), c.quantiles(&qs));
    let percentiles = qs
        .iter()
        .zip(rv.iter().zip(&cv))
        .map(|(&q, (&a, &b))| PercentileRow {
            quantile: q,
            label: label(q),
            reference_ms: a,
            current_ms: b,
            ratio: a.zip(b).filter(|(a, _)| *a > 0.0).map(|(a, b)| b / a),
        })
        .collect();
    let slo: Vec<SloRow> = check
        .0
        .slo
        .iter()
        .filter_map(|s| s.critical_ms.map(|t| (s.quantile, t)))
        .map(|(q, t)| {
            let good = c.good_at(t).unwrap_or_default();
            SloRow {
                quantile: q,
                label: label(q),
                threshold_ms: t,
                current_ms: qs.iter().position(|x| *x == q).and_then(|i| cv[i]),
                above: c.count - good,
                breached: exceeds(c.count, good, q),
            }
        })
        .collect();
    Ok(LatencyComparison {
        column: column.clone(),
        unit: check.0.unit.as_str().to_owned(),
        reference: side_of(&r),
        current: side_of(&c),
        percentiles,
        breached: slo.iter().any(|s| s.breached),
        slo,
    })
}

fn side_of(s: &Summary) -> LatencySide {
    LatencySide { count: s.count, missing: s.missing, max_ms: s.max, exact: s.exact() }
}

fn summarise(check: &Latency, t: &Dataset, side: &str) -> Result<Summary> {
    let column = &check.0.column;
    if t.column(column).is_none() {
        bail!(
            "--latency: the {side} side has no column {column:?}; name the latency column, e.g. --latency latency_ms"
        );
    }
    check.summarise(&t.files, None).with_context(|| format!("{side}: column {column:?}"))
}
