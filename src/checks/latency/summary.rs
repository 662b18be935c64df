//! The latency summary of some rows: what a window part keeps of its latency column, merged
//! exactly across parts. Pure: no I/O.
//!
//! - Values: every value exactly up to [`EXACT_VALUES`] per window, beyond that a DDSketch
//!   with 1% relative error (`crate::stats::ddsketch`); both answer quantiles as a value at a
//!   rank (NumPy's `inverted_cdf`).
//! - Counts: for each threshold of the configuration (the SLOs' warning and critical), the
//!   exact number of values at or below it, so an SLO breach is decided from counts, never
//!   from the sketch.
//! - The count, the missing values (null or NaN), the maximum, and the span of the event
//!   times (for the requests per second of windows that are not time windows).

use anyhow::{Result, bail};

use crate::stats::ddsketch::{DEFAULT_ALPHA, QuantileSketch};
use crate::stats::quantile::inverted_cdf;

/// Values kept exactly per window; beyond, the window's percentiles come from the sketch.
pub const EXACT_VALUES: u64 = 100_000;

/// A part's (or a window's) latency values.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Every value, unsorted.
    Exact(Vec<f64>),
    /// A sketch of them.
    Sketched(QuantileSketch),
}

/// The latency summary of some rows, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Values counted (not missing).
    pub count: u64,
    /// Rows whose latency is null or NaN.
    pub missing: u64,
    /// The values.
    pub values: Values,
    /// The exact maximum.
    pub max: Option<f64>,
    /// (threshold ms, values at or below it), one per configured threshold, ascending.
    pub good: Vec<(f64, u64)>,
    /// The earliest and latest event time of the rows (ms), when the monitor has a timestamp.
    pub events: Option<(i64, i64)>,
}

impl Summary {
    /// A summary of values (NaN already counted as missing by the caller), with exact counts
    /// at or below each threshold.
    pub fn of(values: Vec<f64>, missing: u64, thresholds: &[f64], events: Option<(i64, i64)>) -> Summary {
        let good = thresholds.iter().map(|&t| (t, values.iter().filter(|&&v| v <= t).count() as u64)).collect();
        let max = values.iter().copied().reduce(f64::max);
        let count = values.len() as u64;
        let values = if count > EXACT_VALUES { Values::Sketched(sketch(&values)) } else { Values::Exact(values) };
        Summary { count, missing, values, max, good, events }
    }

    /// Whether the percentiles are exact.
    pub fn exact(&self) -> bool {
        matches!(self.values, Values::Exact(_))
    }

    /// The summaries of several parts as one: counts added, values concatenated while the
    /// total stays within [`EXACT_VALUES`], else sketches merged. A threshold missing from a
    /// part (configured after it was stored) is dropped.
    pub fn merge(parts: Vec<Summary>) -> Result<Summary> {
        let count: u64 = parts.iter().map(|p| p.count).sum();
        let exact = count <= EXACT_VALUES && parts.iter().all(Summary::exact);
        let mut out = Summary {
            count,
            missing: parts.iter().map(|p| p.missing).sum(),
            values: if exact {
                Values::Exact(Vec::new())
            } else {
                Values::Sketched(QuantileSketch::new(DEFAULT_ALPHA))
            },
            max: parts.iter().filter_map(|p| p.max).reduce(f64::max),
            good: parts.first().map(|p| p.good.clone()).unwrap_or_default(),
            events: parts.iter().filter_map(|p| p.events).reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))),
        };
        for p in &parts[1.min(parts.len())..] {
            out.good.retain(|(t, _)| p.good.iter().any(|(u, _)| u.to_bits() == t.to_bits()));
        }
        for (t, g) in &mut out.good {
            *g = parts.iter().flat_map(|p| &p.good).filter(|(u, _)| u.to_bits() == t.to_bits()).map(|(_, n)| n).sum();
        }
        for p in parts {
            match (&mut out.values, p.values) {
                (Values::Exact(all), Values::Exact(v)) => all.extend(v),
                (Values::Sketched(s), Values::Exact(v)) => s.merge(&sketch(&v)).map_err(anyhow::Error::msg)?,
                (Values::Sketched(s), Values::Sketched(v)) => s.merge(&v).map_err(anyhow::Error::msg)?,
                (Values::Exact(_), Values::Sketched(_)) => unreachable!("a sketched part makes the merge sketched"),
            }
        }
        Ok(out)
    }

    /// The values at or below a threshold, if it was counted.
    pub fn good_at(&self, threshold: f64) -> Option<u64> {
        self.good.iter().find(|(t, _)| t.to_bits() == threshold.to_bits()).map(|(_, n)| *n)
    }

    /// The quantiles, in order (`None` when there are no values).
    pub fn quantiles(&self, qs: &[f64]) -> Vec<Option<f64>> {
        match &self.values {
            Values::Exact(v) => {
                let mut sorted = v.clone();
                sorted.sort_unstable_by(f64::total_cmp);
                qs.iter().map(|&q| inverted_cdf(&sorted, q)).collect()
            }
            Values::Sketched(s) => qs.iter().map(|&q| s.quantile(q)).collect(),
        }
    }

    /// The summary as bytes (little-endian, versioned).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![VERSION];
        for x in [self.count, self.missing, self.max.unwrap_or(f64::NAN).to_bits(), self.good.len() as u64] {
            b.extend_from_slice(&x.to_le_bytes());
        }
        for (t, n) in &self.good {
            b.extend_from_slice(&t.to_bits().to_le_bytes());
            b.extend_from_slice(&n.to_le_bytes());
        }
        match self.events {
            None => b.push(0),
            Some((lo, hi)) => {
                b.push(1);
                b.extend_from_slice(&lo.to_le_bytes());
                b.extend_from_slice(&hi.to_le_bytes());
            }
        }
        match &self.values {
            Values::Exact(v) => {
                b.push(0);
                b.extend_from_slice(&(v.len() as u64).to_le_bytes());
                v.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
            }
            Values::Sketched(s) => {
                b.push(1);
                b.extend(s.to_bytes());
            }
        }
        b
    }

    /// Reads [`Summary::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Summary> {
        let mut r = Reader(b);
        if r.take(1)? != [VERSION] {
            bail!("unknown latency summary version");
        }
        let (count, missing, max) = (r.u64()?, r.u64()?, f64::from_bits(r.u64()?));
        let good = (0..r.u64()?).map(|_| Ok((f64::from_bits(r.u64()?), r.u64()?))).collect::<Result<_>>()?;
        let events = match r.take(1)?[0] {
            0 => None,
            _ => Some((r.u64()? as i64, r.u64()? as i64)),
        };
        let values = match r.take(1)?[0] {
            0 => Values::Exact((0..r.u64()?).map(|_| Ok(f64::from_bits(r.u64()?))).collect::<Result<_>>()?),
            _ => Values::Sketched(QuantileSketch::from_bytes(r.0).map_err(anyhow::Error::msg)?.0),
        };
        Ok(Summary { count, missing, values, max: (!max.is_nan()).then_some(max), good, events })
    }
}

const VERSION: u8 = 1;

fn sketch(values: &[f64]) -> QuantileSketch {
    let mut s = QuantileSketch::new(DEFAULT_ALPHA);
    values.iter().for_each(|&v| s.add(v));
    s
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            bail!("damaged latency summary");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_merge_to_the_summary_of_all_rows_exact_then_sketched() {
        let a: Vec<f64> = (0..1000).map(|i| f64::from(i % 300)).collect();
        let b: Vec<f64> = (0..500).map(|i| f64::from(i) * 2.0).collect();
        let t = [100.0, 250.0];
        let merged = Summary::merge(vec![
            Summary::of(a.clone(), 3, &t, Some((5, 9))),
            Summary::of(b.clone(), 1, &t, Some((1, 7))),
        ])
        .unwrap();
        let all = Summary::of([a.clone(), b.clone()].concat(), 4, &t, Some((1, 9)));
        assert_eq!(merged, all);
        assert_eq!(Summary::from_bytes(&merged.to_bytes()).unwrap(), merged);
        assert_eq!(merged.good_at(250.0), Some(all.good_at(250.0).unwrap()));
        // numpy.quantile(a + b, [0.5, 1], method="inverted_cdf")
        assert_eq!(merged.quantiles(&[0.5, 1.0]), [Some(185.0), Some(998.0)]);

        // Beyond the exact limit: a sketch, whose counts stay exact.
        let big: Vec<f64> = (0..EXACT_VALUES).map(|i| (i % 1000) as f64 + 1.0).collect();
        let merged = Summary::merge(vec![Summary::of(big, 0, &t, None), Summary::of(b, 0, &t, None)]).unwrap();
        assert!(!merged.exact());
        assert_eq!(merged.good_at(100.0), Some(EXACT_VALUES / 10 + 51));
        let round = Summary::from_bytes(&merged.to_bytes()).unwrap();
        assert_eq!(round, merged);
        assert!(Summary::from_bytes(&merged.to_bytes()[..20]).is_err());
    }
}
