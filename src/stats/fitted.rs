//! Category bins that fit the window, and the test for values the reference never saw.
//!
//! One bin per category is only a valid chi-square table, and PSI over it only measures
//! something, when every bin expects a few values: a category the reference saw 3 times in
//! 100 000 rows expects 0.006 values in a 200-row window, and one chance occurrence adds about
//! N/n to the statistic. So the bins depend on the window's size:
//!
//! - A reference category keeps its own bin when `p * min(n, N) >= min_expected`, with `p` its
//!   reference share and `n`, `N` the window's and the reference's non-missing counts. It is a
//!   threshold on the reference counts and n only: tied categories are all in or all out, and
//!   the bins never depend on what the window holds.
//! - Every other value shares [`OTHER`]: rarer reference categories, a capped reference's
//!   pooled tail (its categories can never keep a bin: only listed categories above the tail's
//!   largest count can) and values the reference never saw.
//! - While [`OTHER`] expects fewer than `min_expected`, the smallest kept bin (ties: the last
//!   label) joins it.
//! - Fewer than two bins leaves nothing to compare: the test is insufficient, and
//!   [`testable_from`] says which window would have two.
//!
//! New values hidden in [`OTHER`] get their own test, [`unseen`]: the window's share of values
//! the reference never saw against the reference's own estimate of that mass (Good-Turing: the
//! reference's singletons over N), one-sided exact binomial.

use super::binning::{CategoryCounts, CategoryTable, OTHER};

/// The bins a window gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Fitted {
    /// Two bins or more: the table to test.
    Table(CategoryTable),
    /// Fewer than two bins fit: the smallest window (non-missing values) that would have two,
    /// `None` when no window would (a constant column, or a reference too small).
    Insufficient {
        /// The smallest testable window.
        testable_from: Option<u64>,
    },
}

/// Whether `count` reference values of `total` expect at least `min_expected` in a window
/// whose comparison size is `m` (= min(n, N)): `count / total * m >= min_expected`.
fn expects_enough(count: u64, total: u64, m: u64, min_expected: f64) -> bool {
    count as f64 * m as f64 >= min_expected * total as f64
}

/// The largest count a listed category may not exceed to be pooled anyway: with a pooled
/// tail, a listed category keeps a bin only above every pooled one (ties across the cap are
/// all out).
fn floor(reference: &CategoryCounts) -> u64 {
    let tail = reference.tail();
    if tail.distinct > 0 { tail.max } else { 0 }
}

/// The bins of `reference` against `current` (see the module documentation). `reference` is
/// taken as it is: cap it first ([`CategoryCounts::capped`]) to pool beyond a category limit.
pub fn fit_categories(reference: &CategoryCounts, current: &CategoryCounts, min_expected: f64) -> Fitted {
    let total = reference.total();
    let m = current.total().min(total);
    let floor = floor(reference);
    let mut kept: Vec<(&str, u64)> =
        reference.iter().filter(|&(_, c)| c > floor && expects_enough(c, total, m, min_expected)).collect();
    // Most frequent first, ties by label: the smallest bin is the last.
    kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut other = total - kept.iter().map(|k| k.1).sum::<u64>();
    while !expects_enough(other, total, m, min_expected) {
        match kept.pop() {
            Some((_, c)) => other += c,
            None => break,
        }
    }
    if kept.is_empty() {
        return Fitted::Insufficient { testable_from: testable_from(reference, min_expected) };
    }
    kept.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut labels: Vec<String> = kept.iter().map(|k| k.0.to_owned()).collect();
    let mut ref_counts: Vec<u64> = kept.iter().map(|k| k.1).collect();
    let mut cur_counts: Vec<u64> = kept.iter().map(|k| current.get(k.0)).collect();
    let cur_other = current.total() - cur_counts.iter().sum::<u64>();
    labels.push(OTHER.to_owned());
    ref_counts.push(other);
    cur_counts.push(cur_other);
    Fitted::Table(CategoryTable { labels, reference: ref_counts, current: cur_counts, pooled: other > 0 })
}

/// The smallest window (non-missing values) whose bins would be two or more: the most
/// frequent listed category must expect `min_expected` on its own, and so must everything
/// else. `None` when no window would do (the comparison size is capped at the reference's N).
pub fn testable_from(reference: &CategoryCounts, min_expected: f64) -> Option<u64> {
    let total = reference.total();
    let floor = floor(reference);
    let top = reference.iter().map(|(_, c)| c).filter(|&c| c > floor).max()?;
    let smaller = top.min(total - top);
    if smaller == 0 {
        return None;
    }
    let fits =
        |m: u64| expects_enough(top, total, m, min_expected) && expects_enough(total - top, total, m, min_expected);
    // The closed form, then the exact floating-point predicate the bins use decides.
    let mut m = ((min_expected * total as f64 / smaller as f64).ceil() as u64).max(1);
    while m > 1 && fits(m - 1) {
        m -= 1;
    }
    while m <= total && !fits(m) {
        m += 1;
    }
    (m <= total).then_some(m)
}

/// The window's values the reference never saw, and what the reference expects of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unseen {
    /// Window values not among the reference's listed categories.
    pub count: u64,
    /// Window values.
    pub total: u64,
    /// Expected share: (reference singletons + pooled tail) / N, at most 1. Without a tail this
    /// is Good-Turing's estimate of the unseen mass; a capped reference's tail cannot be told
    /// from new values, so its share is added (conservatively: its singletons count twice).
    pub expected: f64,
}

impl Unseen {
    /// The window's share of unseen values.
    pub fn share(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.count as f64 / self.total as f64 }
    }

    /// One-sided p-value that the share is not above `expected`: P(X >= count) for X ~
    /// Binomial(total, expected), SciPy's `binomtest(..., alternative="greater")`.
    pub fn p_value(&self) -> f64 {
        super::exact::binom_sf(self.count, self.total, self.expected)
    }
}

/// Counts the window's values unseen in `reference` (cap the reference first, as for
/// [`fit_categories`]); values the current side pooled itself count as unseen.
pub fn unseen(reference: &CategoryCounts, current: &CategoryCounts) -> Unseen {
    let seen: u64 = current.iter().filter(|(k, _)| reference.contains(k)).map(|(_, c)| c).sum();
    let n = reference.total();
    let expected =
        if n == 0 { 1.0 } else { ((reference.singletons() + reference.tail().count) as f64 / n as f64).min(1.0) };
    Unseen { count: current.total() - seen, total: current.total(), expected }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::binning::Tail;

    fn counts(pairs: &[(&str, u64)]) -> CategoryCounts {
        let mut c = CategoryCounts::new();
        for &(k, n) in pairs {
            c.add(k, n);
        }
        c
    }

    #[test]
    fn rare_categories_and_new_values_share_other() {
        let r = counts(&[("a", 5000), ("b", 3000), ("c", 1500), ("r1", 30), ("r2", 12), ("r3", 1)]);
        let c = counts(&[("a", 101), ("b", 58), ("c", 33), ("r1", 2), ("new", 6)]);
        // n = 200: a (100 expected), b (60), c (30) qualify; other expects 0.9, so c joins it.
        let Fitted::Table(t) = fit_categories(&r, &c, 5.0) else { panic!("a table") };
        assert_eq!(t.labels, vec!["a", "b", OTHER]);
        assert_eq!(t.reference, vec![5000, 3000, 1543]);
        assert_eq!(t.current, vec![101, 58, 41]);
        let u = unseen(&r, &c);
        assert_eq!((u.count, u.total), (6, 200));
        assert!((u.expected - 1.0 / 9543.0).abs() < 1e-18);
    }

    #[test]
    fn ties_are_all_in_or_all_out() {
        let r = counts(&[("a", 50), ("b", 50), ("c", 50), ("d", 850)]);
        let n = |k: u64| counts(&[("d", k)]);
        // At n = 100 each of a, b, c expects exactly 5: all kept (then c, the last, joins the
        // empty other); at n = 99 none is.
        let Fitted::Table(t) = fit_categories(&r, &n(100), 5.0) else { panic!() };
        assert_eq!(t.labels, vec!["a", "b", "d", OTHER]);
        let Fitted::Table(t) = fit_categories(&r, &n(99), 5.0) else { panic!() };
        assert_eq!(t.labels, vec!["d", OTHER]);
    }

    #[test]
    fn a_pooled_tail_keeps_only_categories_above_it() {
        let mut r = counts(&[("a", 500), ("b", 40), ("c", 40)]);
        r.add_tail(Tail { count: 420, distinct: 12, singletons: 3, max: 40 });
        let Fitted::Table(t) = fit_categories(&r, &counts(&[("a", 1000)]), 5.0) else { panic!() };
        assert_eq!(t.labels, vec!["a", OTHER], "b and c may tie with the tail: pooled");
        // A capped table gives the bins of the uncapped one whenever the cap does not bind.
        let full = counts(&[("a", 500), ("b", 40), ("c", 30), ("d", 5)]);
        let cur = counts(&[("a", 400), ("b", 40), ("c", 30), ("z", 30)]);
        assert_eq!(full.capped(4).into_owned(), full);
        let capped = full.capped(2);
        assert_eq!(capped.tail(), Tail { count: 35, distinct: 2, singletons: 0, max: 30 });
        let (Fitted::Table(a), Fitted::Table(b)) =
            (fit_categories(&full, &cur, 5.0), fit_categories(&capped, &cur, 5.0))
        else {
            panic!()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn too_few_bins_name_the_window_that_would_do() {
        let r = counts(&[("a", 9990), ("b", 5), ("c", 5)]);
        assert_eq!(fit_categories(&r, &counts(&[("a", 50)]), 5.0), Fitted::Insufficient { testable_from: Some(5000) });
        let Fitted::Table(t) = fit_categories(&r, &counts(&[("a", 5000)]), 5.0) else { panic!() };
        assert_eq!(t.labels, vec!["a", OTHER]);
        assert_eq!(
            fit_categories(&r, &counts(&[("a", 4999)]), 5.0),
            Fitted::Insufficient { testable_from: Some(5000) }
        );
        // A constant column has no second bin at any size.
        assert_eq!(testable_from(&counts(&[("a", 100)]), 5.0), None);
    }

    #[test]
    fn min_expected_zero_keeps_every_reference_category() {
        let r = counts(&[("a", 9990), ("b", 5), ("c", 5)]);
        let Fitted::Table(t) = fit_categories(&r, &counts(&[("a", 20), ("z", 1)]), 0.0) else { panic!() };
        assert_eq!(t.labels, vec!["a", "b", "c", OTHER]);
        assert_eq!(t.current, vec![20, 0, 0, 1]);
    }
}
