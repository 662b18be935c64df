//! What a snapshot keeps of a categorical column: the most frequent categories, a pooled tail,
//! and what the small-count rules need of both (the singletons, the tail's largest count).

use serde::{Deserialize, Serialize};

use crate::stats::{CategoryCounts, Tail};

/// What a snapshot knows of one categorical column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalProfile {
    /// Non-missing values.
    pub count: u64,
    /// Categories and counts, most frequent first (ties by label), at most `max_categories`.
    pub categories: Vec<(String, u64)>,
    /// Values of the categories beyond the cap.
    pub pooled_count: u64,
    /// How many categories were pooled.
    pub pooled_distinct: u64,
    /// Categories seen exactly once, listed or pooled: the reference's own estimate of unseen
    /// values (Good-Turing). Since format 2; a format 1 file counts its listed singletons and
    /// every pooled category.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub singletons: Option<u64>,
    /// The largest count among the pooled categories (listed categories keep a bin only above
    /// it). Since format 2; a format 1 file takes the smallest listed count.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pooled_max: Option<u64>,
}

/// The profile of a column's categories: the `limit` most frequent listed (ties by label), the
/// rest pooled, with what the small-count rules need (singletons, the pooled categories'
/// largest count), exactly as `CategoryCounts::capped` pools them for `check`.
pub(super) fn cap(counts: &CategoryCounts, limit: usize) -> CategoricalProfile {
    let capped = counts.capped(limit);
    let tail = capped.tail();
    CategoricalProfile {
        count: counts.total(),
        categories: capped.top(limit),
        pooled_count: tail.count,
        pooled_distinct: tail.distinct,
        singletons: Some(counts.singletons()),
        pooled_max: Some(tail.max),
    }
}

impl CategoricalProfile {
    /// The counts the engine compares: the listed categories and the pooled tail.
    pub(super) fn counts(&self) -> CategoryCounts {
        let mut c = CategoryCounts::new();
        for (k, v) in &self.categories {
            c.add(k, *v);
        }
        let listed_singletons = c.singletons();
        // Format 1 stored neither: every pooled category counts as a singleton and may reach
        // the smallest listed count (both bounds keep the small-count rules conservative).
        let singletons = match self.singletons {
            Some(s) => s.saturating_sub(listed_singletons),
            None => self.pooled_distinct,
        };
        let max = match self.pooled_max {
            Some(m) => m,
            None if self.pooled_distinct > 0 => self.categories.iter().map(|c| c.1).min().unwrap_or(u64::MAX),
            None => 0,
        };
        c.add_tail(Tail { count: self.pooled_count, distinct: self.pooled_distinct, singletons, max });
        c
    }
}

/// Two parts' profiles of one column merged (disjoint rows), capped at `limit` categories.
pub(super) fn merge(a: &CategoricalProfile, b: &CategoricalProfile, limit: usize) -> CategoricalProfile {
    let mut counts = a.counts();
    let other = b.counts();
    // A category pooled in a part may be listed, or pooled, in the other: its merged count
    // is bounded by what is recorded plus both parts' pooled maxima.
    let spill = counts.tail().max + other.tail().max;
    for (k, v) in other.iter() {
        counts.add(k, v);
    }
    counts.add_tail(other.tail());
    let mut merged = cap(&counts, limit);
    merged.pooled_max = merged.pooled_max.map(|m| m + spill);
    merged
}
