//! Exact tests for small counts, as SciPy computes them:
//!
//! - [`binom_sf`]: the upper tail P(X >= k) of Binomial(n, p), which is
//!   `scipy.stats.binomtest(k, n, p, alternative="greater").pvalue` (the unseen-values test);
//! - [`fisher_exact`]: Fisher's exact test on a 2 x 2 table, two-sided as
//!   `scipy.stats.fisher_exact(table).pvalue` computes it: the probability, under the
//!   hypergeometric distribution of the table's margins, of every table at most as probable as
//!   the observed one (the missing-rate test when an expected count is small).
//!
//! Densities use Loader's saddle-point form of the binomial density ("Fast and accurate
//! computation of binomial probabilities", 2000; R's `dbinom` and `dhyper`), accurate to a few
//! units in the last place at any n, and tails are summed term by term from their largest term,
//! in ratios, so a p-value far below the smallest double is still exact until it underflows.
//! Cost: the number of terms that matter (a few standard deviations' worth), never the whole
//! support.

use std::f64::consts::PI;

/// `ln(n!) - (n + 1/2) ln n + n - ln sqrt(2 pi)` for n = 0..=15 (Loader's table).
const STIRLERR: [f64; 16] = [
    0.0,
    0.081_061_466_795_327_26,
    0.041_340_695_955_409_3,
    0.027_677_925_684_998_34,
    0.020_790_672_103_765_093,
    0.016_644_691_189_821_193,
    0.013_876_128_823_070_748,
    0.011_896_709_945_891_77,
    0.010_411_265_261_972_096,
    0.009_255_462_182_712_733,
    0.008_330_563_433_362_87,
    0.007_573_675_487_951_841,
    0.006_942_840_107_209_53,
    0.006_408_994_188_004_207,
    0.005_951_370_112_758_847_5,
    0.005_554_733_551_962_801,
];

/// The error of Stirling's approximation to `ln(n!)`, for a whole number n >= 0.
fn stirlerr(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if n <= 15.0 {
        return STIRLERR[n as usize];
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// `x ln(x / np) + np - x`, computed without cancellation when x is close to np.
fn bd0(x: f64, np: f64) -> f64 {
    if (x - np).abs() < 0.1 * (x + np) {
        let mut v = (x - np) / (x + np);
        let mut s = (x - np) * v;
        if s.abs() < f64::MIN_POSITIVE {
            return s;
        }
        let mut ej = 2.0 * x * v;
        v *= v;
        for j in 1..1000 {
            ej *= v;
            let s1 = s + ej / f64::from(2 * j + 1);
            if s1 == s {
                return s1;
            }
            s = s1;
        }
    }
    x * (x / np).ln() + np - x
}

/// `ln P(X = x)` for X ~ Binomial(n, p), with q = 1 - p given separately (R's `dbinom_raw`).
fn ln_dbinom(x: f64, n: f64, p: f64, q: f64) -> f64 {
    if p == 0.0 {
        return if x == 0.0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if q == 0.0 {
        return if x == n { 0.0 } else { f64::NEG_INFINITY };
    }
    if x < 0.0 || x > n {
        return f64::NEG_INFINITY;
    }
    if x == 0.0 {
        if n == 0.0 {
            return 0.0;
        }
        return if p < 0.1 { -bd0(n, n * q) - n * p } else { n * q.ln() };
    }
    if x == n {
        return if q < 0.1 { -bd0(n, n * p) - n * q } else { n * p.ln() };
    }
    let lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
    let lf = (2.0 * PI).ln() + x.ln() + (-x / n).ln_1p();
    lc - 0.5 * lf
}

/// `ln P(X = x)` for the hypergeometric distribution: `draws` balls taken from `good` good
/// and `bad` bad ones, x of them good (R's `dhyper`, from three binomial densities).
fn ln_dhyper(x: u64, good: u64, bad: u64, draws: u64) -> f64 {
    if x > good || x > draws || draws - x > bad {
        return f64::NEG_INFINITY;
    }
    let total = (good + bad) as f64;
    let p = draws as f64 / total;
    let q = (good + bad - draws) as f64 / total;
    ln_dbinom(x as f64, good as f64, p, q) + ln_dbinom((draws - x) as f64, bad as f64, p, q)
        - ln_dbinom(draws as f64, total, p, q)
}

/// `exp(ln_first) * (1 + r1 + r1 r2 + ...)` for the successive ratios a tail's terms make,
/// stopping once a term no longer moves the sum. The ratios must shrink the terms (a tail read
/// away from its mode), so the sum is taken from its largest term.
fn tail(ln_first: f64, mut ratio: impl FnMut(u64) -> Option<f64>) -> f64 {
    if ln_first == f64::NEG_INFINITY {
        return 0.0;
    }
    let (mut sum, mut term) = (1.0f64, 1.0f64);
    let mut i = 0u64;
    while let Some(r) = ratio(i) {
        term *= r;
        sum += term;
        if term <= sum * 1e-17 {
            break;
        }
        i += 1;
    }
    (ln_first + sum.ln()).exp()
}

/// P(X >= k) for X ~ Binomial(n, p): SciPy's `binomtest(k, n, p, alternative="greater")`.
/// Exact (to a few ulps) for any n; p outside [0, 1] is clamped.
pub fn binom_sf(k: u64, n: u64, p: f64) -> f64 {
    let p = p.clamp(0.0, 1.0);
    let q = 1.0 - p;
    if k == 0 {
        return 1.0;
    }
    if k > n || p == 0.0 {
        return 0.0;
    }
    if q == 0.0 {
        return 1.0;
    }
    let (nf, odds) = (n as f64, p / q);
    if k as f64 > nf * p {
        // Above the mean: the terms from k upwards shrink.
        tail(ln_dbinom(k as f64, nf, p, q), |i| {
            let j = k + i;
            (j < n).then(|| (n - j) as f64 / (j + 1) as f64 * odds)
        })
        .min(1.0)
    } else {
        // At or below the mean (P >= 1/2): one minus the lower tail P(X <= k - 1).
        let top = k - 1;
        let lower = tail(ln_dbinom(top as f64, nf, p, q), |i| {
            let j = top - i;
            (j > 0).then(|| j as f64 / (n - j + 1) as f64 / odds)
        });
        (1.0 - lower).clamp(0.0, 1.0)
    }
}

/// Relative tolerance under which two tables count as equally probable (R's `fisher.test`
/// uses the same; SciPy 1e-14, which only differs for tables whose probabilities agree to 7
/// digits without being equal).
const TIE: f64 = 1e-7;

/// Fisher's exact test on `[[a, b], [c, d]]`, two-sided as SciPy's `fisher_exact`: the sum of
/// the probabilities of every table with the same margins that is at most as probable as this
/// one. 1 when a row or a column is empty.
pub fn fisher_exact(table: [[u64; 2]; 2]) -> f64 {
    let [[a, b], [c, d]] = table;
    let (good, bad, draws) = (a + b, c + d, a + c);
    if good == 0 || bad == 0 || draws == 0 || b + d == 0 {
        return 1.0;
    }
    let lo = draws.saturating_sub(bad);
    let hi = draws.min(good);
    let lp = |x: u64| ln_dhyper(x, good, bad, draws);
    // The mode, as SciPy takes it.
    let mode = ((draws as u128 + 1) * (good as u128 + 1) / (good as u128 + bad as u128 + 2)) as u64;
    let mode = mode.clamp(lo, hi);
    let (lx, lm) = (lp(a), lp(mode));
    if lx >= lm - TIE {
        return 1.0;
    }
    let bound = lx + TIE.ln_1p();
    // Ratio of consecutive probabilities, P(x + 1) / P(x).
    let up = |x: u64| (good - x) as f64 * (draws - x) as f64 / ((x + 1) as f64 * (bad + x + 1 - draws) as f64);
    let below = |top: u64| tail(lp(top), |i| (top - i > lo).then(|| 1.0 / up(top - i - 1)));
    let above = |bottom: u64| tail(lp(bottom), |i| (bottom + i < hi).then(|| up(bottom + i)));
    let p = if a < mode {
        // This side from a down; the other side from the first value past the mode that is
        // at most as probable (probabilities fall from the mode to hi).
        let first = first_at_most(mode, hi, bound, lp, true);
        below(a) + first.map_or(0.0, above)
    } else {
        let last = first_at_most(lo, mode, bound, lp, false);
        above(a) + last.map_or(0.0, below)
    };
    p.min(1.0)
}

/// On a monotone stretch `[from, to]` of log-probabilities (falling when `falling`, rising
/// otherwise), the value nearest the mode whose log-probability is at most `bound`: the first
/// such value when falling, the last when rising. `None` when there is none.
fn first_at_most(from: u64, to: u64, bound: f64, lp: impl Fn(u64) -> f64, falling: bool) -> Option<u64> {
    let (mut lo, mut hi) = (from, to);
    if falling {
        if lp(to) > bound {
            return None;
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if lp(mid) <= bound { hi = mid } else { lo = mid + 1 }
        }
        Some(lo)
    } else {
        if lp(from) > bound {
            return None;
        }
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if lp(mid) <= bound { lo = mid } else { hi = mid - 1 }
        }
        Some(lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testing::assert_p;

    #[test]
    fn stirling_errors_continue_the_table() {
        // Past the table the series takes over; at 16 it agrees with ln(16!) directly.
        let ln_fact16: f64 = (1..=16).map(|k| (k as f64).ln()).sum();
        let direct = ln_fact16 - 16.5 * 16f64.ln() + 16.0 - (2.0 * PI).sqrt().ln();
        assert!((stirlerr(16.0) - direct).abs() < 1e-14, "{} vs {direct}", stirlerr(16.0));
    }

    #[test]
    fn binomial_tail_known_values() {
        // SciPy: binomtest(k, n, p, alternative="greater").pvalue.
        assert_p(binom_sf(3, 10, 0.1), 0.0701908264);
        assert_p(binom_sf(60, 1000, 0.03), 5.802225924157976e-07);
        assert_eq!(binom_sf(0, 10, 0.5), 1.0);
        assert_eq!(binom_sf(1, 10, 0.0), 0.0);
        assert_eq!(binom_sf(11, 10, 0.5), 0.0);
        assert_eq!(binom_sf(10, 10, 1.0), 1.0);
        // Exact: P(X >= n) = p^n.
        assert_p(binom_sf(20, 20, 0.5), 0.5f64.powi(20));
    }

    #[test]
    fn fisher_known_values() {
        // SciPy's documented example and a symmetric table (every table ties or is less likely).
        assert_p(fisher_exact([[8, 2], [1, 5]]), 0.034965034965034975);
        assert_eq!(fisher_exact([[5, 5], [5, 5]]), 1.0);
        assert_eq!(fisher_exact([[0, 0], [3, 4]]), 1.0);
        assert_eq!(fisher_exact([[0, 7], [0, 4]]), 1.0);
        // The table read any way round gives the same p.
        let p = fisher_exact([[3, 97], [40, 960]]);
        for t in [[[97, 3], [960, 40]], [[40, 960], [3, 97]], [[3, 40], [97, 960]]] {
            assert!((fisher_exact(t) - p).abs() <= 1e-12 * p, "{t:?}");
        }
    }
}
