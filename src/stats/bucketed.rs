//! Exact numeric comparison without sorting whole samples: "sort only what must be sorted".
//!
//! Sorting both samples dominates a large `drift check` (about 15 ns per value even with a radix
//! sort, against about 1 ns to decode it). But nothing the engine reports needs the full order:
//! the KS statistic is a maximum over the pooled order, PSI edges and medians are a handful of
//! order statistics, and bin counts are ranks of a few values. So both samples are bucketed
//! with one monotone function of the value (linear between robust quantiles of the pooled data,
//! with two outer buckets for the tails and infinities), and the bucket counts alone give:
//!
//! - the ECDF difference exactly at every bucket boundary (a lower bound on D), and an upper
//!   bound inside each bucket (`max(|R0/n - C1/m|, |R1/n - C0/m|)`); only buckets whose upper
//!   bound beats the lower bound can hold the maximum, and only they are sorted;
//! - the bucket holding any rank, so the order statistics behind PSI edges and medians come from
//!   sorting a few buckets;
//! - ranks of the edges, from the buckets the edges fall in.
//!
//! The bucket function is linear in the value, or linear in the IEEE-754 order key (logarithmic
//! in magnitude) for skewed data, whichever spreads a probe of the data better.
//!
//! Results are identical to the sorted path ([`compare_sorted`]): the same D numerator, the same
//! edges to the bit, the same counts (a property test checks this). Ties never straddle a bucket
//! boundary because the bucket is a function of the value. Small samples are simply sorted.
//! The worst case (every bucket a candidate) sorts everything plus three linear passes; a
//! bucket of equal values (zero-inflated data) sorts in one pass.
//!
//! Cost: two linear passes per sample (bucket counts with the moments; gathering the needed
//! buckets, skipped when none is) plus sorting the gathered values, typically a few percent.
//! Values are validated as they are decoded ([`SampleBuilder`]), not in a pass of their own.

use super::binning::{bin_counts, edges_from, quantile_edges};
use super::ks::{KsMode, KsResult, ks_from_numerator};
use super::sample::{SampleError, SortedSample, lerp, quantile_ranks};

/// Buckets between the two tail buckets.
const INNER_BUCKETS: usize = 1 << 16;
/// Below this many values in total, sorting everything is cheaper than bucketing.
const SORT_ALL_BELOW: usize = 1 << 16;
/// Fraction of values in the tails, each side, when choosing the linear range.
const TAIL: f64 = 1e-3;

/// A non-empty, NaN-free numeric sample in arbitrary order; -0.0 is stored as 0.0.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    values: Vec<f64>,
}

impl Sample {
    /// Checks `values` are non-empty and NaN-free; folds -0.0 into 0.0.
    pub fn new(values: Vec<f64>) -> Result<Sample, SampleError> {
        if let Some(i) = values.iter().position(|v| v.is_nan()) {
            return Err(SampleError::NaN(i));
        }
        let mut values = values;
        values.iter_mut().for_each(|v| *v += 0.0);
        SampleBuilder { values, nan: 0 }.finish().0.ok_or(SampleError::Empty)
    }

    /// Number of values (never 0).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// The values, giving up the sample (to reuse the allocation).
    pub fn into_values(self) -> Vec<f64> {
        self.values
    }

    /// Always false.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The values, in the order given.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Sorts the sample.
    pub fn sorted(&self) -> SortedSample {
        SortedSample::new(self.values.clone()).expect("a Sample is non-empty and NaN-free")
    }
}

/// Builds a [`Sample`] value by value while decoding: NaN are counted and dropped, -0.0 is
/// folded into 0.0, so no second pass is needed to validate.
#[derive(Debug, Default)]
pub struct SampleBuilder {
    values: Vec<f64>,
    nan: u64,
}

impl SampleBuilder {
    /// A builder that reuses `buffer`'s allocation (its contents are discarded), with room
    /// for `capacity` values.
    pub fn with_buffer(mut buffer: Vec<f64>, capacity: usize) -> SampleBuilder {
        buffer.clear();
        buffer.reserve(capacity);
        SampleBuilder { values: buffer, nan: 0 }
    }

    /// Adds one value.
    #[inline]
    pub fn push(&mut self, x: f64) {
        if x.is_nan() {
            self.nan += 1;
        } else {
            self.values.push(x + 0.0);
        }
    }

    /// NaN seen so far.
    pub fn nan(&self) -> u64 {
        self.nan
    }

    /// The values pushed so far, in order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The sample (`None` when no value was pushed) and the NaN count.
    pub fn finish(self) -> (Option<Sample>, u64) {
        let sample = (!self.values.is_empty()).then_some(Sample { values: self.values });
        (sample, self.nan)
    }
}

/// Summary statistics of one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Type-7 median.
    pub median: f64,
    /// Largest value.
    pub max: f64,
}

/// Everything the engine compares for a numeric column.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericComparison {
    /// The KS test (statistic exact, p-value as `ks_2samp`).
    pub ks: KsResult,
    /// The smallest value where the ECDFs are D apart (`None` when D is 0).
    pub ks_location: Option<f64>,
    /// The reference's percentiles 0 to 100 (type 7): its ECDF in 101 points.
    pub reference_quantiles: Vec<f64>,
    /// The current side's percentiles 0 to 100.
    pub current_quantiles: Vec<f64>,
    /// PSI edges: reference type-7 quantiles, duplicates collapsed.
    pub edges: Vec<f64>,
    /// Reference counts per PSI bin.
    pub reference_counts: Vec<u64>,
    /// Current counts per PSI bin.
    pub current_counts: Vec<u64>,
    /// Reference summary.
    pub reference: Moments,
    /// Current summary.
    pub current: Moments,
}

/// The comparison over two sorted samples: the reference implementation.
pub fn compare_sorted(r: &SortedSample, c: &SortedSample, bins: usize, mode: KsMode) -> NumericComparison {
    compare_sorted_with(r, c, bins, mode, None, None)
}

/// [`compare_sorted`] with either side's summary already known (a reference kept in memory):
/// then nothing here is linear in that side's size. KS binary-searches the larger sample when
/// the other is much smaller (`O(m log n)`), edges and bin counts are `O(bins log n)`.
pub fn compare_sorted_with(
    r: &SortedSample,
    c: &SortedSample,
    bins: usize,
    mode: KsMode,
    r_moments: Option<Moments>,
    c_moments: Option<Moments>,
) -> NumericComparison {
    let edges = quantile_edges(r, bins);
    let (ks, ks_location) = super::ks::ks_2samp_located(r, c, mode);
    NumericComparison {
        ks,
        ks_location,
        reference_quantiles: percentiles(r.len(), |k| r.values()[k]),
        current_quantiles: percentiles(c.len(), |k| c.values()[k]),
        reference_counts: bin_counts(r, &edges),
        current_counts: bin_counts(c, &edges),
        edges,
        reference: r_moments.unwrap_or_else(|| Moments::of(r)),
        current: c_moments.unwrap_or_else(|| Moments::of(c)),
    }
}

impl Moments {
    /// The summary of a sorted sample (two linear passes).
    pub fn of(s: &SortedSample) -> Moments {
        Moments { mean: s.mean(), std: s.std_population(), min: s.min(), median: s.median(), max: s.max() }
    }
}

/// A monotone (non-decreasing) map from values to `INNER_BUCKETS + 2` buckets: values below a
/// robust low quantile go to bucket 0, above a high one to the last bucket, and the range
/// between is cut either linearly in the value (good for bell-shaped data) or linearly in the
/// IEEE-754 order key, which is logarithmic in magnitude (good for skewed, heavy-tailed data);
/// whichever spreads a probe of the data more evenly.
#[derive(Debug, Clone, Copy)]
pub(super) enum Bucketing {
    Linear { lo: f64, scale: f64 },
    Key { lo: u64, shift: u32 },
}

/// Order-preserving u64 key of a non-NaN f64 (-0.0 already folded).
#[inline]
fn key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

impl Bucketing {
    pub(super) const COUNT: usize = INNER_BUCKETS + 2;

    /// The bucketing, and a central value of the data (to shift sums of squares by).
    pub(super) fn new(r: &Sample, c: &Sample) -> (Bucketing, f64) {
        let mut probe: Vec<f64> = Vec::with_capacity(8192);
        for s in [r, c] {
            let step = (s.len() / 4096).max(1);
            probe.extend(s.values.iter().step_by(step).copied().filter(|v| v.is_finite()));
        }
        probe.sort_by(f64::total_cmp);
        if probe.is_empty() {
            return (Bucketing::Linear { lo: 0.0, scale: 0.0 }, 0.0);
        }
        let at = |p: f64| probe[((probe.len() - 1) as f64 * p) as usize];
        let center = at(0.5);
        let (lo, hi) = (at(TAIL), at(1.0 - TAIL));
        let scale = INNER_BUCKETS as f64 / (hi - lo);
        let linear = Bucketing::Linear { lo, scale: if scale.is_finite() && hi > lo { scale } else { 0.0 } };
        let (klo, khi) = (key(lo), key(hi));
        let span = khi - klo;
        let shift = (u64::BITS - (span / INNER_BUCKETS as u64).leading_zeros()).min(63);
        let keyed = Bucketing::Key { lo: klo, shift };
        // Fewer collisions (sum of squared bucket counts over the probe) wins.
        let collisions = |b: &Bucketing| -> u64 {
            let mut sum = 0u64;
            let mut run = 0u64;
            let mut last = usize::MAX;
            for &x in &probe {
                let k = b.of(x);
                if k == last {
                    run += 1;
                } else {
                    sum += run * run;
                    run = 1;
                    last = k;
                }
            }
            sum + run * run
        };
        (if collisions(&keyed) < collisions(&linear) { keyed } else { linear }, center)
    }

    /// Bucket of `x`: monotone non-decreasing in `x` (which is all correctness needs); values
    /// below the range go to 0, values far above it to the last bucket.
    #[inline]
    pub(super) fn of(&self, x: f64) -> usize {
        const LAST: usize = INNER_BUCKETS + 1;
        match *self {
            Bucketing::Linear { lo, scale, .. } => {
                // (x - lo) * scale rounds monotonically in x; `as usize` floors and saturates.
                let t = (x - lo) * scale;
                if t < 0.0 { 0 } else { (t as usize).saturating_add(1).min(LAST) }
            }
            Bucketing::Key { lo, shift, .. } => {
                let k = key(x);
                if k < lo { 0 } else { (((k - lo) >> shift) as usize).saturating_add(1).min(LAST) }
            }
        }
    }
}

/// The counting pass, monomorphised per bucket function so the hot loop has no dispatch:
/// per bucket (count, min, max), and the sums of `x - center` and of its square.
fn count_cells(values: &[f64], center: f64, bucket: impl Fn(f64) -> usize) -> (Vec<(u64, f64, f64)>, f64, f64) {
    // (count, min, max) together: one cache line per update.
    let mut cells = vec![(0u64, f64::INFINITY, f64::NEG_INFINITY); Bucketing::COUNT];
    let (mut s1, mut s2) = ([0.0f64; 4], [0.0f64; 4]);
    for (i, &x) in values.iter().enumerate() {
        let cell = &mut cells[bucket(x)];
        cell.0 += 1;
        cell.1 = if x < cell.1 { x } else { cell.1 };
        cell.2 = if x > cell.2 { x } else { cell.2 };
        let d = x - center;
        s1[i & 3] += d;
        s2[i & 3] += d * d;
    }
    (cells, (s1[0] + s1[1]) + (s1[2] + s1[3]), (s2[0] + s2[1]) + (s2[2] + s2[3]))
}

/// The gathering pass, monomorphised per bucket function.
fn gather_needed(values: &[f64], size: usize, keep: impl Fn(f64) -> bool) -> Vec<f64> {
    let mut out = Vec::with_capacity(size);
    out.extend(values.iter().copied().filter(|&x| keep(x)));
    out
}

/// Per-sample bucket counts and the sorted contents of the buckets that were needed.
pub(super) struct Bucketed<'a> {
    pub(super) sample: &'a Sample,
    /// prefix[b] = values in buckets before b; prefix[COUNT] = n.
    pub(super) prefix: Vec<u64>,
    /// Sorted values of the gathered buckets, in bucket order.
    pub(super) gathered: Vec<f64>,
    /// Offset of each gathered bucket in `gathered` (valid only where gathered).
    pub(super) offset: Vec<usize>,
    pub(super) needed: Vec<bool>,
    /// Smallest and largest value per bucket: a bucket whose two are equal holds one distinct
    /// value (ties, integers, rounded data) and never needs sorting.
    pub(super) lo: Vec<f64>,
    pub(super) hi: Vec<f64>,
}

impl<'a> Bucketed<'a> {
    /// Counts the sample into buckets, keeping each bucket's smallest and largest value, and
    /// the sample's mean and population standard deviation (sums shifted by `center`).
    pub(super) fn count(sample: &'a Sample, b: &Bucketing, center: f64) -> (Bucketed<'a>, f64, f64) {
        let (cells, s1, s2) = match *b {
            Bucketing::Linear { .. } => count_cells(&sample.values, center, |x| b.of(x)),
            Bucketing::Key { .. } => count_cells(&sample.values, center, |x| b.of(x)),
        };
        let n = sample.len() as f64;
        let mean = center + s1 / n;
        let var = (s2 - s1 * s1 / n) / n; // NaN when infinities are present, as two-pass gives
        let std = if var.is_nan() { f64::NAN } else { var.max(0.0).sqrt() };
        let counts = cells.iter().map(|c| c.0);
        let lo: Vec<f64> = cells.iter().map(|c| c.1).collect();
        let hi: Vec<f64> = cells.iter().map(|c| c.2).collect();
        let mut prefix = Vec::with_capacity(Bucketing::COUNT + 1);
        let mut acc = 0;
        prefix.push(0);
        for c in counts {
            acc += c;
            prefix.push(acc);
        }
        let bucketed = Bucketed {
            sample,
            prefix,
            gathered: Vec::new(),
            offset: vec![usize::MAX; Bucketing::COUNT],
            needed: vec![false; Bucketing::COUNT],
            lo,
            hi,
        };
        (bucketed, mean, std)
    }

    pub(super) fn len_of(&self, bucket: usize) -> u64 {
        self.prefix[bucket + 1] - self.prefix[bucket]
    }

    /// The one value of a non-empty bucket whose values are all equal.
    pub(super) fn single(&self, bucket: usize) -> Option<f64> {
        (self.len_of(bucket) > 0 && self.lo[bucket] == self.hi[bucket]).then_some(self.lo[bucket])
    }

    /// Marks a bucket for gathering unless it is empty or holds a single value.
    pub(super) fn need(&mut self, bucket: usize) {
        if self.len_of(bucket) > 0 && self.single(bucket).is_none() {
            self.needed[bucket] = true;
        }
    }

    /// The bucket holding the value of rank `r` (0-based).
    pub(super) fn bucket_of_rank(&self, r: usize) -> usize {
        self.prefix.partition_point(|&p| p <= r as u64) - 1
    }

    pub(super) fn needed_size(&self) -> u64 {
        (0..Bucketing::COUNT).filter(|&b| self.needed[b]).map(|b| self.len_of(b)).sum()
    }

    /// One pass: copy the values of the needed buckets, sort them.
    pub(super) fn gather(&mut self, b: &Bucketing) {
        let size = self.needed_size() as usize;
        if size == 0 {
            return; // every bucket that matters holds one value: nothing to sort
        }
        let needed = &self.needed;
        let out = match *b {
            Bucketing::Linear { .. } => gather_needed(&self.sample.values, size, |x| needed[b.of(x)]),
            Bucketing::Key { .. } => gather_needed(&self.sample.values, size, |x| needed[b.of(x)]),
        };
        let mut at = 0usize;
        for bucket in 0..Bucketing::COUNT {
            if self.needed[bucket] {
                self.offset[bucket] = at;
                at += self.len_of(bucket) as usize;
            }
        }
        self.gathered = if out.is_empty() { out } else { SortedSample::new(out).expect("finite").into_values() };
    }

    /// The distinct values of a bucket with their counts, ascending: from the gathered values,
    /// or the one repeated value, or nothing for an empty bucket.
    pub(super) fn runs(&self, bucket: usize) -> Vec<(f64, u64)> {
        if let Some(v) = self.single(bucket) {
            return vec![(v, self.len_of(bucket))];
        }
        if self.len_of(bucket) == 0 {
            return Vec::new();
        }
        let mut runs: Vec<(f64, u64)> = Vec::new();
        for &x in self.slice(bucket) {
            match runs.last_mut() {
                Some((v, c)) if *v == x => *c += 1,
                _ => runs.push((x, 1)),
            }
        }
        runs
    }

    /// Sorted values of a gathered bucket.
    pub(super) fn slice(&self, bucket: usize) -> &[f64] {
        let start = self.offset[bucket];
        debug_assert!(start != usize::MAX, "bucket {bucket} was not gathered");
        &self.gathered[start..start + self.len_of(bucket) as usize]
    }

    pub(super) fn rank_value(&self, r: usize) -> f64 {
        let b = self.bucket_of_rank(r);
        match self.single(b) {
            Some(v) => v,
            None => self.slice(b)[r - self.prefix[b] as usize],
        }
    }

    /// Number of values below `x`; `x`'s bucket must have been gathered unless it is empty or
    /// holds a single value.
    pub(super) fn count_below(&self, x: f64, b: &Bucketing) -> u64 {
        let bucket = b.of(x);
        let inside = if self.len_of(bucket) == 0 {
            0
        } else if let Some(v) = self.single(bucket) {
            if v < x { self.len_of(bucket) } else { 0 }
        } else {
            self.slice(bucket).partition_point(|&v| v < x) as u64
        };
        self.prefix[bucket] + inside
    }
}

/// The comparison over two unsorted samples; equal to [`compare_sorted`] on the same data.
pub fn compare(r: &Sample, c: &Sample, bins: usize, mode: KsMode) -> NumericComparison {
    compare_traced(r, c, bins, mode).0
}

/// [`compare`], also saying whether the bucketed path was taken (for tests).
///
/// Both samples are counted into the same monotone buckets; the KS statistic is exact at every
/// bucket boundary, and only the buckets where it could be larger inside (candidates), and
/// those holding the PSI edges and the medians, are gathered and sorted.
fn compare_traced(r: &Sample, c: &Sample, bins: usize, mode: KsMode) -> (NumericComparison, bool) {
    if r.len() + c.len() < SORT_ALL_BELOW {
        return (compare_sorted(&r.sorted(), &c.sorted(), bins, mode), false);
    }
    let (bk, center) = Bucketing::new(r, c);
    let (mut rb, r_mean, r_std) = Bucketed::count(r, &bk, center);
    let (mut cb, c_mean, c_std) = Bucketed::count(c, &bk, center);
    let (lower, candidates) = ks_candidates(&mut rb, &mut cb);
    let bins = bins.max(1);
    need_order_statistics(&mut rb, &mut cb, bins);
    rb.gather(&bk);
    cb.gather(&bk);
    let (best, at) = ks_inside(&rb, &cb, &candidates, lower);
    let (rn, cn) = (r.len(), c.len());
    let edges = edges_from(|i| rb.rank_value(i), rn, bins);
    let counts = |s: &Bucketed| -> Vec<u64> {
        let mut out = Vec::with_capacity(edges.len() + 1);
        let mut prev = 0;
        for &e in &edges {
            let below = s.count_below(e, &bk);
            out.push(below - prev);
            prev = below;
        }
        out.push(s.sample.len() as u64 - prev);
        out
    };
    let result = NumericComparison {
        ks: ks_from_numerator(best, rn as u64, cn as u64, mode),
        ks_location: (best > 0).then_some(at),
        reference_quantiles: percentiles(rn, |k| rb.rank_value(k)),
        current_quantiles: percentiles(cn, |k| cb.rank_value(k)),
        reference_counts: counts(&rb),
        current_counts: counts(&cb),
        reference: moments(&rb, r_mean, r_std),
        current: moments(&cb, c_mean, c_std),
        edges,
    };
    (result, true)
}

/// The KS numerator's lower bound from the bucket boundaries (exact there) with the smallest
/// value where it occurs (the largest value below that boundary), and the buckets whose
/// inside could exceed it (marked as needed in both samples).
fn ks_candidates(rb: &mut Bucketed, cb: &mut Bucketed) -> ((u128, f64), Vec<usize>) {
    let (n, m) = (rb.sample.len() as u128, cb.sample.len() as u128);
    let point = |b: usize| (rb.prefix[b] as u128 * m).abs_diff(cb.prefix[b] as u128 * n);
    let (mut lower, mut at, mut below) = (0u128, f64::NAN, f64::NEG_INFINITY);
    for b in 0..=Bucketing::COUNT {
        let p = point(b);
        if p > lower {
            (lower, at) = (p, below);
        }
        for s in [&*rb, &*cb] {
            if b < Bucketing::COUNT && s.len_of(b) > 0 {
                below = below.max(s.hi[b]);
            }
        }
    }
    let mut candidates = Vec::new();
    for b in 0..Bucketing::COUNT {
        let (r0, r1) = (rb.prefix[b] as u128, rb.prefix[b + 1] as u128);
        let (c0, c1) = (cb.prefix[b] as u128, cb.prefix[b + 1] as u128);
        let upper = (r0 * m).abs_diff(c1 * n).max((r1 * m).abs_diff(c0 * n));
        // A bucket with one distinct value over both samples has no inner ECDF points.
        let one_value = match (rb.single(b), cb.single(b)) {
            (Some(x), Some(y)) => x == y,
            (Some(_), None) => c1 == c0,
            (None, Some(_)) => r1 == r0,
            (None, None) => r1 == r0 && c1 == c0,
        };
        // `>=`: an inner point equal to the maximum at a smaller value is where D occurs.
        if upper >= lower && upper > 0 && !one_value {
            rb.need(b);
            cb.need(b);
            candidates.push(b);
        }
    }
    ((lower, at), candidates)
}

/// Marks the buckets holding order statistics as needed: the reference's PSI edges (in both
/// samples, to count around them) and each sample's median.
fn need_order_statistics<'a>(rb: &mut Bucketed<'a>, cb: &mut Bucketed<'a>, bins: usize) {
    let rn = rb.sample.len();
    for k in 1..bins {
        let (lo, hi, _) = quantile_ranks(rn, k as f64 / bins as f64);
        let (blo, bhi) = (rb.bucket_of_rank(lo), rb.bucket_of_rank(hi));
        for b in blo..=bhi {
            rb.need(b);
            cb.need(b);
        }
    }
    for s in [rb, cb] {
        // The median, and the percentiles drawn as the ECDF (a few hundred buckets at most).
        for k in 0..=PERCENTILES {
            let (lo, hi, _) = quantile_ranks(s.sample.len(), k as f64 / PERCENTILES as f64);
            let (blo, bhi) = (s.bucket_of_rank(lo), s.bucket_of_rank(hi));
            s.need(blo);
            s.need(bhi);
        }
    }
}

/// The KS numerator: `lower` raised by a merge of both samples' sorted runs inside each
/// candidate bucket, with the smallest value where it occurs.
fn ks_inside(rb: &Bucketed, cb: &Bucketed, candidates: &[usize], lower: (u128, f64)) -> (u128, f64) {
    let (n, m) = (rb.sample.len() as u128, cb.sample.len() as u128);
    let (mut best, mut at) = lower;
    for &b in candidates {
        let (mut i, mut j) = (rb.prefix[b] as u128, cb.prefix[b] as u128);
        let (ra, ca) = (rb.runs(b), cb.runs(b));
        let (mut x, mut y) = (0usize, 0usize);
        while x < ra.len() || y < ca.len() {
            let v = match (ra.get(x), ca.get(y)) {
                (Some(a), Some(c)) => a.0.min(c.0),
                (Some(a), None) => a.0,
                (None, Some(c)) => c.0,
                (None, None) => unreachable!("loop condition"),
            };
            if ra.get(x).is_some_and(|a| a.0 == v) {
                i += u128::from(ra[x].1);
                x += 1;
            }
            if ca.get(y).is_some_and(|c| c.0 == v) {
                j += u128::from(ca[y].1);
                y += 1;
            }
            let d = (i * m).abs_diff(j * n);
            // Equal to the best at a smaller value (a boundary came first): the smaller wins.
            if d > best || (d == best && v < at) {
                (best, at) = (d, v);
            }
        }
    }
    (best, at)
}

/// Percentiles reported per side: 0 to this, over this.
const PERCENTILES: usize = 100;

/// The 101 type-7 percentiles of `n` values from the value at each rank; a percentile that
/// falls on a rank is that value (so an infinite extreme stays infinite, not NaN).
fn percentiles(n: usize, value: impl Fn(usize) -> f64) -> Vec<f64> {
    (0..=PERCENTILES)
        .map(|k| {
            let (lo, hi, g) = quantile_ranks(n, k as f64 / PERCENTILES as f64);
            if g == 0.0 { value(lo) } else { lerp(value(lo), value(hi), g) }
        })
        .collect()
}

/// Mean, spread, extremes and median of one side, from its buckets.
fn moments(s: &Bucketed, mean: f64, std: f64) -> Moments {
    let (lo, hi, g) = quantile_ranks(s.sample.len(), 0.5);
    let first = (0..Bucketing::COUNT).find(|&b| s.len_of(b) > 0).unwrap_or(0);
    let last = (0..Bucketing::COUNT).rev().find(|&b| s.len_of(b) > 0).unwrap_or(0);
    Moments { mean, std, min: s.lo[first], median: lerp(s.rank_value(lo), s.rank_value(hi), g), max: s.hi[last] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ranks::ranks_at;
    use crate::synth::Rng;

    fn assert_same(name: &str, r: Vec<f64>, c: Vec<f64>, expect_bucketed: bool) {
        let (rs, cs) = (Sample::new(r).unwrap(), Sample::new(c).unwrap());
        let (got, bucketed) = compare_traced(&rs, &cs, 10, KsMode::Auto);
        assert_eq!(bucketed, expect_bucketed, "{name}: path");
        let want = compare_sorted(&rs.sorted(), &cs.sorted(), 10, KsMode::Auto);
        assert_eq!(got.ks, want.ks, "{name}: KS");
        assert_eq!(got.ks_location, want.ks_location, "{name}: where D occurs");
        assert_eq!(got.reference_quantiles, want.reference_quantiles, "{name}: reference percentiles");
        assert_eq!(got.current_quantiles, want.current_quantiles, "{name}: current percentiles");
        assert_eq!(got.edges.len(), want.edges.len(), "{name}: edges");
        for (a, b) in got.edges.iter().zip(&want.edges) {
            assert_eq!(a.to_bits(), b.to_bits(), "{name}: edge");
        }
        assert_eq!(got.reference_counts, want.reference_counts, "{name}");
        assert_eq!(got.current_counts, want.current_counts, "{name}");
        for (g, w) in [(got.reference, want.reference), (got.current, want.current)] {
            assert_eq!((g.min, g.median, g.max), (w.min, w.median, w.max), "{name}: order statistics");
            // The same sums in another order: both are within n*eps (relative to the data's
            // scale) of the exact value, so they agree to twice that.
            let scale = w.std + w.mean.abs();
            let tol = 2.0 * (rs.len().max(cs.len()) as f64) * f64::EPSILON * scale;
            let close = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol;
            assert!(close(g.mean, w.mean) && close(g.std, w.std), "{name}: {g:?} vs {w:?}");
        }
    }

    fn draw(n: usize, seed: u64, f: impl Fn(&mut Rng) -> f64) -> Vec<f64> {
        let mut r = Rng::new(seed);
        (0..n).map(|_| f(&mut r)).collect()
    }

    #[test]
    fn bucketed_equals_sorted() {
        let n = 60_000;
        assert_same("shift", draw(n, 1, |r| r.normal()), draw(n, 2, |r| r.normal() + 0.2), true);
        assert_same("same", draw(n, 3, |r| r.normal()), draw(n, 4, |r| r.normal()), true);
        assert_same("unequal sizes", draw(n, 5, |r| r.normal()), draw(9_000, 6, |r| r.normal() * 1.5), true);
        assert_same(
            "heavy tails and infinities",
            draw(n, 7, |r| if r.uniform() < 0.001 { f64::INFINITY } else { (r.normal() * 3.0).exp() }),
            draw(n, 8, |r| if r.uniform() < 0.002 { f64::NEG_INFINITY } else { (r.normal() * 3.0).exp() * 1.1 }),
            true,
        );
        assert_same(
            "zero-inflated",
            draw(n, 9, |r| if r.uniform() < 0.995 { 0.0 } else { r.normal() }),
            draw(n, 10, |r| if r.uniform() < 0.99 { -0.0 } else { r.normal() }),
            true,
        );
        assert_same(
            "heavy ties",
            draw(n, 11, |r| (r.uniform() * 20.0).floor()),
            draw(n, 12, |r| (r.uniform() * 21.0).floor()),
            true,
        );
        // two buckets each holding one value of one sample: the maximum lies between them
        assert_same(
            "single values on both sides",
            draw(n, 16, |r| if r.uniform() < 0.97 { 0.0 } else { (r.normal() * 100.0).round() / 100.0 }),
            draw(n, 17, |r| if r.uniform() < 0.97 { 0.0 } else { (r.normal() * 100.0).round() / 100.0 + 0.33 }),
            true,
        );
        assert_same("constant", vec![3.5; n], draw(n, 13, |r| 3.5 + (r.uniform() < 0.1) as u8 as f64), true);
        assert_same("small", draw(500, 14, |r| r.normal()), draw(700, 15, |r| r.normal()), false);
    }

    #[test]
    fn ranks_at_points_match_a_sorted_sample() {
        for (n, seed) in [(50usize, 1u64), (70_000, 2)] {
            let v = draw(n, seed, |r| if r.uniform() < 0.2 { (r.normal() * 3.0).round() } else { r.normal() });
            let sample = Sample::new(v).unwrap();
            let sorted = sample.sorted();
            let mut points: Vec<f64> = vec![-1.0, 0.0, 0.25, 1.0, 2.0, 7.5, f64::INFINITY, f64::NEG_INFINITY];
            points.extend(sorted.values().iter().step_by(997).copied());
            points.sort_by(f64::total_cmp);
            points.dedup();
            let r = ranks_at(&sample, &points);
            for (i, &p) in points.iter().enumerate() {
                assert_eq!(r.below[i], sorted.count_below(p) as u64, "n {n}: below {p}");
                assert_eq!(r.at_or_below[i], sorted.count_at_or_below(p) as u64, "n {n}: at or below {p}");
            }
            assert_eq!(r.moments.median, sorted.median(), "n {n}");
            assert_eq!((r.moments.min, r.moments.max), (sorted.min(), sorted.max()));
        }
    }

    #[test]
    fn rejects_nan_and_folds_negative_zero() {
        assert_eq!(Sample::new(vec![]), Err(SampleError::Empty));
        let mut b = SampleBuilder::default();
        for x in [1.0, f64::NAN, -0.0, f64::NAN] {
            b.push(x);
        }
        assert_eq!(b.nan(), 2);
        let (s, nan) = b.finish();
        assert_eq!((s.unwrap().values(), nan), (&[1.0, 0.0][..], 2));
        assert_eq!(Sample::new(vec![1.0, f64::NAN]), Err(SampleError::NaN(1)));
        assert!(Sample::new(vec![-0.0]).unwrap().values()[0].is_sign_positive());
    }
}
