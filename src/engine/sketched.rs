//! Comparisons where at least one side is a sketch (a reference snapshot or window part past
//! its exact cap): the reference's bins and the KS statistic as an interval known from counts,
//! reported as approximate with its error bound.

#[allow(clippy::wildcard_imports)]
use super::*;

/// One numeric side when at least one side is a sketch.
#[derive(Clone, Copy)]
pub(super) enum Side<'a> {
    Sample(&'a Sample),
    Sorted(&'a SortedColumn),
    Sketch(&'a SketchedNumeric),
}

impl Side<'_> {
    pub(super) fn known_moments(self) -> Option<Moments> {
        match self {
            Side::Sketch(s) => Some(s.moments),
            Side::Sorted(s) => Some(s.moments),
            Side::Sample(_) => None,
        }
    }

    fn len(self) -> u64 {
        match self {
            Side::Sample(s) => s.len() as u64,
            Side::Sorted(s) => s.sample.len() as u64,
            Side::Sketch(s) => s.sketch.len(),
        }
    }
}

/// Counts of a sketch in the bins of `edges`, from the middle of each edge's count bounds.
fn sketch_counts(s: &CdfSketch, edges: &[f64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(edges.len() + 1);
    let mut prev = 0u64;
    for &e in edges {
        let (lo, hi) = s.count_bounds(e, true);
        let below = (lo + (hi - lo) / 2).max(prev);
        out.push(below - prev);
        prev = below;
    }
    out.push(s.len() - prev);
    out
}

/// KS and PSI when at least one side is a sketch. KS is an exact interval (a sketch against
/// the other side's exact ranks, or two sketches' bounds against each other), reported as D =
/// its middle with `error_bound` = its half-width; the p-value and the floors use the lower
/// end, so the sketches' own error never raises an alarm. PSI uses the reference's edges (as
/// stored in a snapshot when the bins match) and is marked approximate whenever a count comes
/// from a sketch.
pub(super) fn approximate_tests(r: Side, c: Side, policy: &Policy, tests: &mut Vec<TestResult>) -> (Moments, Moments) {
    let (edges, rc, reference_exact, rm) = reference_bins(r, policy);
    let (iv, cc, current_exact, cm) = match (r, c) {
        (Side::Sketch(rs), Side::Sample(cs)) | (Side::Sample(cs), Side::Sketch(rs)) => {
            sketch_against_sample(rs, cs, matches!(c, Side::Sample(_)), &edges)
        }
        (Side::Sketch(rs), Side::Sorted(cs)) | (Side::Sorted(cs), Side::Sketch(rs)) => {
            sketch_against_sorted(rs, cs, matches!(c, Side::Sorted(_)), &edges)
        }
        (Side::Sketch(rs), Side::Sketch(cs)) => {
            (rs.sketch.ks_interval_sketch(&cs.sketch), sketch_counts(&cs.sketch, &edges), false, cs.moments)
        }
        (Side::Sample(_) | Side::Sorted(_), Side::Sample(_) | Side::Sorted(_)) => {
            unreachable!("two exact sides take the exact path")
        }
    };
    push_ks_interval(iv, r.len(), c.len(), policy, tests);
    push_psi(&edges, &rc, &cc, policy, tests, (!(reference_exact && current_exact)).then_some(true));
    (rm, cm)
}

/// The reference's PSI edges and counts, whether they are exact, and its moments.
fn reference_bins(r: Side, policy: &Policy) -> (Vec<f64>, Vec<u64>, bool, Moments) {
    match r {
        Side::Sketch(s) if policy.bins == s.bins => (s.edges.clone(), s.edge_counts.clone(), s.edges_exact, s.moments),
        Side::Sketch(s) => {
            let (edges, counts) = s.sketch.approximate_bins(policy.bins);
            (edges, counts, false, s.moments)
        }
        Side::Sample(x) => {
            let sorted = x.sorted();
            let edges = stats::quantile_edges(&sorted, policy.bins);
            let counts = stats::bin_counts(&sorted, &edges);
            (edges, counts, true, Moments::of(&sorted))
        }
        Side::Sorted(x) => {
            let edges = stats::quantile_edges(&x.sample, policy.bins);
            let counts = stats::bin_counts(&x.sample, &edges);
            (edges, counts, true, x.moments)
        }
    }
}

/// A sketch against raw values: the KS interval, the current counts in `edges`, whether they
/// are exact, and the current moments. The values are ranked at the sketch's breakpoints (and
/// the edges) in one pass; `current_is_sample` says which side they are.
fn sketch_against_sample(
    rs: &SketchedNumeric,
    cs: &Sample,
    current_is_sample: bool,
    edges: &[f64],
) -> (KsInterval, Vec<u64>, bool, Moments) {
    let own = rs.sketch.breakpoints();
    let mut points: Vec<f64> = own.iter().chain(edges).copied().collect();
    points.sort_by(f64::total_cmp);
    points.dedup();
    let ranks = stats::ranks::ranks_at(cs, &points);
    let at = |x: f64| points.binary_search_by(|p| p.total_cmp(&x)).expect("every point was ranked");
    let below: Vec<u64> = own.iter().map(|&x| ranks.below[at(x)]).collect();
    let at_or_below: Vec<u64> = own.iter().map(|&x| ranks.at_or_below[at(x)]).collect();
    let iv = rs.sketch.ks_interval_at(&own, &below, &at_or_below, cs.len() as u64);
    if current_is_sample {
        let mut cc = Vec::with_capacity(edges.len() + 1);
        let mut prev = 0u64;
        for &e in edges {
            let b = ranks.below[at(e)];
            cc.push(b - prev);
            prev = b;
        }
        cc.push(cs.len() as u64 - prev);
        (iv, cc, true, ranks.moments)
    } else {
        (iv, sketch_counts(&rs.sketch, edges), false, rs.moments)
    }
}

/// A sketch against sorted values (ranks at the breakpoints by binary search), returning what
/// [`sketch_against_sample`] does.
fn sketch_against_sorted(
    rs: &SketchedNumeric,
    cs: &SortedColumn,
    current_is_sorted: bool,
    edges: &[f64],
) -> (KsInterval, Vec<u64>, bool, Moments) {
    let own = rs.sketch.breakpoints();
    let below: Vec<u64> = own.iter().map(|&x| cs.sample.count_below(x) as u64).collect();
    let at_or_below: Vec<u64> = own.iter().map(|&x| cs.sample.count_at_or_below(x) as u64).collect();
    let iv = rs.sketch.ks_interval_at(&own, &below, &at_or_below, cs.sample.len() as u64);
    if current_is_sorted {
        (iv, stats::bin_counts(&cs.sample, edges), true, cs.moments)
    } else {
        (iv, sketch_counts(&rs.sketch, edges), false, rs.moments)
    }
}

/// The KS test from an interval on its numerator `D n m`: D is the middle, the p-value and the
/// floors use the lower end.
fn push_ks_interval(iv: KsInterval, n: u64, m: u64, policy: &Policy, tests: &mut Vec<TestResult>) {
    let nm = n as f64 * m as f64;
    let (d_lo, d_hi) = (iv.lo as f64 / nm, iv.hi as f64 / nm);
    let g = gcd(n, m) as u128;
    let ks = stats::ks_from_numerator(iv.lo / g * g, n, m, KsMode::Auto);
    let mut t = TestResult::new(TestKind::Ks, TestStatus::Ok);
    t.statistic = Some((d_lo + d_hi) / 2.0);
    t.effect = Some(d_lo);
    t.p_value = Some(ks.p_value);
    t.method = Some(ks.method);
    t.approximate = Some(true);
    t.error_bound = Some((d_hi - d_lo) / 2.0);
    t.threshold = floors_threshold(policy.alpha, policy.ks);
    tests.push(t);
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}
