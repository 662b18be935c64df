//! One reference column as a pool of rows split into folds, and the windows drawn from one
//! fold against the reference made of the others. Pure: the values come in, `ColumnData` for
//! the engine comes out; randomness is the seeded generator passed in.
//!
//! A pool holds the column's rows in a fixed order: the non-missing values (sorted numbers, or
//! category codes grouped by category), then the missing rows. Every row gets a fold label
//! from a shuffled, balanced list, so the folds are a uniformly random partition into
//! `folds` parts of equal size (within one row): for a categorical column the folds' counts are
//! multivariate hypergeometric, exactly as splitting the counts hypergeometrically. A window
//! is a draw without replacement from one fold; its reference is every row of the other folds,
//! so a window is never compared with a reference that contains it.

use std::sync::Arc;

use crate::engine::{ColumnData, SortedColumn, Values};
use crate::stats::sketch::CdfSketch;
use crate::stats::{CategoryCounts, Sample, SortedSample};
use crate::synth::Rng;

/// The non-missing values of a pool.
#[derive(Debug, Clone)]
enum Items {
    /// Numbers, ascending.
    Numeric(Vec<f64>),
    /// Category codes (indices into `labels`), grouped by code.
    Categorical { labels: Vec<String>, codes: Vec<u32> },
}

/// How a pool's values were obtained, for the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Every value of the column (raw rows, an exact snapshot, category counts).
    Values,
    /// A snapshot's sketch: each anchor's values as they are, each span's spread evenly over
    /// its interval (within the sketch's rank error of the true values).
    Sketch,
    /// A capped snapshot's pooled categories: their count spread evenly over as many
    /// categories as were pooled (their singletons kept as singletons).
    PooledCategories,
}

/// One column's rows, labelled by fold.
#[derive(Debug, Clone)]
pub struct Pool {
    data_type: String,
    items: Items,
    /// Rows that were null or NaN (they follow the values).
    missing: usize,
    /// The fold of every row (values first, then missing rows).
    fold_of: Vec<u8>,
    /// The rows of each fold, as positions.
    members: Vec<Vec<u32>>,
    /// How the values were obtained.
    pub origin: Origin,
}

impl Pool {
    /// The column's rows as a pool, split into `folds` random folds. `None` for a column with no
    /// values at all, or more rows than positions fit in 32 bits.
    pub fn new(column: &ColumnData, folds: usize, rng: &mut Rng) -> Option<Pool> {
        let (items, origin) = match &column.values {
            Values::Numeric(None) => return None,
            Values::Numeric(Some(s)) => {
                (Items::Numeric(SortedSample::new(s.clone().into_values()).ok()?.into_values()), Origin::Values)
            }
            Values::Sorted(s) => (Items::Numeric(s.sample.values().to_vec()), Origin::Values),
            Values::Sketched(s) => (Items::Numeric(expand_sketch(&s.sketch)), Origin::Sketch),
            Values::Categorical(c) => categorical_items(c),
        };
        let values = match &items {
            Items::Numeric(v) => v.len(),
            Items::Categorical { codes, .. } => codes.len(),
        };
        let missing = column.missing() as usize;
        let rows = values + missing;
        if values == 0 || rows > u32::MAX as usize || folds < 2 {
            return None;
        }
        let mut fold_of: Vec<u8> = (0..rows).map(|i| (i % folds) as u8).collect();
        shuffle(&mut fold_of, rng);
        let mut members = vec![Vec::with_capacity(rows / folds + 1); folds];
        for (i, &f) in fold_of.iter().enumerate() {
            members[f as usize].push(i as u32);
        }
        Some(Pool { data_type: column.data_type.clone(), items, missing, fold_of, members, origin })
    }

    /// Rows in the smallest fold: the largest window that can be drawn.
    pub fn smallest_fold(&self) -> usize {
        self.members.iter().map(Vec::len).min().unwrap_or(0)
    }

    /// Rows of the pool.
    pub fn rows(&self) -> usize {
        self.fold_of.len()
    }

    fn values(&self) -> usize {
        self.rows() - self.missing
    }

    /// The reference for windows drawn from `fold`: every row of the other folds.
    pub fn reference(&self, fold: usize) -> ColumnData {
        let keep = |i: usize| self.fold_of[i] as usize != fold;
        let missing = (self.values()..self.rows()).filter(|&i| keep(i)).count() as u64;
        let rows = (self.rows() - self.members[fold].len()) as u64;
        let values = match &self.items {
            Items::Numeric(v) => {
                // The values are sorted, so what is kept stays sorted.
                let kept: Vec<f64> = v.iter().enumerate().filter(|(i, _)| keep(*i)).map(|(_, x)| *x).collect();
                match SortedSample::new(kept) {
                    Ok(s) => Values::Sorted(Arc::new(SortedColumn::new(s))),
                    Err(_) => Values::Numeric(None),
                }
            }
            Items::Categorical { labels, codes } => {
                let mut counts = vec![0u64; labels.len()];
                for (i, &c) in codes.iter().enumerate() {
                    if keep(i) {
                        counts[c as usize] += 1;
                    }
                }
                Values::Categorical(category_counts(labels, &counts))
            }
        };
        ColumnData { data_type: self.data_type.clone(), rows, nulls: missing, nan: 0, values }
    }

    /// A window of `rows` rows drawn without replacement from `fold`.
    ///
    /// # Panics
    /// If the fold has fewer rows than asked (callers check [`Pool::smallest_fold`]).
    pub fn window(&mut self, fold: usize, rows: usize, rng: &mut Rng) -> ColumnData {
        let members = &mut self.members[fold];
        assert!(rows <= members.len(), "a window of {rows} rows from a fold of {}", members.len());
        // A partial Fisher-Yates shuffle: the first `rows` positions are a uniform draw.
        for i in 0..rows {
            let j = i + (rng.next_u64() % (members.len() - i) as u64) as usize;
            members.swap(i, j);
        }
        let drawn = &members[..rows];
        let limit = self.fold_of.len() - self.missing;
        let missing = drawn.iter().filter(|&&p| p as usize >= limit).count() as u64;
        let present = drawn.iter().map(|&p| p as usize).filter(|&p| p < limit);
        let values = match &self.items {
            Items::Numeric(v) => {
                let x: Vec<f64> = present.map(|p| v[p]).collect();
                if x.is_empty() { Values::Numeric(None) } else { Values::Numeric(Sample::new(x).ok()) }
            }
            Items::Categorical { labels, codes } => {
                let mut counts = vec![0u64; labels.len()];
                present.for_each(|p| counts[codes[p] as usize] += 1);
                Values::Categorical(category_counts(labels, &counts))
            }
        };
        ColumnData { data_type: self.data_type.clone(), rows: rows as u64, nulls: missing, nan: 0, values }
    }

    /// Whether a row position belongs to `fold` (for tests of the split).
    pub fn in_fold(&self, position: u32, fold: usize) -> bool {
        self.fold_of[position as usize] as usize == fold
    }

    /// The positions of the rows of the last window drawn from `fold` (for tests).
    pub fn last_window(&self, fold: usize, rows: usize) -> &[u32] {
        &self.members[fold][..rows]
    }
}

/// A Fisher-Yates shuffle.
fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Counts by code as a table (codes that count nothing are left out).
fn category_counts(labels: &[String], counts: &[u64]) -> CategoryCounts {
    let mut out = CategoryCounts::new();
    for (label, &n) in labels.iter().zip(counts) {
        out.add(label, n);
    }
    out
}

/// A category table as one code per value, in a fixed order (by label, so the pool does not
/// depend on a hash map's order). A capped table's pooled categories become as many synthetic
/// categories, their singletons kept and the rest of their count spread evenly.
fn categorical_items(c: &CategoryCounts) -> (Items, Origin) {
    let mut listed: Vec<(&str, u64)> = c.iter().collect();
    listed.sort_unstable();
    let mut labels: Vec<String> = Vec::with_capacity(listed.len());
    let mut codes = Vec::with_capacity(c.total() as usize);
    let mut push = |label: String, n: u64| {
        let code = labels.len() as u32;
        labels.push(label);
        codes.extend(std::iter::repeat_n(code, n as usize));
    };
    for (label, n) in listed {
        push(label.to_owned(), n);
    }
    let tail = c.tail();
    let origin = if tail.count == 0 { Origin::Values } else { Origin::PooledCategories };
    if tail.count > 0 {
        let singletons = tail.singletons.min(tail.count).min(tail.distinct);
        let others = tail.distinct.saturating_sub(singletons);
        let rest = tail.count - singletons;
        for i in 0..singletons {
            push(format!("\u{0}pooled-{i}"), 1);
        }
        for i in 0..others {
            // `rest` spread over `others` categories: the first `rest % others` get one more.
            let n = rest / others + u64::from(i < rest % others);
            push(format!("\u{0}pooled-{}", singletons + i), n);
        }
        if others == 0 && rest > 0 {
            push("\u{0}pooled-rest".to_owned(), rest);
        }
    }
    (Items::Categorical { labels, codes }, origin)
}

/// A sketch's values: each anchor's with its multiplicity, each span's count spread evenly
/// strictly inside its interval; ascending.
fn expand_sketch(sketch: &CdfSketch) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::with_capacity(sketch.len() as usize);
    for &(v, n) in sketch.anchors() {
        out.extend(std::iter::repeat_n(v, n as usize));
    }
    for s in sketch.spans() {
        let (lo, hi) = match (s.lo.is_finite(), s.hi.is_finite()) {
            (true, true) => (s.lo, s.hi),
            (false, true) => (s.hi, s.hi),
            (true, false) => (s.lo, s.lo),
            (false, false) => (0.0, 0.0),
        };
        let n = s.count as f64;
        out.extend((0..s.count).map(|j| lo + (hi - lo) * (j as f64 + 0.5) / n));
    }
    out.retain(|v| !v.is_nan());
    out.sort_unstable_by(f64::total_cmp);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categorical(rows: &[(&str, u64)], nulls: u64) -> ColumnData {
        let mut c = CategoryCounts::new();
        for (l, n) in rows {
            c.add(l, *n);
        }
        let total: u64 = rows.iter().map(|r| r.1).sum();
        ColumnData { data_type: "Utf8".into(), rows: total + nulls, nulls, nan: 0, values: Values::Categorical(c) }
    }

    #[test]
    fn folds_partition_the_rows_and_windows_come_from_their_fold_only() {
        let column = categorical(&[("a", 500), ("b", 300), ("c", 197)], 3);
        let mut rng = Rng::new(7);
        let mut pool = Pool::new(&column, 5, &mut rng).unwrap();
        let sizes: Vec<usize> = pool.members.iter().map(Vec::len).collect();
        assert_eq!(sizes, [200; 5], "equal folds");
        for fold in 0..5 {
            let reference = pool.reference(fold);
            assert_eq!(reference.rows, 800, "the reference is the four other folds");
            let window = pool.window(fold, 150, &mut rng);
            assert_eq!(window.rows, 150);
            let drawn = pool.last_window(fold, 150).to_vec();
            assert!(drawn.iter().all(|&p| pool.in_fold(p, fold)), "every drawn row is from the held-out fold");
            // The window and its reference add up to no more than the pool: disjoint rows.
            let Values::Categorical(w) = &window.values else { panic!() };
            let Values::Categorical(r) = &reference.values else { panic!() };
            for l in ["a", "b", "c"] {
                assert!(w.get(l) + r.get(l) <= column_count(&column, l), "{l}: window rows are not in its reference");
            }
        }
    }

    fn column_count(c: &ColumnData, label: &str) -> u64 {
        let Values::Categorical(c) = &c.values else { panic!() };
        c.get(label)
    }

    #[test]
    fn the_same_seed_gives_the_same_windows() {
        let column = ColumnData {
            data_type: "Float64".into(),
            rows: 1000,
            nulls: 10,
            nan: 0,
            values: Values::Numeric(Some(Sample::new((0..990).map(f64::from).collect()).unwrap())),
        };
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            let mut pool = Pool::new(&column, 5, &mut rng).unwrap();
            let w = pool.window(2, 100, &mut rng);
            let Values::Numeric(Some(s)) = w.values else { panic!() };
            (s.into_values(), w.nulls)
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn a_capped_tables_pooled_categories_keep_their_count_and_singletons() {
        let mut c = CategoryCounts::new();
        c.add("a", 10);
        c.add_tail(crate::stats::binning::Tail { count: 25, distinct: 7, singletons: 3, max: 6 });
        let (Items::Categorical { labels, codes }, origin) = categorical_items(&c) else { panic!() };
        assert_eq!(origin, Origin::PooledCategories);
        assert_eq!((labels.len(), codes.len()), (8, 35));
        let ones = (0..labels.len() as u32).filter(|&l| codes.iter().filter(|&&c| c == l).count() == 1).count();
        assert_eq!(ones, 3);
    }
}
