//! A deterministic, mergeable CDF sketch with a hard rank-error bound, for reference
//! snapshots too large to keep every value.
//!
//! The sketch keeps **anchors** (distinct values with their exact multiplicities) and **spans**
//! (an exact count of values lying strictly between two values, positions unknown). So the
//! CDF is known exactly at every anchor and bounded in between: at any `x`, the only
//! uncertainty is the mass of the spans that straddle `x`. Built from a sorted sample with
//! `cells` cells, anchors sit at the ranks `k*n/cells`, so a straddling span holds at most
//! `n/cells` values: the rank error is at most `1/cells` (0.024% with the default 4096 cells),
//! whatever the distribution; heavy ties only make it smaller (a tied value is one anchor).
//!
//! Merging two sketches of disjoint data keeps every anchor and span of both: at any `x` at
//! most one span of each part straddles it, so the merged error is at most the sum of the
//! parts' errors weighted by their sizes, again at most `1/cells` of the total. Nothing is
//! random, so building twice gives the same sketch.
//!
//! Against an exactly known sample the sketch gives the KS statistic as an interval
//! `[D_lo, D_hi]` (see [`CdfSketch::ks_interval`]), computed in exact integer arithmetic.

use super::sample::SortedSample;

/// Default number of cells: rank error at most 1/4096.
pub const DEFAULT_CELLS: usize = 4096;

/// Values strictly between `lo` and `hi` (`lo < hi`), `count` of them, positions unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Exclusive lower end.
    pub lo: f64,
    /// Exclusive upper end.
    pub hi: f64,
    /// How many values.
    pub count: u64,
}

/// The sketch. Invariants: anchors sorted by value, distinct, counts > 0; spans have
/// `lo < hi` and `count > 0`; the counts add up to `n`.
#[derive(Debug, Clone, PartialEq)]
pub struct CdfSketch {
    n: u64,
    anchors: Vec<(f64, u64)>,
    spans: Vec<Span>,
}

/// The KS statistic between a sketch and an exact sample, as an interval in units of
/// `1/(n*m)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KsInterval {
    /// The true numerator is at least this.
    pub lo: u128,
    /// The true numerator is at most this.
    pub hi: u128,
}

impl CdfSketch {
    /// Sketches a sorted sample with about `cells` cells (anchors at ranks `k*n/cells`, plus
    /// the minimum and maximum).
    pub fn from_sorted(sample: &SortedSample, cells: usize) -> CdfSketch {
        let v = sample.values();
        CdfSketch::from_order(
            v.len(),
            cells,
            |r| v[r],
            |x| sample.count_below(x) as u64,
            |x| sample.count_at_or_below(x) as u64,
        )
    }

    /// The ranks [`CdfSketch::from_order`] reads for `n` values and `cells` cells.
    pub fn anchor_ranks(n: usize, cells: usize) -> Vec<usize> {
        let cells = cells.max(1);
        let mut ranks: Vec<usize> = (0..=cells)
            .map(|k| (((k as u128 * n as u128) / cells as u128) as usize).min(n.saturating_sub(1)))
            .collect();
        ranks.dedup();
        ranks
    }

    /// Sketches `n` values known through the value at each of [`CdfSketch::anchor_ranks`] and
    /// exact counts below and at or below those values (a sorted sample, or
    /// [`super::ranks::Ranked`] without sorting everything).
    pub fn from_order(
        n: usize,
        cells: usize,
        value: impl Fn(usize) -> f64,
        count_below: impl Fn(f64) -> u64,
        count_at_or_below: impl Fn(f64) -> u64,
    ) -> CdfSketch {
        let mut anchors: Vec<(f64, u64)> = Vec::new();
        let mut spans = Vec::new();
        let mut done = 0u64; // values accounted for
        for rank in CdfSketch::anchor_ranks(n, cells) {
            if (rank as u64) < done {
                continue; // inside the previous anchor's ties
            }
            let x = value(rank);
            let (first, end) = (count_below(x), count_at_or_below(x));
            if first > done {
                let lo = anchors.last().map_or(f64::NEG_INFINITY, |a| a.0);
                spans.push(Span { lo, hi: x, count: first - done });
            }
            anchors.push((x, end - first));
            done = end;
        }
        CdfSketch { n: n as u64, anchors, spans }
    }

    /// Number of values sketched.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// Whether the sketch holds no value.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Anchors (value, exact multiplicity), ascending.
    pub fn anchors(&self) -> &[(f64, u64)] {
        &self.anchors
    }

    /// Spans, in no particular order.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Rebuilds a sketch from its parts (as stored in a snapshot), checking the invariants.
    pub fn from_parts(anchors: Vec<(f64, u64)>, spans: Vec<Span>) -> Result<CdfSketch, String> {
        if anchors.windows(2).any(|w| w[0].0.partial_cmp(&w[1].0) != Some(std::cmp::Ordering::Less)) {
            return Err("sketch anchors are not strictly increasing".into());
        }
        if anchors.iter().any(|a| a.1 == 0 || a.0.is_nan())
            || spans.iter().any(|s| s.lo.partial_cmp(&s.hi) != Some(std::cmp::Ordering::Less) || s.count == 0)
        {
            return Err("sketch holds an empty anchor or span".into());
        }
        let n = anchors.iter().map(|a| a.1).sum::<u64>() + spans.iter().map(|s| s.count).sum::<u64>();
        Ok(CdfSketch { n, anchors, spans })
    }

    /// The sketch of the union of two disjoint samples.
    pub fn merge(&self, other: &CdfSketch) -> CdfSketch {
        let mut anchors: Vec<(f64, u64)> = Vec::with_capacity(self.anchors.len() + other.anchors.len());
        let (mut i, mut j) = (0, 0);
        while i < self.anchors.len() || j < other.anchors.len() {
            let a = self.anchors.get(i);
            let b = other.anchors.get(j);
            match (a, b) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    anchors.push((x.0, x.1 + y.1));
                    i += 1;
                    j += 1;
                }
                (Some(x), Some(y)) if x.0 < y.0 => {
                    anchors.push(*x);
                    i += 1;
                }
                (Some(x), None) => {
                    anchors.push(*x);
                    i += 1;
                }
                (_, Some(y)) => {
                    anchors.push(*y);
                    j += 1;
                }
                (None, None) => unreachable!("loop condition"),
            }
        }
        let mut spans = self.spans.clone();
        spans.extend_from_slice(&other.spans);
        spans.sort_by(|a, b| a.lo.total_cmp(&b.lo).then(a.hi.total_cmp(&b.hi)));
        CdfSketch { n: self.n + other.n, anchors, spans }
    }

    /// An approximate `p`-quantile (type 7 over the sketch's values, each span's mass placed
    /// at its midpoint); exact when the ranks fall on anchors, within the rank error otherwise.
    pub fn quantile(&self, p: f64) -> f64 {
        let mut atoms: Vec<(f64, u64)> = self.anchors.clone();
        for s in &self.spans {
            let at = match (s.lo.is_finite(), s.hi.is_finite()) {
                (true, true) => s.lo + (s.hi - s.lo) / 2.0,
                (false, true) => s.hi,
                (true, false) => s.lo,
                (false, false) => 0.0,
            };
            atoms.push((at, s.count));
        }
        atoms.sort_by(|a, b| a.0.total_cmp(&b.0));
        let value_at = |rank: u64| -> f64 {
            let mut seen = 0u64;
            for &(v, c) in &atoms {
                seen += c;
                if rank < seen {
                    return v;
                }
            }
            atoms.last().map_or(f64::NAN, |a| a.0)
        };
        let (lo, hi, g) = super::sample::quantile_ranks(self.n.max(1) as usize, p);
        super::sample::lerp(value_at(lo as u64), value_at(hi as u64), g)
    }

    /// PSI edges and counts for `bins` bins from the sketch alone (after a merge, or for another
    /// bin count than the one stored): edges are sketch quantiles, counts the middle of each
    /// edge's count bounds. Approximate within the rank error.
    pub fn approximate_bins(&self, bins: usize) -> (Vec<f64>, Vec<u64>) {
        let bins = bins.max(1);
        let mut edges: Vec<f64> = (1..bins).map(|k| self.quantile(k as f64 / bins as f64)).collect();
        edges.sort_by(f64::total_cmp);
        edges.dedup();
        let mut counts = Vec::with_capacity(edges.len() + 1);
        let mut prev = 0u64;
        for &e in &edges {
            let (lo, hi) = self.count_bounds(e, true);
            let below = (lo + (hi - lo) / 2).max(prev);
            counts.push(below - prev);
            prev = below;
        }
        counts.push(self.n - prev);
        (edges, counts)
    }

    /// The largest mass of spans straddling any one point: the rank error, in values.
    pub fn max_uncertainty(&self) -> u64 {
        // sweep span endpoints: +count after lo, -count at hi
        let mut events: Vec<(f64, i64)> = Vec::with_capacity(self.spans.len() * 2);
        for s in &self.spans {
            events.push((s.lo, s.count as i64));
            events.push((s.hi, -(s.count as i64)));
        }
        // At equal positions close spans (hi) before opening new ones (lo): open intervals.
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let (mut cur, mut best) = (0i64, 0i64);
        for (_, d) in events {
            cur += d;
            best = best.max(cur);
        }
        best as u64
    }

    /// Bounds on the number of values `<= x` (`below = false`) or `< x` (`below = true`).
    pub fn count_bounds(&self, x: f64, below: bool) -> (u64, u64) {
        let certain_anchor: u64 =
            self.anchors.iter().take_while(|a| if below { a.0 < x } else { a.0 <= x }).map(|a| a.1).sum();
        let mut lo = certain_anchor;
        let mut hi = certain_anchor;
        for s in &self.spans {
            if s.hi <= x {
                lo += s.count;
                hi += s.count;
            } else if s.lo < x {
                hi += s.count;
            }
        }
        (lo, hi)
    }

    /// The values where the sketch's bounds change: anchors and span ends, sorted, distinct.
    pub fn breakpoints(&self) -> Vec<f64> {
        let mut own: Vec<f64> = Vec::with_capacity(self.anchors.len() + 2 * self.spans.len());
        own.extend(self.anchors.iter().map(|a| a.0));
        for s in &self.spans {
            own.push(s.lo);
            own.push(s.hi);
        }
        own.sort_by(f64::total_cmp);
        own.dedup();
        own
    }

    /// KS statistic against an exact sample, as an interval of numerators over `n*m`.
    pub fn ks_interval(&self, sample: &SortedSample) -> KsInterval {
        let points = self.breakpoints();
        let below: Vec<u64> = points.iter().map(|&p| sample.count_below(p) as u64).collect();
        let at_or_below: Vec<u64> = points.iter().map(|&p| sample.count_at_or_below(p) as u64).collect();
        self.ks_interval_at(&points, &below, &at_or_below, sample.len() as u64)
    }

    /// KS statistic against a sample of `m` values known only through its counts below and at
    /// or below each of [`CdfSketch::breakpoints`] (so it need not be sorted).
    ///
    /// Between consecutive breakpoints the sketch's count of values `<= x` lies in a fixed
    /// range `[certain, certain + straddling]` while the sample's count moves monotonically
    /// between its values just after one breakpoint and just before the next; at a breakpoint
    /// both are fixed. So the supremum over all `x` is found at these few places. The upper
    /// end takes the sketch's worst case, the lower end its best case.
    pub fn ks_interval_at(&self, points: &[f64], below: &[u64], at_or_below: &[u64], m: u64) -> KsInterval {
        let (n, m) = (self.n as u128, m as u128);
        let mut out = KsInterval { lo: 0, hi: 0 };
        if let Some(&first) = below.first() {
            out.consider((0, 0), (first as u128, first as u128), n, m); // just before the first breakpoint
        }
        for (k, b) in self.sweep(points).into_iter().enumerate() {
            let at = at_or_below[k] as u128;
            let next = below.get(k + 1).map_or(m, |&b| b as u128);
            out.consider((b.certain, b.certain + b.at), (at, at), n, m); // at t
            let after = (b.certain, b.certain + b.after); // on (t, next breakpoint)
            out.consider(after, (at, at), n, m);
            out.consider(after, (next, next), n, m);
        }
        out
    }

    /// KS statistic between two sketches (say, a sketched reference and a sketched window),
    /// as an interval of numerators over `n*m`: at every breakpoint of either, and on the
    /// interval after it, both counts are bounded; the upper end takes the worst pair of
    /// bounds, the lower end the closest.
    pub fn ks_interval_sketch(&self, other: &CdfSketch) -> KsInterval {
        let mut points = self.breakpoints();
        points.extend(other.breakpoints());
        points.sort_by(f64::total_cmp);
        points.dedup();
        let (n, m) = (self.n as u128, other.n as u128);
        let mut out = KsInterval { lo: 0, hi: 0 };
        for (a, b) in self.sweep(&points).into_iter().zip(other.sweep(&points)) {
            out.consider((a.certain, a.certain + a.at), (b.certain, b.certain + b.at), n, m);
            out.consider((a.certain, a.certain + a.after), (b.certain, b.certain + b.after), n, m);
        }
        out
    }

    /// For each of `points` (sorted): values certainly `<= t`, and the mass that may or may
    /// not be (spans straddling `t` itself, and spans straddling the open interval just after
    /// `t`, up to the next point).
    fn sweep(&self, points: &[f64]) -> Vec<Bounds> {
        let mut by_hi: Vec<&Span> = self.spans.iter().collect();
        by_hi.sort_by(|a, b| a.hi.total_cmp(&b.hi));
        let mut by_lo: Vec<&Span> = self.spans.iter().collect();
        by_lo.sort_by(|a, b| a.lo.total_cmp(&b.lo));
        let (mut ai, mut hi_i, mut lo_i) = (0usize, 0usize, 0usize);
        let (mut anchors_le, mut closed_le, mut opened_lt) = (0u128, 0u128, 0u128);
        let mut out = Vec::with_capacity(points.len());
        for &t in points {
            while ai < self.anchors.len() && self.anchors[ai].0 <= t {
                anchors_le += self.anchors[ai].1 as u128;
                ai += 1;
            }
            while hi_i < by_hi.len() && by_hi[hi_i].hi <= t {
                closed_le += by_hi[hi_i].count as u128;
                hi_i += 1;
            }
            while lo_i < by_lo.len() && by_lo[lo_i].lo < t {
                opened_lt += by_lo[lo_i].count as u128;
                lo_i += 1;
            }
            let mut opening_at_t = 0u128;
            let mut j = lo_i;
            while j < by_lo.len() && by_lo[j].lo <= t {
                opening_at_t += by_lo[j].count as u128;
                j += 1;
            }
            // Spans closed by t opened before it, so they are inside both opened counts.
            out.push(Bounds {
                certain: anchors_le + closed_le,
                at: opened_lt - closed_le,
                after: opened_lt + opening_at_t - closed_le,
            });
        }
        out
    }
}

/// A sketch's count of values `<= x` at a breakpoint: `certain` plus up to `at` (at the point)
/// or `after` (just after it).
#[derive(Debug, Clone, Copy)]
struct Bounds {
    certain: u128,
    at: u128,
    after: u128,
}

impl KsInterval {
    /// Folds in one place where the two counts lie in `f = [f_lo, f_hi]` (of `n` values) and
    /// `g = [g_lo, g_hi]` (of `m`): the widest gap raises the upper end, the narrowest the
    /// lower end.
    fn consider(&mut self, f: (u128, u128), g: (u128, u128), n: u128, m: u128) {
        let (fl, fh) = (f.0 * m, f.1 * m);
        let (gl, gh) = (g.0 * n, g.1 * n);
        self.hi = self.hi.max(fh.abs_diff(gl)).max(fl.abs_diff(gh));
        let gap = if gh < fl { fl - gh } else { gl.saturating_sub(fh) };
        self.lo = self.lo.max(gap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ks::ks_statistic;
    use crate::synth::Rng;

    fn sample(n: usize, seed: u64, f: impl Fn(&mut Rng) -> f64) -> SortedSample {
        let mut r = Rng::new(seed);
        SortedSample::new((0..n).map(|_| f(&mut r)).collect()).unwrap()
    }

    fn exact_numerator(a: &SortedSample, b: &SortedSample) -> u128 {
        (ks_statistic(a, b) * a.len() as f64 * b.len() as f64).round() as u128
    }

    #[test]
    fn counts_are_exact_at_anchors_and_bounded_between() {
        let s = sample(10_000, 1, |r| (r.normal() * 3.0).round());
        let k = CdfSketch::from_sorted(&s, 64);
        assert_eq!(k.len(), 10_000);
        for &(x, _) in k.anchors() {
            assert_eq!(k.count_bounds(x, false), (s.count_at_or_below(x) as u64, s.count_at_or_below(x) as u64));
            assert_eq!(k.count_bounds(x, true).0, s.count_below(x) as u64);
        }
        assert!(k.max_uncertainty() <= 10_000 / 64 + 1, "{}", k.max_uncertainty());
        let c = sample(10_000, 2, |r| r.normal());
        let k = CdfSketch::from_sorted(&c, 64);
        for x in [-2.0, -0.5, 0.0, 0.3, 1.7] {
            let (lo, hi) = k.count_bounds(x, false);
            let t = c.count_at_or_below(x) as u64;
            assert!(lo <= t && t <= hi && hi - lo <= 10_000 / 64 + 1, "{x}: {lo} {t} {hi}");
        }
    }

    #[test]
    fn ks_interval_contains_the_exact_statistic() {
        for (seed, cells) in [(3u64, 16usize), (4, 100), (5, 4096), (6, 7)] {
            let r = sample(5_000, seed, |r| r.normal());
            let c = sample(700, seed + 100, |r| r.normal() * 1.1 + 0.05);
            let k = CdfSketch::from_sorted(&r, cells);
            let d = exact_numerator(&r, &c);
            let iv = k.ks_interval(&c);
            assert!(iv.lo <= d && d <= iv.hi, "cells {cells}: {iv:?} vs {d}");
            let bound = k.max_uncertainty() as u128 * c.len() as u128;
            assert!(iv.hi - iv.lo <= 2 * bound, "cells {cells}: width {} > 2 * {bound}", iv.hi - iv.lo);
        }
    }

    #[test]
    fn two_sketches_bound_the_exact_statistic() {
        for (seed, cells) in [(20u64, 64usize), (21, 1024), (22, 9)] {
            let a = sample(6_000, seed, |r| (r.normal() * 4.0).round() / 4.0);
            let b = sample(2_500, seed + 1, |r| (r.normal() * 4.0).round() / 4.0 + 0.3);
            let (ka, kb) = (CdfSketch::from_sorted(&a, cells), CdfSketch::from_sorted(&b, cells));
            let d = exact_numerator(&a, &b);
            let iv = ka.ks_interval_sketch(&kb);
            assert!(iv.lo <= d && d <= iv.hi, "cells {cells}: {iv:?} vs {d}");
            let width = (ka.max_uncertainty() as u128 * 2_500 + kb.max_uncertainty() as u128 * 6_000) * 2;
            assert!(iv.hi - iv.lo <= width, "cells {cells}: width {} > {width}", iv.hi - iv.lo);
        }
        let a = sample(200, 23, |r| (r.uniform() * 30.0).floor());
        let b = sample(300, 24, |r| (r.uniform() * 33.0).floor());
        let exact = CdfSketch::from_sorted(&a, 1_000).ks_interval_sketch(&CdfSketch::from_sorted(&b, 1_000));
        assert_eq!((exact.lo, exact.hi), (exact_numerator(&a, &b), exact_numerator(&a, &b)));
    }

    #[test]
    fn one_cell_per_value_is_exact() {
        let r = sample(300, 7, |r| (r.uniform() * 50.0).floor());
        let c = sample(200, 8, |r| (r.uniform() * 55.0).floor());
        let k = CdfSketch::from_sorted(&r, 1_000);
        assert!(k.spans().is_empty());
        let iv = k.ks_interval(&c);
        assert_eq!((iv.lo, iv.hi), (exact_numerator(&r, &c), exact_numerator(&r, &c)));
    }

    #[test]
    fn merging_halves_keeps_the_bound() {
        let all = sample(20_000, 9, |r| r.normal());
        let mut rng = Rng::new(10);
        let (mut left, mut right) = (Vec::new(), Vec::new());
        for &v in all.values() {
            if rng.uniform() < 0.3 { left.push(v) } else { right.push(v) }
        }
        let (l, r) = (SortedSample::new(left).unwrap(), SortedSample::new(right).unwrap());
        let merged = CdfSketch::from_sorted(&l, 256).merge(&CdfSketch::from_sorted(&r, 256));
        assert_eq!(merged.len(), 20_000);
        assert!(merged.max_uncertainty() <= 20_000 / 256 + 2, "{}", merged.max_uncertainty());
        let c = sample(1_000, 11, |r| r.normal() + 0.1);
        let d = exact_numerator(&all, &c);
        let iv = merged.ks_interval(&c);
        assert!(iv.lo <= d && d <= iv.hi, "{iv:?} vs {d}");
        let back = CdfSketch::from_parts(merged.anchors().to_vec(), merged.spans().to_vec()).unwrap();
        assert_eq!(back, merged);
    }
}
