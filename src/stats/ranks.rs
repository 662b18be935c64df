//! The rank pass behind checks against a sketch and snapshot builds: how many values of a
//! sample lie below and at each of some points, and values at some ranks, in one pass over the
//! [`super::bucketed`] bucket table instead of a full sort.

use super::bucketed::{Bucketed, Bucketing, Moments, Sample};
use super::sample::{lerp, quantile_ranks};

/// How many values of a sample lie below and at or below each of some sorted points, with the
/// sample's summary, in one pass and without sorting: each value finds its place among the
/// points through the bucket table (only points sharing its bucket are compared).
#[derive(Debug, Clone, PartialEq)]
pub struct RanksAt {
    /// `below[k]`: values `< points[k]`.
    pub below: Vec<u64>,
    /// `at_or_below[k]`: values `<= points[k]`.
    pub at_or_below: Vec<u64>,
    /// Summary of the sample (the median exact: the one or two slots holding it are sorted).
    pub moments: Moments,
}

/// [`RanksAt`] for `points`, which must be sorted ascending and distinct (and not NaN).
pub fn ranks_at(sample: &Sample, points: &[f64]) -> RanksAt {
    debug_assert!(points.windows(2).all(|w| w[0] < w[1]), "points must be sorted and distinct");
    let (bk, center) = Bucketing::new(sample, sample);
    match bk {
        Bucketing::Linear { .. } => ranks_with(sample, points, center, |x| bk.of(x)),
        Bucketing::Key { .. } => ranks_with(sample, points, center, |x| bk.of(x)),
    }
}

fn ranks_with(sample: &Sample, points: &[f64], center: f64, bucket: impl Fn(f64) -> usize) -> RanksAt {
    let k = points.len();
    // start[b]: how many points lie in buckets before b.
    let mut start = vec![0u32; Bucketing::COUNT + 1];
    for &p in points {
        start[bucket(p) + 1] += 1;
    }
    for b in 1..start.len() {
        start[b] += start[b - 1];
    }
    // slot 2i: strictly between points i-1 and i; slot 2i+1: equal to point i.
    let slot_of = |x: f64| -> usize {
        let b = bucket(x);
        let (mut p, end) = (start[b] as usize, start[b + 1] as usize);
        while p < end && points[p] < x {
            p += 1;
        }
        if p < end && points[p] == x { 2 * p + 1 } else { 2 * p }
    };
    let mut slots = vec![0u64; 2 * k + 1];
    let (mut s1, mut s2) = ([0.0f64; 4], [0.0f64; 4]);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    // Each value's slot, kept so the median pass below need not find it again.
    let mut slot_ids: Vec<u32> = Vec::with_capacity(sample.len());
    for (i, &x) in sample.values().iter().enumerate() {
        let slot = slot_of(x);
        slots[slot] += 1;
        slot_ids.push(slot as u32);
        let d = x - center;
        s1[i & 3] += d;
        s2[i & 3] += d * d;
        min = if x < min { x } else { min };
        max = if x > max { x } else { max };
    }
    let (below, at_or_below, prefix) = cumulate(&slots, k);
    // The median's ranks: from a point's slot directly, else from the values of that slot,
    // gathered in one more pass (both ranks at once) and partially sorted.
    let n = sample.len();
    let (lo, hi, g) = quantile_ranks(n, 0.5);
    let slot_of_rank = |rank: usize| prefix.partition_point(|&p| p <= rank as u64) - 1;
    let wanted: Vec<usize> = [slot_of_rank(lo), slot_of_rank(hi)].into_iter().filter(|s| s % 2 == 0).collect();
    let mut inside: Vec<(usize, f64)> = Vec::new();
    if !wanted.is_empty() {
        for (&x, &s) in sample.values().iter().zip(&slot_ids) {
            let s = s as usize;
            if wanted.contains(&s) {
                inside.push((s, x));
            }
        }
        inside.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    }
    let value_at = |rank: usize| -> f64 {
        let slot = slot_of_rank(rank);
        if slot % 2 == 1 {
            return points[slot / 2];
        }
        let first = inside.partition_point(|e| e.0 < slot);
        inside[first + rank - prefix[slot] as usize].1
    };
    let median = lerp(value_at(lo), value_at(hi), g);
    let (s1, s2) = ((s1[0] + s1[1]) + (s1[2] + s1[3]), (s2[0] + s2[1]) + (s2[2] + s2[3]));
    let nf = n as f64;
    let var = (s2 - s1 * s1 / nf) / nf;
    let moments = Moments {
        mean: center + s1 / nf,
        std: if var.is_nan() { f64::NAN } else { var.max(0.0).sqrt() },
        min,
        median,
        max,
    };
    RanksAt { below, at_or_below, moments }
}

/// From the counts per slot (between and at `k` points): the values below each point, at or
/// below it, and the prefix sums over slots.
fn cumulate(slots: &[u64], k: usize) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    let mut below = Vec::with_capacity(k);
    let mut at_or_below = Vec::with_capacity(k);
    let mut acc = 0u64;
    let mut prefix = Vec::with_capacity(2 * k + 2);
    prefix.push(0u64);
    for (i, &c) in slots.iter().enumerate() {
        acc += c;
        prefix.push(acc);
        if i % 2 == 0 && i / 2 < k {
            below.push(acc);
        } else if i % 2 == 1 {
            at_or_below.push(acc);
        }
    }
    (below, at_or_below, prefix)
}

/// Exact order statistics of an unsorted sample at chosen ranks, sorting only the buckets that
/// hold them (what a reference sketch and its PSI edges need from millions of values).
pub struct Ranked<'a> {
    buckets: Bucketed<'a>,
    bucketing: Bucketing,
    mean: f64,
    std: f64,
}

/// Prepares [`Ranked`] for the values at `ranks` and for counting below any value lying
/// between the values at the two ranks of each pair in `ranges`.
pub fn ranked<'a>(sample: &'a Sample, ranks: &[usize], ranges: &[(usize, usize)]) -> Ranked<'a> {
    let (bk, center) = Bucketing::new(sample, sample);
    let (mut b, mean, std) = Bucketed::count(sample, &bk, center);
    for &r in ranks {
        let k = b.bucket_of_rank(r);
        b.need(k);
    }
    for &(lo, hi) in ranges {
        for k in b.bucket_of_rank(lo)..=b.bucket_of_rank(hi) {
            b.need(k);
        }
    }
    b.gather(&bk);
    Ranked { buckets: b, bucketing: bk, mean, std }
}

impl Ranked<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.buckets.sample.len()
    }

    /// Always false (samples are never empty).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The value of rank `r` (0-based); `r` must have been asked for.
    pub fn value(&self, r: usize) -> f64 {
        self.buckets.rank_value(r)
    }

    /// Values `< x`; `x` must be a value at an asked rank or inside an asked range.
    pub fn count_below(&self, x: f64) -> u64 {
        self.buckets.count_below(x, &self.bucketing)
    }

    /// Values `<= x`; same condition as [`Ranked::count_below`].
    pub fn count_at_or_below(&self, x: f64) -> u64 {
        let b = &self.buckets;
        let bucket = self.bucketing.of(x);
        let inside = if b.len_of(bucket) == 0 {
            0
        } else if let Some(v) = b.single(bucket) {
            if v <= x { b.len_of(bucket) } else { 0 }
        } else {
            b.slice(bucket).partition_point(|&v| v <= x) as u64
        };
        b.prefix[bucket] + inside
    }

    /// Mean (sums shifted by a central value of the data).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Population standard deviation.
    pub fn std(&self) -> f64 {
        self.std
    }
}
