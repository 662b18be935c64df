//! Histograms the engine compares: numeric bins on reference-quantile edges, and category
//! tables over the union of categories with a cap that pools the rarest into `other`.
//!
//! Numeric edges (as `tests/data/README.md` defines them): the reference's type-7 quantiles at
//! k/B for k = 1..B-1, duplicates removed (heavy ties give fewer bins); a value x falls in bin
//! `i` = number of edges <= x, so bins are `(-inf, e1), [e1, e2), ..., [e_last, +inf)`.

use foldhash::HashMap;

use super::sample::{SortedSample, lerp, quantile_ranks};

/// Default number of PSI bins.
pub const DEFAULT_BINS: usize = 10;

/// Default cap on the number of categories compared one by one.
pub const DEFAULT_MAX_CATEGORIES: usize = 10_000;

/// Name of the bin that pools categories beyond the cap.
pub const OTHER: &str = "__other__";

/// Reference-quantile edges for `bins` bins, duplicates collapsed.
pub fn quantile_edges(reference: &SortedSample, bins: usize) -> Vec<f64> {
    edges_from(|i| reference.values()[i], reference.len(), bins)
}

/// Edges from a function giving the reference's order statistic of each rank (0-based) out of
/// `n`: the sorted path reads the sorted values, the bucketed path sorts only the buckets the
/// ranks fall in.
pub(crate) fn edges_from(order_stat: impl Fn(usize) -> f64, n: usize, bins: usize) -> Vec<f64> {
    let bins = bins.max(1);
    let mut edges: Vec<f64> = (1..bins)
        .map(|k| {
            let (lo, hi, g) = quantile_ranks(n, k as f64 / bins as f64);
            lerp(order_stat(lo), order_stat(hi), g)
        })
        .collect();
    edges.sort_by(f64::total_cmp);
    edges.dedup();
    edges
}

/// Counts of `sample` in the bins defined by `edges` (length `edges.len() + 1`).
pub fn bin_counts(sample: &SortedSample, edges: &[f64]) -> Vec<u64> {
    let mut counts = Vec::with_capacity(edges.len() + 1);
    let mut prev = 0usize;
    for &e in edges {
        let below = sample.count_below(e);
        counts.push((below - prev) as u64);
        prev = below;
    }
    counts.push((sample.len() - prev) as u64);
    counts
}

/// Distinct labels tracked per side before further unseen labels are pooled.
pub const MAX_TRACKED_CATEGORIES: usize = 1_000_000;

/// Labels longer than this many bytes are shortened (see [`bounded_label`]).
pub const MAX_LABEL_BYTES: usize = 256;

/// A label as counted: itself, or for a label over [`MAX_LABEL_BYTES`] its first 120
/// characters, `…#` and a 64-bit FNV-1a hash of the whole, so long texts stay distinct without
/// holding megabytes per category.
pub fn bounded_label(label: &str) -> std::borrow::Cow<'_, str> {
    if label.len() <= MAX_LABEL_BYTES {
        return std::borrow::Cow::Borrowed(label);
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let head: String = label.chars().take(120).collect();
    std::borrow::Cow::Owned(format!("{head}…#{h:016x}"))
}

/// Categories pooled away before a table was built (a capped snapshot, or labels beyond the
/// tracking limit): counted in the total, not listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tail {
    /// Their values.
    pub count: u64,
    /// How many categories.
    pub distinct: u64,
    /// How many of them were seen once.
    pub singletons: u64,
    /// The largest count among them (an upper bound when not known exactly).
    pub max: u64,
}

/// Category frequencies of one side. Keys are the category labels as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryCounts {
    counts: HashMap<String, u64>,
    total: u64,
    /// Categories already pooled away.
    tail: Tail,
}

impl CategoryCounts {
    /// An empty table.
    pub fn new() -> CategoryCounts {
        CategoryCounts::default()
    }

    /// Adds `n` occurrences of `label`.
    pub fn add(&mut self, label: &str, n: u64) {
        if n == 0 {
            return;
        }
        let label = bounded_label(label);
        let full = self.counts.len() >= MAX_TRACKED_CATEGORIES;
        match self.counts.get_mut(label.as_ref()) {
            Some(c) => *c += n,
            None if full => {
                // Memory stays bounded on ID-like or free-text columns: later unseen labels
                // are pooled (each occurrence counted as one more pooled category, an upper bound).
                self.tail.count += n;
                self.tail.distinct += 1;
                self.tail.singletons += u64::from(n == 1);
                self.tail.max = self.tail.max.max(n);
            }
            None => {
                self.counts.insert(label.into_owned(), n);
            }
        }
        self.total += n;
    }

    /// Records categories that were pooled before this table was built (by a capped snapshot):
    /// they count in the total but are not listed. Their largest count is the larger of the
    /// two tails' (the caller bounds it when the tails may share categories).
    pub fn add_tail(&mut self, tail: Tail) {
        self.tail.count += tail.count;
        self.tail.distinct += tail.distinct;
        self.tail.singletons += tail.singletons;
        self.tail.max = self.tail.max.max(tail.max);
        self.total += tail.count;
    }

    /// Values and distinct categories pooled before this table was built.
    pub fn pooled(&self) -> (u64, u64) {
        (self.tail.count, self.tail.distinct)
    }

    /// The categories pooled before this table was built.
    pub fn tail(&self) -> Tail {
        self.tail
    }

    /// Categories seen exactly once, listed or pooled (Good-Turing's N1).
    pub fn singletons(&self) -> u64 {
        self.counts.values().filter(|&&c| c == 1).count() as u64 + self.tail.singletons
    }

    /// Whether `label` is listed (pooled categories are not).
    pub fn contains(&self, label: &str) -> bool {
        self.counts.contains_key(bounded_label(label).as_ref())
    }

    /// This table with at most `cap` categories listed: the `cap` most frequent (ties by
    /// label), the others pooled into the tail, as a capped snapshot stores them. Borrowed
    /// when nothing needs pooling.
    pub fn capped(&self, cap: usize) -> std::borrow::Cow<'_, CategoryCounts> {
        if self.counts.len() <= cap {
            return std::borrow::Cow::Borrowed(self);
        }
        let counts: HashMap<String, u64> = self.top(cap).into_iter().collect();
        let mut out = CategoryCounts { counts, total: self.total, tail: self.tail };
        for (_, v) in self.iter().filter(|(k, _)| !out.counts.contains_key(*k)) {
            out.tail.count += v;
            out.tail.distinct += 1;
            out.tail.singletons += u64::from(v == 1);
            out.tail.max = out.tail.max.max(v);
        }
        std::borrow::Cow::Owned(out)
    }

    /// Total number of (non-null) values counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Number of distinct categories, including pooled ones.
    pub fn distinct(&self) -> usize {
        self.counts.len() + self.tail.distinct as usize
    }

    /// Count of one category (0 when absent).
    pub fn get(&self, label: &str) -> u64 {
        self.counts.get(bounded_label(label).as_ref()).copied().unwrap_or(0)
    }

    /// Iterates over (label, count) in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.counts.iter().map(|(k, &v)| (k.as_str(), v))
    }

    /// The `k` most frequent categories, ties by label.
    pub fn top(&self, k: usize) -> Vec<(String, u64)> {
        most_frequent(self.iter().collect(), k)
    }

    /// Categories of `self` absent from `other`, with their counts, in no particular order.
    pub fn missing_from<'a>(&'a self, other: &CategoryCounts) -> Vec<(&'a str, u64)> {
        self.iter().filter(|(k, _)| !other.counts.contains_key(*k)).collect()
    }
}

/// The `k` most frequent of `items` (ties by label), most frequent first. Linear selection,
/// then a sort of the `k` kept: cheap even for millions of distinct values.
pub fn most_frequent(mut items: Vec<(&str, u64)>, k: usize) -> Vec<(String, u64)> {
    let order = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
    if k == 0 {
        return Vec::new();
    }
    if items.len() > k {
        items.select_nth_unstable_by(k, order);
        items.truncate(k);
    }
    items.sort_unstable_by(order);
    items.into_iter().map(|(a, b)| (a.to_owned(), b)).collect()
}

/// Two aligned category histograms over the sorted union of categories.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryTable {
    /// Bin labels, sorted; [`OTHER`] last when categories were pooled.
    pub labels: Vec<String>,
    /// Reference counts per label.
    pub reference: Vec<u64>,
    /// Current counts per label.
    pub current: Vec<u64>,
    /// Whether categories beyond the cap were pooled into [`OTHER`].
    pub pooled: bool,
}

/// Aligns two category tables. While the union has at most `max_categories` categories each
/// is its own bin. Beyond that the `max_categories` most frequent reference categories (ties by
/// label) keep their bins and every other category, rarer reference ones and those unseen in
/// the reference, shares the [`OTHER`] bin. A reference that was already pooled (a capped
/// snapshot) is always compared pooled, with its listed categories as the candidates to keep. The rule depends on the reference alone, so a
/// reference snapshot can apply it without seeing the current data.
pub fn align_categories(reference: &CategoryCounts, current: &CategoryCounts, max_categories: usize) -> CategoryTable {
    let unseen = current.missing_from(reference);
    let pooled = reference.tail.distinct > 0 || reference.distinct() + unseen.len() > max_categories;
    let mut labels: Vec<String> = if pooled {
        reference.top(max_categories).into_iter().map(|(k, _)| k).collect()
    } else {
        reference.iter().map(|(k, _)| k).chain(unseen.iter().map(|(k, _)| *k)).map(str::to_owned).collect()
    };
    labels.sort_unstable();
    let mut t = CategoryTable {
        reference: labels.iter().map(|k| reference.get(k)).collect(),
        current: labels.iter().map(|k| current.get(k)).collect(),
        labels,
        pooled,
    };
    if pooled {
        let other_r = reference.total() - t.reference.iter().sum::<u64>();
        let other_c = current.total() - t.current.iter().sum::<u64>();
        t.labels.push(OTHER.to_owned());
        t.reference.push(other_r);
        t.current.push(other_c);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_collapse_ties_and_bins_are_left_closed() {
        let r = SortedSample::new(vec![0.0, 1.0, 1.0, 1.0, 2.0]).unwrap();
        let e = quantile_edges(&r, 4);
        assert_eq!(e, vec![1.0]);
        let c = SortedSample::new(vec![0.5, 1.0, 3.0]).unwrap();
        assert_eq!(bin_counts(&c, &e), vec![1, 2]);
    }

    #[test]
    fn long_labels_stay_distinct_and_short() {
        let a = "x".repeat(10_000);
        let b = format!("{}y", "x".repeat(9_999));
        let mut c = CategoryCounts::new();
        c.add(&a, 1);
        c.add(&b, 2);
        c.add(&a, 3);
        assert_eq!(c.distinct(), 2);
        assert_eq!(c.get(&a), 4);
        assert!(c.iter().all(|(k, _)| k.len() < 200));
    }

    #[test]
    fn pooling_keeps_top_reference_categories() {
        let mut r = CategoryCounts::new();
        r.add("a", 10);
        r.add("b", 5);
        r.add("c", 1);
        let mut c = CategoryCounts::new();
        c.add("a", 3);
        c.add("z", 4);
        let t = align_categories(&r, &c, 2);
        assert_eq!(t.labels, vec!["a", "b", OTHER]);
        assert_eq!(t.reference, vec![10, 5, 1]);
        assert_eq!(t.current, vec![3, 0, 4]);
        let t = align_categories(&r, &c, 4);
        assert_eq!(t.labels, vec!["a", "b", "c", "z"]);
        assert!(!t.pooled);
    }
}
