//! The two-sample, two-sided Kolmogorov-Smirnov test with SciPy's `ks_2samp` semantics.
//!
//! - Statistic: `D = sup_x |F_ref(x) - F_cur(x)|` with right-continuous ECDFs; the supremum is
//!   taken between distinct values, so ties are handled exactly, and -0.0 equals 0.0 (folded by
//!   [`SortedSample`]). D is computed from integer counts, `|i*m - j*n| / (n*m)`, so it has no
//!   accumulated rounding at all.
//! - Cost: when one sample is much smaller than the other (a window against a large reference)
//!   the small one is walked and the large one binary-searched, `O(m log n)`; otherwise an
//!   `O(n + m)` merge. Both give the same integer answer.
//! - p-value `auto`: exact when `max(n, m) <= 10 000` (lattice-path counting: the closed form
//!   for `n == m`, Hodges' inside method computing `1 - p` directly as Viehmann (2021) does
//!   otherwise), else `kstwo_sf(D, round(n*m/(n+m)))` (see [`super::kolmogorov`]).

use super::kolmogorov::kstwo_sf;
use super::sample::SortedSample;

/// Largest sample size for which `auto` uses the exact distribution (SciPy's `MAX_AUTO_N`).
pub const EXACT_MAX_N: usize = 10_000;

/// How the p-value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KsMethod {
    /// Exact distribution of the two-sample statistic.
    Exact,
    /// Finite-n one-sample Kolmogorov distribution at the effective sample size.
    Asymptotic,
}

/// Which p-value method to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KsMode {
    /// Exact when `max(n, m) <= 10 000`, otherwise asymptotic (SciPy's default).
    Auto,
    /// Always exact (falls back to asymptotic only if the exact computation fails).
    Exact,
    /// Always asymptotic.
    Asymptotic,
}

/// The result of a KS test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    /// D, in [0, 1].
    pub statistic: f64,
    /// Two-sided p-value, in [0, 1].
    pub p_value: f64,
    /// How the p-value was computed.
    pub method: KsMethod,
}

/// The numerator `k` of `D = k / (n*m)`: `max |i*m - j*n|` over the pooled distinct values,
/// and the smallest value `x` where it occurs (`|F_a(x) - F_b(x)|` with `F(x)` the share at
/// or below `x`; NaN when `k` is 0).
fn statistic_numerator(a: &[f64], b: &[f64]) -> (u128, f64) {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if uses_search(small.len(), large.len()) { search_numerator(small, large) } else { merge_numerator(small, large) }
}

/// Whether the binary-search path is cheaper: `small * log2(large) < large`.
fn uses_search(small: usize, large: usize) -> bool {
    let log2_l = (usize::BITS - large.leading_zeros()) as usize;
    small.saturating_mul(log2_l) < large
}

/// The binary-search path, `O(s log l)`: walk the distinct values of `small` and binary-search
/// `large` for the counts below and at or below each. Correct for any sizes; cheaper than the
/// merge only when `small` is much smaller.
fn search_numerator(small: &[f64], large: &[f64]) -> (u128, f64) {
    let (s, l) = (small.len() as u128, large.len() as u128);
    let (mut best, mut at): (u128, f64) = (0, f64::NAN);
    let diff = |i: usize, j: usize| -> u128 {
        // i of `small` and j of `large` at or below the same x
        (i as u128 * l).abs_diff(j as u128 * s)
    };
    let mut i = 0usize;
    let mut lo = 0usize;
    while i < small.len() {
        let v = small[i];
        let below = lo + large[lo..].partition_point(|&x| x < v);
        let d = diff(i, below);
        if d > best {
            // Everything below v: the ECDFs at the largest pooled value under v.
            let before = |xs: &[f64], k: usize| if k > 0 { xs[k - 1] } else { f64::NEG_INFINITY };
            (best, at) = (d, before(small, i).max(before(large, below)));
        }
        while i < small.len() && small[i] == v {
            i += 1;
        }
        let at_or_below = below + large[below..].partition_point(|&x| x <= v);
        let d = diff(i, at_or_below);
        if d > best {
            (best, at) = (d, v);
        }
        lo = at_or_below;
    }
    // Past the last value of `small`: i = s, and |s*l - j*s| only shrinks as j grows to l.
    (best, at)
}

/// The merge path: one pass over both samples. Every step takes the smaller head, and the
/// state before a step is an ECDF point (at the value taken before, `prev`) and a candidate
/// only when the value taken differs from the previous one, so ties are never split.
fn merge_numerator(a: &[f64], b: &[f64]) -> (u128, f64) {
    let (n, m) = (a.len() as u128, b.len() as u128);
    let point = |i: usize, j: usize| (i as u128 * m).abs_diff(j as u128 * n);
    let (mut i, mut j) = (0usize, 0usize);
    let (mut best, mut at): (u128, f64) = (0, f64::NAN);
    let mut prev = f64::NAN; // differs from everything
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        let take_a = x <= y;
        let w = if take_a { x } else { y };
        let cand = point(i, j);
        if w != prev && cand > best {
            (best, at) = (cand, prev);
        }
        prev = w;
        i += usize::from(take_a);
        j += usize::from(!take_a);
    }
    // One side is exhausted: step past the tie with the last value taken; from there on
    // |F_a - F_b| only shrinks, so this point is the last candidate.
    while i < a.len() && a[i] == prev {
        i += 1;
    }
    while j < b.len() && b[j] == prev {
        j += 1;
    }
    let last = point(i, j);
    if last > best { (last, prev) } else { (best, at) }
}

/// The KS statistic D of two samples.
pub fn ks_statistic(a: &SortedSample, b: &SortedSample) -> f64 {
    let k = statistic_numerator(a.values(), b.values()).0;
    k as f64 / (a.len() as f64 * b.len() as f64)
}

/// Two-sample, two-sided KS test.
pub fn ks_2samp(a: &SortedSample, b: &SortedSample, mode: KsMode) -> KsResult {
    ks_2samp_located(a, b, mode).0
}

/// [`ks_2samp`] and where D occurs: the smallest value `x` with `|F_a(x) - F_b(x)| = D`
/// (`F(x)`: the share at or below `x`), `None` when D is 0.
pub fn ks_2samp_located(a: &SortedSample, b: &SortedSample, mode: KsMode) -> (KsResult, Option<f64>) {
    let (k, at) = statistic_numerator(a.values(), b.values());
    (ks_from_numerator(k, a.len() as u64, b.len() as u64, mode), (k > 0).then_some(at))
}

/// The test from `D = k / (n1*n2)` and the sample sizes (for callers that computed `k`
/// without sorting everything, see [`super::bucketed`]).
pub fn ks_from_numerator(k: u128, n1: u64, n2: u64, mode: KsMode) -> KsResult {
    let statistic = k as f64 / (n1 as f64 * n2 as f64);
    let exact = match mode {
        KsMode::Auto => n1.max(n2) as usize <= EXACT_MAX_N,
        KsMode::Exact => true,
        KsMode::Asymptotic => false,
    };
    if exact {
        // D * lcm(n1, n2) = k / gcd(n1, n2), an integer.
        let g = gcd(n1, n2);
        let h = (k / g as u128) as u64;
        if let Some(p) = exact_p_value(n1, n2, g, h) {
            return KsResult { statistic, p_value: p, method: KsMethod::Exact };
        }
    }
    KsResult { statistic, p_value: asymptotic_p_value(statistic, n1, n2), method: KsMethod::Asymptotic }
}

/// `kstwo.sf(D, round(n1*n2/(n1+n2)))`, rounding half to even as NumPy does.
pub fn asymptotic_p_value(d: f64, n1: u64, n2: u64) -> f64 {
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = (m * n / (m + n)).round_ties_even().max(1.0);
    kstwo_sf(d, en as u64)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Exact `P(D >= h/lcm)`; `None` when the computation is not usable (SciPy then falls back).
fn exact_p_value(n1: u64, n2: u64, g: u64, h: u64) -> Option<f64> {
    if h == 0 {
        return Some(1.0);
    }
    let p = if n1 == n2 { prob_outside_square(n1, h) } else { outer_prob_inside(n1, n2, g, h) };
    (p.is_finite() && (0.0..=1.0).contains(&p)).then_some(p)
}

/// `P(D_{n,n} >= h/n)`: 2 * (C(2n, n-h) - C(2n, n-2h) + ...) / C(2n, n), in Horner form.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    let (n, h) = (n as i64, h as i64);
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// `1 - P(paths stay strictly inside |x/m - y/n| < h/lcm)`, computed directly (Viehmann 2021).
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n as i64, m as i64) } else { (m as i64, n as i64) };
    let (g, h) = (g as i64, h as i64);
    let (mg, ng) = (m / g, n / g);
    let ceil_div = |a: i64, b: i64| -(-a).div_euclid(b);
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for x in a.iter_mut().take(maxj as usize) {
        *x = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((ng * i - h).div_euclid(mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        let shift = (minj - lastminj) as usize;
        for jj in 0..(maxj - minj) as usize {
            let j = (jj as i64 + minj) as f64;
            val = (a[jj + shift] * fi + val * j) / (fi + j);
            a[jj] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = curlen as usize;
            let end = (start + (lastlen - curlen) as usize).min(a.len());
            a[start..end].iter_mut().for_each(|x| *x = 1.0);
        }
    }
    a[(maxj - minj - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[f64]) -> SortedSample {
        SortedSample::new(v.to_vec()).unwrap()
    }

    #[test]
    fn ties_and_negative_zero() {
        assert_eq!(ks_statistic(&s(&[1.0, 1.0, 2.0]), &s(&[1.0, 2.0, 2.0])), 1.0 / 3.0);
        assert_eq!(ks_statistic(&s(&[-0.0, 1.0]), &s(&[0.0, 1.0])), 0.0);
    }

    /// `max |i*m - j*n|` by definition: the ECDFs at every pooled value, counted with a filter
    /// (no sorting, no search, no merge).
    /// The numerator and the smallest pooled value where it occurs (NaN for 0).
    fn brute_numerator(a: &[f64], b: &[f64]) -> (u128, f64) {
        let (n, m) = (a.len() as u128, b.len() as u128);
        let at_or_below = |v: &[f64], x: f64| v.iter().filter(|&&y| y <= x).count() as u128;
        let gap = |x: f64| (at_or_below(a, x) * m).abs_diff(at_or_below(b, x) * n);
        let k = a.iter().chain(b).map(|&x| gap(x)).max().unwrap_or(0);
        let at = a.iter().chain(b).copied().filter(|&x| k > 0 && gap(x) == k).fold(f64::NAN, f64::min);
        (k, at)
    }

    /// Numerators equal and locations equal as values (NaN equals NaN, -0.0 equals 0.0).
    fn same(got: (u128, f64), want: (u128, f64)) -> bool {
        got.0 == want.0 && (got.1 == want.1 || (got.1.is_nan() && want.1.is_nan()))
    }

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    /// Both paths, called directly on the same inputs in both orders, against brute force; the
    /// dispatching `statistic_numerator` too.
    #[test]
    fn search_and_merge_paths_each_agree_with_brute_force() {
        let big: Vec<f64> = sorted((0..5000).map(|i| ((i * 7919) % 5000) as f64 / 10.0).collect());
        let shapes: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
            ("ties", vec![1.0, 1.0, 2.0], vec![1.0, 2.0, 2.0]),
            ("ties across both", vec![0.0, 1.0, 1.0, 1.0, 3.0], vec![1.0, 1.0, 3.0, 3.0]),
            // 0.0 before -0.0 on purpose (not total_cmp order): they compare equal, one value.
            ("negative zero", vec![-0.0, 0.0, 1.0], vec![0.0, -0.0, 1.0, 2.0]),
            ("disjoint", vec![1.0, 2.0, 3.0], vec![10.0, 11.0, 12.0, 13.0, 14.0]),
            ("disjoint reversed", vec![10.0, 11.0], vec![1.0, 2.0, 3.0]),
            ("interleaved", vec![1.0, 3.0, 5.0, 7.0, 9.0], vec![2.0, 4.0, 6.0, 8.0]),
            ("identical", vec![1.0, 2.0, 2.0, 5.0], vec![1.0, 2.0, 2.0, 5.0]),
            ("single values", vec![4.0], vec![4.0, 4.0, 5.0]),
            ("infinities", vec![f64::NEG_INFINITY, 0.0, f64::INFINITY], vec![0.0, 1.0, f64::INFINITY]),
            ("small vs big", vec![-1.0, 3.0, 3.0, 17.5, 250.0, 499.9, 600.0], big.clone()),
            ("small inside big", vec![100.0, 100.0, 100.1, 100.2], big.clone()),
            ("big vs big shifted", big[..600].to_vec(), big[..600].iter().map(|x| x + 0.05).collect()),
        ];
        for (name, a, b) in shapes {
            let want = brute_numerator(&a, &b);
            for (path, got) in [
                ("search(a, b)", search_numerator(&a, &b)),
                ("search(b, a)", search_numerator(&b, &a)),
                ("merge(a, b)", merge_numerator(&a, &b)),
                ("merge(b, a)", merge_numerator(&b, &a)),
                ("dispatch", statistic_numerator(&a, &b)),
            ] {
                assert!(same(got, want), "{name}: {path}: {got:?}, want {want:?}");
            }
        }
    }

    #[test]
    fn the_search_path_is_taken_only_for_a_much_smaller_sample() {
        assert!(uses_search(7, 5000));
        assert!(!uses_search(5000, 5000));
        assert!(!uses_search(3, 4));
    }
}
