//! Quantiles as a value at a rank: NumPy's `quantile(..., method="inverted_cdf")`.
//!
//! The `q`-quantile of `n` sorted values is the value at 0-based rank `ceil(n q) - 1` (rank 0
//! for `q = 0`): the smallest value whose empirical CDF reaches `q`. It is always one of the
//! values (linear interpolation returns values at no rank, which a sketch cannot match), so
//! the exact quantile and the sketched one ([`super::ddsketch`]) answer the same question.
//!
//! The same rank decides an objective from counts alone: `quantile(q) > t` exactly when fewer
//! than `ceil(n q)` values are `<= t` ([`exceeds`]), so a breach never depends on a sketch.

/// The 0-based rank of the `q`-quantile among `n` values (`n > 0`), as NumPy computes it:
/// `n q` in floating point, rounded up, less one, clamped to the values.
pub fn rank(n: u64, q: f64) -> u64 {
    let r = (n as f64 * q).ceil();
    if r <= 1.0 { 0 } else { (r as u64 - 1).min(n - 1) }
}

/// The `q`-quantile of sorted values (`None` for none), NumPy's `inverted_cdf`.
pub fn inverted_cdf(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[rank(sorted.len() as u64, q) as usize])
}

/// Whether the `q`-quantile of `n` values exceeds a threshold, from the count of values at or
/// below it (`good`): fewer than `ceil(n q)` good values (the rank above plus one).
pub fn exceeds(n: u64, good: u64, q: f64) -> bool {
    n > 0 && good < rank(n, q) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantile_is_the_value_at_numpys_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        // numpy.quantile(range(1, 11), [0, .1, .15, .5, .9, .91, 1], method="inverted_cdf")
        let got: Vec<f64> =
            [0.0, 0.1, 0.15, 0.5, 0.9, 0.91, 1.0].iter().map(|&q| inverted_cdf(&v, q).unwrap()).collect();
        assert_eq!(got, [1.0, 1.0, 2.0, 5.0, 9.0, 10.0, 10.0]);
        assert_eq!(inverted_cdf(&[], 0.5), None);
        assert_eq!(inverted_cdf(&[7.0], 0.999), Some(7.0));
    }

    /// p99 > t exactly when more than 1% of the values exceed t, on every threshold.
    #[test]
    fn a_breach_from_counts_agrees_with_the_quantile() {
        let v: Vec<f64> = (0..1000).map(|i| f64::from(i * i % 977)).collect();
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.5, 0.9, 0.99, 0.999] {
            for t in [0.0, 10.0, 500.0, 960.0, 970.0, 976.0, 1000.0] {
                let good = v.iter().filter(|&&x| x <= t).count() as u64;
                let p = inverted_cdf(&sorted, q).unwrap();
                assert_eq!(exceeds(1000, good, q), p > t, "q {q} t {t} p {p} good {good}");
            }
        }
    }
}
